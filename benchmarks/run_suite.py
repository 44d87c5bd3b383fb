"""Run the speedup-from-vectorizing suite: ``python benchmarks/run_suite.py [--quick]``.

The same as ``scalarprop bench``; the suite's code lives in ``scalarprop/bench/`` so that the
installed command can run it. Options: --quick, --threads N, --out DIR.
"""

import sys

from scalarprop.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
