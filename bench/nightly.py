"""Nightly-job figures (issue 2): load rate from Parquet and CSV, counts, peak memory, demo run.

Each measurement runs `surveil` in a fresh subprocess, so the peak resident memory
(getrusage of the child) covers one whole run. Data are the demo city's shape, scaled
to 10 million records and written once under var/bench/.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pipeline.demo import DemoSpec, build_areas, simulate_births

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "nightly"
RECORDS = int(os.environ.get("BENCH_RECORDS", "10000000"))
FILES = 10


def _write_registry(kind: str) -> Path:
    folder = WORK / f"{kind}-{RECORDS}"
    if (folder / "ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "births").mkdir(parents=True)
    rng = np.random.default_rng(7)
    areas, adjacency, villages = build_areas(rng)
    areas.write_csv(folder / "areas.csv")
    adjacency.write_csv(folder / "adjacency.csv")
    spec = DemoSpec(births_per_year=RECORDS // 6)
    births = simulate_births(spec, villages, rng).head(RECORDS)
    for i, part in enumerate(births.iter_slices(-(-births.height // FILES))):
        path = folder / "births" / f"births_{i:02d}.{kind}"
        if kind == "parquet":
            part.write_parquet(path)
        else:
            part.write_csv(path)
    (folder / "surveil.toml").write_text(
        f'[data]\nbirths = "births/*.{kind}"\nareas = "areas.csv"\nadjacency = "adjacency.csv"\n'
        'database = "var/surveil.duckdb"\n[run]\nasof = 2025-12-31\n'
        '[privacy]\ndemo_hash_key = "bench"\n[publish]\noutput_dir = "var/runs"\n')
    (folder / "ready").touch()
    return folder


def _timed_run(config: Path) -> tuple[float, float, str]:
    """Seconds, peak RSS (GB) and stdout of one `surveil run` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--config", str(config)],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"})
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"bench run failed: {done.stderr.strip()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024 / 1024, done.stdout


def _stage_times(stdout: str) -> str:
    return next((line.strip(" │") for line in stdout.splitlines() if "time: load" in line), "")


def _lap(stages: str, name: str) -> float:
    """Seconds of one stage in the summary's "time: load 1.2s, gate 0.3s, ..." line."""
    return float(stages.split(f"{name} ")[1].split("s")[0])


def main() -> None:
    print(f"records: {RECORDS:,} in {FILES} delivery files, demo city shape (358 areas)")
    for kind in ("parquet", "csv"):
        folder = _write_registry(kind)
        shutil.rmtree(folder / "var", ignore_errors=True)
        seconds, peak_gb, stdout = _timed_run(folder / "surveil.toml")
        stages = _stage_times(stdout)
        load_seconds = _lap(stages, "load") + _lap(stages, "gate")
        print(f"{kind:8} whole run {seconds:6.1f} s | load+validate {load_seconds:5.1f} s = "
              f"{RECORDS / load_seconds:,.0f} rows/s | counts (transform) {_lap(stages, 'transform'):.1f} s | "
              f"peak RSS {peak_gb:.2f} GB | {stages}")
    demo = ROOT / "config" / "demo.toml"
    subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--config", str(demo)], check=True,
                   capture_output=True)
    database = ROOT / "var" / "surveil.duckdb"
    scratch = WORK / "demo.toml"
    scratch.write_text(demo.read_text().replace('"../var/surveil.duckdb"', f'"{WORK / "demo.duckdb"}"')
                       .replace('"../data/demo/', f'"{ROOT / "data" / "demo"}/').replace(
                           '"../var/runs"', f'"{WORK / "runs"}"'))
    (WORK / "demo.duckdb").unlink(missing_ok=True)
    seconds, peak_gb, stdout = _timed_run(scratch)
    print(f"demo     whole run {seconds:6.1f} s (fresh database) | peak RSS {peak_gb:.2f} GB | {_stage_times(stdout)}")
    seconds, _, stdout = _timed_run(scratch)
    print(f"demo     rerun     {seconds:6.1f} s (nothing new)    | {_stage_times(stdout)}")
    del database


if __name__ == "__main__":
    main()
