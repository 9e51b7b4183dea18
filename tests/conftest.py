"""Shared fixtures: a tiny registry on disk, its configuration, and a CLI runner."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

DATA = Path(__file__).parent / "data"

HEADER = "record_id,birth_date,sex,birth_order,area_code,plurality,registered_date,mother_age," \
         "residence_status,policy_status,facility_code"


def record(record_id: str, birth_date: str = "2024-03-05", sex: str = "M", birth_order: str = "1",
           area_code: str = "V1", plurality: str = "1", registered_date: str = "2024-03-09",
           mother_age: str = "29", residence_status: str = "registered", policy_status: str = "within",
           facility_code: str = "H1") -> str:
    """One CSV line of a valid record; override a field to break a rule."""
    return ",".join([record_id, birth_date, sex, birth_order, area_code, plurality, registered_date,
                     mother_age, residence_status, policy_status, facility_code])


def good_records(count: int, prefix: str = "G") -> list[str]:
    """Valid records enough to keep one bad row under the gate's 2 % quarantine share."""
    return [record(f"{prefix}{i}", sex="MF"[i % 2], area_code=f"V{1 + i % 6}") for i in range(count)]


class Registry:
    """A registry folder with areas, a births folder and a config file under tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.births = root / "births"
        self.births.mkdir(parents=True)
        shutil.copy(DATA / "areas" / "areas.csv", root / "areas.csv")
        shutil.copy(DATA / "areas" / "adjacency.csv", root / "adjacency.csv")
        self.config = root / "surveil.toml"
        self.write_config()

    def write_config(self, extra: str = "") -> Path:
        self.config.write_text(
            '[data]\nbirths = "births/*"\nareas = "areas.csv"\nadjacency = "adjacency.csv"\n'
            'database = "var/surveil.duckdb"\n\n[privacy]\ndemo_hash_key = "test-key"\n\n'
            '[publish]\noutput_dir = "var/runs"\n' + extra,
            encoding="utf-8")
        return self.config

    def deliver(self, name: str, lines: list[str], *, header: str = HEADER, encoding: str = "utf-8") -> Path:
        path = self.births / name
        path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
        return path

    @property
    def database(self) -> Path:
        return self.root / "var" / "surveil.duckdb"

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql, params).fetchall()


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


@pytest.fixture
def surveil() -> Callable[..., object]:
    """Invoke the real CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke
