"""The nightly command end to end on a tiny registry: contract tables, exit codes, replay."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import good_records, record

ESTIMATE_COLUMNS = ["area_code", "level", "stratum", "period_start", "window_start", "boys", "girls",
                    "srb_raw", "srb_smoothed", "srb_lo", "srb_hi", "prob_above"]
ALERT_COLUMNS = ["alert_id", "area_code", "stratum", "method", "detected_period", "onset_period", "boys",
                 "girls", "srb_observed", "srb_expected", "statistic", "threshold", "status"]


def weekly_records(prefix: str, start: dt.date, weeks: int, *, area: str = "V1", boys: int = 3, girls: int = 3,
                   birth_order: str = "1") -> list[str]:
    lines = []
    for week in range(weeks):
        day = start + dt.timedelta(weeks=week)
        for k in range(boys + girls):
            lines.append(record(f"{prefix}{week}-{k}", birth_date=day.isoformat(), sex="M" if k < boys else "F",
                                birth_order=birth_order, area_code=area,
                                registered_date=(day + dt.timedelta(days=2)).isoformat()))
    return lines


def excess_in_town_two(weeks: int = 30, start: dt.date = dt.date(2024, 1, 1), prefix: str = "R") -> list[str]:
    """Second births with SRB 300 in village V3 (town T2), balanced by SRB 33 in V1 (town T1)
    so that its district D1 stays at 100, inside the gate's plausible range for a district
    (registry.district_srb_in_range); district D2 is balanced the same way (V5 and V6)."""
    return weekly_records(f"{prefix}a", start, weeks, area="V3", boys=6, girls=2, birth_order="2") + \
        weekly_records(f"{prefix}b", start, weeks, area="V1", boys=2, girls=6, birth_order="2") + \
        weekly_records(f"{prefix}c", start, weeks, area="V5", boys=2, girls=6, birth_order="2") + \
        weekly_records(f"{prefix}d", start, weeks, area="V6", boys=6, girls=2, birth_order="2")


def columns(registry, table):
    return [r[0] for r in registry.query(
        "select column_name from duckdb_columns() where table_name = $t order by column_index", {"t": table})]


def test_contract_tables_and_columns(registry, surveil):
    registry.deliver("a.csv", weekly_records("R", dt.date(2024, 1, 1), 4))
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 0, result.output
    assert set(ESTIMATE_COLUMNS) <= set(columns(registry, "srb_estimates"))
    assert set(ALERT_COLUMNS) <= set(columns(registry, "alerts"))
    # 12 areas x 5 strata x 4 weeks, dense
    assert registry.query("select count(*) from srb_estimates") == [(12 * 5 * 4,)]
    assert registry.query("select min(period_start), max(period_start) from srb_estimates") == [
        (dt.date(2024, 1, 1), dt.date(2024, 1, 22))]


def test_counts_roll_up_every_level_and_window(registry, surveil):
    lines = weekly_records("A", dt.date(2024, 1, 1), 3, area="V1", boys=2, girls=1) + \
        weekly_records("B", dt.date(2024, 1, 1), 3, area="V5", boys=1, girls=2, birth_order="2")
    registry.deliver("a.csv", lines)
    registry.write_config('\n[surveillance]\nwindow_periods = 2\n')
    assert surveil("run", "--config", registry.config).exit_code == 0
    rows = registry.query("select area_code, stratum, boys, girls, window_start from srb_estimates "
                          "where period_start = '2024-01-15' and stratum in ('all', 'parity_2') "
                          "and area_code in ('C', 'D1', 'D2', 'T1', 'V1', 'V5') order by area_code, stratum")
    w = dt.date(2024, 1, 8)
    assert rows == [
        ("C", "all", 6, 6, w), ("C", "parity_2", 2, 4, w),
        ("D1", "all", 4, 2, w), ("D1", "parity_2", 0, 0, w),
        ("D2", "all", 2, 4, w), ("D2", "parity_2", 2, 4, w),
        ("T1", "all", 4, 2, w), ("T1", "parity_2", 0, 0, w),
        ("V1", "all", 4, 2, w), ("V1", "parity_2", 0, 0, w),
        ("V5", "all", 2, 4, w), ("V5", "parity_2", 2, 4, w),
    ]
    # raw SRB and its exact interval: V1 all has 4 boys and 2 girls
    srb_raw, lo, hi = registry.query("select srb_raw, srb_raw_lo, srb_raw_hi from srb_estimates where "
                                     "area_code = 'V1' and stratum = 'all' and period_start = '2024-01-15'")[0]
    assert srb_raw == pytest.approx(200.0)
    # Clopper-Pearson for 4 of 6 (R: binom.test(4, 6)$conf.int = 0.2227780955 0.9567281317)
    assert lo == pytest.approx(100 * 0.2227780955 / (1 - 0.2227780955), rel=1e-8)
    assert hi == pytest.approx(100 * 0.9567281317 / (1 - 0.9567281317), rel=1e-8)


def test_within_policy_stratum_only_where_policy_status_present(registry, surveil):
    registry.deliver("a.csv", [record("R1", policy_status=""), record("R2", policy_status="")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select distinct stratum from srb_estimates order by 1") == [
        ("all",), ("parity_1",), ("parity_2",), ("parity_3plus",)]


@pytest.mark.parametrize("method", ["eb", "hierarchical"])
def test_asof_ignores_later_births_and_registrations_without_look_ahead(registry, surveil, method):
    """Every column, the smoothed ones included: a period's pools share no decision with later
    periods' pools (regression: a grid point dropped for all pools at once moved eb results
    by ~6e-9 when unrelated pools were added)."""
    registry.write_config(f'\n[surveillance]\nsmoothing = "{method}"\n')
    early = weekly_records("E", dt.date(2024, 1, 1), 4) + \
        weekly_records("F", dt.date(2024, 1, 1), 4, area="V4", boys=2, girls=3)
    registry.deliver("a.csv", early + weekly_records("L", dt.date(2024, 1, 29), 4, boys=6, girls=0))
    assert surveil("run", "--config", registry.config).exit_code == 0
    full = registry.query("select * from srb_estimates where period_start <= '2024-01-22' order by all")
    assert surveil("run", "--config", registry.config, "--asof", "2024-01-28").exit_code == 0
    replay = registry.query("select * from srb_estimates order by all")
    assert replay == full
    assert registry.query("select max(period_start) from srb_estimates") == [(dt.date(2024, 1, 22),)]


def test_rerun_changes_nothing_and_alerts_keep_their_ids(registry, surveil):
    registry.deliver("a.csv", excess_in_town_two())
    assert surveil("run", "--config", registry.config).exit_code == 0
    alerts = registry.query("select * exclude (first_run_id, updated_run_id) from alerts order by all")
    assert alerts, "a town with SRB 300 over 30 weeks must be credibly above 110"
    alerted_areas = {a[1] for a in alerts}
    assert "T2" in alerted_areas and "V3" not in alerted_areas  # villages are not monitored by default
    estimates = registry.query("select * from srb_estimates order by all")
    all_alerts = registry.query("select * from alerts order by all")
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select * from srb_estimates order by all") == estimates
    assert registry.query("select * from alerts order by all") == all_alerts


def test_sql_command_prints_table_and_csv(registry, surveil):
    registry.deliver("a.csv", [*good_records(60), record("R2", sex="X")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    result = surveil("sql", "--config", registry.config, "select count(*) as n from quarantine", "--csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["n", "1"]
    result = surveil("sql", "--config", registry.config, "select rule from v_quarantine_summary")
    assert "invalid_sex" in result.stdout
    bad = surveil("sql", "--config", registry.config, "select nonsense from nowhere")
    assert bad.exit_code == 1 and "nowhere" in bad.stderr


@pytest.mark.parametrize(("config_text", "message"), [
    ("[data\nbirths=", "not valid TOML"),
    ('[data]\nareas = "areas.csv"\n', "[data.births]"),
    ('[data]\nbirths = "births/*"\nareas = "areas.csv"\n[surveillance]\nperiod = "fortnight"\n',
     "[surveillance.period]"),
    ('[data]\nbirths = "births/*"\nareas = "missing.csv"\n[privacy]\ndemo_hash_key = "k"\n',
     "missing.csv: file not found"),
    ('[data]\nbirths = "births/*"\nareas = "areas.csv"\n', "SURVEIL_HASH_KEY is not set"),
])
def test_bad_configuration_exits_2_with_one_line(registry, surveil, monkeypatch, config_text, message):
    monkeypatch.delenv("SURVEIL_HASH_KEY", raising=False)
    registry.config.write_text(config_text, encoding="utf-8")
    registry.deliver("a.csv", [record("R1")])
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_bad_command_line_exits_2(registry, surveil):
    assert surveil("run", "--config", registry.config, "--asof", "yesterday").exit_code == 2
    assert surveil("run").exit_code == 2
    assert surveil("run", "--config", registry.root / "nope.toml").exit_code == 2


@pytest.mark.parametrize(("areas", "message"), [
    ("area_code,name,parent_code,level\nC,City,,city\nV1,V,X,village\n", "areas.csv:3: parent_code X"),
    ("area_code,name,parent_code,level\nC,City,,city\nC,Again,,city\n", "areas.csv:3: area_code C appears twice"),
    ("area_code,name,level\nC,City,city\n", "areas.csv:1: missing column parent_code"),
    ("area_code,name,parent_code,level\nA,A,B,x\nB,B,A,x\n", "loops back"),
])
def test_bad_areas_file_exits_2(registry, surveil, areas, message):
    (registry.root / "areas.csv").write_text(areas, encoding="utf-8")
    registry.write_config().write_text(registry.config.read_text().replace('adjacency = "adjacency.csv"\n', ""))
    registry.deliver("a.csv", [record("R1")])
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize(("pairs", "message"), [
    ("V1,V1", "paired with itself"), ("V1,T1", "of different levels"), ("V1,V77", "V77 is not an area"),
])
def test_bad_adjacency_exits_2(registry, surveil, pairs, message):
    (registry.root / "adjacency.csv").write_text(f"area_code_a,area_code_b\n{pairs}\n", encoding="utf-8")
    registry.deliver("a.csv", [record("R1")])
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 2 and "adjacency.csv:2:" in result.stderr and message in result.stderr


def test_run_summary_is_written_to_the_run_folder(registry, surveil):
    registry.deliver("a.csv", [record("R1"), record("R2", sex="F")])
    result = surveil("run", "--config", registry.config)
    assert "deliveries: 1 seen, 1 loaded" in result.stdout
    (summary,) = (registry.root / "var" / "runs").glob("*/summary.txt")
    assert "rows this run: 2 loaded, 0 quarantined" in summary.read_text(encoding="utf-8")
    assert registry.query("select status, exit_code, rows_loaded from runs") == [("published", 0, 2)]


def test_smoothing_corner_cases_named_in_the_summary(registry, surveil):
    """Issue 3: the smoother's messages reach the run summary in the domain's words (area,
    stratum, period), counted, instead of cell indices nobody read."""
    lines = weekly_records("A", dt.date(2024, 1, 1), 3, area="V1", boys=3, girls=0, birth_order="2") + \
        weekly_records("B", dt.date(2024, 1, 1), 3, area="V2", boys=2, girls=2)
    registry.deliver("a.csv", lines)
    registry.write_config('\n[surveillance]\nsmoothing = "eb"\n')
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 0, result.output
    (summary,) = (registry.root / "var" / "runs").glob("*/summary.txt")
    # the panel wraps long lines: join its inner text, then split at each "smoothing:"
    inner = " ".join(line.strip(" │╭╮╰╯─") for line in summary.read_text(encoding="utf-8").splitlines())
    smoothing = ["smoothing:" + part.split("  ")[0] for part in inner.split("smoothing:")[1:]]
    assert 1 <= len(smoothing) <= 5
    # parity_2 has boys only, in V1 alone: every parity_2 pool is unpoolable (Jeffreys)
    assert any(re.search(r"smoothing: \d+ cells: no pooling.*, e\.g\. area \w+ \w+ 2024-", line)
               for line in smoothing), smoothing
    assert any(re.search(r"\d+ cells: no births.*e\.g\. area V\d \w+ 2024-", line)
               for line in smoothing), smoothing
    assert not any("cells 0" in line or "pools 0" in line for line in smoothing)


@pytest.mark.parametrize("method", ["eb", "hierarchical", "none", "spatial"])
def test_published_smoothed_columns_never_nan(registry, surveil, method):
    """Issue 3: never NaN in a published column, for cells with no girls, no boys, no births."""
    lines = weekly_records("A", dt.date(2024, 1, 1), 3, area="V1", boys=3, girls=0) + \
        weekly_records("B", dt.date(2024, 1, 1), 3, area="V2", boys=0, girls=4) + \
        weekly_records("C", dt.date(2024, 1, 1), 3, area="V3", boys=2, girls=3)
    registry.deliver("a.csv", lines)
    registry.write_config(f'\n[surveillance]\nsmoothing = "{method}"\n')
    assert surveil("run", "--config", registry.config).exit_code == 0
    kinds = registry.query("select count(*) filter (girls = 0 and boys > 0), count(*) filter (boys = 0 and "
                           "girls > 0), count(*) filter (boys + girls = 0), count(*) from srb_estimates")
    assert all(k > 0 for k in kinds[0]), kinds
    missing = registry.query(
        "select count(*) from srb_estimates where " + " or ".join(
            f"{c} is null or isnan({c}) or not isfinite({c})"
            for c in ("srb_smoothed", "srb_lo", "srb_hi", "prob_above")))
    assert missing == [(0,)]
    assert registry.query("select count(*) from srb_estimates where not (srb_lo <= srb_smoothed and "
                          "srb_smoothed <= srb_hi and prob_above between 0 and 1)") == [(0,)]
