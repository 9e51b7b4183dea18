"""Alert stage: CUSUM. Charts every monitored area x stratum against its own baseline.

Inputs: the transform's dense period counts (``boys_period``, ``girls_period``; not the
window sums), the visible births (for the risk classes of the `all` chart), the area tree,
the settings and the database (calibration cache, closed alerts). Outputs: alert candidates
(method ``cusum``), the charts (``cusum_paths``), what each chart can detect
(``detectability``) and the false-alarm budget per track, for the summary.

Steps, all vectorised over series and periods (``models/`` does the statistics):

1. Baselines top-down (city -> district -> town -> village): each area's prospective share
   of boys, shrunk toward its parent's (``models.baseline``); per risk class for `all`.
2. Thresholds: the false-alarm budget of each track (general; ``parity_2_within_policy``)
   is split equally among its series (ARL0); each series x period is calibrated for its
   trailing volume (births a period, current period included: volume is not the signal),
   its baseline SRB rounded to a point, and the shift's odds ratio (Brook-Evans; keys
   cached in table ``cusum_calibration``). Only earlier or current periods enter, so
   ``--asof D`` sees the same thresholds a full run used up to D.
3. The chart (``models.cusum``), risk-adjusted for `all` (Steiner et al. 2000).
4. Episodes: an alarm whose onset comes within ``episode_gap`` periods of the previous
   alarm of its series continues that episode (a sustained shift re-alarms about every
   ARL1 periods after each reset); otherwise it opens a new one. An episode's id hashes
   (area, stratum, 'cusum', onset of its first alarm); its evidence runs from that onset
   to its last alarm. An alarm after the last alarm of an episode people have closed opens
   a new episode: a closed episode does not re-fire until the chart resets and crosses again.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from models.baseline import prospective_baseline
from models.constants import METHOD_CUSUM, PERIODS_PER_YEAR, STRATA, STRATUM_ALL, STRATUM_PARITY_2_WITHIN_POLICY
from models.cusum import binomial_cusum
from models.cusum_calibration import calibrate_threshold, calibration_key, split_false_alarm_budget
from models.detectability import detectable_srb
from models.srb import share_from_srb, srb_from_share, srb_raw
from pipeline import db
from pipeline.alert import ALERT_SCHEMA, alert_id
from pipeline.areas import AreaTree
from pipeline.class_counts import class_counts
from pipeline.config import SurveillanceSettings
from pipeline.errors import ConfigError

TRACK_GENERAL = "general"
TRACK_PARITY_2_WITHIN_POLICY = STRATUM_PARITY_2_WITHIN_POLICY

CUSUM_ALERT_SCHEMA = {**ALERT_SCHEMA, "baseline_note": pl.String, "last_alarm_period": pl.Date}
PATH_SCHEMA = {
    "area_code": pl.String, "stratum": pl.String, "method": pl.String, "period_start": pl.Date,
    "births": pl.Int64, "boys": pl.Int64, "statistic": pl.Float64, "threshold": pl.Float64,
    "share_expected": pl.Float64, "srb_expected": pl.Float64, "is_alarm": pl.Boolean,
}
DETECTABILITY_SCHEMA = {
    "area_code": pl.String, "level": pl.String, "stratum": pl.String, "births_per_period": pl.Float64,
    "srb_expected": pl.Float64, "threshold": pl.Float64, "min_detectable_srb": pl.Float64,
    "arl0_periods": pl.Float64,
}
_CALIBRATION_KEYS = ("births_key", "share_key", "odds_ratio_key", "arl0_key")
_DETECTABILITY_KEYS = ("births_key", "share_key", "odds_ratio_key", "threshold_key")


@dataclass(frozen=True)
class TrackBudget:
    """One line of the summary's budget: a track's series and its false alerts a year."""

    track: str
    series: int
    shift_srb: float
    budget_per_year: float
    expected_per_year: float  # sum of periods_per_year / ARL0 achieved, at the latest period


@dataclass(frozen=True)
class CusumOutputs:
    candidates: pl.DataFrame  # CUSUM_ALERT_SCHEMA
    paths: pl.DataFrame  # PATH_SCHEMA
    detectability: pl.DataFrame  # DETECTABILITY_SCHEMA
    budget: tuple[TrackBudget, ...]
    keys_calibrated: int  # thresholds computed this run (0 on a warm run)


def empty_cusum_outputs() -> CusumOutputs:
    return CusumOutputs(pl.DataFrame(schema=CUSUM_ALERT_SCHEMA), pl.DataFrame(schema=PATH_SCHEMA),
                        pl.DataFrame(schema=DETECTABILITY_SCHEMA), (), 0)


@dataclass(frozen=True)
class _Series:
    """The monitored series, one row each, and their arrays (series, periods[, classes])."""

    area_code: np.ndarray
    level: np.ndarray
    stratum: np.ndarray
    boys: np.ndarray
    births: np.ndarray
    share: np.ndarray  # baseline p0 of the stratum (pooled, for `all`)
    is_reference: np.ndarray
    is_short_history: np.ndarray


def cusum_alerts(con: duckdb.DuckDBPyConnection, counts: pl.DataFrame, births: pl.DataFrame, tree: AreaTree,
                 settings: SurveillanceSettings) -> CusumOutputs:
    """Run the CUSUM stage on the transform's counts; see the module docstring."""
    areas = tree.areas.select("area_code", "parent_code", "level", "depth")
    monitored = areas.filter(pl.col("level").is_in(list(settings.monitored_levels)))
    if counts.height == 0 or monitored.height == 0:
        return empty_cusum_outputs()
    areas = areas.filter(pl.col("depth") <= monitored["depth"].max()).sort("depth", "area_code")
    periods = counts["period_start"].unique().sort()
    strata = [s for s in STRATA if s in set(counts["stratum"].unique())]
    boys, total = _stratum_arrays(counts, areas["area_code"].to_list(), strata, periods)
    depth = areas["depth"].to_numpy()
    parent_row = _parent_rows(areas)
    baselines = [_tree_baseline(boys[k], total[k], depth, parent_row, settings) for k in range(len(strata))]
    is_monitored = areas["level"].is_in(list(settings.monitored_levels)).to_numpy()
    rows = np.flatnonzero(is_monitored)
    k_of, a_of = np.repeat(np.arange(len(strata)), rows.size), np.tile(rows, len(strata))
    series = _Series(
        area_code=areas["area_code"].to_numpy()[a_of], level=areas["level"].to_numpy()[a_of],
        stratum=np.array(strata)[k_of], boys=boys[k_of, a_of], births=total[k_of, a_of],
        share=np.stack([baselines[k][0][a] for k, a in zip(k_of, a_of, strict=True)]),
        is_reference=np.stack([baselines[k][1][a] for k, a in zip(k_of, a_of, strict=True)]),
        is_short_history=np.stack([baselines[k][2][a] for k, a in zip(k_of, a_of, strict=True)]),
    )
    track = np.where(series.stratum == STRATUM_PARITY_2_WITHIN_POLICY, TRACK_PARITY_2_WITHIN_POLICY, TRACK_GENERAL)
    budgets = {TRACK_GENERAL: settings.false_alarms_per_year,
               TRACK_PARITY_2_WITHIN_POLICY: settings.false_alarms_per_year_parity_2_within_policy}
    shifts = {TRACK_GENERAL: settings.cusum_shift_srb,
              TRACK_PARITY_2_WITHIN_POLICY: settings.cusum_shift_srb_parity_2_within_policy}
    periods_per_year = PERIODS_PER_YEAR[settings.period]
    try:
        arl0 = split_false_alarm_budget(track, budgets, periods_per_year)
    except ValueError as error:
        raise ConfigError(f"[surveillance] false-alarm budget: {error}") from None
    shift = np.array([shifts[t] for t in track])[:, None]
    # The chart's odds ratio and its calibration use the baseline rounded to a whole SRB
    # point: the threshold barely depends on p0 at a given odds ratio, and it keeps the
    # calibration to a few hundred keys for a whole area tree.
    srb_rounded = np.round(srb_from_share(series.share))
    odds_ratio = (srb_rounded + shift) / srb_rounded
    volume = _trailing_mean(series.births, settings.window)
    threshold, arl0_achieved, keys_calibrated = _calibrated_thresholds(
        con, volume, share_from_srb(srb_rounded), odds_ratio, arl0[:, None])
    statistic, alarm, onset, expected = _charts(series, threshold, odds_ratio, strata, rows, areas, births, tree,
                                                depth, parent_row, periods, settings)
    period_start = periods.to_numpy().astype("datetime64[D]")
    candidates = _episodes(con, series, statistic, threshold, alarm, onset, expected, period_start, settings)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled_share = np.where(series.births > 0, expected / np.maximum(series.births, 1), series.share)
    paths = pl.DataFrame({
        "area_code": np.repeat(series.area_code, periods.len()),
        "stratum": np.repeat(series.stratum, periods.len()),
        "method": METHOD_CUSUM,
        "period_start": np.tile(period_start, series.area_code.size),
        "births": series.births.ravel(), "boys": series.boys.ravel(),
        "statistic": statistic.ravel(), "threshold": threshold.ravel(),
        "share_expected": pooled_share.ravel(), "srb_expected": srb_from_share(pooled_share).ravel(),
        "is_alarm": alarm.ravel(),
    }, schema=PATH_SCHEMA)
    detectable = _cached_detectable(con, volume[:, -1], share_from_srb(srb_rounded[:, -1]), odds_ratio[:, -1],
                                    threshold[:, -1])
    detectability = pl.DataFrame({
        "area_code": series.area_code, "level": series.level, "stratum": series.stratum,
        "births_per_period": volume[:, -1], "srb_expected": srb_from_share(series.share[:, -1]),
        "threshold": threshold[:, -1], "min_detectable_srb": np.where(np.isfinite(detectable), detectable, np.nan),
        "arl0_periods": arl0,
    }, schema=DETECTABILITY_SCHEMA, nan_to_null=True)
    budget = tuple(
        TrackBudget(name, int((track == name).sum()), shifts[name], budgets[name],
                    float((periods_per_year / arl0_achieved[track == name, -1]).sum()))
        for name in (TRACK_PARITY_2_WITHIN_POLICY, TRACK_GENERAL) if (track == name).any()
    )
    return CusumOutputs(candidates, paths, detectability, budget, keys_calibrated)


