"""`python -m validate`: every comparison with a reference package, in turn (`make validate`).

Each check prints its bars with PASS or FAIL (validate/verdicts.py keeps them). The last line
counts them, and the exit status is 1 when any bar failed, so `make validate` fails visibly.
"""
from __future__ import annotations

import sys

from validate import cusum, smoothing
from validate.verdicts import FAILED, PASSED


def main() -> int:
    for name, module in (("smoothing", smoothing), ("cusum", cusum)):
        print(f"\n=== validate {name} ===", flush=True)
        module.main()
    print(f"\nvalidate: {len(PASSED)} bars passed, {len(FAILED)} failed")
    for bar in FAILED:
        print(f"  FAILED: {bar}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
