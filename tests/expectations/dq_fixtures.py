"""Builders for the data-quality tests: a small synthetic registry in DuckDB.

How the data are made (deterministic, no RNG state): one city, 3 districts, 6 towns and 12
villages; 120 births per village per month from 2021-01 to 2024-02, 38 months; sex is
'M' when a hash of the birth's number falls below 0.515 of its range (binomial to the eye
of every test here), birth order 1-3 and delays of 0-59 days likewise from hashes. Rows
registered after ASOF are dropped, as the pipeline ignores them. The last month's births
form delivery 2, earlier ones delivery 1.
"""
from __future__ import annotations

import datetime as dt

import duckdb

ASOF = dt.date(2024, 3, 15)
CITY = "110000"
DISTRICTS = ("110101", "110102", "110103")
BIRTHS_PER_VILLAGE_MONTH = 120

AREAS_SQL = """
create table areas as
with
districts as (
    select '1101' || lpad(cast(d as varchar), 2, '0') as area_code, d from range(1, 4) t(d)
),
towns as (
    select area_code || lpad(cast(t as varchar), 3, '0') as area_code, area_code as parent_code
    from districts, range(1, 3) s(t)
),
villages as (
    select area_code || lpad(cast(v as varchar), 3, '0') as area_code, area_code as parent_code
    from towns, range(1, 3) s(v)
)
select '110000' as area_code, 'City' as name, cast(null as varchar) as parent_code,
       'city' as level, 0 as depth
union all select area_code, 'District ' || area_code, '110000', 'district', 1 from districts
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

BIRTHS_SQL = """
create table births as
with
villages as (select area_code from areas where level = 'village'),
months as (
    select cast(m as date) as month_start
    from range(date '2021-01-01', date '2024-03-01', interval 1 month) t(m)
),
numbered as (
    select villages.area_code, months.month_start, i,
           hash(villages.area_code, months.month_start, i) as h
    from villages, months, range($per_month) r(i)
),
made as (
    select
        lower(hex(h)) || lower(hex(hash(h))) as record_hash,
        cast(month_start + cast(i % 28 as integer) as date) as birth_date,
        case when (h % 100000) < 51500 then 'M' else 'F' end as sex,
        cast(1 + (h // 7) % 3 as integer) as birth_order,
        area_code,
        1 as plurality,
        cast(month_start + cast(i % 28 + (h // 11) % 60 as integer) as date) as registered_date,
        cast(20 + (h // 13) % 20 as integer) as mother_age,
        case when (h // 17) % 5 = 0 then 'floating' else 'registered' end as residence_status,
        case when (h // 19) % 10 = 0 then 'outside' else 'within' end as policy_status,
        'F' || (h // 23) % 40 as facility_code,
        case when month_start = date '2024-02-01' then 2 else 1 end as delivery_id,
        cast(i + 2 as integer) as source_line
    from numbered
)
select * from made where registered_date <= $asof
"""


def build_registry(per_month: int = BIRTHS_PER_VILLAGE_MONTH) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB with areas, area_ancestors and births (see module doc)."""
    connection = duckdb.connect()
    connection.execute(AREAS_SQL)
    connection.execute(BIRTHS_SQL, {"per_month": per_month, "asof": ASOF})
    return connection


def build_outputs(connection: duckdb.DuckDBPyConnection) -> None:
    """staging.srb_estimates (monthly, every level, strata all and parity_1, consistent by
    construction) and staging.alerts (two valid alerts) from the births table."""
    connection.execute(
        """
        create schema if not exists staging;
        create or replace table staging.srb_estimates as
        with
        cells as (
            select a.ancestor_code as area_code,
                   cast(date_trunc('month', b.birth_date) as date) as period_start,
                   s.stratum,
                   count(*) filter (where b.sex = 'M') as boys,
                   count(*) filter (where b.sex = 'F') as girls,
                   count(*) as births
            from births b
            join area_ancestors a on a.area_code = b.area_code
            join (values ('all'), ('parity_1')) s(stratum)
              on s.stratum = 'all' or b.birth_order = 1
            group by all
        )
        select cells.area_code, areas.level, stratum, period_start,
               period_start as window_start, boys, girls, births,
               100.0 * boys / girls as srb_raw,
               100.0 * boys / girls as srb_smoothed,
               90.0 * boys / girls as srb_lo,
               110.0 * boys / girls as srb_hi,
               0.5 as prob_above,
               90.0 * boys / girls as srb_raw_lo,
               110.0 * boys / girls as srb_raw_hi
        from cells join areas using (area_code);

        create or replace table staging.alerts as
        select * from (values
            (1, '110101', 'parity_2', 'cusum', date '2024-01-01', date '2023-11-01',
             300, 250, 120.0, 106.0, 5.2, 4.0, 'new'),
            (2, '110101001001', 'all', 'level', date '2024-02-01', null,
             60, 50, 120.0, 110.0, 0.97, 0.95, 'new')
        ) t(alert_id, area_code, stratum, method, detected_period, onset_period, boys, girls,
            srb_observed, srb_expected, statistic, threshold, status);
        """
    )
