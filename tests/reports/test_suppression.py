"""Small-count suppression: primary cells, and complements so no hidden cell can be recovered,
on tables and on a laid-out report (headline strata, towns, alerts, chart inputs)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import numpy as np

from reports.content import Alert, DistrictWeek, Estimate, SeriesPoint, StratumHeadline, Town
from reports.i18n import label
from reports.layout import lay_out
from reports.render import render_text
from reports.suppression import COMPLEMENT, complementary_suppression, format_count


def test_small_counts_and_zero_are_shown_as_less_than_size():
    assert [format_count(n, 5) for n in (0, 1, 4, 5, 12345)] == ["<5", "<5", "<5", "5", "12,345"]
    assert format_count(3, 10) == "<10"


def test_a_complement_is_not_printed_as_small():
    """"<5" is a statement about the value; a complement of 80 is hidden, not small."""
    assert (format_count(80, 5, hidden=True), format_count(3, 5, hidden=True)) == (COMPLEMENT, "<5")


def test_one_small_cell_in_a_row_hides_a_second():
    hidden = complementary_suppression({"births": 20, "boys": 3, "girls": 17}, [("births", ("boys", "girls"))], 5)
    assert hidden == {"boys", "girls"}


def test_nothing_small_hides_nothing():
    assert complementary_suppression({"t": 30, "a": 10, "b": 20}, [("t", ("a", "b"))], 5) == set()


def _table(rng: np.random.Generator, rows: int, cols: int):
    """A rows x cols table of counts with row, column and grand totals, and its additive relations."""
    cells = rng.integers(0, 30, size=(rows, cols))
    counts = {("c", r, c): int(cells[r, c]) for r in range(rows) for c in range(cols)}
    counts |= {("row", r): int(cells[r].sum()) for r in range(rows)}
    counts |= {("col", c): int(cells[:, c].sum()) for c in range(cols)}
    counts["grand"] = int(cells.sum())
    relations = [(("row", r), tuple(("c", r, c) for c in range(cols))) for r in range(rows)]
    relations += [(("col", c), tuple(("c", r, c) for r in range(rows))) for c in range(cols)]
    relations += [("grand", tuple(("row", r) for r in range(rows))), ("grand", tuple(("col", c) for c in range(cols)))]
    return counts, relations


def test_random_tables_leave_no_relation_with_exactly_one_hidden_cell():
    """Exact property: a relation with one hidden member gives it back by subtraction."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        counts, relations = _table(rng, int(rng.integers(2, 6)), int(rng.integers(2, 5)))
        hidden = complementary_suppression(counts, relations, 5)
        assert {k for k, v in counts.items() if v < 5} <= hidden
        for total, parts in relations:
            assert sum(key in hidden for key in (total, *parts)) != 1


# --- the laid-out report: every printed count and every sum that links them -------------

def _estimate(boys: int, girls: int) -> Estimate:
    srb = 100.0 * boys / girls if girls else None
    return Estimate(boys + girls, boys, girls, srb, srb and srb * 0.9, srb and srb * 1.1, srb or 106.0,
                    (srb or 106.0) * 0.9, (srb or 106.0) * 1.1, 0.5)


def _week(headline: dict[str, tuple[int, int, int]], towns: dict[str, tuple[int, int]] | None = None,
          alerts: tuple[Alert, ...] = (), trend: dict | None = None) -> DistrictWeek:
    """A district's week: ``headline`` stratum -> (births this week, window boys, window girls)."""
    return DistrictWeek(
        district_code="D", district_name="District", week_start=WEEK, run_id="r", asof_date=WEEK,
        alert_level=110.0, reference_srb=106.0, funnel_target_srb=106.0, suppression_size=5,
        headline=tuple(StratumHeadline(s, week_births, _estimate(boys, girls), None)
                       for s, (week_births, boys, girls) in headline.items()),
        alerts=alerts,
        towns=tuple(Town(code, f"Town {code}", _estimate(boys, girls))
                    for code, (boys, girls) in (towns or {}).items()),
        trend=trend or {}, quality=None)


WEEK = dt.date(2025, 12, 22)
SHOWN = re.compile(r"^\d[\d,]*$")


def _printed(value: str) -> int | None:
    """A printed count as a reader sees it: a number, or None when hidden ("<5" or "—")."""
    return int(value.replace(",", "")) if SHOWN.match(value) else None


def _recoverable(total: int | None, parts: list[int | None]) -> bool:
    """True when exactly one member of ``total = sum(parts)`` is unknown: subtraction gives it back."""
    return [total, *parts].count(None) == 1


