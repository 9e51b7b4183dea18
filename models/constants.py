"""Names and reference values shared by every stage.

Strata and level names are fixed by CONTRACT.md §4; keep them here and only here.
"""
from __future__ import annotations

# --- strata (CONTRACT §4) -------------------------------------------------------
STRATUM_ALL = "all"
STRATUM_PARITY_1 = "parity_1"
STRATUM_PARITY_2 = "parity_2"
STRATUM_PARITY_3PLUS = "parity_3plus"
STRATUM_PARITY_2_WITHIN_POLICY = "parity_2_within_policy"

STRATA: tuple[str, ...] = (
    STRATUM_ALL,
    STRATUM_PARITY_1,
    STRATUM_PARITY_2,
    STRATUM_PARITY_3PLUS,
    STRATUM_PARITY_2_WITHIN_POLICY,
)

# Listing order wherever alerts are shown: the second-birth-within-policy track first,
# because that is where sex selection concentrates.
STRATA_ALERT_ORDER: tuple[str, ...] = (
    STRATUM_PARITY_2_WITHIN_POLICY,
    STRATUM_PARITY_2,
    STRATUM_PARITY_3PLUS,
    STRATUM_ALL,
    STRATUM_PARITY_1,
)

# --- sex codes after normalisation ------------------------------------------------
SEX_BOY = "M"
SEX_GIRL = "F"
SEX_UNKNOWN = "U"

# --- periods -----------------------------------------------------------------------
PERIODS: tuple[str, ...] = ("week", "month", "quarter", "year")
# Trailing window, in periods, that an estimate pools by default: about one year.
DEFAULT_WINDOW_PERIODS: dict[str, int] = {"week": 52, "month": 12, "quarter": 4, "year": 1}
PERIODS_PER_YEAR: dict[str, float] = {"week": 52.1775, "month": 12.0, "quarter": 4.0, "year": 1.0}

# --- reference values --------------------------------------------------------------
# Provincial limit: SRB (boys per 100 girls) an area must stay below.
DEFAULT_ALERT_LEVEL = 110.0
# Biologically normal SRB used where an area has no history (boys per 100 girls);
# the commonly cited natural range is 103-107 (e.g. UN WPP, Chao et al. 2019, PNAS).
DEFAULT_REFERENCE_SRB = 106.0
# Counts below this are shown as "<5" outside the database.
DEFAULT_SUPPRESSION_SIZE = 5

# --- methods named in the alerts table -------------------------------------------
METHOD_CUSUM = "cusum"
METHOD_LEVEL = "level"
METHOD_GLR = "glr"

ALERT_STATUSES: tuple[str, ...] = ("new", "acknowledged", "investigating", "closed")
