"""The run's settings: parsed once from TOML into a typed, validated object.

Relative paths are resolved against the folder that holds the configuration file, so a
run behaves the same from any working directory.
"""
from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.constants import (
    DEFAULT_ALERT_LEVEL,
    DEFAULT_REFERENCE_SRB,
    DEFAULT_SUPPRESSION_SIZE,
    DEFAULT_WINDOW_PERIODS,
)
from pipeline.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSettings(_Section):
    births: str = Field(description="path or glob of delivery files (CSV, Parquet, XLSX)")
    areas: Path
    adjacency: Path | None = None
    database: Path = Path("var/surveil.duckdb")


class PrivacySettings(_Section):
    # Environment variable holding the HMAC key for record identifiers.
    hash_key_env: str = "SURVEIL_HASH_KEY"
    # A fixed, public key allowed only for the embedded demo data set; a production
    # configuration leaves it unset, and a run without the environment key then fails.
    demo_hash_key: str | None = None


class SurveillanceSettings(_Section):
    period: Literal["week", "month", "quarter", "year"] = "week"
    alert_level: float = Field(DEFAULT_ALERT_LEVEL, gt=0)
    reference_srb: float = Field(DEFAULT_REFERENCE_SRB, gt=0)
    window_periods: int | None = Field(None, ge=1, description="trailing window; default ~1 year")
    smoothing: Literal["none", "eb", "hierarchical", "spatial"] = "eb"
    monitored_levels: tuple[str, ...] = ("city", "district", "town")
    level_alert_probability: float = Field(0.95, gt=0.5, lt=1)
    # A level episode ends only when the excess is no longer even likely, so an area
    # hovering around the alert probability raises one alert, not one a week.
    level_clear_probability: float = Field(0.5, gt=0, lt=1)
    # --- CUSUM (issue 4; pipeline/surveil_cusum.py) ---
    detectors: tuple[Literal["cusum", "level", "glr"], ...] = ("cusum", "level")
    # Upward shift each chart is tuned to, in SRB points above the area's baseline; the
    # second-birth-within-policy track is where sex selection concentrates: more sensitive.
    cusum_shift_srb: float = Field(10.0, gt=0)
    cusum_shift_srb_parity_2_within_policy: float = Field(6.0, gt=0)
    # Expected false alerts per year across all monitored series of a track: what the
    # enforcement team can follow up. Split equally among the track's series.
    false_alarms_per_year: float = Field(12.0, gt=0)
    false_alarms_per_year_parity_2_within_policy: float = Field(4.0, gt=0)
    # Prospective baseline: periods pooled, and skipped just before the period judged;
    # default two years and one year of periods.
    baseline_window_periods: int | None = Field(None, ge=1)
    baseline_guard_periods: int | None = Field(None, ge=0)
    baseline_prior_births: float = Field(1000.0, gt=0)
    # Weight (pseudo-births) of the reference SRB in the city's own baseline. Default 0: the
    # city is judged against its own history, the reference standing in only where there is
    # none (and the charts are then still warming up); a registry too small to know its own
    # SRB may lean on the reference instead.
    baseline_reference_prior_births: float = Field(0.0, ge=0)
    # Risk-adjust the `all` chart by birth order x policy status (Steiner et al. 2000).
    cusum_risk_adjusted: bool = True
    # A re-alarm whose onset comes within this many periods of an open episode's last
    # alarm continues that episode; default one year of periods.
    cusum_episode_gap_periods: int | None = Field(None, ge=1)
    # Warm-up: a stratum's charts (CUSUM and GLR) start only once the city's baseline for it
    # holds this many periods (default half a year of periods) and births (2,000: the
    # city's SRB then known to about +/-5 points, one standard error); before that there is
    # no baseline to rise against, only the reference SRB, which parity strata need not share.
    cusum_warmup_periods: int | None = Field(None, ge=0)
    cusum_warmup_births: float = Field(2000.0, ge=0)
    # --- GLR, the second detector (pipeline/surveil_glr.py): opt in with "glr" in detectors ---
    # Longest window (periods) over which the GLR looks for a change point; default a year.
    glr_window_periods: int | None = Field(None, ge=1)

    @property
    def window(self) -> int:
        return self.window_periods or DEFAULT_WINDOW_PERIODS[self.period]

    @property
    def baseline_window(self) -> int:
        return self.baseline_window_periods or 2 * DEFAULT_WINDOW_PERIODS[self.period]

    @property
    def baseline_guard(self) -> int:
        if self.baseline_guard_periods is not None:
            return self.baseline_guard_periods
        return DEFAULT_WINDOW_PERIODS[self.period]

    @property
    def episode_gap(self) -> int:
        return self.cusum_episode_gap_periods or DEFAULT_WINDOW_PERIODS[self.period]

    @property
    def warmup_periods(self) -> int:
        if self.cusum_warmup_periods is not None:
            return self.cusum_warmup_periods
        return max(1, DEFAULT_WINDOW_PERIODS[self.period] // 2)

    @property
    def glr_window(self) -> int:
        return self.glr_window_periods or DEFAULT_WINDOW_PERIODS[self.period]


class RunSettings(_Section):
    # Run as if on this date unless --asof is given: for a fixed data set such as the
    # demo, whose registry ends on a known day. A production configuration leaves it
    # unset, and a run is as of its own date.
    asof: dt.date | None = None


class LoadSettings(_Section):
    # A delivery whose rows mostly fail is refused whole (CONTRACT §1).
    max_quarantine_share: float = Field(0.5, gt=0, le=1)


class PublishSettings(_Section):
    output_dir: Path = Path("var/runs")
    suppression_size: int = Field(DEFAULT_SUPPRESSION_SIZE, ge=1)


class ReportSettings(_Section):
    """Weekly district reports (issue 6; pipeline/report_stage.py)."""
    output_dir: Path = Path("var/reports")
    language: Literal["zh", "en"] = "zh"
    # Centre of the funnel plot's control limits: the reference SRB (what an area shows
    # without sex selection) or the district's own SRB over the same window.
    funnel_target: Literal["reference", "district"] = "reference"
    trend_years: int = Field(3, ge=1, le=10)


class EmailSettings(_Section):
    """Delivery of the weekly reports (pipeline/email_stage.py); secrets only through env vars."""
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    # starttls: upgrade a plain connection; tls: implicit TLS (port 465); none: local relays only.
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    # A CA bundle for a relay with an internal certificate; default: the system's.
    ca_file: Path | None = None
    sender: str = "srb-surveil@localhost"
    timeout_seconds: float = Field(30.0, gt=0)
    outbox_dir: Path = Path("var/outbox")
    # A failed send waits backoff * 2**(attempts - 1) minutes before the next run retries it.
    retry_backoff_minutes: float = Field(30.0, ge=0)
    max_attempts: int = Field(5, ge=1)
    # district area_code -> addresses
    recipients: dict[str, tuple[str, ...]] = {}


class DepartmentRoute(_Section):
    """Which alerts one department's feed carries; an empty tuple means every value."""
    methods: tuple[str, ...] = ()
    strata: tuple[str, ...] = ()
    statuses: tuple[Literal["new", "acknowledged", "investigating", "closed"], ...] = (
        "new", "acknowledged", "investigating")
    min_severity: Literal["low", "medium", "high"] = "low"


class ExportSettings(_Section):
    """The enforcement feed (pipeline/export_stage.py): departments and what each receives."""
    output_dir: Path = Path("var/exports")
    departments: dict[str, DepartmentRoute] = {}


class Settings(_Section):
    data: DataSettings
    privacy: PrivacySettings = PrivacySettings()
    surveillance: SurveillanceSettings = SurveillanceSettings()
    run: RunSettings = RunSettings()
    load: LoadSettings = LoadSettings()
    publish: PublishSettings = PublishSettings()
    report: ReportSettings = ReportSettings()
    email: EmailSettings = EmailSettings()
    export: ExportSettings = ExportSettings()
    config_path: Path

    @field_validator("config_path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent

    def resolve(self, path: Path | str) -> Path:
        path = Path(path)
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def hash_key(self) -> tuple[bytes, bool]:
        """The HMAC key for record identifiers and whether it is the demo's public key."""
        secret = os.environ.get(self.privacy.hash_key_env)
        if secret:
            return secret.encode("utf-8"), False
        if self.privacy.demo_hash_key:
            return self.privacy.demo_hash_key.encode("utf-8"), True
        raise ConfigError(
            f"{self.config_path}: environment variable {self.privacy.hash_key_env} is not set; "
            "record identifiers can only be stored as keyed hashes"
        )


def load_settings(path: Path | str) -> Settings:
    """Parse and validate a TOML configuration file; any problem is one ConfigError line."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Settings(**raw, config_path=path)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: [{where}] {first['msg']}") from None
