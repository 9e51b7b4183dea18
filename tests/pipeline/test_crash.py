"""A run killed at any moment leaves the registry whole: every delivery in or out, never half."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import record


def _invariants(registry) -> None:
    # every loaded delivery has exactly the rows it counted, and no row lacks its delivery
    mismatched = registry.query(
        "select l.delivery_id from loads l left join (select delivery_id, count(*) n from birth_records "
        "group by all) r using (delivery_id) where l.status = 'loaded' and coalesce(r.n, 0) <> l.rows_loaded")
    assert mismatched == []
    assert registry.query("select count(*) from birth_records where delivery_id not in "
                          "(select delivery_id from loads where status = 'loaded')") == [(0,)]


@pytest.mark.parametrize("kill_after", [0.2, 0.6, 1.2])
def test_sigkill_during_load_leaves_whole_deliveries(registry, kill_after):
    for month in range(1, 7):
        registry.deliver(f"births_2024-{month:02d}.csv", [
            record(f"M{month}-{i}", birth_date=f"2024-{month:02d}-{1 + i % 28:02d}",
                   registered_date=f"2024-{month:02d}-{1 + i % 28:02d}", sex="MF"[i % 2], area_code=f"V{1 + i % 6}")
            for i in range(15_000)])
    child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not registry.database.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(kill_after)  # seconds into loading, counted from the database's creation
    was_running = child.poll() is None
    if was_running:
        os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert registry.database.exists()
    _invariants(registry)
    # the next run completes the job: all six deliveries, each once
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _invariants(registry)
    assert registry.query("select count(*) from births") == [(90_000,)]
    assert registry.query("select count(*) from loads where status = 'loaded'") == [(6,)]


def _outputs(registry) -> tuple[list[tuple], list[tuple]]:
    return (registry.query("select * from srb_estimates order by all"),
            registry.query("select * exclude (first_run_id, updated_run_id) from alerts order by all"))


@pytest.mark.parametrize("kill_after", [0.5, 1.5, 2.5, 3.5])
def test_sigkill_during_a_run_leaves_old_or_new_outputs_whole(registry, kill_after):
    """Publishing swaps staged outputs in one transaction: a kill at any moment leaves the
    outputs of the previous run or of the new one, never a mix."""
    registry.deliver("births_2024-01.csv", [
        record(f"A{i}", birth_date=f"2024-01-{1 + i % 28:02d}", registered_date="2024-01-31",
               sex="MF"[i % 2], area_code=f"V{1 + i % 6}") for i in range(3000)])
    run = [sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    old = _outputs(registry)
    registry.deliver("births_2024-02.csv", [
        record(f"B{i}", birth_date=f"2024-02-{1 + i % 28:02d}", registered_date="2024-02-29",
               sex="MMMMMMFFFFF"[i % 11], area_code=f"V{1 + i % 6}") for i in range(3000)])
    child = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait()
    after_kill = _outputs(registry)
    # a complete run now gives the new outputs (runs are idempotent on the same inputs)
    assert subprocess.run(run, capture_output=True).returncode == 0
    new = _outputs(registry)
    assert new != old
    assert after_kill in (old, new)




_DIE_BEFORE_REBUILD = """
import os, sys
from pipeline import loader
loader.Loader._rebuild_births = lambda self: os._exit(9)  # the process dies at this exact point
from pipeline.cli import main
sys.argv = ["surveil", "run", "--config", sys.argv[1]]
main()
"""


def test_a_run_that_dies_before_rebuilding_births_is_repaired_by_the_next(registry):
    """A delivery that arrives out of order commits first and rebuilds births after; a death
    in between is remembered in the database (registry_state), so the next run rebuilds
    births even though it finds no new file."""
    registry.deliver("births_2024-01.csv", [
        record(f"A{i}", birth_date=f"2024-01-{1 + i % 28:02d}", registered_date="2024-01-31",
               sex="MF"[i % 2], area_code=f"V{1 + i % 6}") for i in range(300)])
    run = [sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    # sorts before the file already loaded, and corrects ten of its records
    registry.deliver("births_2023-12.csv", [
        record(f"A{i}" if i < 10 else f"B{i}", birth_date=f"2023-12-{1 + i % 28:02d}", registered_date="2023-12-31",
               sex="MF"[i % 2], area_code=f"V{1 + i % 6}") for i in range(300)])
    died = subprocess.run([sys.executable, "-c", _DIE_BEFORE_REBUILD, str(registry.config)], capture_output=True)
    assert died.returncode == 9
    assert registry.query("select count(*) from loads where status = 'loaded'") == [(2,)]
    assert registry.query("select births_stale from registry_state") == [(True,)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    # the ten repeated records keep their version from births_2024-01.csv, the later file
    assert registry.query("select count(*) from births") == [(590,)]
    assert registry.query("select count(*) from births where birth_date < '2024-01-01'") == [(290,)]
    assert registry.query("select births_stale from registry_state") == [(False,)]
