"""The quality gate through the real pipeline: a bad delivery never publishes.

Each crafted batch breaks one critical expectation that a delivery file can reach (the
others guard the loader's own output and are tested one by one on crafted frames in
tests/expectations/). Every case asserts exit 3, the expectation named in the one-line
error, the previous outputs unchanged, and the dq_results row.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from tests.conftest import good_records, record

OUTPUT_TABLES = ("srb_estimates", "alerts")


def _published(registry) -> dict[str, list[tuple]]:
    return {t: registry.query(f"select * from {t} order by all") for t in OUTPUT_TABLES}


def _assert_gate_failed(registry, result, expectation: str, before: dict) -> None:
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expectation in lines[0], result.stderr
    assert _published(registry) == before
    assert registry.query("select severity, success from dq_results where expectation = $e and not success",
                          {"e": expectation}) == [("critical", False)]
    assert registry.query("select status, exit_code from runs order by started_at desc limit 1") == [
        ("gate_failed", 3)]


def _first_good_run(registry, surveil) -> dict:
    registry.deliver("births_2024-03.csv", good_records(200))
    assert surveil("run", "--config", registry.config).exit_code == 0
    return _published(registry)


def test_unknown_sex_share_over_one_percent_refuses_the_delivery(registry, surveil):
    before = _first_good_run(registry, surveil)
    path = registry.deliver("births_2024-04.csv", [*good_records(95, "N"), *(record(f"U{i}", sex="U")
                                                                          for i in range(5))])
    result = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, result, "delivery.sex_unknown_share", before)
    assert str(path) in result.stderr
    assert registry.query("select status, rule from loads where file_name = 'births_2024-04.csv'") == [
        ("refused", "delivery.sex_unknown_share")]
    assert registry.query("select count(*) from births") == [(200,)]


def test_quarantine_share_over_two_percent_refuses_the_delivery(registry, surveil):
    before = _first_good_run(registry, surveil)
    registry.deliver("births_2024-04.csv", [*good_records(95, "N"), *(record(f"B{i}", sex="X") for i in range(5))])
    result = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, result, "delivery.quarantine_share", before)


def test_delivery_of_only_boys_fails_the_city_srb_range(registry, surveil):
    before = _first_good_run(registry, surveil)
    registry.deliver("births_2024-04.csv", [record(f"B{i}", sex="M", area_code=f"V{1 + i % 6}") for i in range(80)])
    result = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, result, "registry.city_srb_in_range", before)


def _month_records(prefix: str, month: dt.date, boys: int, girls: int) -> list[str]:
    return [record(f"{prefix}{i}", birth_date=(month + dt.timedelta(days=i % 27)).isoformat(),
                   registered_date=(month + dt.timedelta(days=i % 27 + 1)).isoformat(),
                   sex="M" if i < boys else "F", area_code=f"V{1 + i % 6}") for i in range(boys + girls)]


def test_sex_split_smoother_than_chance_fails_dispersion(registry, surveil):
    months = [dt.date(2023 + m // 12, 1 + m % 12, 1) for m in range(24)]
    # every month exactly 206 boys of 400: what imputing sex by a fixed fraction leaves
    for m, month in enumerate(months):
        registry.deliver(f"births_{month:%Y-%m}.csv", _month_records(f"M{m}-", month, 206, 194))
    result = surveil("run", "--config", registry.config, "--asof", "2025-01-01")
    assert result.exit_code == 3
    assert "registry.sex_split_dispersion" in result.stderr
    assert registry.query("select count(*) from srb_estimates") == [(0,)]


def test_warning_only_run_publishes_and_shows_the_warning(registry, surveil):
    # 30 % of registrations more than 90 days late: a warning, not a failure
    late = [record(f"L{i}", birth_date="2024-01-10", registered_date="2024-05-01", sex="MF"[i % 2],
                   area_code=f"V{1 + i % 6}") for i in range(60)]
    on_time = [record(f"T{i}", birth_date="2024-01-10", registered_date="2024-01-15", sex="MF"[i % 2],
                      area_code=f"V{1 + i % 6}") for i in range(140)]
    registry.deliver("births_2024-05.csv", [*on_time, *late])
    result = surveil("run", "--config", registry.config, "--asof", "2024-06-30")
    assert result.exit_code == 0, result.output
    assert "registry.late_registration_share" in result.stdout
    assert registry.query("select severity, success from dq_results where expectation = "
                          "'registry.late_registration_share'") == [("warning", False)]
    (folder,) = (registry.root / "var" / "runs").iterdir()
    html = (folder / "data_quality.html").read_text(encoding="utf-8")
    assert "registry.late_registration_share" in html
    assert registry.query("select count(*) from srb_estimates") != [(0,)]


def test_dq_results_hold_one_row_per_expectation_and_no_identifier(registry, surveil):
    registry.deliver("births_2024-03.csv", [*good_records(200), record("SECRET-7", sex="X")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    suites = dict(registry.query("select suite, count(*) from dq_results group by suite"))
    assert set(suites) == {"delivery", "registry", "outputs"}
    hashes = {form for (h,) in registry.query("select record_hash from births") for form in (str(h), f"{h:032x}")}
    text = " ".join(str(v) for row in registry.query("select * from dq_results") for v in row)
    assert "SECRET-7" not in text and not any(h in text for h in hashes)


def test_one_gate_run_refuses_only_the_bad_file_of_a_chunk(registry, surveil):
    """Two new files gated together: the suite's one GX run names the bad file, which alone
    is refused; the good one loads, and each file keeps its own dq_results rows."""
    _first_good_run(registry, surveil)
    registry.deliver("births_2024-04.csv", good_records(100, "N"))
    bad = registry.deliver("births_2024-05.csv", [*good_records(95, "P"),
                                                  *(record(f"U{i}", sex="U") for i in range(5))])
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 3, result.output
    assert str(bad) in result.stderr and "delivery.sex_unknown_share" in result.stderr
    assert registry.query("select file_name, status, rule from loads where file_name <> 'births_2024-03.csv' "
                          "order by file_name") == [("births_2024-04.csv", "loaded", None),
                                                    ("births_2024-05.csv", "refused", "delivery.sex_unknown_share")]
    assert registry.query("select delivery, success from dq_results where expectation = 'delivery.sex_unknown_share' "
                          "and delivery is not null order by delivery") == [("births_2024-04.csv", True),
                                                                            ("births_2024-05.csv", False)]


def test_a_chunk_the_suite_cannot_trace_is_judged_file_by_file(tmp_path):
    """Files whose birth_date types differ cannot be range-checked together (GX raises on
    the mixed column): each file is then checked alone, and only the bad one refused."""
    from pipeline.gate import QualityGate
    from pipeline.loader import PendingDelivery, _JudgedDelivery

    clean = pl.DataFrame({
        "record_hash_hi": pl.Series(range(40), dtype=pl.UInt64),
        "record_hash_lo": pl.Series(range(40), dtype=pl.UInt64),
        "birth_date": [dt.date(2024, 3, 1 + i % 20) for i in range(40)],
        "sex": ["M", "F"] * 20,
        "birth_order": pl.Series([1, 2] * 20, dtype=pl.Int32),
        "area_code": ["V1"] * 40,
    })
    frames = {"a.csv": clean, "b.csv": clean.with_columns(pl.col("birth_date").dt.strftime("%d.%m.%Y")),
              "c.csv": clean}
    pending = [PendingDelivery(tmp_path / name, 1, "-", _JudgedDelivery(frame, frame.head(0), frame.height, [],
                                                                          "utf-8"))
               for name, frame in frames.items()]
    gate = QualityGate(["V1"], dt.date(2024, 4, 1))
    refusals = gate.deliveries(pending)
    assert list(refusals) == [tmp_path / "b.csv"]
    assert refusals[tmp_path / "b.csv"][0] == "delivery.birth_date_is_date"
    assert {delivery for o, delivery in gate.outcomes if not o.success} == {"b.csv"}
