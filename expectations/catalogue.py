"""The one table of data-quality expectations: name, severity, and why it exists.

Every outcome the gate produces names an entry here, and its severity comes from here
alone. ``critical``: the run stops (exit 3) and nothing new is published. ``warning``: the
run publishes and the warning shows in the run summary and the data-quality report.

To change a severity, change this table; the suites look it up by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

SUITE_DELIVERY = "delivery"
SUITE_REGISTRY = "registry"
SUITE_OUTPUTS = "outputs"
SUITES: tuple[str, ...] = (SUITE_DELIVERY, SUITE_REGISTRY, SUITE_OUTPUTS)


@dataclass(frozen=True)
class Rule:
    """One expectation of the catalogue."""

    severity: Severity
    why: str

    @property
    def is_critical(self) -> bool:
        return self.severity == CRITICAL


CATALOGUE: dict[str, Rule] = {
    # --- delivery: every record of the new batches, through its distinct values ------
    "delivery.readable": Rule(
        CRITICAL,
        "A file that cannot be read as a table (unknown format or encoding, no records, "
        "broken CSV/Parquet/XLSX) is refused whole by the loader; nothing of it is usable.",
    ),
    "delivery.columns_present": Rule(
        CRITICAL, "A batch without a required column (shifted or renamed header) is unusable."
    ),
    "delivery.record_key_is_typed": Rule(
        CRITICAL, "The hashed record id must be 64-hex text or its two UInt64 halves."
    ),
    "delivery.birth_date_is_date": Rule(
        CRITICAL, "A birth date that is not a date means shifted or mis-parsed columns."
    ),
    "delivery.sex_is_text": Rule(CRITICAL, "Sex must be a normalised code, i.e. text."),
    "delivery.birth_order_is_integer": Rule(
        CRITICAL, "Birth order defines the parity strata; it must be an integer."
    ),
    "delivery.area_code_is_text": Rule(
        CRITICAL, "Area codes are text; a numeric column loses leading zeros."
    ),
    "delivery.registered_date_is_date": Rule(
        CRITICAL, "Registration dates feed the --asof replay; they must be dates."
    ),
    "delivery.plurality_is_integer": Rule(CRITICAL, "Plurality is a count of children."),
    "delivery.mother_age_is_number": Rule(CRITICAL, "Mother's age is a number of years."),
    "delivery.record_hash_not_null": Rule(CRITICAL, "Every record needs its hashed id."),
    "delivery.birth_date_not_null": Rule(CRITICAL, "Every record needs a birth date."),
    "delivery.sex_not_null": Rule(CRITICAL, "Every record needs a sex code (U if unknown)."),
    "delivery.birth_order_not_null": Rule(CRITICAL, "Every record needs a birth order."),
    "delivery.area_code_not_null": Rule(CRITICAL, "Every record needs an area."),
    "delivery.sex_in_codes": Rule(CRITICAL, "After normalisation sex is M, F or U only."),
    "delivery.residence_status_in_set": Rule(
        CRITICAL, "Residence is registered or floating (or absent); other values are unmapped."
    ),
    "delivery.policy_status_in_set": Rule(
        CRITICAL,
        "Policy status selects the parity_2_within_policy stratum; it must be within, "
        "outside or unknown (or absent).",
    ),
    "delivery.birth_order_in_range": Rule(
        CRITICAL,
        "Birth order 1-20; a larger value (a mother's age, a year) signals shifted columns.",
    ),
    "delivery.mother_age_in_range": Rule(CRITICAL, "Mother's age 12-60 (CONTRACT section 1)."),
    "delivery.plurality_in_range": Rule(CRITICAL, "Plurality 1-8; the record is octuplets."),
    "delivery.birth_date_in_range": Rule(
        CRITICAL,
        "No birth after the as-of date (look-ahead) or before 1950 (a default or garbage date).",
    ),
    "delivery.registered_date_in_range": Rule(
        CRITICAL, "No registration after the as-of date: --asof must not see the future."
    ),
    "delivery.registered_not_before_birth": Rule(
        WARNING, "A registration dated before the birth is a data-entry error; it skews delays."
    ),
    "delivery.record_hash_unique": Rule(
        CRITICAL, "Each child once per batch; duplicates double-count births."
    ),
    "delivery.sex_unknown_share": Rule(
        CRITICAL,
        "Over 1 % of births without a known sex means a broken sex field (e.g. an export "
        "coding everyone unknown); the SRB would rest on a biased remainder.",
    ),
    "delivery.quarantine_share": Rule(
        CRITICAL, "Over 2 % of rows quarantined means a systematic fault, not stray typos."
    ),
    "delivery.area_code_known": Rule(
        CRITICAL, "Every birth must map to an area of the reference tree, or it is lost."
    ),
    # --- registry: the whole clean table, through aggregates -------------------------
    "registry.district_month_volume": Rule(
        CRITICAL,
        "A district-month with under 60 % or over 140 % of the births of the same month a "
        "year earlier: a district stopped reporting, or a delivery was loaded twice.",
    ),
    "registry.late_registration_share": Rule(
        WARNING,
        "Many births registered over 90 days late: recent periods are incomplete and the "
        "latest estimates will move.",
    ),
    "registry.city_srb_in_range": Rule(
        CRITICAL,
        "A delivery whose city-level SRB is credibly outside 95-130 has a sex coding fault "
        "(swapped codes, one sex dropped); no real population lies there.",
    ),
    "registry.district_srb_in_range": Rule(
        CRITICAL,
        "A district whose SRB in the new deliveries is credibly outside 95-130 stopped "
        "reporting one sex (e.g. no girls) or codes sex wrongly; caught the night it arrives, "
        "not a month later by the volume check.",
    ),
    "registry.sex_split_dispersion": Rule(
        CRITICAL,
        "A monthly sex split smoother than binomial chance (dispersion far below 1) means "
        "sex was imputed by a fixed fraction, not recorded.",
    ),
    "registry.girls_registration_lag": Rule(
        WARNING,
        "Girls registered credibly later than boys (over a week): under-registration of "
        "girls inflates the SRB of recent periods.",
    ),
    # --- outputs: srb_estimates and alerts before publishing --------------------------
    "outputs.srb_defined_where_girls": Rule(
        CRITICAL, "Where girls > 0 every SRB column and prob_above must be a number."
    ),
    "outputs.interval_ordered": Rule(CRITICAL, "srb_lo <= srb_smoothed <= srb_hi."),
    "outputs.prob_above_in_unit_interval": Rule(CRITICAL, "prob_above is a probability."),
    "outputs.counts_non_negative": Rule(CRITICAL, "Boys and girls are counts."),
    "outputs.levels_consistent": Rule(
        CRITICAL, "Children's boys and girls sum to their parent's per stratum and period."
    ),
    "outputs.alert_area_known": Rule(
        CRITICAL, "An alert must name an area of the reference, or nobody can act on it."
    ),
    "outputs.alert_stratum_known": Rule(
        CRITICAL, "An alert must name one of the strata of CONTRACT section 4."
    ),
    "outputs.alert_counts_non_negative": Rule(CRITICAL, "Alert evidence counts are counts."),
}


def severity_of(name: str) -> Severity:
    """Severity of the expectation ``name``.

    >>> severity_of("registry.girls_registration_lag")
    'warning'
    """
    return CATALOGUE[name].severity


def suite_of(name: str) -> str:
    """Suite an expectation belongs to, the prefix of its name.

    >>> suite_of("outputs.interval_ordered")
    'outputs'
    """
    return name.split(".", 1)[0]
