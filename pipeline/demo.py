"""Generate the embedded demo registry: deterministic from a seed, never committed.

``surveil demo`` writes ``areas.csv``, ``adjacency.csv`` and monthly delivery files
(one per registration month) under the demo folder. What is planted in it, and why,
is written down in data/demo/README.md.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.srb import share_from_srb
from pipeline.demo_city import CITY, DISTRICTS, PLANTED_PARITY_2_TOWNS


@dataclass(frozen=True)
class DemoSpec:
    seed: int = 20111231
    first_year: int = 2020
    years: int = 6
    births_per_year: int = 60_000
    parity_shares: tuple[float, float, float] = (0.55, 0.38, 0.07)
    floating_share: float = 0.37
    twin_share: float = 0.012
    # True SRB by birth order, first year -> last year (boys per 100 girls). Overall this
    # falls from ~110 to ~107.5, the direction Foshan reported (111.6 in 2006, 109.75 in 2010).
    srb_parity_1: tuple[float, float] = (106.0, 105.0)
    srb_parity_2: tuple[float, float] = (114.0, 108.0)
    srb_parity_3plus: tuple[float, float] = (128.0, 118.0)
    planted_srb: float = 125.0
    bad_rows: int = 40
    corrections: int = 25


def build_areas(rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Areas (city, districts, towns, villages), adjacency, and the weight of each village."""
    rows = [(CITY[0], CITY[1], None, CITY[2])]
    weights: list[tuple[str, str, float]] = []  # village code, town name, weight
    adjacency: list[tuple[str, str]] = []
    for district_code, district_name, district_weight, towns in DISTRICTS:
        rows.append((district_code, district_name, CITY[0], "district"))
        town_codes = []
        for t, town in enumerate(towns, start=1):
            town_code = f"{district_code}{t:03d}"
            town_codes.append(town_code)
            rows.append((town_code, town, district_code, "town"))
            n_villages = int(rng.integers(8, 13))
            village_weight = rng.gamma(2.0, 1.0, n_villages)
            village_weight *= district_weight / len(towns) / village_weight.sum()
            codes = [f"{town_code}{v:03d}" for v in range(1, n_villages + 1)]
            for v, code in enumerate(codes):
                rows.append((code, f"{town.split()[0]}第{v + 1}社区", town_code, "village"))
                weights.append((code, town, float(village_weight[v])))
            # villages of a town sit on a ring, each touching the next
            adjacency += [(codes[v], codes[(v + 1) % n_villages]) for v in range(n_villages)]
        # towns of a district on a ring, plus one cross link to the next district below
        adjacency += [(town_codes[i], town_codes[(i + 1) % len(town_codes)])
                      for i in range(len(town_codes)) if len(town_codes) > 2 or i == 0]
    town_rows = [r for r in rows if r[3] == "town"]
    for first, second in zip(town_rows, town_rows[1:], strict=False):
        if first[2] != second[2]:
            adjacency.append((first[0], second[0]))
    areas = pl.DataFrame(rows, schema=["area_code", "name", "parent_code", "level"], orient="row")
    pairs = pl.DataFrame(adjacency, schema=["area_code_a", "area_code_b"], orient="row").unique(
        maintain_order=True)
    village_weights = pl.DataFrame(weights, schema=["area_code", "town", "weight"], orient="row")
    return areas, pairs, village_weights


def _linear(pair: tuple[float, float], year_index: np.ndarray, years: int) -> np.ndarray:
    return pair[0] + (pair[1] - pair[0]) * year_index / max(years - 1, 1)