def test_subtraction_across_headline_strata_recovers_no_hidden_count():
    """Exact property on the printed report: in all = 1st + 2nd + 3rd+ (week births and window births),
    births = boys + girls no relation has exactly one unknown member, and second births outside
    policy (never printed; 2nd − within when both are printed) are never worked out below 5."""
    rng = np.random.default_rng(61)
    for _ in range(150):
        week_births = {s: int(rng.integers(0, 30)) for s in ("parity_1", "parity_2", "parity_3plus")}
        window = {s: (int(rng.integers(0, 400)), int(rng.integers(0, 400))) for s in week_births}
        within_week = int(rng.integers(0, week_births["parity_2"] + 1))
        within_window = tuple(int(rng.integers(0, n + 1)) for n in window["parity_2"])
        headline = {s: (week_births[s], *window[s]) for s in week_births}
        headline["all"] = (sum(week_births.values()), sum(b for b, _ in window.values()),
                           sum(g for _, g in window.values()))
        headline["parity_2_within_policy"] = (within_week, *within_window)
        rows = {row["stratum"]: row for row in lay_out(_week(headline), "en", with_charts=False).fields["headline"]}
        parts = ("parity_1", "parity_2", "parity_3plus")
        for field in ("births_week", "births", "boys", "girls"):
            shown = {s: _printed(rows[s][field]) for s in rows}
            assert not _recoverable(shown["all"], [shown[s] for s in parts]), (field, headline)
            second, within = shown["parity_2"], shown["parity_2_within_policy"]
            # outside policy is never printed: a reader has it exactly when both others are printed,
            # and then it is a shown count, which must not be small
            if second is not None and within is not None:
                assert second - within >= 5, (field, headline)
        for stratum, row in rows.items():
            births, boys, girls = (_printed(row[f]) for f in ("births", "boys", "girls"))
            assert not _recoverable(births, [boys, girls]), (stratum, headline)


def test_within_policy_second_births_hide_a_small_outside_policy_count():
    """Regression (demo 440608): second births 13 and within policy 13 gave 0 outside policy."""
    headline = {"all": (40, 500, 470), "parity_1": (22, 260, 250), "parity_2": (13, 200, 190),
                "parity_3plus": (5, 40, 30), "parity_2_within_policy": (13, 180, 172)}
    rows = {row["stratum"]: row for row in lay_out(_week(headline), "zh", with_charts=False).fields["headline"]}
    assert rows["parity_2"]["births_week"] == "13"
    assert rows["parity_2_within_policy"]["births_week"] == COMPLEMENT    # 13 - 0: hidden, and not "<5"
    assert rows["parity_2_within_policy"]["births"] == "352"              # window: 10 boys, 18 girls outside


def test_complement_is_marked_apart_from_small_counts():
    """Regression (demo 440607): a hidden second-birth count of 25 printed "<5" beside 22 within policy."""
    headline = {"all": (60, 500, 470), "parity_1": (32, 260, 250), "parity_2": (25, 200, 190),
                "parity_3plus": (3, 40, 30), "parity_2_within_policy": (22, 180, 172)}
    layout = lay_out(_week(headline), "en", with_charts=False)
    rows = {row["stratum"]: row for row in layout.fields["headline"]}
    assert rows["parity_3plus"]["births_week"] == "<5"
    hidden = [s for s in ("parity_1", "parity_2") if rows[s]["births_week"] == COMPLEMENT]
    assert len(hidden) == 1 and not any(rows[s]["births_week"] == "<5" for s in ("all", "parity_1", "parity_2"))
    text = render_text(layout)
    assert f'"{COMPLEMENT}" marks a count of 5 or more' in text
    assert "—" in label("suppression_note", "zh", size=5)


TOWNS = {"T1": (200, 190), "T2": (40, 38), "T3": (3, 7)}


def _level_alert(area_code: str, boys: int, girls: int, *, chart: tuple = (), is_new: bool = True) -> Alert:
    return Alert(f"a-{area_code}", area_code, f"Town {area_code}", "town", "all", "level", "new", WEEK, None,
                 boys, girls, 100.0 * boys / girls, 110.0, 0.97, 0.95, is_new, "srb" if chart else "none", chart)


def test_level_alert_on_the_complement_town_is_hidden_like_its_row():
    """A level alert's evidence is its area's window counts for the week: printed as the town
    table's cell, it must be hidden exactly where the table hides it, else the tiny town's
    counts come back as district − shown towns."""
    boys = sum(b for b, _ in TOWNS.values())
    girls = sum(g for _, g in TOWNS.values())
    headline = {"all": (40, boys, girls)}
    path = tuple(SeriesPoint(WEEK - dt.timedelta(weeks=k), 105.0, 90.0, 120.0, 40, 38) for k in range(10, -1, -1))
    week = _week(headline, TOWNS, alerts=(_level_alert("T2", *TOWNS["T2"], chart=path),))
    layout = lay_out(week, "en", with_charts=False)
    towns = {t["code"]: t for t in layout.fields["towns"]}
    assert towns["T3"]["boys"] == "<5" and towns["T2"]["is_hidden"]      # T2 is the complement
    (alert,) = layout.fields["alerts_new"]
    assert (alert["boys"], alert["girls"]) == (towns["T2"]["boys"], towns["T2"]["girls"])
    assert COMPLEMENT in (alert["boys"], alert["girls"]) and alert["srb_observed"] == "(hidden)"
    assert layout.chart_inputs["alerts"]["a-T2"] == ()                     # no SRB path of hidden counts


