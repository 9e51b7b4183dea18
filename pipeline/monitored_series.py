"""The series the change detectors chart (CUSUM, GLR): counts, baselines, warm-up, budget.

Inputs: the transform's dense period counts (``boys_period``, ``girls_period``; not the
window sums), the visible birth cells (``sql/staging/stg_birth_cells.sql``: boys and girls
per leaf area x period x birth order x policy status, for the risk classes of the `all`
chart), the area tree and the settings. Output: one ``MonitoredSeries`` (every monitored area x stratum), all arrays
(series, periods[, classes]) and vectorised (``models/`` does the statistics):

1. Baselines top-down (city -> district -> town -> village): each area's prospective share
   of boys, shrunk toward its parent's (``models.baseline``); per risk class for `all`. The
   city's baseline is its own history alone once it has any (unless
   ``baseline_reference_prior_births`` says otherwise): the reference SRB stands in only
   where nothing is known, since parity strata need not share its value.
2. Warm-up: a stratum's charts start once the city's baseline for it holds
   ``cusum_warmup_periods`` periods and ``cusum_warmup_births`` births, and stay on. Before
   that a chart has no baseline to rise against, gets no evidence (increments 0) and cannot
   alarm; its baseline is shown as the reference SRB. An area without history of its own is
   then judged against its nearest ancestor's (the alert says the baseline was borrowed).
3. Tracks and budget: ``parity_2_within_policy`` has its own shift and false-alarm budget;
   each track's budget is split equally among its series (in-control ARL0).
4. What the thresholds are calibrated for: the trailing volume (births a period over the
   window ending with the period: volume is not the signal) and the baseline SRB, which
   also sets the chart's odds ratio (+shift at the baseline). Only earlier or current
   periods enter, so ``--asof D`` sees what a full run saw up to D.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from models.baseline import prospective_baseline
from models.constants import PERIODS_PER_YEAR, STRATA, STRATUM_ALL, STRATUM_PARITY_2_WITHIN_POLICY
from models.cusum_calibration import split_false_alarm_budget
from models.srb import share_from_srb, srb_from_share
from pipeline.areas import AreaTree
from pipeline.class_counts import class_counts
from pipeline.config import SurveillanceSettings
from pipeline.errors import ConfigError

TRACK_GENERAL = "general"
TRACK_PARITY_2_WITHIN_POLICY = STRATUM_PARITY_2_WITHIN_POLICY


@dataclass(frozen=True)
class ChartInput:
    """Counts and baseline of some series as a chart sees them: zero before the warm-up ends."""

    rows: np.ndarray  # series rows of MonitoredSeries
    boys: np.ndarray  # (rows, periods) or (rows, periods, classes) for the risk-adjusted `all`
    births: np.ndarray
    share: np.ndarray


@dataclass(frozen=True)
class MonitoredSeries:
    """Every monitored area x stratum, one row each; arrays (series, periods) unless noted."""

    area_code: np.ndarray  # (series,)
    level: np.ndarray  # (series,)
    stratum: np.ndarray  # (series,)
    track: np.ndarray  # (series,)
    period_start: np.ndarray  # (periods,) datetime64[D]
    boys: np.ndarray
    births: np.ndarray
    share: np.ndarray  # baseline p0 of the stratum (pooled over classes for `all`); the reference until active
    expected: np.ndarray  # expected boys: births x p0, summed over classes when risk-adjusted
    is_reference: np.ndarray  # p0 is the reference SRB: nothing known up the tree
    is_borrowed: np.ndarray  # no own history: p0 is the nearest ancestor's
    is_short_history: np.ndarray  # fewer than the baseline window's periods behind the guard
    is_active: np.ndarray  # the warm-up is over for the stratum: the chart runs
    arl0: np.ndarray  # (series,) in-control ARL0 from the track's budget, periods
    shift_srb: np.ndarray  # (series,) shift the chart is tuned to, SRB points
    volume: np.ndarray  # trailing mean births a period, current period included
    chart_inputs: tuple[ChartInput, ...]  # plain series, then the risk-adjusted `all` ones

    def run_chart(self, chart: Callable[[ChartInput], Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A change detector over every series: ``chart`` is called on each part of
        ``chart_inputs`` and returns its statistic, alarm and onset (rows, periods); they are
        put together as (series, periods) arrays."""
        statistic = np.zeros(self.births.shape)
        alarm = np.zeros(self.births.shape, dtype=bool)
        onset = np.full(self.births.shape, -1, dtype=np.int64)
        for part in self.chart_inputs:
            result = chart(part)
            statistic[part.rows], alarm[part.rows], onset[part.rows] = result.statistic, result.alarm, result.onset
        return statistic, alarm, onset

    @property
    def srb_baseline(self) -> np.ndarray:
        return srb_from_share(self.share)

    @property
    def odds_ratio(self) -> np.ndarray:
        """The chart's odds ratio: the shift at the current baseline, (srb0 + shift) / srb0."""
        srb = self.srb_baseline
        return (srb + self.shift_srb[:, None]) / srb


