"""Thresholds of the data-quality gate, with the reason for each number.

One typed object; the pipeline may build a variant from configuration and pass it down.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.constants import DEFAULT_SUPPRESSION_SIZE


@dataclass(frozen=True)
class Thresholds:
    """Numbers the suites test against. Defaults are the production values."""

    # --- delivery ---------------------------------------------------------------------
    # Up to 1 % of births may lack a known sex (issue 5). Registries typically leave well
    # under 0.1 % unknown; above 1 % the SRB rests on a selected remainder.
    unknown_sex_max_share: float = 0.01
    # Up to 2 % of a delivery's rows may be quarantined (issue 5): stray typos stay below;
    # a shifted column or a wrong encoding quarantines far more.
    quarantine_max_share: float = 0.02
    # Birth order above 20 has essentially never been recorded; values like 25-45 are
    # mothers' ages in the wrong column.
    birth_order_max: int = 20
    # CONTRACT section 1.
    mother_age_min: int = 12
    mother_age_max: int = 60
    # Octuplets are the largest recorded live-born set.
    plurality_max: int = 8
    # Earliest accepted birth date: the loader's row rule (CONTRACT section 1); the check
    # guards against a loader fault.
    birth_date_floor: dt.date = dt.date(1900, 1, 1)

    # --- registry ---------------------------------------------------------------------
    # Volume: +/-40 % against the same month a year earlier (issue 5) ...
    volume_max_change: float = 0.40
    # ... on the last 12 complete months ...
    volume_months: int = 12
    # ... and only where the year-earlier month had >= 200 births: the ratio of two
    # Poisson counts near n has sd about sqrt(2/n) = 0.10 at n = 200, so 40 % is 4 sd and
    # 100 districts x 12 months give < 0.1 false failures a run. Smaller districts are
    # left to the estimates' own intervals.
    volume_min_baseline_births: int = 200
    # Areas at this depth of the area tree are districts (the city is the root, depth 0).
    district_depth: int = 1
    # A registration more than 90 days after birth is late (issue 5); China's household
    # registration rules ask for it within a month of birth.
    late_registration_days: int = 90
    # Warn when over 10 % of a district's registrations of the past year were late.
    late_registration_max_share: float = 0.10
    # Registration statistics need >= 100 registrations: at 10 % late the share then has
    # sd 3 percentage points.
    min_registered_births: int = 100
    # Girls' lag: warn when the one-sided lower bound of (girls' - boys' mean delay) at
    # z = 3 (p = 0.0013; ~0.1 false warnings a run over 100 districts) exceeds 7 days, so
    # that neither chance nor a trivial lag in a huge district warns.
    girls_lag_z: float = 3.0
    girls_lag_max_days: float = 7.0
    # SRB of the new deliveries, at city level and per district, must be credibly inside
    # 95-130 (issue 5): the Wilson interval at z = 3.89 (two-sided 1e-4) must overlap the
    # range. The natural SRB is 103-107 and the highest recorded provincial SRBs are near
    # 130. expectations/README.md gives the false-failure rates (at most ~1e-5 per area
    # per night at a true SRB of 106) and the delivery sizes at which faults are caught.
    delivery_srb_min: float = 95.0
    delivery_srb_max: float = 130.0
    delivery_srb_z: float = 3.89
    # Dispersion: 24 complete months, at least 12 with births (issue 5: >= 12 months) and
    # on average >= 30 births of known sex a month, so that the chi-square reference holds.
    dispersion_months: int = 24
    dispersion_min_months: int = 12
    dispersion_min_births: int = 360
    # Fail below z = -4 on the Wilson-Hilferty score of X2/df (one-sided p = 3e-5; ~0.003
    # false failures a run over 100 areas). Full imputation by a fixed fraction gives
    # X2/df near 0, i.e. z = -6.9 at df = 11 and z = -10 at df = 23.
    dispersion_min_z: float = -4.0

    # --- reports ----------------------------------------------------------------------
    # Counts of births below this are shown as "<5" in outcome texts (CONTRACT section 4).
    suppression_size: int = DEFAULT_SUPPRESSION_SIZE


DEFAULT_THRESHOLDS = Thresholds()