def test_alert_evidence_unlike_any_table_cell_is_suppressed_on_its_own():
    headline = {"all": (40, 243, 235)}
    week = _week(headline, TOWNS, alerts=(_level_alert("T1", 150, 4),))   # not T1's window: its own cells
    (alert,) = lay_out(week, "en", with_charts=False).fields["alerts_new"]
    assert (alert["boys"], alert["girls"], alert["srb_observed"]) == ("150", "<5", "(hidden)")


def test_charts_get_no_point_whose_counts_are_hidden():
    """The trend drops periods with a small window count, and the report week of a stratum the
    headline hides; an alert's SRB path drops small periods; a GLR chart is captioned GLR."""
    # 4 third-birth boys in the window: the second births' window is hidden as their complement
    headline = {"all": (40, 464, 470), "parity_1": (22, 260, 250), "parity_2": (15, 200, 190),
                "parity_3plus": (3, 4, 30)}
    weeks = [WEEK - dt.timedelta(weeks=k) for k in (2, 1, 0)]
    trend = {"all": tuple(SeriesPoint(w, 106.0, 100.0, 112.0, 464, 470) for w in weeks),
             "parity_3plus": (SeriesPoint(weeks[0], 130.0, 90.0, 170.0, 40, 30),
                              SeriesPoint(weeks[1], 128.0, 90.0, 170.0, 4, 30),      # 4 boys: small
                              SeriesPoint(weeks[2], 133.0, 90.0, 170.0, 4, 30)),
             "parity_2": tuple(SeriesPoint(w, 105.0, 95.0, 115.0, 200, 190) for w in weeks)}
    srb_path = (SeriesPoint(weeks[0], 140.0, 100.0, 180.0, 3, 2), SeriesPoint(weeks[1], 130.0, 110.0, 150.0, 80, 60))
    statistic = tuple(SeriesPoint(w, 1.0 + k, 4.0) for k, w in enumerate(weeks))
    alerts = (_level_alert("T1", 80, 61, chart=srb_path),
              replace(_level_alert("T9", 300, 200), alert_id="a-glr", method="glr", chart_kind="statistic",
                      chart=statistic))
    week = _week(headline, {"T1": (500, 470)}, alerts=alerts, trend=trend)
    layout = lay_out(week, "en")
    rows = {row["stratum"]: row for row in layout.fields["headline"]}
    assert rows["parity_2"]["boys"] == COMPLEMENT and rows["parity_2"]["is_hidden"]
    inputs = layout.chart_inputs
    assert [p.period_start for p in inputs["trend"]["all"]] == weeks
    assert [p.period_start for p in inputs["trend"]["parity_3plus"]] == [weeks[0]]
    assert [p.period_start for p in inputs["trend"]["parity_2"]] == weeks[:2]    # the week's cell is hidden
    assert [p.period_start for p in inputs["alerts"]["a-T1"]] == [weeks[1]]
    assert inputs["alerts"]["a-glr"] == statistic
    captions = {a["alert_id"]: a["chart_caption"] for a in layout.fields["alerts_new"]}
    assert captions["a-glr"] == "GLR statistic and threshold"
    assert layout.fields["trend"].startswith("data:image/png;base64,")


def test_alerts_raised_together_on_two_strata_do_not_give_the_difference():
    """Regression (reduced demo, 杨和 Yanghe): level alerts on second births (33 boys, 18 girls) and
    second births within policy (30, 16) of one town in one week printed 3 boys and 2 girls
    outside policy by subtraction. Same area, method and week: the same window, so the sum holds."""
    detected = WEEK - dt.timedelta(weeks=12)

    def alert(stratum: str, boys: int, girls: int) -> Alert:
        return replace(_level_alert("T1", boys, girls, is_new=False), alert_id=f"a-{stratum}", stratum=stratum,
                       detected_period=detected)

    alerts = (alert("parity_2", 33, 18), alert("parity_2_within_policy", 30, 16), alert("parity_3plus", 6, 2))
    layout = lay_out(_week({"all": (40, 500, 470)}, alerts=alerts), "zh", with_charts=False)
    shown = {a["alert_id"]: a for a in layout.fields["alerts_ongoing"]}
    for measure in ("boys", "girls"):
        second = _printed(shown["a-parity_2"][measure])
        within = _printed(shown["a-parity_2_within_policy"][measure])
        assert second is None or within is None or second - within >= 5, (measure, second, within)
    assert shown["a-parity_3plus"]["girls"] == "<5" and shown["a-parity_3plus"]["boys"] == "6"
