"""`python -m bench [NAME ...]`: run the benchmarks (all by default) and print their figures."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    available = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name != "common")
    for name in names or available:
        print(f"\n=== bench {name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