def simulate_births(spec: DemoSpec, villages: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """One row per live-born child, with every contract column filled in."""
    total = spec.births_per_year * spec.years
    start = dt.date(spec.first_year, 1, 1)
    days = (dt.date(spec.first_year + spec.years, 1, 1) - start).days
    day = rng.integers(0, days, total)
    birth_date = np.datetime64(start) + day.astype("timedelta64[D]")
    year_index = day * spec.years // days
    weight = villages["weight"].to_numpy()
    village = rng.choice(villages.height, size=total, p=weight / weight.sum())
    parity_class = rng.choice(3, size=total, p=spec.parity_shares)
    birth_order = np.where(parity_class == 2, 3 + rng.geometric(0.7, total) - 1, parity_class + 1)
    within_probability = np.select([parity_class == 0, parity_class == 1], [0.97, 0.90], 0.30)
    is_within = rng.random(total) < within_probability
    true_srb = np.select(
        [parity_class == 0, parity_class == 1],
        [_linear(spec.srb_parity_1, year_index, spec.years), _linear(spec.srb_parity_2, year_index, spec.years)],
        _linear(spec.srb_parity_3plus, year_index, spec.years),
    )
    planted_town = villages["town"].is_in(list(PLANTED_PARITY_2_TOWNS)).to_numpy()[village]
    planted = planted_town & (parity_class == 1) & is_within & (year_index == spec.years - 1)
    true_srb = np.where(planted, spec.planted_srb, true_srb)
    is_boy = rng.random(total) < share_from_srb(true_srb)
    delay = np.where(rng.random(total) < 0.02, rng.integers(91, 200, total), rng.geometric(0.12, total))
    mother_age = np.clip(np.round(rng.normal(27.5 + 2.5 * parity_class, 4.0)), 16, 49).astype(int)
    plurality = np.ones(total, dtype=int)
    twins = rng.random(total) < spec.twin_share / 2
    plurality[twins] = 2
    frame = pl.DataFrame({
        "record_id": [f"FS{i:09d}" for i in rng.permutation(total)],
        "birth_date": birth_date,
        "sex": np.where(is_boy, "M", "F"),
        "birth_order": birth_order,
        "area_code": villages["area_code"].to_numpy()[village],
        "plurality": plurality,
        "registered_date": birth_date + delay.astype("timedelta64[D]"),
        "mother_age": mother_age,
        "residence_status": np.where(rng.random(total) < spec.floating_share, "floating", "registered"),
        "policy_status": np.where(is_within, "within", "outside"),
        "facility_code": np.char.add("H", (village % 17).astype(str)),
    })
    # A twin's sibling: same mother, date and place; the next birth order and either sex.
    siblings = frame.filter(pl.col("plurality") == 2).with_columns(
        pl.col("record_id") + "T",
        pl.col("birth_order") + 1,
        pl.Series("sex", np.where(rng.random(int(twins.sum())) < 0.5, "M", "F")),
    )
    return pl.concat([frame, siblings]).sort("registered_date", "record_id")


def _spoil(batch: pl.DataFrame, spec: DemoSpec, rng: np.random.Generator) -> pl.DataFrame:
    """Plant a few rows that break contract rules, so the quarantine has something to show."""
    text = batch.with_columns(pl.all().cast(pl.String))
    rows = rng.choice(text.height, size=min(spec.bad_rows, text.height), replace=False)
    spoilers = [("area_code", "440699999999"), ("birth_date", "2021-02-31"), ("sex", "X"),
                ("birth_order", "0"), ("mother_age", "7")]
    for k, row in enumerate(rows):
        column, value = spoilers[k % len(spoilers)]
        text = text.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))
    return text


CHINESE_HEADERS = {
    "record_id": "记录编号", "birth_date": "出生日期", "sex": "性别", "birth_order": "孩次",
    "area_code": "地区编码", "plurality": "胎数", "registered_date": "登记日期",
    "mother_age": "母亲年龄", "residence_status": "户籍状态", "policy_status": "政策属性",
    "facility_code": "接生机构",
}


def write_demo(folder: Path, spec: DemoSpec = DemoSpec()) -> int:
    """Write the demo registry under ``folder``; returns the number of delivery files."""
    rng = np.random.default_rng(spec.seed)
    areas, adjacency, villages = build_areas(rng)
    births = simulate_births(spec, villages, rng)
    (folder / "births").mkdir(parents=True, exist_ok=True)
    areas.write_csv(folder / "areas.csv")
    adjacency.write_csv(folder / "adjacency.csv")
    corrections = births.sample(spec.corrections, seed=spec.seed).with_columns(
        sex=pl.when(pl.col("sex") == "M").then(pl.lit("F")).otherwise(pl.lit("M")))
    births = births.with_columns(month=pl.col("registered_date").dt.strftime("%Y-%m"))
    months = births["month"].unique().sort().to_list()
    spoil_month = months[len(months) // 2]
    correction_month = f"{spec.first_year + spec.years - 1}-12"
    for month in months:
        batch = births.filter(pl.col("month") == month).drop("month")
        if month == correction_month:
            # corrections of earlier records arrive with the last month of the demo years
            batch = pl.concat([batch, corrections])
        # an identifying column the registry exports by mistake: the loader must drop it
        batch = batch.with_columns(mother_name=pl.lit("(模拟姓名)"))
        if month == spoil_month:
            batch = _spoil(batch, spec, rng)
        path = folder / "births" / f"births_{month}.csv"
        if month >= f"{spec.first_year + spec.years - 2}":
            # the registry's newer export: Chinese headers, GB18030
            text = batch.rename(CHINESE_HEADERS).write_csv()
            path.write_bytes(text.encode("gb18030"))
        else:
            batch.write_csv(path)
    return len(months)