def monitored_series(counts: pl.DataFrame, cells: pl.DataFrame, tree: AreaTree,
                     settings: SurveillanceSettings) -> MonitoredSeries | None:
    """The monitored series of the transform's counts (None when there is nothing to chart)."""
    areas = tree.areas.select("area_code", "parent_code", "level", "depth")
    monitored = areas.filter(pl.col("level").is_in(list(settings.monitored_levels)))
    if counts.height == 0 or monitored.height == 0:
        return None
    areas = areas.filter(pl.col("depth") <= monitored["depth"].max()).sort("depth", "area_code")
    periods = counts["period_start"].unique().sort()
    strata = [s for s in STRATA if s in set(counts["stratum"].unique())]
    boys, total = _stratum_arrays(counts, areas["area_code"].to_list(), strata, periods)
    depth = areas["depth"].to_numpy()
    parent_row = _parent_rows(areas)
    baselines = [_tree_baseline(boys[k], total[k], depth, parent_row, settings) for k in range(len(strata))]
    rows = np.flatnonzero(areas["level"].is_in(list(settings.monitored_levels)).to_numpy())
    k_of, a_of = np.repeat(np.arange(len(strata)), rows.size), np.tile(rows, len(strata))
    root = _root_rows(parent_row)
    started = np.stack([_warmup_over(b.history_births[root[rows]], b.share[root[rows]], settings)
                        for b in baselines])  # (strata, rows, periods)
    is_active = started.reshape(-1, periods.len())
    # a chart still warming up is judged against nothing; its baseline is shown as the
    # reference (a city baseline of a few births can be 0 or 1 boys in 1)
    reference = share_from_srb(settings.reference_srb)
    share = np.where(is_active, np.stack([b.share for b in baselines])[k_of, a_of], reference)
    history = np.stack([b.history_births for b in baselines])[k_of, a_of]
    is_reference = np.stack([b.is_reference for b in baselines])[k_of, a_of]
    stratum = np.array(strata)[k_of]
    track = np.where(stratum == STRATUM_PARITY_2_WITHIN_POLICY, TRACK_PARITY_2_WITHIN_POLICY, TRACK_GENERAL)
    series_births = total[k_of, a_of]
    plain = np.flatnonzero(~((stratum == STRATUM_ALL) & settings.cusum_risk_adjusted))
    inputs = [_masked(plain, boys[k_of, a_of][plain], series_births[plain], share[plain], is_active[plain])]
    expected = series_births * share
    is_all = np.flatnonzero((stratum == STRATUM_ALL) & settings.cusum_risk_adjusted)
    if is_all.size:
        class_boys, class_births = class_counts(cells.lazy(), tree.ancestors,
                                                area_codes=areas["area_code"].to_list(), period_starts=periods)
        class_share = _tree_baseline(class_boys, class_births, depth, parent_row, settings).share[rows]
        class_share = np.where(is_active[is_all][..., None], class_share, reference)
        # the `all` series are in the same area order as `rows`
        inputs.append(_masked(is_all, class_boys[rows], class_births[rows], class_share, is_active[is_all]))
        expected[is_all] = (class_births[rows] * class_share).sum(axis=-1)
    return MonitoredSeries(
        area_code=areas["area_code"].to_numpy()[a_of], level=areas["level"].to_numpy()[a_of], stratum=stratum,
        track=track, period_start=periods.to_numpy().astype("datetime64[D]"),
        boys=boys[k_of, a_of], births=series_births, share=share, expected=expected,
        is_reference=is_reference, is_borrowed=(history == 0) & ~is_reference,
        is_short_history=np.broadcast_to(_is_short_history(periods.len(), settings), share.shape),
        is_active=is_active, arl0=_arl0(track, settings), shift_srb=_shifts(track, settings),
        volume=_trailing_mean(series_births, settings.window), chart_inputs=tuple(inputs),
    )


def track_budgets(settings: SurveillanceSettings) -> dict[str, float]:
    """False alerts a year each track may raise."""
    return {TRACK_GENERAL: settings.false_alarms_per_year,
            TRACK_PARITY_2_WITHIN_POLICY: settings.false_alarms_per_year_parity_2_within_policy}


