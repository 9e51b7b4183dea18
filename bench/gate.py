"""Benchmark of the data-quality gate at production scale (issue 5: < 15 s, < 2 GB).

    .venv/bin/python bench/gate.py [--births 10000000] [--delivery 100000] [--keep DIR]
                                   [--chunk-rows 10000000] [--chunk-deliveries 10]
                                   [--part all|registry|chunk]
    .venv/bin/python -m bench gate          (as `make bench` runs it, defaults)

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

Part "registry":

Builds, untimed, a DuckDB file under a temporary directory holding a synthetic registry:
an area tree (1 city, 12 districts, 144 towns, 2,592 villages), ``births`` with 10 million
rows over ten years (the 100,000 most recently registered form the new delivery),
``staging.srb_estimates``
for every area x 5 strata x 120 months (about 1.65 million rows) and ``staging.alerts``.
Then a fresh Python process, timed from its start (interpreter, pandas, DuckDB and Great
Expectations imports included), starts the GX import in the background (preload_gx), runs
registry_metrics and output_metrics in DuckDB meanwhile, reads the delivery batch, then
check_delivery + check_registry + check_outputs; it reports wall seconds per step, CPU
seconds and its peak RSS. The data are made with hashes of the row
number, so every run builds the same registry.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
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
        sha256(cast(i as varchar)) as record_hash,
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
select * exclude (h)
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

ESTIMATES_SQL = """
create schema staging;
create table staging.srb_estimates as
with
leaf_cells as (
    select area_code, cast(date_trunc('month', birth_date) as date) as period_start,
           birth_order, policy_status,
           count(*) filter (where sex = 'M') as boys,
           count(*) filter (where sex = 'F') as girls,
           count(*) as births
    from births
    group by all
),
stratified as (
    select leaf_cells.*, strata.stratum
    from leaf_cells
    join (values ('all'), ('parity_1'), ('parity_2'), ('parity_3plus'),
                 ('parity_2_within_policy')) strata(stratum)
      on strata.stratum = 'all'
      or (strata.stratum = 'parity_1' and birth_order = 1)
      or (strata.stratum = 'parity_2' and birth_order = 2)
      or (strata.stratum = 'parity_3plus' and birth_order >= 3)
      or (strata.stratum = 'parity_2_within_policy' and birth_order = 2
          and policy_status = 'within')
),
cells as (
    select area_ancestors.ancestor_code as area_code, stratum, period_start,
           cast(sum(boys) as bigint) as boys, cast(sum(girls) as bigint) as girls,
           cast(sum(births) as bigint) as births
    from stratified
    join area_ancestors on area_ancestors.area_code = stratified.area_code
    group by all
),
smoothed as (
    select *, 100.0 * (boys + 10.6) / (girls + 10.0) as srb_smoothed from cells
)
select smoothed.area_code, areas.level, stratum, period_start, period_start as window_start,
       boys, girls, births,
       case when girls > 0 then 100.0 * boys / girls end as srb_raw,
       srb_smoothed, 0.9 * srb_smoothed as srb_lo, 1.1 * srb_smoothed as srb_hi,
       0.3 as prob_above,
       case when girls > 0 then 90.0 * boys / girls end as srb_raw_lo,
       case when girls > 0 then 110.0 * boys / girls end as srb_raw_hi
from smoothed join areas using (area_code);

create table staging.alerts as
select cast(row_number() over () as integer) as alert_id, area_code, stratum,
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
        connection.execute(ESTIMATES_SQL)
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


def timed_run(database: Path) -> dict[str, float]:
    """The measured part; runs in a fresh process (see main)."""
    process_start = time.perf_counter()
    marks: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def mark(step: str) -> None:
        marks[step] = time.perf_counter()
        peaks[step] = _peak_rss_mb()

    import duckdb

    from expectations import (
        check_delivery,
        check_outputs,
        check_registry,
        output_metrics,
        preload_gx,
        registry_metrics,
    )
    from expectations.runner import gx_handle

    mark("imports (python, pandas, duckdb, expectations)")
    # As the gate should run it: GX imports in the background while DuckDB aggregates.
    preload_gx()
    connection = duckdb.connect(str(database), read_only=True)
    registry = registry_metrics(connection, asof=ASOF, delivery_ids=[2])
    mark("registry_metrics (DuckDB, 10M rows)")
    outputs = output_metrics(connection)
    mark("output_metrics (DuckDB)")
    batch = connection.sql("select * exclude (delivery_id) from births where delivery_id = 2").pl()
    known = [row[0] for row in connection.execute("select area_code from areas").fetchall()]
    mark("read delivery batch")
    gx_handle()
    mark("wait for GX import (rest of it)")
    outcomes = check_delivery(
        batch, known_area_codes=known, asof=ASOF, rows_read=batch.height + 150,
        rows_quarantined=150,
    )
    mark("check_delivery")
    outcomes += check_registry(registry)
    mark("check_registry")
    outcomes += check_outputs(outputs)
    mark("check_outputs")
    report: dict[str, object] = {}
    previous = process_start
    for step, at in marks.items():
        report[step] = f"{at - previous:.3f} s (peak RSS so far {peaks[step]:.0f} MB)"
        previous = at
    report["total_seconds"] = round(previous - process_start, 3)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["cpu_seconds (user + system, all threads)"] = round(usage.ru_utime + usage.ru_stime, 2)
    report["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    report["batch_rows"] = batch.height
    report["failed"] = [o.expectation for o in outcomes if not o.success]
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
        if text_keys:  # as the loader hashes record ids today: SHA-256 in lower-case hex
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
    print(f"target < {CHUNK_SECONDS_TARGET} s per chunk: {'met' if report['met'] else 'NOT met'}")
    return bool(report["met"])


def registry_part(args: argparse.Namespace) -> bool:
    """Build the registry, time the gate in a fresh process; True when the targets are met."""
    with tempfile.TemporaryDirectory(prefix="srb_gate_bench_") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "bench.duckdb"
        if database.exists():
            print(f"reusing {database}")
        else:
            seconds = build(database, args.births, args.delivery)
            print(f"built {args.births:,} births + estimates in {seconds:.1f} s (untimed)")
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--timed-run", str(database)],
            cwd=folder, capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - started
    if completed.returncode != 0:
        print(completed.stderr, file=sys.stderr)
        return False
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    for key, value in report.items():
        print(f"{key:>48}: {value}")
    print(f"{'wall seconds of the fresh process':>48}: {wall:.2f}")
    met = wall < SECONDS_TARGET and report["peak_rss_mb"] < RSS_TARGET_MB
    print(f"target < {SECONDS_TARGET:.0f} s and < {RSS_TARGET_MB:.0f} MB: "
          f"{'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
