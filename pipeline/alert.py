"""Alert stage: turn estimates into alert candidates and merge them with earlier alerts.

Level alerts (method ``level``): the smoothed SRB of an area x stratum is credibly
above ``alert_level`` (``prob_above`` at or over ``level_alert_probability``) and its
own window's raw SRB is above it too. One
alert per episode: an episode starts when the probability reaches that line and ends
only when it falls below ``level_clear_probability`` (hysteresis), so an area hovering
near the line raises one alert, not one a week.
"""
from __future__ import annotations

import hashlib

import polars as pl

from models.constants import METHOD_LEVEL
from pipeline.config import SurveillanceSettings

ALERT_COLUMNS = (
    "alert_id", "area_code", "stratum", "method", "detected_period", "onset_period", "boys",
    "girls", "srb_observed", "srb_expected", "statistic", "threshold",
)


ALERT_SCHEMA = {
    "alert_id": pl.String, "area_code": pl.String, "stratum": pl.String, "method": pl.String,
    "detected_period": pl.Date, "onset_period": pl.Date, "boys": pl.Int64, "girls": pl.Int64,
    "srb_observed": pl.Float64, "srb_expected": pl.Float64, "statistic": pl.Float64,
    "threshold": pl.Float64,
}


def empty_alerts() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERT_SCHEMA)


def alert_id(area_code: str, stratum: str, method: str, anchor: object) -> str:
    """Stable id of a signal: the same area, stratum, method and onset give the same id.

    >>> alert_id("440604", "all", "level", "2024-01-01")
    'a-93ffb1b43b8610cd'
    """
    digest = hashlib.sha256(f"{area_code}|{stratum}|{method}|{anchor}".encode()).hexdigest()
    return f"a-{digest[:16]}"


def level_alerts(estimates: pl.DataFrame, settings: SurveillanceSettings) -> pl.DataFrame:
    """One candidate per episode of ``prob_above >= level_alert_probability``."""
    key = ["area_code", "stratum"]
    raise_at = settings.level_alert_probability
    clear_at = settings.level_clear_probability
    # state: 1 where the line is reached, 0 where the episode clears, carried in between
    # An alert needs the area's own counts to show the excess too: smoothing may lift a
    # small area's posterior above the line on its neighbours' evidence alone, and the
    # enforcement team acts on areas, so the area itself must be over the limit.
    is_raised = (pl.col("prob_above") >= raise_at) & (pl.col("srb_raw") > settings.alert_level)
    state = (
        pl.when(is_raised).then(1)
        .when(pl.col("prob_above") < clear_at).then(0)
        .otherwise(None)
        .forward_fill().over(key).fill_null(0)
    )
    flagged = (
        estimates.filter(pl.col("level").is_in(list(settings.monitored_levels)))
        .sort([*key, "period_start"])
        .with_columns(is_open=state == 1)
        .with_columns(was_open=pl.col("is_open").shift(1, fill_value=False).over(key))
        .filter(pl.col("is_open") & ~pl.col("was_open"))
    )
    candidates = flagged.select(
        "area_code", "stratum",
        pl.lit(METHOD_LEVEL).alias("method"),
        pl.col("period_start").alias("detected_period"),
        pl.lit(None, pl.Date).alias("onset_period"),
        "boys", "girls",
        pl.col("srb_raw").alias("srb_observed"),
        pl.lit(settings.alert_level).alias("srb_expected"),
        pl.col("prob_above").alias("statistic"),
        pl.lit(settings.level_alert_probability).alias("threshold"),
    )
    ids = [alert_id(a, s, m, d) for a, s, m, d in candidates.select(
        "area_code", "stratum", "method", "detected_period").iter_rows()]
    return candidates.with_columns(pl.Series("alert_id", ids, pl.String)).select(ALERT_COLUMNS)
