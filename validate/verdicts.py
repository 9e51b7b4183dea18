"""The bars of `make validate`: each check prints its verdict through here, and the failed
ones are kept, so `python -m validate` counts them without reading its own output."""
from __future__ import annotations

FAILED: list[str] = []
PASSED: list[str] = []


def verdict(ok: bool, bar: str) -> str:
    """'PASS' or 'FAIL' for the bar named ``bar``, remembered for the final count.

    >>> verdict(True, "demo bar")
    'PASS'
    """
    (PASSED if ok else FAILED).append(bar)
    return "PASS" if ok else "FAIL"
