"""Small-count suppression for everything that leaves the database: the one place it is done.

Primary suppression hides every count below the suppression size (CONTRACT §4). That is
not enough where a table also shows totals: a hidden cell could be recovered as the
shown total minus the shown parts. *Complementary* suppression therefore hides further
cells until no additive relation (``total = part + part + ...``) of the table has exactly
one hidden member. The rule used here is the common greedy one (Hundepool et al. 2012,
*Statistical Disclosure Control*, §5.2): in a relation with a single hidden cell, also
hide its smallest shown part (the cell that costs the reader least), or the total when
no part is left; repeat until stable.

The two kinds of hidden cell are printed differently: a small count as ``"<5"`` (true: it
is below 5), a complement as ``"—"`` (it is not small; it is hidden so that a small count
cannot be worked out). ``SuppressedCounts`` holds one output's cells, relations and hidden
set; the reports (``reports.layout``) and the enforcement feed (``reports.feed``) both use it.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

SUPPRESSED = "<{size}"
# A count hidden as a complement: not small, so "<5" would be false.
COMPLEMENT = "—"


def suppressed_label(size: int) -> str:
    """The text shown in place of a small count.

    >>> suppressed_label(5)
    '<5'
    """
    return SUPPRESSED.format(size=size)


def format_count(count: int | None, size: int, *, hidden: bool = False) -> str:
    """A count as shown outside the database: ``"<size"`` when small, ``"—"`` when hidden as a
    complement, else digits.

    Zero is a small count too: "no girls this week" in a village is itself disclosive.

    >>> format_count(3, 5), format_count(5, 5), format_count(1234, 5), format_count(80, 5, hidden=True)
    ('<5', '5', '1,234', '—')
    >>> format_count(None, 5)
    '-'
    """
    if count is None:
        return "-"
    if count < size:
        return suppressed_label(size)
    if hidden:
        return COMPLEMENT
    return f"{count:,}"


def is_small(count: int | None, size: int) -> bool:
    """True when a count must not be shown (below the suppression size)."""
    return count is not None and count < size


def complementary_suppression(
    counts: Mapping[Hashable, int],
    relations: Iterable[tuple[Hashable, tuple[Hashable, ...]]],
    size: int,
    derived: Iterable[Hashable] = (),
) -> set[Hashable]:
    """The cells to hide: every small count, plus enough others that none can be recovered.

    Parameters
    ----------
    counts : cell key -> count (births, boys or girls; non-negative integers).
    relations : ``(total_key, part_keys)`` pairs meaning ``counts[total] == sum(parts)``,
        e.g. ``("births", ("boys", "girls"))`` within a row, or a district total over its towns.
    size : the suppression size; counts below it are hidden.
    derived : cells that are never printed but can be worked out from printed ones (e.g. a
        difference of two printed counts); hiding one costs the reader nothing, so they are
        chosen first as complements.

    Returns
    -------
    The set of keys to hide: small ones shown as ``"<size"``, the others as ``"—"``. Every
    relation then has zero or at least two hidden members, so subtraction recovers none of them.

    >>> cells = {"births": 9, "boys": 3, "girls": 6}
    >>> sorted(complementary_suppression(cells, [("births", ("boys", "girls"))], 5))
    ['boys', 'girls']
    >>> towns = {"D": 30, "T1": 2, "T2": 12, "T3": 16}
    >>> sorted(complementary_suppression(towns, [("D", ("T1", "T2", "T3"))], 5))
    ['T1', 'T2']
    """
    relation_list = [(total, tuple(parts)) for total, parts in relations]
    free = set(derived)
    hidden = {key for key, count in counts.items() if count < size}
    changed = True
    while changed:
        changed = False
        for total, parts in relation_list:
            members = (total, *parts)
            if sum(key in hidden for key in members) != 1:
                continue
            shown_parts = [key for key in parts if key not in hidden]
            # an unprinted part costs nothing, then the smallest shown part loses the reader least;
            # the total only as a last resort
            victim = (min(shown_parts, key=lambda key: (key not in free, counts[key], str(key))) if shown_parts
                      else total)
            hidden.add(victim)
            changed = True
    return hidden


class SuppressedCounts:
    """The counts of one output (a report, a feed row) with the set of cells to hide.

    Parameters
    ----------
    counts : cell key -> count. A cell may be *derived* (never printed, but computable by a
        reader from printed cells, e.g. second births outside policy = second births minus
        those within): list it so that it is protected too.
    relations : ``(total_key, part_keys)`` additive relations among the cells.
    size : the suppression size.
    derived : the cells never printed (see ``complementary_suppression``).

    >>> table = SuppressedCounts({"births": 9, "boys": 3, "girls": 6}, [("births", ("boys", "girls"))], 5)
    >>> table.show("boys"), table.show("girls"), table.show("births"), table.value("girls")
    ('<5', '—', '9', None)
    """

    def __init__(self, counts: Mapping[Hashable, int],
                 relations: Iterable[tuple[Hashable, tuple[Hashable, ...]]], size: int, *,
                 derived: Iterable[Hashable] = ()) -> None:
        self.size = size
        self.values = dict(counts)
        self.hidden = complementary_suppression(self.values, relations, size, derived)

    def show(self, key: Hashable) -> str:
        """The cell as printed: digits, ``"<size"`` or ``"—"``."""
        return format_count(self.values[key], self.size, hidden=key in self.hidden)

    def value(self, key: Hashable) -> int | None:
        """The cell as data (None when hidden): for charts and computed fields."""
        return None if key in self.hidden else self.values[key]

    def any_hidden(self, *keys: Hashable) -> bool:
        """True when any of the cells is hidden: a ratio of them would give a hidden one back."""
        return any(key in self.hidden for key in keys)
