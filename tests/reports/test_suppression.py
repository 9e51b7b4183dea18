"""Small-count suppression: primary cells, and complements so no hidden cell can be recovered."""
from __future__ import annotations

import numpy as np

from reports.suppression import complementary_suppression, format_count


def test_small_counts_and_zero_are_shown_as_less_than_size():
    assert [format_count(n, 5) for n in (0, 1, 4, 5, 12345)] == ["<5", "<5", "<5", "5", "12,345"]
    assert format_count(3, 10) == "<10"


def test_one_small_cell_in_a_row_hides_a_second():
    hidden = complementary_suppression({"births": 20, "boys": 3, "girls": 17}, [("births", ("boys", "girls"))], 5)
    assert hidden == {"boys", "girls"}


def test_nothing_small_hides_nothing():
    assert complementary_suppression({"t": 30, "a": 10, "b": 20}, [("t", ("a", "b"))], 5) == set()


def _table(rng: np.random.Generator, rows: int, cols: int):
    """A rows x cols table of counts with row, column and grand totals, and its additive relations."""
    cells = rng.integers(0, 30, size=(rows, cols))
    counts = {("c", r, c): int(cells[r, c]) for r in range(rows) for c in range(cols)}
    counts |= {("row", r): int(cells[r].sum()) for r in range(rows)}
    counts |= {("col", c): int(cells[:, c].sum()) for c in range(cols)}
    counts["grand"] = int(cells.sum())
    relations = [(("row", r), tuple(("c", r, c) for c in range(cols))) for r in range(rows)]
    relations += [(("col", c), tuple(("c", r, c) for r in range(rows))) for c in range(cols)]
    relations += [("grand", tuple(("row", r) for r in range(rows))), ("grand", tuple(("col", c) for c in range(cols)))]
    return counts, relations


def test_random_tables_leave_no_relation_with_exactly_one_hidden_cell():
    """Exact property: a relation with one hidden member gives it back by subtraction."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        counts, relations = _table(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)))
        hidden = complementary_suppression(counts, relations, 5)
        assert {k for k, v in counts.items() if v < 5} <= hidden
        for total, parts in relations:
            assert sum(key in hidden for key in (total, *parts)) != 1
