"""One bad file per contract row rule: the row is quarantined with its file, line and rule."""
from __future__ import annotations

import pytest

from tests.conftest import good_records, record

# 120 good rows keep one bad row (0.8 %) under the gate's 2 % quarantine share and one
# unknown sex under its 1 % share, so each test sees the row rule alone.
GOOD = good_records(120)

# rule -> a record that breaks it and nothing earlier in the rule table
BAD_RECORDS = {
    "missing_record_id": record(""),
    "invalid_birth_date": record("B1", birth_date="2023-02-31"),
    "birth_date_before_1900": record("B1", birth_date="1899-12-31", registered_date=""),
    "birth_date_in_future": record("B1", birth_date="2999-01-01", registered_date=""),
    "invalid_sex": record("B1", sex="X"),
    "invalid_birth_order": record("B1", birth_order="0"),
    "unknown_area": record("B1", area_code="V99"),
    "area_not_lowest_level": record("B1", area_code="T1"),
    "invalid_plurality": record("B1", plurality="0"),
    "invalid_registered_date": record("B1", registered_date="2024-13-01"),
    "registered_before_birth": record("B1", registered_date="2024-03-01"),
    "invalid_mother_age": record("B1", mother_age="7"),
    "invalid_residence_status": record("B1", residence_status="tourist"),
    "invalid_policy_status": record("B1", policy_status="maybe"),
}


@pytest.mark.parametrize("rule", sorted(BAD_RECORDS))
def test_bad_row_is_quarantined_with_file_line_and_rule(registry, surveil, rule):
    path = registry.deliver("births_2024-03.csv", [GOOD[0], BAD_RECORDS[rule], *GOOD[1:]])
    result = surveil("run", "--config", registry.config, "--asof", "2024-12-31")
    assert result.exit_code == 0, result.output
    rows = registry.query("select source_file, line, rule from quarantine")
    assert rows == [(str(path), 3, rule)]
    assert registry.query("select count(*) from births") == [(120,)]


@pytest.mark.parametrize("birth_order", ["40", "-1", "2.5", "two"])
def test_impossible_birth_orders_are_quarantined(registry, surveil, birth_order):
    registry.deliver("b.csv", [*GOOD, record("B1", birth_order=birth_order)])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select line, rule, value from quarantine") == [(122, "invalid_birth_order", birth_order)]


@pytest.mark.parametrize(("code", "expected"), [
    ("M", "M"), ("male", "M"), ("男", "M"), ("1", "M"), ("F", "F"), ("Female", "F"), ("女", "F"),
    ("2", "F"), ("U", "U"), ("unknown", "U"), ("0", "U"), ("9", "U"),
])
def test_every_accepted_sex_code(registry, surveil, code, expected):
    registry.deliver("b.csv", [record("S1", sex=code), *GOOD])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select sex from births where source_line = 2") == [(expected,)]


@pytest.mark.parametrize("birth_date", ["2024-03-05", "2024/03/05", "20240305"])
def test_accepted_date_forms(registry, surveil, birth_date):
    registry.deliver("b.csv", [record("D1", birth_date=birth_date), *GOOD])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select strftime(birth_date, '%Y-%m-%d') from births where source_line = 2") == [
        ("2024-03-05",)]


def test_duplicates_in_one_file(registry, surveil):
    registry.deliver("b.csv", [
        record("R1", sex="M"),          # line 2: differs from the last R1 -> duplicate_in_file
        record("R2"),                   # line 3: identical repeat of line 5 -> merged silently
        record("R1", sex="F"),          # line 4: differs from the last R1 -> duplicate_in_file
        record("R2"),                   # line 5
        record("R1", sex="F", mother_age="30"),  # line 6: the last R1 is kept
        *GOOD,
    ])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select line, rule, value from quarantine order by line") == [
        (2, "duplicate_in_file", None), (4, "duplicate_in_file", None)]
    assert registry.query("select source_line, sex, mother_age from births where source_line <= 6 "
                          "order by source_line") == [(5, "M", 29), (6, "F", 30)]
