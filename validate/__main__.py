"""`python -m validate`: every comparison with a reference package, in turn (`make validate`).

Each check prints its bars with PASS or FAIL. The last line counts them, and the exit status
is 1 when any bar failed, so `make validate` fails visibly.
"""
from __future__ import annotations

import re
import sys

from validate import cusum, smoothing

_VERDICT = re.compile(r"\b(PASS|FAIL)\b")


class _VerdictCounter:
    """Standard output that also counts the PASS and FAIL verdicts printed through it."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.counts = {"PASS": 0, "FAIL": 0}
        self.failed: list[str] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            for verdict in _VERDICT.findall(line):
                self.counts[verdict] += 1
                if verdict == "FAIL":
                    self.failed.append(line.strip())
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def main() -> int:
    counter = _VerdictCounter(sys.stdout)
    sys.stdout = counter
    try:
        for name, module in (("smoothing", smoothing), ("cusum", cusum)):
            print(f"\n=== validate {name} ===", flush=True)
            module.main()
    finally:
        sys.stdout = counter.stream
    print(f"\nvalidate: {counter.counts['PASS']} bars passed, {counter.counts['FAIL']} failed")
    for line in counter.failed:
        print(f"  FAILED: {line}")
    return 1 if counter.failed else 0


if __name__ == "__main__":
    sys.exit(main())
