"""Every critical expectation of the catalogue stops a real run: one crafted bad batch each.

Each case starts from the same good registry (two years of births in district D1, published
by a first run; built once per module and copied per case to the same path, since ``loads``
keeps absolute paths), then delivers one crafted batch and runs ``surveil run`` in-process.
Every case asserts the four things issue 5 asks for: exit 3; stderr one line naming the
expectation (and no other); srb_estimates, alerts, cusum_paths and detectability identical
to the first run's; the dq_results row of that expectation, critical and failed; and runs
records the run as gate_failed.

How each expectation is reached, the most real way available:

* by a crafted file, where a file can reach it (shares, unreadable file, missing column,
  unknown sex, the registry's volume, city and district SRB and dispersion checks);
* by a simulated loader bug, where the loader's own row rules quarantine every row that
  would break it (types, not-null, value sets, ranges, key uniqueness, known areas): the
  suite is defence in depth against a loader fault, so ``Loader._judge`` is wrapped with
  monkeypatch and one value of the judged clean frame of the bad file is corrupted;
* by a simulated model or staging bug for the output suite: ``pipeline.run.stage`` is
  wrapped and one short DuckDB statement corrupts the staged tables after staging.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

import pipeline.run
from expectations.catalogue import CATALOGUE
from pipeline.loader import Loader
from tests.conftest import HEADER, Registry, record

ASOF = "2025-01-01"
OUTPUT_TABLES = ("srb_estimates", "alerts", "cusum_paths", "detectability")
BASE_FILE = "births_2023-2024.csv"
BAD_FILE = "births_2025-01-01.csv"  # sorts after the base, as a nightly delivery does
D1_VILLAGES = ("V1", "V2", "V3", "V4")
D2_VILLAGES = ("V5", "V6")
MONTHS = [dt.date(2023 + m // 12, 1 + m % 12, 1) for m in range(24)]
BIRTHS_A_MONTH = 300


def _births(prefix: str, month: dt.date, sexes: list[str], villages: tuple[str, ...]) -> list[str]:
    """One CSV line per sex given, born on days 1-27 of ``month``, registered a day later."""
    lines = []
    for i, sex in enumerate(sexes):
        born = month + dt.timedelta(days=i % 27)
        lines.append(record(f"{prefix}{i}", birth_date=born.isoformat(),
                            registered_date=(born + dt.timedelta(days=1)).isoformat(), sex=sex,
                            birth_order=str(1 + i % 3), area_code=villages[i % len(villages)],
                            policy_status=("within", "outside")[i % 5 == 0]))
    return lines


def _base_lines() -> list[str]:
    """24 months of 300 births a month in D1, sex drawn at SRB ~106 (seeded): every
    registry check holds (exactly 300 a month, so volume ratios are 1; binomial sexes, so
    the dispersion score is a standard normal draw, far above -4). D2 has no births, so
    crafted D2 batches are judged on their own."""
    draw = random.Random(20250101)
    return [line for m, month in enumerate(MONTHS)
            for line in _births(f"B{m}-", month, ["M" if draw.random() < 0.515 else "F"
                                                  for _ in range(BIRTHS_A_MONTH)], D1_VILLAGES)]


def _good_batch(count: int = 100, prefix: str = "N") -> list[str]:
    """A small good delivery for December 2024 over all six villages: D1's December grows
    from 300 to 367 births (ratio 1.22, inside +/-40 %), D2 has no baseline."""
    return _births(prefix, MONTHS[-1], ["MF"[i % 2] for i in range(count)], (*D1_VILLAGES, *D2_VILLAGES))


# --- the crafted batches ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One crafted bad batch.

    lines / header / raw : the bad delivery file (raw bytes win over lines).
    judged_fault : corrupts the judged clean frame of the bad file (a simulated loader bug).
    staged_fault : DuckDB statement run on the staged outputs (a simulated model bug).
    refused_again : the next run, with nothing new, exits 3 naming the expectation again.
    loads_rule : the rule ``loads`` records for the refused file when the loader itself
        refused it (its own rule name; the expectation is then in the reason).
    """

    lines: list[str] = dataclasses.field(default_factory=_good_batch)
    header: str = HEADER
    raw: bytes | None = None
    judged_fault: Callable[[pl.DataFrame], pl.DataFrame] | None = None
    staged_fault: str | None = None
    refused_again: bool = False
    loads_rule: str | None = None


