"""Benchmark of the data-quality gate at production scale (issue 5: < 15 s, < 2 GB).

    .venv/bin/python bench/gate.py [--births 10000000] [--delivery 100000] [--keep DIR]
                                   [--chunk-rows 10000000] [--chunk-deliveries 10]
                                   [--part all|registry|chunk]
    .venv/bin/python -m bench gate          (as `make bench` runs it, defaults)

Part "registry" measures what issue 5 asks: "the gate on a 100,000-record nightly delivery
plus the registry and output suites on a 10-million-record registry: under 15 s on 2
cores, GX import included; peak memory under 2 GB".

It builds, untimed, a DuckDB file holding a synthetic registry: an area tree (1 city, 12
districts, 144 towns, 2,592 villages), ``births`` with 10 million rows over ten years (the
100,000 most recently registered form the new delivery, ``delivery_id`` 2), the staged
outputs as the pipeline's default settings make them, i.e. ``staging.srb_estimates`` for
every area x 5 strata x ISO week (52-week trailing windows, about 7.1 million rows), and
``staging.alerts``, plus the project's ``dq_results`` table. Then a fresh Python process,
timed from its start by its parent (interpreter, pandas, DuckDB and Great Expectations
imports included), goes through the pipeline's own gate path, ``pipeline.gate.QualityGate``:
it starts the GX import in the background (``preload_gx``, as ``run_nightly`` does), reads
the delivery as the loader hands it over (a judged Polars frame, record keys as two UInt64
halves), gates it with ``QualityGate.deliveries`` (the delivery suite, GX on the batch),
``loaded``, ``registry`` (DuckDB aggregates of the 10 million rows, then GX), ``outputs``
(DuckDB aggregates of the 7 million staged estimates, then GX), and ``record`` (one
dq_results row per expectation, in its transaction, and data_quality.html). It reports wall
seconds per step, CPU seconds, its peak RSS and every expectation that failed or could not
be evaluated; the targets are met only when none did. The data are made with hashes of the
row number, so every run builds the same registry.

Part "chunk" (issue 2: the nightly job loads and validates 10 million records at a million
rows a second) times the delivery suite, ``check_deliveries``, on one chunk of 10 deliveries
of a million clean records each, as the loader hands them over (Polars frames), once with
the record key as two UInt64 halves and once as 64-hex text; target < 1.5 s each. The
chunk is demo-city shaped, seeded: 300 villages, registrations spread over 2,200 days (each
delivery one stretch of 220 days), births 0-60 days before registration (geometric, mean
7 days), birth order, mother's age, twins, residence and policy shares as in pipeline/demo.py.
It reports the Polars part (``domain_frames``) and the whole suite, the first call (GX's
one-off set-up included) and the second, in wall and CPU seconds (all threads; on a shared
machine the CPU seconds say more than the wall clock).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASOF = dt.date(2025, 3, 15)
FIRST_BIRTH = dt.date(2015, 3, 1)
SECONDS_TARGET = 15.0
RSS_TARGET_MB = 2048.0
CHUNK_SECONDS_TARGET = 1.5

AREAS_SQL = """
create table areas as
with
districts as (
    select '3301' || lpad(cast(d as varchar), 2, '0') as area_code from range(1, 13) t(d)
),
towns as (
    select area_code || lpad(cast(t as varchar), 3, '0') as area_code, area_code as parent_code
    from districts, range(1, 13) s(t)
),
villages as (
    select area_code || lpad(cast(v as varchar), 3, '0') as area_code, area_code as parent_code
    from towns, range(1, 19) s(v)
)
select '330000' as area_code, 'City' as name, cast(null as varchar) as parent_code,
       'city' as level, 0 as depth
union all select area_code, 'District ' || area_code, '330000', 'district', 1 from districts
union all select area_code, 'Town ' || area_code, parent_code, 'town', 2 from towns
union all select area_code, 'Village ' || area_code, parent_code, 'village', 3 from villages;

