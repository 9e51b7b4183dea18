"""Timing of the CUSUM alert stage inside the pipeline, on the embedded demo (issue 4).

``python -m bench.alerts`` loads the demo registry (``config/demo.toml``, as of its own date)
into a temporary database, then times ``pipeline.surveil_cusum.cusum_alerts`` on the
transform's counts: cold (empty calibration and detectability caches, in the database and
in the process) and warm (both cached, as on every nightly run after the first).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import polars as pl

from models.constants import STRATA, STRATUM_PARITY_2_WITHIN_POLICY
from models.cusum_calibration import clear_calibration_cache
from models.detectability import _detectable_key
from pipeline import db
from pipeline.areas import read_area_tree
from pipeline.config import load_settings
from pipeline.monitored_series import monitored_series
from pipeline.surveil_cusum import cusum_alerts
from pipeline.transform import area_counts

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def _demo_config(folder: Path) -> Path:
    """The demo configuration with its database and run folder under ``folder``."""
    text = DEMO.read_text(encoding="utf-8")
    data = (DEMO.parent.parent / "data" / "demo").as_posix()
    text = (text.replace('"../data/demo/', f'"{data}/').replace('"../var/surveil.duckdb"', f'"{folder}/s.duckdb"')
            .replace('"../var/runs"', f'"{folder}/runs"'))
    path = folder / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def main() -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = _demo_config(folder)
        if not (DEMO.parent.parent / "data" / "demo" / "births").exists():
            CliRunner().invoke(app, ["demo", "--config", str(DEMO)])
        start = time.perf_counter()
        result = CliRunner().invoke(app, ["run", "--config", str(config)])
        print(f"{'surveil run on the demo (load, gate, all stages), cold':<58s} {time.perf_counter() - start:7.1f} s"
              f"  (exit {result.exit_code})")
        settings = load_settings(config)
        surveillance = settings.surveillance
        tree = read_area_tree(settings.resolve(settings.data.areas), settings.resolve(settings.data.adjacency))
        con = db.connect(settings.resolve(settings.data.database))
        asof = settings.run.asof
        first, last, _, with_policy = db.row(con, "staging/visible_range", asof=asof)
        strata = STRATA if with_policy else tuple(s for s in STRATA if s != STRATUM_PARITY_2_WITHIN_POLICY)
        cells = pl.from_arrow(db.relation(con, "staging/stg_birth_cells", asof=asof,
                                          period=surveillance.period).to_arrow_table())
        counts = area_counts(cells.lazy(), tree.areas, tree.ancestors, period=surveillance.period,
                             window=surveillance.window, first=first, last=last, strata=strata)
        for label, is_cold in (("alert stage: CUSUM, cold calibration", True),
                               ("alert stage: CUSUM, warm (cached in DuckDB)", False)):
            if is_cold:
                con.execute("delete from cusum_calibration; delete from cusum_detectability_cache")
                clear_calibration_cache()
                _detectable_key.cache_clear()
            start = time.perf_counter()
            out = cusum_alerts(con, monitored_series(counts, cells, tree, surveillance), surveillance)
            print(f"{label:<58s} {time.perf_counter() - start:7.3f} s  ({out.keys_calibrated} keys calibrated)")
        print(f"  {out.paths.select('area_code', 'stratum').n_unique()} series x {counts['period_start'].n_unique()} "
              f"periods; {out.candidates.height} cusum episodes; budget: "
              + "; ".join(f"{b.track} {b.series} series {b.expected_per_year:.1f}/year" for b in out.budget))
        con.close()


if __name__ == "__main__":
    main()
