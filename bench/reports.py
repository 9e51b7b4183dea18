"""Weekly-report figures (issue 6): every district's HTML + PDF for one week, against the issue's targets.

Targets: all district reports of one week of the demo city in under 20 s; for 50 districts
under 2 minutes. Each figure is the wall time of one `surveil report` in a fresh process
(Python start and imports included), for the latest complete week, with:

- the PDF font cut (``reports/pdf_fonts.py``, cached under the reports folder) **cold**:
  deleted first, the worst case and the one judged PASS/FAIL; and **warm**: a second run,
  what every later week of the same city costs;
- matplotlib's font list cache warm (built once per machine, during the setup here).

Cases: the demo city (its districts, counted from the written PDFs); a synthetic city of 50
districts (6 towns of 3 villages each), births simulated as in the demo
(``pipeline.demo.simulate_births``) for three years, its nightly run set up once and not
timed. Everything is written under var/bench/reports/. The machine may be shared: the
load average is printed beside the figures.
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
import polars as pl

from pipeline.demo import DemoSpec, simulate_births

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "reports"
DISTRICTS = 50


def _surveil(*args: str, config: Path) -> tuple[float, float]:
    """Wall and CPU seconds (the child and its workers) of one `surveil` command in a fresh process."""
    start, cpu_start = time.perf_counter(), _children_cpu()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args, "--config", str(config)],
                          capture_output=True, text=True,
                          env={**os.environ, "MPLCONFIGDIR": str(WORK / "matplotlib"), "COLUMNS": "160"})
    if done.returncode:
        raise SystemExit(f"bench: surveil {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - start, _children_cpu() - cpu_start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def _warm_matplotlib() -> None:
    """Build matplotlib's font list cache before anything is timed (it is built once per machine)."""
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
                   env={**os.environ, "MPLCONFIGDIR": str(WORK / "matplotlib")})


def _timed_reports(config: Path, label: str, target_seconds: float, expected_districts: int | None) -> None:
    """Time `surveil report` with the font cut cold, then warm; print the figures and PASS/FAIL."""
    reports = config.parent / "reports"
    shutil.rmtree(reports, ignore_errors=True)          # the font cut cache lives in reports/.fonts
    cold, cold_cpu = _surveil("report", config=config)
    (week,) = [folder for folder in reports.iterdir() if folder.name[:1].isdigit()]
    shutil.rmtree(week)
    warm, warm_cpu = _surveil("report", config=config)
    pdfs = len(list(week.glob("*.pdf")))
    htmls = len(list(week.glob("*.html")))
    if expected_districts is not None and pdfs != expected_districts:
        raise SystemExit(f"bench: {label}: {pdfs} PDFs written for {expected_districts} districts")
    verdict = "PASS" if cold <= target_seconds else "FAIL"
    per_district = warm_cpu / max(pdfs, 1)
    print(f"{label:8} {week.name}: {pdfs} districts, {htmls} HTML + {pdfs} PDF\n"
          f"  font cut cold: {cold:6.1f} s wall, {cold_cpu:6.1f} s CPU | target {target_seconds:.0f} s wall: "
          f"{verdict}\n"
          f"  font cut warm: {warm:6.1f} s wall, {warm_cpu:6.1f} s CPU | {per_district:.2f} s CPU a district\n"
          f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time grows with the load; "
          f"CPU seconds / cores bounds an idle machine's wall time from below", flush=True)


def _demo_districts() -> int:
    areas = pl.read_csv(ROOT / "data" / "demo" / "areas.csv", infer_schema_length=0)
    return areas.filter(pl.col("level") == "district").height


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    demo, city = _demo_registry(), _big_city()
    _warm_matplotlib()
    print("fresh process per figure; matplotlib font list cache warm; font cut cold (judged) and warm")
    _timed_reports(demo, "demo", 20, _demo_districts())
    _timed_reports(city, f"city{DISTRICTS}", 120, DISTRICTS)