def _stratum_arrays(counts: pl.DataFrame, area_codes: list[str], strata: list[str],
                    periods: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Period boys and births (boys + girls) as (strata, areas, periods) int64 arrays."""
    cells = counts.join(pl.DataFrame({"area_code": area_codes, "a": np.arange(len(area_codes))}), on="area_code") \
        .join(pl.DataFrame({"stratum": strata, "k": np.arange(len(strata))}), on="stratum") \
        .join(pl.DataFrame({"period_start": periods, "t": np.arange(periods.len())}), on="period_start")
    shape = (len(strata), len(area_codes), periods.len())
    boys, births = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    index = (cells["k"].to_numpy(), cells["a"].to_numpy(), cells["t"].to_numpy())
    boys[index] = cells["boys_period"].to_numpy()
    births[index] = (cells["boys_period"] + cells["girls_period"]).to_numpy()
    return boys, births


def _parent_rows(areas: pl.DataFrame) -> np.ndarray:
    """Row of each area's parent in ``areas`` (-1 for a root)."""
    row_of = {code: i for i, code in enumerate(areas["area_code"].to_list())}
    return np.array([row_of.get(p, -1) if p else -1 for p in areas["parent_code"].to_list()], dtype=np.int64)


def _tree_baseline(boys: np.ndarray, births: np.ndarray, depth: np.ndarray, parent_row: np.ndarray,
                   settings: SurveillanceSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Baselines top-down, one depth at a time (each shrunk toward its parent's); returns
    share, is_reference and is_short_history shaped like the counts."""
    share = np.empty(births.shape)
    is_reference = np.empty(births.shape, dtype=bool)
    is_short = np.empty(births.shape, dtype=bool)
    parent, previous_rows = None, None
    for level_depth in np.unique(depth):  # a handful of levels, not series or periods
        rows = np.flatnonzero(depth == level_depth)
        options = {"window_periods": settings.baseline_window, "guard_periods": settings.baseline_guard,
                   "prior_births": settings.baseline_prior_births, "reference_srb": settings.reference_srb}
        if parent is not None:
            options["parent"] = parent
            options["parent_index"] = np.searchsorted(previous_rows, parent_row[rows])
        base = prospective_baseline(boys[rows], births[rows], **options)
        share[rows], is_reference[rows], is_short[rows] = base.share, base.is_reference, base.is_short_history
        parent, previous_rows = base, rows
    return share, is_reference, is_short


def _trailing_mean(births: np.ndarray, window: int) -> np.ndarray:
    """Mean births a period over the ``window`` periods ending with each period (fewer at first)."""
    padded = np.concatenate([np.zeros((births.shape[0], 1)), np.cumsum(births, axis=1)], axis=1)
    end = np.arange(1, births.shape[1] + 1)
    start = np.maximum(end - window, 0)
    return (padded[:, end] - padded[:, start]) / (end - start)


def _charts(series: _Series, threshold: np.ndarray, odds_ratio: np.ndarray, strata: list[str], rows: np.ndarray,
            areas: pl.DataFrame, births: pl.DataFrame, tree: AreaTree, depth: np.ndarray, parent_row: np.ndarray,
            periods: pl.Series, settings: SurveillanceSettings
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """statistic, alarm, onset and expected boys per series x period; `all` risk-adjusted if set."""
    result = binomial_cusum(series.boys, series.births, series.share, threshold, odds_ratio=odds_ratio)
    statistic, alarm, onset = result.statistic, result.alarm, result.onset
    expected = series.births * series.share
    is_all = series.stratum == STRATUM_ALL
    if not (settings.cusum_risk_adjusted and is_all.any()):
        return statistic, alarm, onset, expected
    class_boys, class_births = class_counts(births.lazy(), tree.ancestors, period=settings.period,
                                            area_codes=areas["area_code"].to_list(), period_starts=periods)
    class_share = _tree_baseline(class_boys, class_births, depth, parent_row, settings)[0]
    # `all` series are the first rows.size series, in the same area order as `rows`
    adjusted = binomial_cusum(class_boys[rows], class_births[rows], class_share[rows], threshold[is_all],
                              odds_ratio=odds_ratio[is_all])
    statistic, alarm, onset = statistic.copy(), alarm.copy(), onset.copy()
    statistic[is_all], alarm[is_all], onset[is_all] = adjusted.statistic, adjusted.alarm, adjusted.onset
    expected = expected.copy()
    expected[is_all] = (class_births[rows] * class_share[rows]).sum(axis=-1)
    return statistic, alarm, onset, expected


def _calibrated_thresholds(con: duckdb.DuckDBPyConnection, births: np.ndarray, share: np.ndarray,
                           odds_ratio: np.ndarray, arl0: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Threshold and achieved ARL0 per cell from the cache table, calibrating missing keys."""
    keys = calibration_key(births, share, odds_ratio, arl0)
    unique, inverse = np.unique(keys.reshape(-1, 4), axis=0, return_inverse=True)
    wanted = pl.DataFrame(unique, schema=list(_CALIBRATION_KEYS), orient="row")
    found = _read_cache(con, "cusum/calibration_cached", wanted)
    missing = wanted.join(found, on=list(_CALIBRATION_KEYS), how="anti")
    if missing.height:
        with threadpool_limits(1):  # small LU factorisations: BLAS threads only add contention
            cal = calibrate_threshold(*(missing[c].to_numpy() for c in _CALIBRATION_KEYS))
        new = missing.with_columns(threshold=cal.threshold, arl0_achieved=cal.arl0, rel_change=cal.rel_change,
                                   states=cal.states.astype(np.int32))
        _write_cache(con, "cusum/calibration_insert", new)
        found = pl.concat([found, new], how="diagonal_relaxed")
    table = wanted.join(found, on=list(_CALIBRATION_KEYS), how="left", maintain_order="left")
    shape = keys.shape[:-1]
    pick = inverse.ravel()
    return (table["threshold"].to_numpy()[pick].reshape(shape), table["arl0_achieved"].to_numpy()[pick].reshape(shape),
            missing.height)


def _cached_detectable(con: duckdb.DuckDBPyConnection, births: np.ndarray, share: np.ndarray,
                       odds_ratio: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Smallest SRB detected within 52 periods per series (inf if none), cached by rounded key."""
    keys = np.concatenate([calibration_key(births, share, odds_ratio, 2.0)[:, :3],
                           np.round(threshold, 3)[:, None]], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    wanted = pl.DataFrame(unique, schema=list(_DETECTABILITY_KEYS), orient="row")
    found = _read_cache(con, "cusum/detectability_cached", wanted)
    missing = wanted.join(found, on=list(_DETECTABILITY_KEYS), how="anti")
    if missing.height:
        with threadpool_limits(1):
            srb = detectable_srb(*(missing[c].to_numpy() for c in _DETECTABILITY_KEYS))
        new = missing.with_columns(min_detectable_srb=srb)
        _write_cache(con, "cusum/detectability_insert", new)
        found = pl.concat([found, new], how="diagonal_relaxed")
    table = wanted.join(found, on=list(_DETECTABILITY_KEYS), how="left", maintain_order="left")
    return table["min_detectable_srb"].to_numpy()[inverse.ravel()]


def _read_cache(con: duckdb.DuckDBPyConnection, query: str, wanted: pl.DataFrame) -> pl.DataFrame:
    con.register("wanted_keys", wanted.to_arrow())
    try:
        return pl.from_arrow(db.relation(con, query).to_arrow_table())
    finally:
        con.unregister("wanted_keys")


def _write_cache(con: duckdb.DuckDBPyConnection, query: str, new: pl.DataFrame) -> None:
    con.register("new_keys", new.to_arrow())
    try:
        db.run(con, query)
    finally:
        con.unregister("new_keys")


def _episodes(con: duckdb.DuckDBPyConnection, series: _Series, statistic: np.ndarray, threshold: np.ndarray,
              alarm: np.ndarray, onset: np.ndarray, expected: np.ndarray, period_start: np.ndarray,
              settings: SurveillanceSettings) -> pl.DataFrame:
    """One candidate per episode of alarms (see the module docstring), evidence since its onset."""
    closed = {key: np.datetime64(last, "D") for key, last in db.run(con, "cusum/closed_episodes")}
    period_dates = [str(d) for d in period_start.astype("datetime64[D]")]
    cum = {name: np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
           for name, values in (("boys", series.boys), ("births", series.births), ("expected", expected))}
    episodes: list[dict] = []
    current: dict | None = None
    # a loop over alarms only (a few per alarmed series), after the vectorised chart
    for s, t in zip(*np.nonzero(alarm), strict=True):
        start = int(onset[s, t])
        is_same_series = current is not None and current["series"] == s
        continues = (is_same_series and start <= current["last"] + settings.episode_gap
                     and (current["closed_last"] is None or period_start[t] <= current["closed_last"]))
        if continues:
            current["last"] = t
            continue
        new_id = alert_id(series.area_code[s], series.stratum[s], METHOD_CUSUM, period_dates[start])
        current = {"series": s, "onset": start, "detected": t, "last": t, "alert_id": new_id,
                   "closed_last": closed.get(new_id)}
        episodes.append(current)
    if not episodes:
        return pl.DataFrame(schema=CUSUM_ALERT_SCHEMA)
    s = np.array([e["series"] for e in episodes])
    first = np.array([e["onset"] for e in episodes])
    last = np.array([e["last"] for e in episodes])

    def since_onset(name: str) -> np.ndarray:
        return cum[name][s, last + 1] - cum[name][s, first]

    boys, births, expected_boys = since_onset("boys"), since_onset("births"), since_onset("expected")
    notes = np.where(
        series.is_reference[s, first],
        f"no history: compared with the reference SRB {settings.reference_srb:g}",
        np.where(series.is_short_history[s, first],
                 f"short history: under {settings.baseline_window} periods, baseline shrunk toward the parent area",
                 None),
    )
    return pl.DataFrame({
        "alert_id": [e["alert_id"] for e in episodes],
        "area_code": series.area_code[s], "stratum": series.stratum[s], "method": METHOD_CUSUM,
        "detected_period": period_start[np.array([e["detected"] for e in episodes])],
        "onset_period": period_start[first],
        "boys": boys.astype(np.int64), "girls": (births - boys).astype(np.int64),
        "srb_observed": srb_raw(boys, births - boys), "srb_expected": srb_raw(expected_boys, births - expected_boys),
        "statistic": statistic[s, last], "threshold": threshold[s, last],
        "baseline_note": notes, "last_alarm_period": period_start[last],
    }, schema=CUSUM_ALERT_SCHEMA, nan_to_null=True)
