"""Registry suite: the whole clean ``births`` table, checked through aggregates.

Ten million records never go to pandas: the queries under sql/quality/registry_*.sql
aggregate in DuckDB to a few hundred rows each, and Great Expectations validates those
frames (one row per district-month, district, city or area).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from expectations.outcome import ExpectationOutcome
from expectations.queries import run_quality_query
from expectations.runner import Check, run_checks
from expectations.thresholds import DEFAULT_THRESHOLDS, Thresholds

VOLUME = "registry_district_month_volume"
DELAY = "registry_registration_delay"
CITY_SRB = "registry_delivery_city_srb"
DISTRICT_SRB = "registry_delivery_district_srb"
DISPERSION = "registry_sex_dispersion"
REGISTRY_METRICS: tuple[str, ...] = (VOLUME, DELAY, CITY_SRB, DISTRICT_SRB, DISPERSION)
# Metrics computed by a query file of another name (one query, two area levels).
_QUERY_FILES: dict[str, str] = {CITY_SRB: "registry_delivery_srb", DISTRICT_SRB: "registry_delivery_srb"}
# The registry expectations that judge only the run's new deliveries.
DELIVERY_SRB_EXPECTATIONS: tuple[str, ...] = ("registry.city_srb_in_range", "registry.district_srb_in_range")


def registry_metrics(
    connection: Any,
    *,
    asof: dt.date,
    delivery_ids: Sequence[int],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, pd.DataFrame]:
    """Compute the registry suite's metric frames in DuckDB.

    Parameters
    ----------
    connection : DuckDB connection whose search path resolves ``births``, ``areas`` and
        ``area_ancestors`` (the tables after the new deliveries are loaded).
    asof : the run's as-of date.
    delivery_ids : the deliveries loaded by this run (their city and district SRB are checked).
    thresholds : the gate's numbers (window lengths and minimum counts go into the SQL).

    Returns
    -------
    {query name: frame} for every name in ``REGISTRY_METRICS``.
    """
    t = thresholds
    if t.volume_min_baseline_births < 1:
        raise ValueError("volume_min_baseline_births must be at least 1")
    parameters: dict[str, dict[str, Any]] = {
        VOLUME: {
            "asof": asof,
            "months": t.volume_months,
            "district_depth": t.district_depth,
            "min_baseline_births": t.volume_min_baseline_births,
        },
        DELAY: {
            "asof": asof,
            "district_depth": t.district_depth,
            "late_days": t.late_registration_days,
            "min_registered_births": t.min_registered_births,
            "lag_z": t.girls_lag_z,
        },
        CITY_SRB: {
            "delivery_ids": [int(d) for d in delivery_ids],
            "area_depth": 0,
            "z": t.delivery_srb_z,
            "srb_min": t.delivery_srb_min,
            "srb_max": t.delivery_srb_max,
        },
        DISTRICT_SRB: {
            "delivery_ids": [int(d) for d in delivery_ids],
            "area_depth": t.district_depth,
            "z": t.delivery_srb_z,
            "srb_min": t.delivery_srb_min,
            "srb_max": t.delivery_srb_max,
        },
        DISPERSION: {
            "asof": asof,
            "months": t.dispersion_months,
            "min_months": t.dispersion_min_months,
            "min_births": t.dispersion_min_births,
            "district_depth": t.district_depth,
        },
    }
    return {name: run_quality_query(connection, _QUERY_FILES.get(name, name), parameters[name])
            for name in parameters}


def check_registry(
    metrics: Mapping[str, pd.DataFrame], *, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[ExpectationOutcome]:
    """Validate the registry metric frames (the registry suite).

    Parameters
    ----------
    metrics : the frames of ``registry_metrics`` (or the same queries run by the caller).
    thresholds : the gate's numbers.

    Returns
    -------
    One outcome per registry expectation. An empty frame (no district big enough, no new
    delivery) passes its checks.

    Raises
    ------
    ValueError if a metric frame is missing.
    """
    missing = [name for name in REGISTRY_METRICS if name not in metrics]
    if missing:
        raise ValueError(f"registry metrics missing: {', '.join(missing)}")
    outcomes: list[ExpectationOutcome] = []
    for name, checks in _checks(thresholds).items():
        outcomes += run_checks(
            name, metrics[name], checks, suppression_size=thresholds.suppression_size
        )
    return outcomes


def _checks(t: Thresholds) -> dict[str, list[Check]]:
    return {
        VOLUME: [
            Check(
                "registry.district_month_volume",
                lambda E: E.ExpectColumnValuesToBeBetween(
                    column="volume_ratio",
                    min_value=1.0 - t.volume_max_change,
                    max_value=1.0 + t.volume_max_change,
                ),
                unit="district-months",
                sample_columns=(
                    "district_code", "month_start", "births", "baseline_births", "volume_ratio"
                ),
            )
        ],
        DELAY: [
            Check(
                "registry.late_registration_share",
                lambda E: E.ExpectColumnValuesToBeBetween(
                    column="late_registered_share",
                    min_value=0.0,
                    max_value=t.late_registration_max_share,
                ),
                unit="districts",
                sample_columns=("district_code", "births_registered", "late_registered_share"),
            ),
            Check(
                "registry.girls_registration_lag",
                lambda E: E.ExpectColumnValuesToBeBetween(
                    column="girls_lag_lower_days", max_value=t.girls_lag_max_days
                ),
                unit="districts",
                sample_columns=(
                    "district_code",
                    "boys_mean_delay_days",
                    "girls_mean_delay_days",
                    "girls_lag_lower_days",
                ),
            ),
        ],
        CITY_SRB: [
            _delivery_srb_check(t, "registry.city_srb_in_range", "cities",
                                ("area_code", "births", "srb", "srb_lo", "srb_hi"), _city_srb_summary(t))
        ],
        DISTRICT_SRB: [
            _delivery_srb_check(t, "registry.district_srb_in_range", "districts",
                                ("area_code", "births", "boys", "girls", "srb", "srb_lo", "srb_hi"))
        ],
        DISPERSION: [
            Check(
                "registry.sex_split_dispersion",
                lambda E: E.ExpectColumnValuesToBeBetween(
                    column="dispersion_z", min_value=t.dispersion_min_z
                ),
                unit="areas",
                sample_columns=(
                    "area_code", "months_with_births", "dispersion", "dispersion_z"
                ),
            )
        ],
    }


def _delivery_srb_check(t: Thresholds, name: str, unit: str, sample_columns: tuple[str, ...],
                        summarise: Callable[[pd.DataFrame], tuple[str, float | None]] | None = None) -> Check:
    """The SRB of the new deliveries per area (city or district): its Wilson interval must
    reach into the plausible range (the checked column is the interval's point nearest it)."""
    return Check(
        name,
        lambda E: E.ExpectColumnValuesToBeBetween(
            column="srb_closest_to_range", min_value=t.delivery_srb_min, max_value=t.delivery_srb_max),
        unit=unit,
        sample_columns=sample_columns,
        summarise=summarise,
        threshold=_srb_threshold(t),
    )


def _srb_threshold(t: Thresholds) -> str:
    return (f"Wilson interval (z = {t.delivery_srb_z}) of the SRB overlaps "
            f"{t.delivery_srb_min:g}-{t.delivery_srb_max:g}")


def _city_srb_summary(t: Thresholds) -> Callable[[pd.DataFrame], tuple[str, float | None]]:
    """Observed text: each city's SRB with its interval (the checked column is a device)."""

    def summarise(frame: pd.DataFrame) -> tuple[str, float | None]:
        if frame.empty:
            return "no births of known sex in the new deliveries", None
        parts = [
            f"{row.area_code}: SRB {row.srb:.1f} (interval {row.srb_lo:.1f}-{row.srb_hi:.1f}, "
            f"z = {t.delivery_srb_z})"
            for row in frame.itertuples()
        ]
        return "; ".join(parts), float(frame["srb"].iloc[0])

    return summarise
