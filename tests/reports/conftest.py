"""A small registry built and run through the real pipeline once per session, for report tests.

Areas: city C; district D1 with towns T1, T2 and the tiny T3; district D2 with town T4.
Births: two years of weekly records (2023-01-02 .. 2024-12-29), sexes drawn with a fixed
seed. Planted: second births in T1 at SRB ~ 150 during 2024 (level alerts), and town T3
with 3 boys and 7 girls in the last 52 weeks (small counts: suppression and its complement).
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import Registry, record

AREAS = """area_code,name,parent_code,level
C,测试市 Test City,,city
D1,东区 East District,C,district
D2,西区 West District,C,district
T1,甲镇 Town One,D1,town
T2,乙镇 Town Two,D1,town
T3,丙镇 Town Three,D1,town
T4,丁镇 Town Four,D2,town
V1,甲一村,T1,village
V2,甲二村,T1,village
V3,乙一村,T2,village
V4,乙二村,T2,village
V5,丙一村,T3,village
V6,丙二村,T3,village
V7,丁一村,T4,village
V8,丁二村,T4,village
"""
FIRST_WEEK = dt.date(2023, 1, 2)
WEEKS = 104
REPORT_WEEK = "2024-W52"


def _births(rng: np.random.Generator) -> list[str]:
    lines: list[str] = []
    weekly = {"V1": 9, "V2": 9, "V3": 8, "V4": 7, "V7": 6, "V8": 6}
    for week in range(WEEKS):
        monday = FIRST_WEEK + dt.timedelta(weeks=week)
        for village, mean in weekly.items():
            for k in range(int(rng.poisson(mean))):
                birth_order = str(rng.choice([1, 2, 3], p=[0.55, 0.38, 0.07]))
                share_boys = 0.6 if (village in ("V1", "V2") and birth_order == "2" and monday.year == 2024) else 0.515
                day = monday + dt.timedelta(days=int(rng.integers(0, 7)))
                lines.append(record(f"RPT-{village}-{week}-{k}", birth_date=day.isoformat(),
                                    sex="M" if rng.random() < share_boys else "F", birth_order=birth_order,
                                    area_code=village, registered_date=(day + dt.timedelta(days=3)).isoformat(),
                                    policy_status="within" if rng.random() < 0.9 else "outside"))
    # the tiny town: 3 boys and 7 girls in 2024, one birth a month or so
    for k, sex in enumerate("MFFMFFMFFF"):
        day = dt.date(2024, 1 + k, 10)
        lines.append(record(f"RPT-V5-tiny-{k}", birth_date=day.isoformat(), sex=sex, area_code="V5",
                            registered_date=(day + dt.timedelta(days=3)).isoformat()))
    return lines


EXTRA_CONFIG = """
[report]
output_dir = "var/reports"

[email]
smtp_host = "127.0.0.1"
smtp_port = 1
security = "none"
sender = "srb-surveil@example.org"
outbox_dir = "var/outbox"
retry_backoff_minutes = 0

[email.recipients]
D1 = ["east.officer@example.org", "east.deputy@example.org"]

[export]
output_dir = "var/exports"

[export.departments.public_security]
strata = ["parity_2_within_policy", "parity_2"]
min_severity = "medium"

[export.departments.market_regulation]
methods = ["cusum"]
"""


@pytest.fixture(scope="session")
def report_registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """The registry above, loaded and run (`surveil run`), with the reports of D1 and D2 written."""
    os.environ.setdefault("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))
    registry = Registry(tmp_path_factory.mktemp("report") / "registry")
    (registry.root / "areas.csv").write_text(AREAS, encoding="utf-8")
    (registry.root / "adjacency.csv").write_text("area_code_a,area_code_b\nT1,T2\nT2,T3\nT3,T4\n", encoding="utf-8")
    registry.deliver("births_2024.csv", _births(np.random.default_rng(20240101)))
    registry.write_config(EXTRA_CONFIG)
    runner = CliRunner()
    for args in (("run",), ("report", "--week", REPORT_WEEK)):
        result = runner.invoke(app, [*args, "--config", str(registry.config)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return registry


@pytest.fixture
def surveil_cli() -> Callable[..., object]:
    """The real CLI in-process (as tests/conftest.py's ``surveil``)."""
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
