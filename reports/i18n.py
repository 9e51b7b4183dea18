"""Labels of the reports in Chinese (the default) and English.

One table, looked up by key; a missing key is a bug caught by the tests, not a silent
fallback. Area names come from the area reference and are shown as given.
"""
from __future__ import annotations

import re

LANGUAGES = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "title": ("出生人口性别比周报", "Weekly sex ratio at birth report"),
    "week": ("周", "Week"),
    "as_of": ("数据截至", "Data as of"),
    "run": ("运行编号", "Run"),
    "headline": ("本周概况", "This week"),
    "births_week": ("本周出生", "Births this week"),
    "births_window": ("近52周出生", "Births, last 52 weeks"),
    "srb": ("出生性别比", "SRB"),
    "srb_unit": ("（每100名女婴对应男婴数）", "(boys per 100 girls)"),
    "interval": ("95%区间", "95% interval"),
    "limit": ("控制线", "limit"),
    "change_last_year": ("较去年同期", "vs. a year ago"),
    "stratum": ("孩次", "Birth order"),
    "missing_girls": ("估计缺失女婴", "Estimated missing girls"),
    "above_limit": ("高于控制线的概率", "P(above limit)"),
    "alerts": ("预警", "Alerts"),
    "alerts_new": ("本周新预警", "New this week"),
    "alerts_ongoing": ("持续中的预警", "Ongoing"),
    "no_alerts_new": ("本周无新预警。", "No new alerts this week."),
    "no_alerts_ongoing": ("无持续中的预警。", "No ongoing alerts."),
    "area": ("地区", "Area"),
    "method": ("方法", "Method"),
    "status": ("状态", "Status"),
    "onset": ("起始周", "Onset week"),
    "detected": ("发现周", "Detected week"),
    "boys": ("男婴", "Boys"),
    "girls": ("女婴", "Girls"),
    "births": ("出生数", "Births"),
    "srb_since_onset": ("起始以来性别比", "SRB since onset"),
    "expected": ("基准", "Expected"),
    "statistic": ("统计量", "Statistic"),
    "threshold": ("阈值", "Threshold"),
    "funnel": ("各镇街漏斗图", "Funnel plot of towns"),
    "funnel_note": ("控制限：95%和99.8%（Spiegelhalter 2005），中心线为",
                    "Control limits 95% and 99.8% (Spiegelhalter 2005) around"),
    "funnel_hidden": ("个计数被隐去的镇街未绘出。", "towns with a hidden count are not plotted."),
    "trend": ("近{years}年分孩次性别比趋势", "SRB by birth order, last {years} years"),
    "trend_note": ("每点为截至该周的近52周估计。", "Each point pools the 52 weeks up to that week."),
    "towns": ("镇街一览", "Towns"),
    "town_note": ("平滑性别比为小区域平滑后的后验均值；可检出为一年内图表可发现的最小性别比。",
                  "Smoothed SRB: small-area posterior mean; detectable: the smallest SRB the chart finds "
                  "within a year."),
    "smoothed": ("平滑性别比", "Smoothed SRB"),
    "detectable": ("可检出", "Detectable"),
    "undetectable": ("无法检出", "not detectable"),
    "quality": ("数据质量", "Data quality"),
    "quality_ok": ("最近一次运行的全部{checked}项检查均通过。", "All {checked} checks of the latest run passed."),
    "quality_warn": ("最近一次运行有{failed}项警告：", "The latest run raised {failed} warnings:"),
    "observed": ("观测值", "observed"),
    "severity_warning": ("警告", "warning"),
    "severity_critical": ("严重", "critical"),
    "quality_absent": ("尚无数据质量检查结果。", "No data-quality results are recorded yet."),
    "missing_cusum_paths": ("尚无CUSUM图表数据，预警图显示性别比走势。",
                            "No CUSUM charts are recorded yet; alert charts show the SRB path instead."),
    "missing_detectability": ("尚未计算可检出性。", "Detectability has not been computed yet."),
    "suppression_note": ("少于{size}的计数显示为“<{size}”；“—”为不小于{size}、但为防止推算出小计数而隐去的计数。",
                         "Counts below {size} are shown as \"<{size}\"; \"—\" marks a count of {size} or more, "
                         "hidden so that a small count cannot be worked out by subtraction."),
    "suppressed_srb": ("（隐去）", "(hidden)"),
    "chart_cusum": ("CUSUM统计量与阈值", "CUSUM statistic and threshold"),
    "chart_glr": ("GLR统计量与阈值", "GLR statistic and threshold"),
    "chart_srb": ("性别比（近52周）与控制线", "SRB (52 weeks) and limit"),
    "chart_none": ("无图表数据。", "No chart data."),
    "birth_count": ("出生数", "Births"),
    "footer": ("本报告仅含地区汇总数据，不含任何个人记录。",
               "This report holds area totals only, no personal records."),
    "attachment_note": ("完整报告见附件PDF。", "The full report is attached as a PDF."),
    "subject": ("出生人口性别比周报", "Weekly SRB report"),
}

STRATUM_NAMES: dict[str, tuple[str, str]] = {
    "all": ("全部", "All births"),
    "parity_1": ("一孩", "First births"),
    "parity_2": ("二孩", "Second births"),
    "parity_3plus": ("三孩及以上", "Third and later"),
    "parity_2_within_policy": ("政策内二孩", "Second births within policy"),
}

METHOD_NAMES: dict[str, tuple[str, str]] = {
    "cusum": ("CUSUM（较自身基线上升）", "CUSUM (rise against own baseline)"),
    "level": ("水平（可信地高于控制线）", "Level (credibly above limit)"),
    "glr": ("GLR（较自身基线上升）", "GLR (rise against own baseline)"),
}

STATUS_NAMES: dict[str, tuple[str, str]] = {
    "new": ("新", "new"),
    "acknowledged": ("已确认", "acknowledged"),
    "investigating": ("调查中", "investigating"),
    "closed": ("已关闭", "closed"),
}

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _pick(table: dict[str, tuple[str, str]], key: str, language: str) -> str:
    zh, en = table[key]
    return zh if language == "zh" else en


def label(key: str, language: str, **values: object) -> str:
    """A label in the language, with ``{name}`` fields filled in.

    >>> label("trend", "en", years=3)
    'SRB by birth order, last 3 years'
    """
    return _pick(LABELS, key, language).format(**values)


def stratum_name(stratum: str, language: str) -> str:
    """>>> stratum_name("parity_2_within_policy", "zh")
    '政策内二孩'
    """
    return _pick(STRATUM_NAMES, stratum, language)


def method_name(method: str, language: str) -> str:
    return _pick(METHOD_NAMES, method, language) if method in METHOD_NAMES else method


def status_name(status: str, language: str) -> str:
    return _pick(STATUS_NAMES, status, language) if status in STATUS_NAMES else status


def latin_only(name: str, fallback: str) -> str:
    """An area name without CJK characters, for charts drawn without a CJK font.

    >>> latin_only("祖庙 Zumiao", "440604001"), latin_only("祖庙第1社区", "440604001001")
    ('Zumiao', '440604001001')
    """
    stripped = " ".join(_CJK.sub(" ", name).split())
    return stripped if any(ch.isalpha() for ch in stripped) else fallback