def track_shifts(settings: SurveillanceSettings) -> dict[str, float]:
    """Shift (SRB points) each track's CUSUM is tuned to."""
    return {TRACK_GENERAL: settings.cusum_shift_srb,
            TRACK_PARITY_2_WITHIN_POLICY: settings.cusum_shift_srb_parity_2_within_policy}


def _arl0(track: np.ndarray, settings: SurveillanceSettings) -> np.ndarray:
    try:
        return split_false_alarm_budget(track, track_budgets(settings), PERIODS_PER_YEAR[settings.period])
    except ValueError as error:
        raise ConfigError(f"[surveillance] false-alarm budget: {error}") from None


def _shifts(track: np.ndarray, settings: SurveillanceSettings) -> np.ndarray:
    shifts = track_shifts(settings)
    return np.array([shifts[t] for t in track], dtype=float)


def _masked(rows: np.ndarray, boys: np.ndarray, births: np.ndarray, share: np.ndarray,
            is_active: np.ndarray) -> ChartInput:
    """Counts with the periods before the warm-up emptied: no evidence, the chart stays at 0."""
    on = is_active if boys.ndim == 2 else is_active[..., None]
    return ChartInput(rows, np.where(on, boys, 0), np.where(on, births, 0), share)


def _warmup_over(root_history_births: np.ndarray, root_share: np.ndarray,
                 settings: SurveillanceSettings) -> np.ndarray:
    """Whether the city's baseline holds enough periods and births, from then on (rows, t).

    At least one birth and a share of boys strictly between 0 and 1 whatever the settings:
    a baseline of all boys or all girls has no chart.
    """
    periods_behind = np.clip(np.arange(root_history_births.shape[-1]) - settings.baseline_guard, 0,
                             settings.baseline_window)
    ready = ((periods_behind >= settings.warmup_periods)
             & (root_history_births >= max(settings.cusum_warmup_births, 1.0))
             & (root_share > 0) & (root_share < 1))
    return np.maximum.accumulate(ready, axis=-1)


def _is_short_history(n_periods: int, settings: SurveillanceSettings) -> np.ndarray:
    return np.arange(n_periods) - settings.baseline_guard < settings.baseline_window


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


def _root_rows(parent_row: np.ndarray) -> np.ndarray:
    """Row of each area's root (itself for a root), climbing one level a step."""
    root = np.arange(parent_row.size)
    while np.any(parent_row[root] >= 0):  # a handful of levels
        root = np.where(parent_row[root] >= 0, parent_row[root], root)
    return root


def _tree_baseline(boys: np.ndarray, births: np.ndarray, depth: np.ndarray, parent_row: np.ndarray,
                   settings: SurveillanceSettings) -> _TreeBaseline:
    """Baselines top-down, one depth at a time (each shrunk toward its parent's), shaped like the counts."""
    share = np.empty(births.shape)
    history = np.empty(births.shape)
    is_reference = np.empty(births.shape, dtype=bool)
    parent, previous_rows = None, None
    options = {"window_periods": settings.baseline_window, "guard_periods": settings.baseline_guard,
               "prior_births": settings.baseline_prior_births, "reference_srb": settings.reference_srb}
    for level_depth in np.unique(depth):  # a handful of levels, not series or periods
        rows = np.flatnonzero(depth == level_depth)
        if parent is None:  # the roots: their own history (and the reference with its configured weight)
            base = prospective_baseline(boys[rows], births[rows],
                                        reference_prior_births=settings.baseline_reference_prior_births, **options)
        else:
            base = prospective_baseline(boys[rows], births[rows], parent=parent,
                                        parent_index=np.searchsorted(previous_rows, parent_row[rows]), **options)
        share[rows], history[rows], is_reference[rows] = base.share, base.history_births, base.is_reference
        parent, previous_rows = base, rows
    return _TreeBaseline(share, history, is_reference)


@dataclass(frozen=True)
class _TreeBaseline:
    share: np.ndarray
    history_births: np.ndarray  # own births in the baseline window
    is_reference: np.ndarray


def _trailing_mean(births: np.ndarray, window: int) -> np.ndarray:
    """Mean births a period over the ``window`` periods ending with each period (fewer at first)."""
    padded = np.concatenate([np.zeros((births.shape[0], 1)), np.cumsum(births, axis=1)], axis=1)
    end = np.arange(1, births.shape[1] + 1)
    start = np.maximum(end - window, 0)
    return (padded[:, end] - padded[:, start]) / (end - start)
