"""Small-count suppression for everything that leaves the database.

Primary suppression hides every count below the suppression size (CONTRACT §4). That is
not enough where a table also shows totals: a hidden cell could be recovered as the
shown total minus the shown parts. *Complementary* suppression therefore hides further
cells until no additive relation (``total = part + part + ...``) of the table has exactly
one hidden member. The rule used here is the common greedy one (Hundepool et al. 2012,
*Statistical Disclosure Control*, §5.2): in a relation with a single hidden cell, also
hide its smallest shown part (the cell that costs the reader least), or the total when
no part is left; repeat until stable.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

SUPPRESSED = "<{size}"


def suppressed_label(size: int) -> str:
    """The text shown in place of a suppressed count.

    >>> suppressed_label(5)
    '<5'
    """
    return SUPPRESSED.format(size=size)


def format_count(count: int | None, size: int, *, hidden: bool = False) -> str:
    """A count as shown outside the database: ``"<size"`` when small or hidden, else digits.

    Zero is a small count too: "no girls this week" in a village is itself disclosive.

    >>> format_count(3, 5), format_count(5, 5), format_count(1234, 5), format_count(80, 5, hidden=True)
    ('<5', '5', '1,234', '<5')
    >>> format_count(None, 5)
    '-'
    """
    if count is None:
        return "-"
    if hidden or count < size:
        return suppressed_label(size)
    return f"{count:,}"


def is_small(count: int | None, size: int) -> bool:
    """True when a count must not be shown (below the suppression size)."""
    return count is not None and count < size


def complementary_suppression(
    counts: Mapping[Hashable, int],
    relations: Iterable[tuple[Hashable, tuple[Hashable, ...]]],
    size: int,
) -> set[Hashable]:
    """The cells to hide: every small count, plus enough others that none can be recovered.

    Parameters
    ----------
    counts : cell key -> count (births, boys or girls; non-negative integers).
    relations : ``(total_key, part_keys)`` pairs meaning ``counts[total] == sum(parts)``,
        e.g. ``("births", ("boys", "girls"))`` within a row, or a district total over its towns.
    size : the suppression size; counts below it are hidden.

    Returns
    -------
    The set of keys to show as ``"<size"``. Every relation then has zero or at least two
    hidden members, so subtraction recovers none of them.

    >>> cells = {"births": 9, "boys": 3, "girls": 6}
    >>> sorted(complementary_suppression(cells, [("births", ("boys", "girls"))], 5))
    ['boys', 'girls']
    >>> towns = {"D": 30, "T1": 2, "T2": 12, "T3": 16}
    >>> sorted(complementary_suppression(towns, [("D", ("T1", "T2", "T3"))], 5))
    ['T1', 'T2']
    """
    relation_list = [(total, tuple(parts)) for total, parts in relations]
    hidden = {key for key, count in counts.items() if count < size}
    changed = True
    while changed:
        changed = False
        for total, parts in relation_list:
            members = (total, *parts)
            if sum(key in hidden for key in members) != 1:
                continue
            shown_parts = [key for key in parts if key not in hidden]
            # the smallest shown part loses the reader least; the total only as a last resort
            victim = min(shown_parts, key=lambda key: (counts[key], str(key))) if shown_parts else total
            hidden.add(victim)
            changed = True
    return hidden
