"""The quality gate through the real pipeline: a bad delivery never publishes.

Each crafted batch breaks one critical expectation that a delivery file can reach (the
others guard the loader's own output and are tested one by one on crafted frames in
tests/expectations/). Every case asserts exit 3, the expectation named in the one-line
error, the previous outputs unchanged, and the dq_results row.
"""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from expectations import CATALOGUE
from tests.conftest import HEADER, good_records, record

OUTPUT_TABLES = ("srb_estimates", "alerts")


def _published(registry) -> dict[str, list[tuple]]:
    return {t: registry.query(f"select * from {t} order by all") for t in OUTPUT_TABLES}


def _assert_gate_failed(registry, result, expectation: str, before: dict) -> None:
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expectation in lines[0], result.stderr
    assert _published(registry) == before
    assert registry.query("select severity, success from dq_results where expectation = $e and not success "
                          "and delivery is null and run_id = (select max(run_id) from runs)",
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
    assert {v.delivery for v in gate.verdicts if v.outcome.success is False} == {"b.csv"}


def _run_rows(registry, run_id: str) -> dict[str, tuple]:
    return {e: (s, o) for e, s, o in registry.query(
        "select expectation, success, observed from dq_results where run_id = $r and delivery is null",
        {"r": run_id})}


def _last_run(registry) -> str:
    return registry.query("select run_id from runs order by started_at desc limit 1")[0][0]


def test_registry_failure_refuses_the_runs_deliveries_and_keeps_them_out(registry, surveil):
    """Regression (issue 5 audit): a delivery that failed the registry suite stayed in
    birth_records, so the next run without a new file published it. Now it is refused
    whole, its rows leave the registry, and the unchanged file keeps the run at exit 3."""
    before = _first_good_run(registry, surveil)
    births_before = registry.query("select count(*) from births")
    bad = registry.deliver("births_2024-04.csv", [record(f"B{i}", sex="M", area_code=f"V{1 + i % 6}")
                                                  for i in range(80)])
    first = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, first, "registry.city_srb_in_range", before)
    assert "births_2024-04.csv" in first.stderr
    assert registry.query("select status, rule, rows_loaded, starts_with(reason, $p) from loads "
                          "where file_name = 'births_2024-04.csv'", {"p": f"{bad}: "}) == [
        ("refused", "registry.city_srb_in_range", 0, True)]
    assert registry.query("select count(*) from births") == births_before
    assert registry.query("select count(*) from birth_records join loads using (delivery_id) "
                          "where file_name = 'births_2024-04.csv'") == [(0,)]
    assert registry.query("select count(*) from quarantine where source_file = $f", {"f": str(bad)}) == [(0,)]

    again = surveil("run", "--config", registry.config)  # the same file, unchanged
    _assert_gate_failed(registry, again, "registry.city_srb_in_range", before)
    assert "refused on" in again.stderr
    run_id = _last_run(registry)
    assert registry.query("select success, starts_with(observed, 'unchanged since refused') from dq_results "
                          "where run_id = $r and delivery = 'births_2024-04.csv'", {"r": run_id}) == [(False, True)]
    assert _run_rows(registry, run_id)["registry.district_month_volume"] == (
        None, "not evaluated: the run stopped at the delivery suite")

    registry.deliver("births_2024-04.csv", good_records(80, "C"))  # the corrected file
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select count(*) from births") == [(births_before[0][0] + 80,)]
    assert registry.query("select status from loads where file_name = 'births_2024-04.csv' "
                          "order by delivery_id") == [("refused",), ("loaded",)]


def test_district_that_sends_only_boys_fails_at_once(registry, surveil):
    """24 boys and no girls in one district (D2: villages V5-V6 in tests/data/areas) beside a
    balanced one: the city interval (84 boys, 60 girls) still overlaps 95-130, the
    district's does not: with no girls its lower end is 100·24/z² = 158.6 at z = 3.89
    (expectations/README.md derives it)."""
    before = _first_good_run(registry, surveil)
    boys = [record(f"B{i}", sex="M", area_code=f"V{5 + i % 2}") for i in range(24)]
    rest = [record(f"R{i}", sex="MF"[i % 2], area_code=f"V{1 + i % 4}") for i in range(120)]
    registry.deliver("births_2024-04.csv", [*boys, *rest])
    result = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, result, "registry.district_srb_in_range", before)
    run = _run_rows(registry, _last_run(registry))
    assert run["registry.city_srb_in_range"][0] is True
    assert registry.query("select sample from dq_results where expectation = 'registry.district_srb_in_range' "
                          "and not success") == [("area_code=D2, births=24, boys=24, girls=0, srb=inf, "
                                                  "srb_lo=158.6, srb_hi=inf",)]


def test_loader_refusal_lands_in_dq_results_and_the_report(registry, surveil):
    registry.deliver("births_2024-03.csv", ["N1,2024-03-01,M,V1"], header="record_id,birth_date,sex,area_code")
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 3
    (line,) = result.stderr.strip().splitlines()
    assert ":1: missing_column: required column birth_order is missing" in line
    assert "delivery.columns_present" in line
    run_id = _last_run(registry)
    assert registry.query("select delivery, success, observed from dq_results where run_id = $r and "
                          "expectation = 'delivery.columns_present' order by delivery nulls first", {"r": run_id}) == [
        (None, False, "births_2024-03.csv: missing_column: required column birth_order is missing"),
        ("births_2024-03.csv", False, "missing_column: required column birth_order is missing")]
    rows = _run_rows(registry, run_id)
    assert rows["delivery.sex_in_codes"] == (None, "not evaluated: no new delivery could be read")
    assert rows["outputs.interval_ordered"] == (None, "not evaluated: the run stopped at the delivery suite")
    (folder,) = (registry.root / "var" / "runs").iterdir()
    html = (folder / "data_quality.html").read_text(encoding="utf-8")
    assert "delivery.columns_present" in html and "required column birth_order is missing" in html


