"""Benchmark of the data-quality gate at production scale (issue 5: < 15 s, < 2 GB).

    .venv/bin/python bench/gate.py [--births 10000000] [--delivery 100000] [--keep DIR]
    .venv/bin/python -m bench gate          (as `make bench` runs it, defaults)

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
    batch = connection.execute("select * from births where delivery_id = 2").df()
    known = [row[0] for row in connection.execute("select area_code from areas").fetchall()]
    mark("read delivery batch")
    gx_handle()
    mark("wait for GX import (rest of it)")
    outcomes = check_delivery(
        batch, known_area_codes=known, asof=ASOF, rows_read=len(batch) + 150,
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
    report["batch_rows"] = len(batch)
    report["failed"] = [o.expectation for o in outcomes if not o.success]
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    return report


def main(argv: list[str] | None = None) -> int:
    """Build the registry, time the gate in a fresh process, print the figures.

    ``argv`` defaults to no arguments (``python -m bench gate`` calls ``main()``); run as a
    script, the command line is passed. Returns 0 when the targets are met, else 1.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--births", type=int, default=10_000_000)
    parser.add_argument("--delivery", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database here")
    parser.add_argument("--timed-run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args([] if argv is None else argv)
    if args.timed_run is not None:
        print(json.dumps(timed_run(args.timed_run)))
        return 0

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
        return 1
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    for key, value in report.items():
        print(f"{key:>48}: {value}")
    print(f"{'wall seconds of the fresh process':>48}: {wall:.2f}")
    met = wall < SECONDS_TARGET and report["peak_rss_mb"] < RSS_TARGET_MB
    print(f"target < {SECONDS_TARGET:.0f} s and < {RSS_TARGET_MB:.0f} MB: "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(main(sys.argv[1:]))
