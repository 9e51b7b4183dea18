"""`python -m validate`: every comparison with a reference package, in turn (`make validate`)."""
from __future__ import annotations

from validate import cusum, smoothing


def main() -> None:
    for name, module in (("smoothing", smoothing), ("cusum", cusum)):
        print(f"\n=== validate {name} ===", flush=True)
        module.main()


if __name__ == "__main__":
    main()