def test_mostly_invalid_and_unreadable_files_fail_their_expectations(registry, surveil):
    registry.deliver("a.csv", [*(record(f"X{i}", sex="X") for i in range(3)), record("OK")])
    (registry.births / "b.csv").write_bytes((HEADER + "\n" + record("A1") + "\n").encode("utf-16"))
    assert surveil("run", "--config", registry.config).exit_code == 3
    rows = {(e, d): (s, v) for e, d, s, v in registry.query(
        "select expectation, delivery, success, observed_value from dq_results where delivery is not null")}
    assert rows == {("delivery.quarantine_share", "a.csv"): (False, 0.75),
                    ("delivery.readable", "b.csv"): (False, None)}


def test_one_run_level_row_per_expectation_in_every_run(registry, surveil):
    _first_good_run(registry, surveil)
    assert surveil("run", "--config", registry.config).exit_code == 0  # nothing new
    for (run_id,) in registry.query("select run_id from runs"):
        assert sorted(_run_rows(registry, run_id)) == sorted(CATALOGUE)
    first, second = (r for (r,) in registry.query("select run_id from runs order by started_at"))
    assert _run_rows(registry, second)["delivery.sex_in_codes"] == (None, "no new delivery")
    assert _run_rows(registry, second)["registry.city_srb_in_range"] == (None, "no new delivery")
    assert _run_rows(registry, first)["registry.city_srb_in_range"][0] is True
    # the demo-free registry has no optional-column gaps: every delivery check was judged
    assert all(s is not None for e, (s, _) in _run_rows(registry, first).items() if e.startswith("delivery."))
    assert registry.query("select count(*) from dq_results where delivery is not null") == [(0,)]


def test_dq_results_commit_with_the_published_outputs(registry, surveil, tmp_path):
    """The publish transaction carries the dq_results rows: when writing them fails
    (fault injected through publish's ``also`` hook), the outputs are not swapped either."""
    import duckdb

    from pipeline.publish import publish

    _first_good_run(registry, surveil)
    con = duckdb.connect(str(registry.database))
    try:
        estimates = con.execute("select count(*) from srb_estimates").fetchall()
        con.execute("delete from staging.srb_estimates")

        def failing_dq_insert() -> None:
            con.execute("insert into dq_results (run_id, checked_at, suite, expectation, severity) "
                        "values ('r', now(), 'outputs', 'outputs.interval_ordered', 'critical')")
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError, match="disk full"):
            publish(con, also=failing_dq_insert)
        assert con.execute("select count(*) from srb_estimates").fetchall() == estimates
        assert con.execute("select count(*) from dq_results where run_id = 'r'").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_read_file_beside_an_unreadable_one_keeps_one_run_level_row(registry, surveil):
    registry.deliver("a.csv", good_records(120))
    (registry.births / "b.csv").write_bytes(b"")
    assert surveil("run", "--config", registry.config).exit_code == 3
    assert registry.query("select delivery, success from dq_results where expectation = 'delivery.readable' "
                          "order by delivery nulls first") == [(None, False), ("a.csv", True), ("b.csv", False)]
    assert registry.query("select observed from dq_results where expectation = 'delivery.readable' "
                          "and delivery is null") == [
        ("b.csv: empty_file: the file is empty (failed in 1 of 2 deliveries)",)]
    assert registry.query("select count(*), count(distinct expectation) from dq_results where delivery is null"
                          ) == [(len(CATALOGUE),) * 2]


def test_a_delivery_whose_run_died_before_the_registry_suite_is_judged_next_run(registry, surveil, monkeypatch):
    """Fault injection: the registry suite raises (as a crash or kill between loading and the
    gate would leave things), so the all-boys delivery is committed but never judged. The
    next run, with no new file, judges it all the same, refuses it and publishes nothing."""
    from pipeline.gate import QualityGate

    before = _first_good_run(registry, surveil)
    births_before = registry.query("select count(*) from births")
    registry.deliver("births_2024-04.csv", [record(f"B{i}", sex="M", area_code=f"V{1 + i % 6}") for i in range(80)])
    judge = QualityGate.registry

    def crash(self, con, asof, delivery_ids):
        raise RuntimeError("killed before the registry suite")

    monkeypatch.setattr(QualityGate, "registry", crash)
    assert surveil("run", "--config", registry.config).exit_code == 1
    assert registry.query("select status from loads where file_name = 'births_2024-04.csv'") == [("loaded",)]
    assert _run_rows(registry, _last_run(registry))["registry.city_srb_in_range"] == (
        None, "not evaluated: the run stopped before the registry suite")
    monkeypatch.setattr(QualityGate, "registry", judge)
    result = surveil("run", "--config", registry.config)
    _assert_gate_failed(registry, result, "registry.city_srb_in_range", before)
    assert "refused: births_2024-04.csv" in result.stderr
    assert registry.query("select count(*) from births") == births_before
    assert surveil("run", "--config", registry.config).exit_code == 3  # and it stays refused
