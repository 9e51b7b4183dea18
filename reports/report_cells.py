"""Every count one district report prints, the additive relations among them, and what to hide.

A reader holds the whole report at once, so suppression (``reports.suppression``) must see
every printed count and every sum that links them:

- each area and stratum: births = boys + girls (window);
- the district: all = parity 1 + parity 2 + parity 3+ (week births; window births, boys, girls);
- second births: parity 2 = within policy + outside it, where the outside cell is *derived*
  (never printed, but the difference of two printed cells, so it is protected like any other);
- the district's window = the sum of its towns (births, boys, girls).

An alert's evidence is not a cell of its own when it equals a table cell of the same area
and stratum (a level alert's counts are that area's window counts for its week): it is
printed as that cell, hidden exactly when the cell is, so the alert box cannot give back
what the headline or the town table hides. Alerts of one area raised together (same method,
onset and detection: the same evidence window) on several strata are linked by the same
sums as the headline, e.g. second births 33 boys and within policy 30 would give 3 outside
policy; the strata not alerted form a derived "rest" cell.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable

from models.constants import (
    STRATUM_ALL,
    STRATUM_PARITY_1,
    STRATUM_PARITY_2,
    STRATUM_PARITY_2_WITHIN_POLICY,
    STRATUM_PARITY_3PLUS,
)
from reports.content import Alert, DistrictWeek, Estimate
from reports.suppression import SuppressedCounts

PARTITION = (STRATUM_PARITY_1, STRATUM_PARITY_2, STRATUM_PARITY_3PLUS)   # birth orders that add up to "all"
MEASURES = ("births", "boys", "girls")
# second births outside policy: parity_2 minus parity_2_within_policy, never printed
PARITY_2_OTHER = "parity_2_outside_policy"

Relation = tuple[Hashable, tuple[Hashable, ...]]


def _add_estimate(values: dict, relations: list[Relation], key: tuple, estimate: Estimate) -> None:
    for measure in MEASURES:
        values[(*key, measure)] = getattr(estimate, measure)
    relations.append(((*key, "births"), ((*key, "boys"), (*key, "girls"))))


def _district_cells(week: DistrictWeek, values: dict, relations: list[Relation]) -> set[Hashable]:
    """Headline cells and their relations; returns the derived (unprinted) cells."""
    strata = {h.stratum: h for h in week.headline}
    derived: set[Hashable] = set()
    for stratum, headline in strata.items():
        values[("week", stratum)] = headline.births_week
        _add_estimate(values, relations, ("window", stratum), headline.estimate)
    if all(s in strata for s in (STRATUM_ALL, *PARTITION)):
        relations.append((("week", STRATUM_ALL), tuple(("week", s) for s in PARTITION)))
        for measure in MEASURES:
            relations.append((("window", STRATUM_ALL, measure), tuple(("window", s, measure) for s in PARTITION)))
    if STRATUM_PARITY_2 in strata and STRATUM_PARITY_2_WITHIN_POLICY in strata:
        second, within = strata[STRATUM_PARITY_2], strata[STRATUM_PARITY_2_WITHIN_POLICY]
        values[("week", PARITY_2_OTHER)] = second.births_week - within.births_week
        relations.append((("week", STRATUM_PARITY_2), (("week", STRATUM_PARITY_2_WITHIN_POLICY),
                                                       ("week", PARITY_2_OTHER))))
        derived.add(("week", PARITY_2_OTHER))
        for measure in MEASURES:
            other = ("window", PARITY_2_OTHER, measure)
            values[other] = getattr(second.estimate, measure) - getattr(within.estimate, measure)
            relations.append((("window", STRATUM_PARITY_2, measure),
                              (("window", STRATUM_PARITY_2_WITHIN_POLICY, measure), other)))
            derived.add(other)
        relations.append((("window", PARITY_2_OTHER, "births"),
                          (("window", PARITY_2_OTHER, "boys"), ("window", PARITY_2_OTHER, "girls"))))
    return derived


def _table_key(alert: Alert, week: DistrictWeek, values: dict) -> tuple | None:
    """The table cell an alert's evidence equals (same area, stratum and counts), if any."""
    if alert.area_code == week.district_code:
        key: tuple = ("window", alert.stratum)
    elif alert.stratum == STRATUM_ALL:
        key = ("town", alert.area_code)
    else:
        return None
    if values.get((*key, "boys")) == alert.boys and values.get((*key, "girls")) == alert.girls:
        return key
    return None