def _first_value(column: str, value: object) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The first record's ``column`` set to ``value`` (NULL for None), dtype kept."""
    def corrupt(clean: pl.DataFrame) -> pl.DataFrame:
        dtype = clean.schema[column]
        first = pl.int_range(pl.len()) == 0
        return clean.with_columns(pl.when(first).then(pl.lit(value).cast(dtype)).otherwise(pl.col(column))
                                  .alias(column))
    return corrupt


def _cast(column: str, dtype: pl.DataType) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda clean: clean.with_columns(pl.col(column).cast(dtype))


def _repeat_first_key(clean: pl.DataFrame) -> pl.DataFrame:
    """The second record carries the first one's key: one child counted twice."""
    keys = ("record_hash_hi", "record_hash_lo")
    second = pl.int_range(pl.len()) == 1
    return clean.with_columns(pl.when(second).then(pl.col(k).first()).otherwise(pl.col(k)).alias(k) for k in keys)


def _planted_alert(area_code: str, stratum: str, boys: int) -> str:
    return ("insert into staging.alerts (alert_id, area_code, stratum, boys, girls) "
            f"values ('planted', '{area_code}', '{stratum}', {boys}, 10)")


_CASES: dict[str, Case] = {
    # --- delivery suite, by file ---
    "delivery.readable": Case(raw=("\n".join([HEADER, *_good_batch()]) + "\n").encode("utf-16"),
                              refused_again=True, loads_rule="unknown_encoding"),
    "delivery.columns_present": Case(header=HEADER.replace("birth_order,", ""),
                                     lines=[",".join(v for j, v in enumerate(line.split(",")) if j != 3)
                                            for line in _good_batch()], refused_again=True,
                                     loads_rule="missing_column"),
    "delivery.sex_unknown_share": Case(lines=[*_good_batch(95), *_births("U", MONTHS[-1], ["U"] * 5, D1_VILLAGES)],
                                       refused_again=True),
    "delivery.quarantine_share": Case(lines=[*_good_batch(95), *_births("X", MONTHS[-1], ["X"] * 5, D1_VILLAGES)],
                                      refused_again=True),
    # --- delivery suite, by a simulated loader bug ---
    # No file reaches these: the row rules (pipeline/rules.py) quarantine the offending row
    # first, with the same bounds (unknown_area against the same area reference, birth dates
    # 1900 to the run's day, as the suite's), and parse every column to its type.
    "delivery.record_key_is_typed": Case(
        judged_fault=lambda clean: clean.with_columns(pl.col("record_hash_hi").reinterpret(signed=True))),
    "delivery.birth_date_is_date": Case(judged_fault=_cast("birth_date", pl.Datetime("us"))),
    "delivery.sex_is_text": Case(judged_fault=_cast("sex", pl.Categorical)),
    "delivery.birth_order_is_integer": Case(judged_fault=_cast("birth_order", pl.Float64)),
    "delivery.area_code_is_text": Case(judged_fault=_cast("area_code", pl.Categorical)),
    "delivery.registered_date_is_date": Case(judged_fault=_cast("registered_date", pl.Datetime("us"))),
    "delivery.plurality_is_integer": Case(judged_fault=_cast("plurality", pl.Float64)),
    "delivery.mother_age_is_number": Case(judged_fault=_cast("mother_age", pl.Decimal(10, 0))),
    "delivery.record_hash_not_null": Case(judged_fault=_first_value("record_hash_hi", None)),
    "delivery.birth_date_not_null": Case(judged_fault=_first_value("birth_date", None)),
    "delivery.sex_not_null": Case(judged_fault=_first_value("sex", None)),
    "delivery.birth_order_not_null": Case(judged_fault=_first_value("birth_order", None)),
    "delivery.area_code_not_null": Case(judged_fault=_first_value("area_code", None)),
    "delivery.sex_in_codes": Case(judged_fault=_first_value("sex", "X")),
    "delivery.residence_status_in_set": Case(judged_fault=_first_value("residence_status", "nomad")),
    "delivery.policy_status_in_set": Case(judged_fault=_first_value("policy_status", "maybe")),
    "delivery.birth_order_in_range": Case(judged_fault=_first_value("birth_order", 25)),
    "delivery.mother_age_in_range": Case(judged_fault=_first_value("mother_age", 70)),
    "delivery.plurality_in_range": Case(judged_fault=_first_value("plurality", 9)),
    "delivery.birth_date_in_range": Case(judged_fault=_first_value("birth_date", dt.date(1850, 1, 1))),
    "delivery.registered_date_in_range": Case(judged_fault=_first_value("registered_date", dt.date(2099, 1, 1))),
    "delivery.record_hash_unique": Case(judged_fault=_repeat_first_key),
    "delivery.area_code_known": Case(judged_fault=_first_value("area_code", "V99")),
    # --- registry suite, by file ---
    # December 2024 delivered twice over (new ids): 600 births against 300 a year earlier.
    "registry.district_month_volume": Case(
        lines=_births("R", MONTHS[-1], ["MF"[i % 2] for i in range(BIRTHS_A_MONTH)], D1_VILLAGES),
        refused_again=True),
    # 18 boys in each district and no girls: the city's 36 boys give a Wilson lower bound
    # (z = 3.89, p_lo = n / (n + z^2)) of SRB 238 > 130, while each district's 18 give 119,
    # inside the range, so only the city check fails.
    "registry.city_srb_in_range": Case(
        lines=[*_births("C1-", MONTHS[-1], ["M"] * 18, D1_VILLAGES), *_births("C2-", MONTHS[-1], ["M"] * 18,
                                                                                D2_VILLAGES)],
        refused_again=True),
    # D2 delivers 30 boys and no girls (lower bound SRB 100 * 30 / 15.13 = 198 > 130) inside
    # a batch whose city SRB (80 boys, 50 girls: Wilson interval 80-318) stays credible; D1's
    # December grows by a third (400 against 300), inside the volume check's +/-40 %.
    "registry.district_srb_in_range": Case(
        lines=[*_births("S", MONTHS[-1], ["MF"[i % 2] for i in range(100)], D1_VILLAGES),
               *_births("Z", MONTHS[-1], ["M"] * 30, D2_VILLAGES)],
        refused_again=True),
    # D2's 24 months each split exactly 206 boys of 400: what imputing sex by a fixed
    # fraction leaves (Pearson X2 = 0, dispersion z = -10 at df = 23).
    "registry.sex_split_dispersion": Case(
        lines=[line for m, month in enumerate(MONTHS)
               for line in _births(f"I{m}-", month, ["M"] * 206 + ["F"] * 194, D2_VILLAGES)],
        refused_again=True),
    # --- output suite, by a simulated model bug on the staged tables ---
    "outputs.srb_defined_where_girls": Case(
        staged_fault="update staging.srb_estimates set prob_above = null where area_code = 'V1' and girls > 0"),
    "outputs.interval_ordered": Case(
        staged_fault="update staging.srb_estimates set srb_lo = srb_hi + 1 where area_code = 'V1'"),
    "outputs.prob_above_in_unit_interval": Case(
        staged_fault="update staging.srb_estimates set prob_above = 1.5 where area_code = 'V1'"),
    # boys -1 in V1 and +1 in V2 in one extra cell: negative, yet T1's children still sum to 0
    "outputs.counts_non_negative": Case(
        staged_fault="insert into staging.srb_estimates (area_code, level, stratum, period_start, window_start, "
                     "boys, girls) values ('V1', 'village', 'all', '2030-01-07', '2030-01-07', -1, 0), "
                     "('V2', 'village', 'all', '2030-01-07', '2030-01-07', 1, 0)"),
    "outputs.levels_consistent": Case(
        staged_fault="update staging.srb_estimates set boys = boys + 1 where area_code = 'V1'"),
    "outputs.alert_area_known": Case(staged_fault=_planted_alert("NOWHERE", "all", 10)),
    "outputs.alert_stratum_known": Case(staged_fault=_planted_alert("C", "parity_9", 10)),
    "outputs.alert_counts_non_negative": Case(staged_fault=_planted_alert("C", "all", -1)),
}