create table area_ancestors as
with recursive walk(area_code, ancestor_code, ancestor_depth) as (
    select area_code, area_code, depth from areas
    union all
    select walk.area_code, areas.parent_code, areas.depth - 1
    from walk join areas on areas.area_code = walk.ancestor_code
    where areas.parent_code is not null
)
select * from walk;
"""

# Births are spread evenly from FIRST_BIRTH to the day before ASOF and registered 0-59 days
# later; those registered after ASOF are left out (the pipeline ignores them): 2 % more
# rows are generated and $births of those that remain are kept, chosen by hash so that
# every month is thinned alike. The new delivery is the $delivery most recently registered
# records, as a nightly export would be.
BIRTHS_SQL = """
create table births as
with
villages as (
    select area_code, cast(row_number() over (order by area_code) - 1 as bigint) as village_index
    from areas where level = 'village'
),
numbered as (
    select i, hash(i) as h,
           cast($first_birth + cast(i * $days // $generated as integer) as date) as birth_date
    from range($generated) t(i)
),
made as (
    select
        h,
        hash(i, 'hi') as record_hash_hi,
        hash(i, 'lo') as record_hash_lo,
        numbered.birth_date,
        case when (h % 1000) < 513 then 'M' when (h % 1000) < 997 then 'F' else 'U' end as sex,
        cast(1 + (h // 7) % 3 as integer) as birth_order,
        villages.area_code,
        1 as plurality,
        cast(numbered.birth_date + cast((h // 11) % 60 as integer) as date) as registered_date,
        cast(20 + (h // 13) % 20 as integer) as mother_age,
        case when (h // 17) % 5 = 0 then 'floating' else 'registered' end as residence_status,
        case when (h // 19) % 10 = 0 then 'outside' else 'within' end as policy_status,
        'F' || (h // 23) % 400 as facility_code,
        1 as delivery_id,
        cast(i % 1000000 + 2 as integer) as source_line
    from numbered
    join villages on villages.village_index = (numbered.h // 29) % $villages
)
select (cast(record_hash_hi as uhugeint) << 64) | record_hash_lo as record_hash,
       * exclude (h, record_hash_hi, record_hash_lo)
from made
where registered_date <= $asof
order by h
limit $births
"""

DELIVERY_SQL = """
update births set delivery_id = 2
where record_hash in (
    select record_hash from births order by registered_date desc, record_hash limit $delivery
)
"""

# The new delivery as the loader hands it to the gate, kept aside so that the timed run
# reads it as it would come from the loader: judged clean rows, record keys as the two
# UInt64 halves of the keyed hash, the line each came from.
DELIVERY_BATCH_SQL = """
create table nightly_delivery as
select cast(record_hash >> 64 as ubigint) as record_hash_hi,
       cast(record_hash & cast(18446744073709551615 as uhugeint) as ubigint) as record_hash_lo,
       birth_date, sex, birth_order, area_code, plurality, registered_date, mother_age,
       residence_status, policy_status, facility_code, cast(source_line as bigint) as source_line
from births
where delivery_id = 2
"""

# The staged outputs as the pipeline's defaults make them (config: period = "week",
# window_periods = 52): one row per area x stratum x ISO week of the registry, every area
# and week present, boys and girls summed over the 52 weeks ending with the week (so parents
# equal the sum of their children, as the output suite expects). The SRB columns are
# simple functions of the counts: the suite's cost depends on rows, not on these values.
ESTIMATES_SQL = """
create schema staging;
create table staging.srb_estimates as
with
strata(stratum) as (
    values ('all'), ('parity_1'), ('parity_2'), ('parity_3plus'), ('parity_2_within_policy')
),
leaf_cells as (
    select area_code, cast(date_trunc('week', birth_date) as date) as period_start,
           birth_order, policy_status,
           count(*) filter (where sex = 'M') as boys,
           count(*) filter (where sex = 'F') as girls
    from births
    group by all
),
stratified as (
    select leaf_cells.*, strata.stratum
    from leaf_cells
    join strata
      on strata.stratum = 'all'
      or (strata.stratum = 'parity_1' and birth_order = 1)
      or (strata.stratum = 'parity_2' and birth_order = 2)
      or (strata.stratum = 'parity_3plus' and birth_order >= 3)
      or (strata.stratum = 'parity_2_within_policy' and birth_order = 2
          and policy_status = 'within')
),
week_cells as (
    select area_ancestors.ancestor_code as area_code, stratum, period_start,
           sum(boys) as boys, sum(girls) as girls
    from stratified
    join area_ancestors on area_ancestors.area_code = stratified.area_code
    group by all
),
weeks as (
    select cast(week as date) as period_start
    from range((select cast(min(period_start) as timestamp) from leaf_cells),
               (select cast(max(period_start) as timestamp) + interval 1 day from leaf_cells),
               interval 7 day) t(week)
),
grid as (
    select areas.area_code, areas.level, strata.stratum, weeks.period_start
    from areas, strata, weeks
),
windowed as (
    select grid.area_code, grid.level, grid.stratum, grid.period_start,
           cast(grid.period_start - interval 51 week as date) as window_start,
           cast(sum(coalesce(week_cells.boys, 0)) over last_52_weeks as bigint) as boys,
           cast(sum(coalesce(week_cells.girls, 0)) over last_52_weeks as bigint) as girls
    from grid
    left join week_cells using (area_code, stratum, period_start)
    window last_52_weeks as (partition by grid.area_code, grid.stratum order by grid.period_start
                        rows between 51 preceding and current row)
)
select area_code, level, stratum, period_start, window_start, boys + girls as births, boys, girls,
       case when girls > 0 then 100.0 * boys / girls end as srb_raw,
       case when girls > 0 then 90.0 * boys / girls end as srb_raw_lo,
       case when girls > 0 then 110.0 * boys / girls end as srb_raw_hi,
       100.0 * (boys + 10.6) / (girls + 10.0) as srb_smoothed,
       90.0 * (boys + 10.6) / (girls + 10.0) as srb_lo,
       110.0 * (boys + 10.6) / (girls + 10.0) as srb_hi,
       0.3 as prob_above
from windowed;

create table staging.alerts as
select cast(row_number() over () as varchar) as alert_id, area_code, stratum,
       'cusum' as method, period_start as detected_period, period_start as onset_period,
       boys, girls, 100.0 * boys / greatest(girls, 1) as srb_observed, 106.0 as srb_expected,
       5.0 as statistic, 4.0 as threshold, 'new' as status
from staging.srb_estimates
using sample 500 rows (reservoir, 7);
"""


def build(database: Path, births: int, delivery: int) -> float:
    """Write the synthetic registry to ``database``; return the seconds it took."""
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(str(database)) as connection:
        connection.execute(AREAS_SQL)
        villages = connection.execute(
            "select count(*) from areas where level = 'village'"
        ).fetchone()[0]
        connection.execute(
            BIRTHS_SQL,
            {
                "births": births,
                "generated": births * 102 // 100,
                "first_birth": FIRST_BIRTH,
                "days": (ASOF - FIRST_BIRTH).days,
                "villages": villages,
                "asof": ASOF,
            },
        )
        connection.execute(DELIVERY_SQL, {"delivery": delivery})
        connection.execute(DELIVERY_BATCH_SQL)
        connection.execute(ESTIMATES_SQL)
        connection.execute((REPO / "sql" / "schema" / "050_dq_results.sql").read_text(encoding="utf-8"))
        connection.execute("checkpoint")
    return time.perf_counter() - started


def _peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    VmHWM from /proc, which starts afresh at exec; ru_maxrss would carry over the peak of
    the parent that forked us (the builder, gigabytes). Falls back to ru_maxrss elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# 0.15 % of the delivery's rows quarantined by the loader's row rules (a typical night).
QUARANTINED_ROWS = 150


def timed_run(database: Path) -> dict[str, object]:
    """The measured part; runs in a fresh process (see main), in a scratch folder."""
    process_start = time.perf_counter()
    marks: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def mark(step: str) -> None:
        marks[step] = time.perf_counter()
        peaks[step] = _peak_rss_mb()

    import duckdb
    import polars as pl

    from expectations import preload_gx
    from pipeline.errors import GateFailure
    from pipeline.gate import QualityGate
    from pipeline.loader import DeliveryOutcome, LoadReport, PendingDelivery, _JudgedDelivery

    mark("imports (python, polars, pandas, duckdb, pipeline.gate)")
    preload_gx()  # as run_nightly does: GX imports in the background meanwhile
    connection = duckdb.connect(str(database))
    clean = connection.sql("select * from nightly_delivery").pl()
    quarantined = pl.DataFrame({"line": range(2, QUARANTINED_ROWS + 2), "rule": ["invalid_sex"] * QUARANTINED_ROWS})
    path = Path("births_nightly.csv").resolve()
    pending = PendingDelivery(path, 0, "-", _JudgedDelivery(clean, quarantined, clean.height + QUARANTINED_ROWS,
                                                             [], "utf-8"))
    known = [row[0] for row in connection.execute("select area_code from areas").fetchall()]
    mark("read the judged delivery (stands in for the loader)")
    gate = QualityGate(known, ASOF)
    stopped = None
    try:
        refusals = gate.deliveries([pending])
        mark("delivery suite: QualityGate.deliveries (waits for the GX import)")
        gate.loaded(LoadReport([DeliveryOutcome(path, "refused" if refusals else "loaded", clean.height,
                                                clean.height, QUARANTINED_ROWS)]))
        gate.registry(connection, ASOF, [2])
        mark("registry suite: QualityGate.registry (DuckDB, 10M rows, then GX)")
        gate.outputs(connection)
        mark("output suite: QualityGate.outputs (DuckDB, staged weekly estimates, then GX)")
    except GateFailure as failure:
        stopped = str(failure)
    gate.record(connection, "bench", dt.datetime.now(), Path.cwd(), {"run": "bench", "as of": str(ASOF)})
    mark("record: dq_results rows and data_quality.html")
    report: dict[str, object] = {}
    previous = process_start
    for step, at in marks.items():
        report[step] = f"{at - previous:.3f} s (peak RSS so far {peaks[step]:.0f} MB)"
        previous = at
    report["total_seconds"] = round(previous - process_start, 3)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_seconds (user + system, all threads)"] = round(usage.ru_utime + usage.ru_stime, 2)
    report["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    report["delivery_records"] = clean.height
    report["staged_estimate_rows"] = connection.execute("select count(*) from staging.srb_estimates").fetchone()[0]
    report["registry_records"] = connection.execute("select count(*) from births").fetchone()[0]
    report["dq_results_rows"] = connection.execute("select count(*) from dq_results").fetchone()[0]
    report["stopped"] = stopped
    report["failed"] = [o.expectation for o, _ in gate.outcomes if o.success is False]
    report["not_evaluated"] = [o.expectation for o, _ in gate.outcomes if o.success is None]
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    return report


def delivery_chunk(rows: int, deliveries: int, *, text_keys: bool, seed: int = 20111231):
    """``deliveries`` clean batches of ``rows // deliveries`` records each, as
    ``{file name: (clean rows, rows read, rows quarantined)}`` with 0.2 % quarantined, and
    the area codes of their area tree (see the module doc for their shape)."""
    import numpy as np
    import polars as pl
    import polars_hash as plh

    rng = np.random.default_rng(seed)
    villages = [f"4406{d:02d}{t:03d}{v:03d}" for d in range(1, 13) for t in range(1, 6) for v in range(1, 6)]
    known = sorted({code[:n] for code in villages for n in (6, 9, 12)} | {"440600"})
    per_delivery, window = rows // deliveries, 2_200 // deliveries
    first_registration = np.datetime64("2019-01-01")
    batches = {}
    for number in range(deliveries):
        size = per_delivery  # the last delivery too: rows // deliveries each
        registered = rng.integers(number * window, (number + 1) * window, size)
        delay = np.minimum(rng.geometric(0.12, size) - 1, 60)
        parity = rng.choice(3, size=size, p=(0.55, 0.38, 0.07))
        frame = pl.DataFrame({
            "record_hash_hi": rng.integers(0, 2**64, size, dtype=np.uint64),
            "record_hash_lo": rng.integers(0, 2**64, size, dtype=np.uint64),
            "birth_date": first_registration + (registered - delay).astype("timedelta64[D]"),
            "sex": pl.Series(["M", "F", "U"]).gather(rng.choice(3, size=size, p=(0.513, 0.484, 0.003))),
            "birth_order": np.where(parity == 2, 2 + rng.geometric(0.7, size), parity + 1),
            "area_code": pl.Series(villages).gather(rng.integers(0, len(villages), size)),
            "plurality": np.where(rng.random(size) < 0.012, 2, 1),
            "registered_date": first_registration + registered.astype("timedelta64[D]"),
            "mother_age": np.clip(np.round(rng.normal(27.5 + 2.5 * parity, 4.0)), 16, 49),
            "residence_status": pl.Series(["registered", "floating"]).gather(
                (rng.random(size) < 0.37).astype(np.int8)),
            "policy_status": pl.Series(["within", "outside"]).gather((rng.random(size) < 0.12).astype(np.int8)),
            "facility_code": pl.Series([f"H{h}" for h in range(17)]).gather(rng.integers(0, 17, size)),
            "source_line": np.arange(2, size + 2),
        }).with_columns(
            pl.col("birth_date", "registered_date").cast(pl.Date),
            pl.col("birth_order", "plurality", "mother_age").cast(pl.Int32),
        )
        if text_keys:  # the older key layout, still accepted: SHA-256 in lower-case hex
            record_id = (pl.int_range(pl.len()) + number * per_delivery).cast(pl.String)
            frame = frame.with_columns(record_id=record_id).with_columns(
                record_hash=plh.col("record_id").chash.sha2_256()
            ).drop("record_id", "record_hash_hi", "record_hash_lo")
        batches[f"births_{number + 1:02d}.csv"] = (frame, size + size // 500, size // 500)
    return batches, known


def chunk_run(rows: int, deliveries: int) -> dict[str, object]:
    """Time the delivery suite on a chunk, both record-key layouts (see the module doc)."""
    started = time.perf_counter()
    from expectations import check_deliveries
    from expectations.delivery import REQUIRED_COLUMNS
    from expectations.domains import domain_frames
    from expectations.runner import gx_handle

    gx_handle()
    report: dict[str, object] = {"GX import (once per run)": f"{time.perf_counter() - started:.2f} s"}
    met = True
    for label, text_keys in (("UInt64 key halves", False), ("64-hex text key", True)):
        built = time.perf_counter()
        batches, known = delivery_chunk(rows, deliveries, text_keys=text_keys)
        report[f"{label}: build chunk (untimed)"] = f"{time.perf_counter() - built:.1f} s"
        timed, cpu = time.perf_counter(), time.process_time()
        frames = domain_frames(batches, required_columns=REQUIRED_COLUMNS, known_area_codes=known)
        report[f"{label}: Polars domains alone"] = (
            f"{time.perf_counter() - timed:.3f} s ({time.process_time() - cpu:.3f} CPU s)")
        report[f"{label}: domain frame rows"] = (
            f"attributes {len(frames.attributes):,}, dates {len(frames.dates):,}, "
            f"area codes {len(frames.area_codes):,}, deliveries {len(frames.deliveries)}")
        seconds, cpu_seconds = [], []
        for _ in range(2):
            timed, cpu = time.perf_counter(), time.process_time()
            verdicts = check_deliveries(batches, known_area_codes=known, asof=ASOF)
            seconds.append(time.perf_counter() - timed)
            cpu_seconds.append(time.process_time() - cpu)
        report[f"{label}: check_deliveries, 1st / 2nd call"] = (
            f"{seconds[0]:.3f} s / {seconds[1]:.3f} s ({cpu_seconds[0]:.2f} / {cpu_seconds[1]:.2f} CPU s) "
            f"for {rows:,} records ({seconds[1] / rows * 1e9:.0f} ns a record)")
        report[f"{label}: failed"] = [o.expectation for o in verdicts.together if not o.success]
        met = met and max(seconds) < CHUNK_SECONDS_TARGET and not report[f"{label}: failed"]
        del batches, frames, verdicts
    report["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    report["met"] = met
    return report


def main(argv: list[str] | None = None) -> int:
    """Time the registry gate and the delivery suite on a chunk; print the figures.

    ``argv`` defaults to no arguments (``python -m bench gate`` calls ``main()``); run as a
    script, the command line is passed. Returns 0 when the targets are met, else 1.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--births", type=int, default=10_000_000)
    parser.add_argument("--delivery", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database here")
    parser.add_argument("--chunk-rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-deliveries", type=int, default=10)
    parser.add_argument("--part", choices=("all", "registry", "chunk"), default="all")
    parser.add_argument("--timed-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timed-chunk", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.timed_run is not None:
        print(json.dumps(timed_run(args.timed_run)))
        return 0
    if args.timed_chunk:
        print(json.dumps(chunk_run(args.chunk_rows, args.chunk_deliveries)))
        return 0
    met = True
    if args.part in ("all", "registry"):
        met = registry_part(args) and met
    if args.part in ("all", "chunk"):
        met = chunk_part(args) and met
    return 0 if met else 1


def chunk_part(args: argparse.Namespace) -> bool:
    """The delivery suite on a chunk, in a fresh process; True when its target is met."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--timed-chunk",
         "--chunk-rows", str(args.chunk_rows), "--chunk-deliveries", str(args.chunk_deliveries)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        return False
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    print(f"delivery suite on {args.chunk_rows:,} records in {args.chunk_deliveries} deliveries:")
    for key, value in report.items():
        print(f"{key:>48}: {value}")
    print(f"target < {CHUNK_SECONDS_TARGET} s per chunk, no expectation failed: {'PASS' if report['met'] else 'FAIL'}")
    return bool(report["met"])


def registry_part(args: argparse.Namespace) -> bool:
    """Build the registry, time the gate in a fresh process; True when the targets are met:
    wall time and peak RSS under target, and every expectation evaluated and met."""
    with tempfile.TemporaryDirectory(prefix="srb_gate_bench_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "bench.duckdb"
        if database.exists():
            print(f"reusing {database}")
        else:
            seconds = build(database, args.births, args.delivery)
            print(f"built {args.births:,} births + weekly staged estimates in {seconds:.1f} s (untimed)")
        timed = folder / "timed.duckdb"  # the timed run writes dq_results: a fresh copy each time
        shutil.copyfile(database, timed)
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--timed-run", str(timed)],
            cwd=folder, capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - started
        timed.unlink()
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        return False
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    for key, value in report.items():
        print(f"{key:>48}: {value}")
    print(f"{'wall seconds of the fresh process':>48}: {wall:.2f}")
    checks_pass = not report["failed"] and not report["not_evaluated"] and report["stopped"] is None
    met = wall < SECONDS_TARGET and report["peak_rss_mb"] < RSS_TARGET_MB and checks_pass
    print(f"gate on a {report['delivery_records']:,}-record delivery + registry and output suites on "
          f"{report['registry_records']:,} records: {wall:.1f} s (target < {SECONDS_TARGET:.0f} s), "
          f"peak {report['peak_rss_mb']:.0f} MB (target < {RSS_TARGET_MB:.0f} MB), "
          f"{'all expectations met' if checks_pass else 'EXPECTATIONS FAILED OR NOT EVALUATED'}: "
          f"{'PASS' if met else 'FAIL'}")
    return met


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