def _alert_relations(week: DistrictWeek, resolve: Callable[[Hashable], Hashable], values: dict,
                     relations: list[Relation]) -> set[Hashable]:
    """Sums among alerts of one area with the same evidence window; returns the derived cells.

    A relation is added only where its derived cell is not negative: counts are, so a
    negative difference means the evidence windows differ after all and no sum links them.
    """
    groups: dict[tuple, dict[str, Alert]] = defaultdict(dict)
    for alert in week.alerts:
        groups[(alert.area_code, alert.method, alert.onset_period, alert.detected_period)][alert.stratum] = alert
    derived: set[Hashable] = set()

    def link(total: str, parts: list[str], by_stratum: dict[str, Alert], name: tuple | None) -> None:
        """total = parts (+ a derived rest named ``name``, unless the parts are complete)."""
        for measure in ("boys", "girls"):
            rest = getattr(by_stratum[total], measure) - sum(getattr(by_stratum[s], measure) for s in parts)
            if rest < 0 or (name is None and rest != 0):
                continue
            cells = tuple(resolve(("alert", by_stratum[s].alert_id, measure)) for s in parts)
            if name is not None:
                values[(*name, measure)] = rest
                derived.add((*name, measure))
                cells = (*cells, (*name, measure))
            relations.append((resolve(("alert", by_stratum[total].alert_id, measure)), cells))

    for group, by_stratum in groups.items():
        if len(by_stratum) < 2:
            continue
        if STRATUM_PARITY_2 in by_stratum and STRATUM_PARITY_2_WITHIN_POLICY in by_stratum:
            link(STRATUM_PARITY_2, [STRATUM_PARITY_2_WITHIN_POLICY], by_stratum, ("evidence", *group, PARITY_2_OTHER))
        parts = [s for s in PARTITION if s in by_stratum]
        if STRATUM_PARITY_2 not in by_stratum and STRATUM_PARITY_2_WITHIN_POLICY in by_stratum:
            parts.append(STRATUM_PARITY_2_WITHIN_POLICY)
        if STRATUM_ALL in by_stratum and parts:
            is_complete = set(PARTITION) <= set(parts)
            link(STRATUM_ALL, parts, by_stratum, None if is_complete else ("evidence", *group, "rest"))
    return derived


class ReportCells:
    """The counts of one district's week with the set to hide; keys are tuples.

    ``("week", stratum)``, ``("window", stratum, measure)``, ``("town", area_code, measure)``,
    ``("alert", alert_id, "boys" | "girls")`` (the latter resolved to a table cell when equal).
    """

    def __init__(self, week: DistrictWeek) -> None:
        values: dict[Hashable, int] = {}
        relations: list[Relation] = []
        derived = _district_cells(week, values, relations)
        for town in week.towns:
            _add_estimate(values, relations, ("town", town.area_code), town.estimate)
        if week.towns and any(h.stratum == STRATUM_ALL for h in week.headline):
            for measure in MEASURES:
                relations.append((("window", STRATUM_ALL, measure),
                                  tuple(("town", t.area_code, measure) for t in week.towns)))
        self.aliases: dict[Hashable, Hashable] = {}
        for alert in week.alerts:
            table_key = _table_key(alert, week, values)
            for measure in ("boys", "girls"):
                own = ("alert", alert.alert_id, measure)
                if table_key is not None:
                    self.aliases[own] = (*table_key, measure)
                else:
                    values[own] = getattr(alert, measure)
        derived |= _alert_relations(week, self._resolve, values, relations)
        self.table = SuppressedCounts(values, relations, week.suppression_size, derived=derived)
        self.district_code = week.district_code

    def _resolve(self, key: Hashable) -> Hashable:
        return self.aliases.get(key, key)

    def show(self, key: Hashable) -> str:
        """The cell as printed: digits, "<5" (small) or "—" (hidden as a complement)."""
        return self.table.show(self._resolve(key))

    def any_hidden(self, *keys: Hashable) -> bool:
        return self.table.any_hidden(*(self._resolve(key) for key in keys))

    def is_window_hidden(self, area_code: str, stratum: str) -> bool:
        """True when the report week's window counts of this area and stratum are hidden
        (False for an area × stratum the tables do not show)."""
        if area_code == self.district_code:
            key: tuple = ("window", stratum)
        elif stratum == STRATUM_ALL:
            key = ("town", area_code)
        else:
            return False
        return self.table.any_hidden(*((*key, measure) for measure in MEASURES))
