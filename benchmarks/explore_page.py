"""The explorer page measured and pictured: how many bytes it takes for the lecture's 2-3-1
network and for 784-128-10 (50 SGD steps, 5 examples each; the budgets are 200 KB and 2 MB),
how long it takes to build, and a screenshot of the lecture's page for the README.

    python benchmarks/explore_page.py [out.json] [picture.png]

writes ``benchmarks/explore_page.json`` and ``docs/explore.png`` by default. The screenshot
needs Debian's ``chromium`` and playwright (the test extra).
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import scalarprop as sp
from scalarprop.bench.machine import cpu_info
from scalarprop.examples import lecture_network

ROOT = Path(__file__).resolve().parent.parent


def lecture_data(n: int = 5):
    """The lecture's example first, then random inputs aiming at the same target."""
    net, x, t = lecture_network()
    rng = np.random.default_rng(1)
    return net, np.vstack([x, rng.normal(size=(n - 1, 2))]), np.vstack([t, np.full((n - 1, 1),
                                                                                    12.1)])


def measure(net, X, T) -> tuple[sp.plot.page.Explorer, dict]:
    sp.explore(net, X[:2], T[:2], steps=1)                 # compile and load the kernels first
    start = time.perf_counter()
    page = sp.explore(net, X, T, steps=50, examples=5)
    seconds = time.perf_counter() - start
    return page, {"network": list(net.sizes), "steps": 50, "examples": 5,
                  "bytes": page.size, "drawn_parameters": len(page.params),
                  "checks_every": page.check_every, "seconds_to_build": round(seconds, 3)}


def screenshot(path: Path, picture: Path) -> None:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=args)
        page = browser.new_page(viewport={"width": 1280, "height": 780})
        page.goto(path.as_uri())
        page.locator("#step").fill("12")
        page.select_option("#show", "gradients")
        page.locator('[data-label="W0[1,0]"]').click()
        page.screenshot(path=str(picture))
        browser.close()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "explore_page.json"
    picture = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "explore.png"
    rng = np.random.default_rng(0)
    lecture, small = measure(*lecture_data())
    big_net = sp.MLP([784, 128, 10], hidden="sigmoid", output="softmax", loss="ce", seed=0)
    _, big = measure(big_net, rng.normal(size=(100, 784)), rng.integers(0, 10, size=100))
    model, flags = cpu_info()
    result = {"cpu": model, "avx512": any(f.startswith("avx512") for f in flags),
              "python": platform.python_version(), "pages": [small, big],
              "budget_bytes": {"2-3-1": 200_000, "784-128-10": 2_000_000}}
    out.write_text(json.dumps(result, indent=2) + "\n")
    for r in result["pages"]:
        print(f"{'-'.join(map(str, r['network']))}: {r['bytes'] / 1024:.0f} KB, "
              f"{r['drawn_parameters']} parameters held, built in {r['seconds_to_build']} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lecture.html"
        lecture.save(path)
        screenshot(path, picture)
    print(f"wrote {out} and {picture}")


if __name__ == "__main__":
    main()
