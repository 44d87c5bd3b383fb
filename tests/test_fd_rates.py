"""The false-alarm and miss rates of the gradient check, on the test suite's share of
networks (benchmarks/fd_rates.py runs 1,200), and the README quoting the full run."""

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("fd_rates", ROOT / "benchmarks" / "fd_rates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_false_alarm_and_no_miss_on_30_networks():
    rates = load_benchmark().measure(30, seed=1)
    auto = rates["rules"]["auto"]
    assert auto["false_alarms"] == 0, rates["auto_examples"]
    for defect in ("zeroed_block", "one_element_1pct", "bias_sign_flip"):
        assert auto[defect]["checked"] >= 25
        assert auto[defect]["missed"] == 0, rates["auto_examples"]


def test_the_readme_quotes_the_full_run():
    rates = json.loads((ROOT / "benchmarks" / "fd_rates.json").read_text())
    assert rates["networks"] >= 1000
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- section:testing -->"):text.index("<!-- /section:testing -->")]
    row = re.search(r"\| `auto` \(default\) \| (\d+) / (\d+) \| (\d+) / (\d+) \| (\d+) / (\d+) \| "
                    r"(\d+) / (\d+) \|", section)
    assert row, "the rates table is missing"
    auto = rates["rules"]["auto"]
    expected = [auto["false_alarms"], rates["networks"]]
    for defect in ("zeroed_block", "one_element_1pct", "bias_sign_flip"):
        expected += [auto[defect]["missed"], auto[defect]["checked"]]
    assert [int(g) for g in row.groups()] == expected
    fixed = rates["rules"]["fixed"]
    assert f"{fixed['zeroed_block']['missed']} / {fixed['zeroed_block']['checked']}" in section


def test_the_readme_quotes_the_fast_check_benchmark():
    fast = json.loads((ROOT / "benchmarks" / "fast_check.json").read_text())
    assert fast["fast_with_defect"]["named"] == [fast["fast_with_defect"]["defect"]]
    assert fast["full"]["ok"] and fast["fast"]["ok"] and not fast["fast_with_defect"]["ok"]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for figure in (f"{fast['full']['evaluations']:,} loss evaluations",
                   f"{fast['full']['seconds']} s", f"{fast['fast']['evaluations']} evaluations",
                   f"{fast['time_ratio_full_over_fast']}× less time",
                   f"after {fast['fast_with_defect']['evaluations']} evaluations"):
        assert figure in text, figure
