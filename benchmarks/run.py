"""Run the benchmark suite (same as `photonic-dat bench` / `make bench`).

Usage: python benchmarks/run.py [mpnn mesh dpnn sepn] — results are printed and appended as JSON
lines to results/bench/<name>.jsonl. The benchmarks themselves live in photonic_dat/bench.py so
that an installed package can run them too.
"""

import sys

from photonic_dat.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
