"""Weekly-report figures (issue 6): every district's HTML + PDF for one week.

1. The demo city (5 districts): `surveil report` in a fresh process, cut-font cache warm
   and cold. Target: under 20 s.
2. A synthetic city of 50 districts (6 towns of 3 villages each), births simulated as in
   the demo (``pipeline.demo.simulate_births``) for three years; its nightly run is set up
   once and not timed. Target: under 2 minutes.

Everything is written under var/bench/reports/.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo import DemoSpec, simulate_births

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "reports"
DISTRICTS = 50


def _surveil(*args: str, config: Path) -> float:
    """Seconds of one `surveil` command in a child process (imports included)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--config", str(config)],
                          capture_output=True, text=True,
                          env={**os.environ, "MPLCONFIGDIR": str(WORK / "matplotlib"), "COLUMNS": "160"})
    if done.returncode:
        raise SystemExit(f"bench: surveil {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - start


def _config(folder: Path, births: str, areas: str, adjacency: str, asof: str | None) -> Path:
    config = folder / "surveil.toml"
    config.write_text(
        f'[data]\nbirths = "{births}"\nareas = "{areas}"\nadjacency = "{adjacency}"\n'
        f'database = "{folder / "surveil.duckdb"}"\n[privacy]\ndemo_hash_key = "bench"\n'
        + (f"[run]\nasof = {asof}\n" if asof else "")
        + f'[publish]\noutput_dir = "{folder / "runs"}"\n[report]\noutput_dir = "{folder / "reports"}"\n')
    return config


def _demo_registry() -> Path:
    folder = WORK / "demo"
    if (folder / "ready").exists():
        return folder / "surveil.toml"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    demo = ROOT / "data" / "demo"
    config = _config(folder, f"{demo}/births/*.csv", f"{demo}/areas.csv", f"{demo}/adjacency.csv", "2025-12-31")
    _surveil("demo", config=config)
    _surveil("run", config=config)
    (folder / "ready").touch()
    return config


def _big_city() -> Path:
    """50 districts x 6 towns x 3 villages, three years of births, loaded and run once."""
    folder = WORK / f"city{DISTRICTS}"
    if (folder / "ready").exists():
        return folder / "surveil.toml"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "births").mkdir(parents=True)
    rng = np.random.default_rng(50)
    rows, villages, pairs = [("C", "大城市 Big City", None, "city")], [], []
    for d in range(1, DISTRICTS + 1):
        district = f"D{d:02d}"
        rows.append((district, f"第{d}区 District {d}", "C", "district"))
        for t in range(1, 7):
            town = f"{district}T{t}"
            rows.append((town, f"{d}区{t}镇 Town {d}-{t}", district, "town"))
            pairs.append((town, f"{district}T{t % 6 + 1}"))
            for v in range(1, 4):
                rows.append((f"{town}V{v}", f"{d}区{t}镇{v}村", town, "village"))
                villages.append((f"{town}V{v}", town, float(rng.gamma(2.0, 1.0))))
    pl.DataFrame(rows, schema=["area_code", "name", "parent_code", "level"], orient="row").write_csv(
        folder / "areas.csv")
    pl.DataFrame(pairs, schema=["area_code_a", "area_code_b"], orient="row").write_csv(folder / "adjacency.csv")
    weights = pl.DataFrame(villages, schema=["area_code", "town", "weight"], orient="row")
    spec = DemoSpec(first_year=2023, years=3, births_per_year=200_000)
    simulate_births(spec, weights, rng).write_csv(folder / "births" / "births.csv")
    config = _config(folder, "births/*.csv", "areas.csv", "adjacency.csv", "2025-12-31")
    _surveil("run", config=config)
    (folder / "ready").touch()
    return config


def _timed_reports(config: Path, label: str, districts: int) -> None:
    reports = config.parent / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    cold = _surveil("report", config=config)
    shutil.rmtree(reports / "2025-W52", ignore_errors=True)
    warm = _surveil("report", config=config)
    pdfs = len(list((reports / "2025-W52").glob("*.pdf")))
    print(f"{label:10} {districts} districts, {pdfs} HTML+PDF reports for 2025-W52: {warm:6.1f} s "
          f"(font cut cached) | {cold:6.1f} s (font cut cold) | {warm / max(pdfs, 1):.2f} s a district")


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    _timed_reports(_demo_registry(), "demo", 5)
    _timed_reports(_big_city(), f"city{DISTRICTS}", DISTRICTS)


if __name__ == "__main__":
    main()