CRITICAL = [name for name, rule in CATALOGUE.items() if rule.is_critical]


def test_every_critical_expectation_has_a_crafted_batch():
    """A critical expectation added to the catalogue without a case here fails this test."""
    assert sorted(set(CRITICAL) - set(_CASES)) == []
    assert sorted(set(_CASES) - set(CRITICAL)) == []  # no case for a renamed or demoted one


# --- the shared good registry ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GoodRegistry:
    snapshot: Path  # the registry folder after the good first run
    work: Path  # where each case copies it (the same path: loads keeps absolute paths)
    published: dict[str, list[tuple]]


def _published(registry: Registry) -> dict[str, list[tuple]]:
    return {table: registry.query(f"select * from {table} order by all") for table in OUTPUT_TABLES}


@pytest.fixture(scope="module")
def good_registry(tmp_path_factory, module_surveil) -> GoodRegistry:
    work = tmp_path_factory.mktemp("case") / "registry"
    registry = Registry(work)
    registry.deliver(BASE_FILE, _base_lines())
    first = module_surveil("run", "--config", registry.config, "--asof", ASOF)
    assert first.exit_code == 0, first.output
    published = _published(registry)
    assert published["srb_estimates"] and published["cusum_paths"]  # the comparison has teeth
    snapshot = tmp_path_factory.mktemp("good") / "registry"
    shutil.copytree(work, snapshot)
    return GoodRegistry(snapshot, work, published)


@pytest.fixture(scope="module")
def module_surveil():
    from typer.testing import CliRunner

    from pipeline.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _fresh_copy(good: GoodRegistry) -> Registry:
    """The good registry again at the same path: the same areas, configuration and base file
    (the same path and sha256, so it stays loaded), and the database of the first run."""
    shutil.rmtree(good.work)
    registry = Registry(good.work)
    shutil.copy(good.snapshot / "births" / BASE_FILE, registry.births)
    shutil.copytree(good.snapshot / "var", good.work / "var")
    return registry


def _inject(monkeypatch, case: Case) -> None:
    if case.judged_fault is not None:
        judge = Loader._judge

        def judge_with_fault(self, path, data):
            judged = judge(self, path, data)
            if path.name != BAD_FILE:
                return judged
            return dataclasses.replace(judged, clean=case.judged_fault(judged.clean))

        monkeypatch.setattr(Loader, "_judge", judge_with_fault)
    if case.staged_fault is not None:
        stage = pipeline.run.stage

        def stage_with_fault(con, *args, **kwargs):
            stage(con, *args, **kwargs)
            con.execute(case.staged_fault)

        monkeypatch.setattr(pipeline.run, "stage", stage_with_fault)


def _assert_gate_failed(registry: Registry, result, expectation: str, before: dict) -> None:
    """The four things issue 5 asks of a critical failure, and the run's record."""
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert [name for name in CATALOGUE if name in lines[0]] == [expectation], lines[0]
    assert _published(registry) == before
    run_id = registry.query("select run_id from runs order by started_at desc limit 1")[0][0]
    # one run-level row per catalogue expectation; the crafted batch fails that one alone
    rows = registry.query("select expectation, severity, success from dq_results where run_id = $r and "
                          "delivery is null", {"r": run_id})
    assert len(rows) == len(CATALOGUE) and {name for name, _, _ in rows} == set(CATALOGUE)
    assert [(name, severity) for name, severity, success in rows if success is False] == [
        (expectation, "critical")], rows
    if expectation.startswith("delivery."):  # and the file's own verdict
        assert registry.query("select severity, success from dq_results where run_id = $r and expectation = $e "
                              "and delivery = $f", {"r": run_id, "e": expectation, "f": BAD_FILE}) == [
            ("critical", False)]
    assert registry.query("select status, exit_code from runs where run_id = $r", {"r": run_id}) == [
        ("gate_failed", 3)]


@pytest.mark.parametrize("expectation", CRITICAL)
def test_a_crafted_batch_fails_the_run_on_its_expectation(expectation, good_registry, module_surveil,
                                                           monkeypatch):
    if expectation not in _CASES:
        pytest.fail(f"no crafted batch for the critical expectation {expectation}")
    case = _CASES[expectation]
    registry = _fresh_copy(good_registry)
    assert _published(registry) == good_registry.published
    bad = registry.births / BAD_FILE
    if case.raw is not None:
        bad.write_bytes(case.raw)
    else:
        registry.deliver(BAD_FILE, case.lines, header=case.header)
    _inject(monkeypatch, case)
    result = module_surveil("run", "--config", registry.config, "--asof", ASOF)
    _assert_gate_failed(registry, result, expectation, good_registry.published)
    if not expectation.startswith("outputs."):
        # the bad file is refused whole: recorded in loads, none of its rows in the registry
        assert registry.query("select status, rule from loads where file_name = $f", {"f": BAD_FILE}) == [
            ("refused", case.loads_rule or expectation)]
        assert registry.query("select count(*) from birth_records") == [(len(MONTHS) * BIRTHS_A_MONTH,)]
    if case.refused_again:
        # the refused file, unchanged, is refused again: the bad data never publishes
        monkeypatch.undo()
        again = module_surveil("run", "--config", registry.config, "--asof", ASOF)
        assert again.exit_code == 3 and expectation in again.stderr, again.output
        assert _published(registry) == good_registry.published
