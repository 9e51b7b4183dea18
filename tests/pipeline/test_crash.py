"""A run killed at any moment leaves the registry whole: every delivery in or out, never half,
and the published outputs of the previous run or of the new one, never a mix.

The deterministic kills are child processes that SIGKILL themselves at one exact point (a
wrapped query runner or stage); the timed kill comes from the parent, and the test checks
afterwards that it landed where it claims to."""
from __future__ import annotations

import os
import random
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


def _six_months(registry, records: int = 15_000) -> None:
    for month in range(1, 7):
        registry.deliver(f"births_2024-{month:02d}.csv", [
            record(f"M{month}-{i}", birth_date=f"2024-{month:02d}-{1 + i % 28:02d}",
                   registered_date=f"2024-{month:02d}-{1 + i % 28:02d}", sex="MF"[i % 2], area_code=f"V{1 + i % 6}")
            for i in range(records)])


def _complete_run_loads_all_six(registry, records: int = 15_000) -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _invariants(registry)
    assert registry.query("select count(*) from births") == [(6 * records,)]
    assert registry.query("select count(*) from loads where status = 'loaded'") == [(6,)]


def _wal_bytes(registry) -> int:
    wal = registry.database.with_name(registry.database.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


# A commit of one 15,000-record delivery adds ~1.3 MB to DuckDB's write-ahead log (measured:
# 1.36 MB, then 2.70 MB); nothing before the first commit (schema, areas, the runs row) adds
# more than ~30 kB. Past 1.5 MB the first commit is complete and the second is being written.
_FIRST_COMMIT_WAL_BYTES = 1_500_000
_MOMENTS = {
    "database created": lambda registry: registry.database.exists(),
    "first delivery committed": lambda registry: _wal_bytes(registry) > _FIRST_COMMIT_WAL_BYTES,
}


@pytest.mark.parametrize(("anchor", "kill_after"), [("database created", 1.0), ("first delivery committed", 0.0),
                                                    ("first delivery committed", 0.05)])
def test_sigkill_during_load_leaves_whole_deliveries(registry, anchor, kill_after):
    """A kill at a moment of the clock while the deliveries load (judged ahead, gated,
    committed one transaction each), counted from an anchor the parent can see without
    opening the locked database: the database file appearing (the kill then lands while the
    files are judged and the GX import runs, before any commit), or the first delivery's
    commit reaching the write-ahead log (the kill lands among the commits). The test
    asserts the kill happened where it claims: the child died of SIGKILL, its run never
    finished, not all six deliveries were committed, and, when anchored on the first
    commit, at least one was."""
    _six_months(registry)
    child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _MOMENTS[anchor](registry) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(kill_after)
    assert child.poll() is None, "the run ended before the kill: the test would prove nothing"
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert registry.query("select status from runs") == [("running",)]  # killed, never finished
    (loaded,) = registry.query("select count(*) from loads where status = 'loaded'")[0]
    assert loaded < 6, "the kill came after loading: not the moment this test claims"
    if anchor == "first delivery committed":
        assert loaded >= 1
    _invariants(registry)
    _complete_run_loads_all_six(registry)


# The nightly job, in a child process that SIGKILLs itself inside the transaction of its
# N-th delivery commit: after the delivery's rows and quarantine went in, before the commit.
_KILL_IN_COMMIT = """
import os, signal, sys
from pipeline import db
run_statements, commits, nth = db.run, [], int(sys.argv[2])
def run_then_die(con, name, **params):
    rows = run_statements(con, name, **params)
    if name == "load/insert_quarantine":
        commits.append(name)
        if len(commits) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
    return rows
db.run = run_then_die
from pipeline.cli import main
sys.argv = ["surveil", "run", "--config", sys.argv[1]]
main()
"""


@pytest.mark.parametrize("nth", [1, 4])
def test_sigkill_inside_a_delivery_commit_leaves_whole_deliveries(registry, nth):
    """Killed with the nth delivery's rows inserted but not committed: exactly the nth - 1
    earlier deliveries are in, whole; the next run loads the rest, each once."""
    _six_months(registry, 2_000)
    killed = subprocess.run([sys.executable, "-c", _KILL_IN_COMMIT, str(registry.config), str(nth)],
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert registry.query("select count(*) from loads where status = 'loaded'") == [(nth - 1,)]
    assert registry.query("select count(*) from birth_records") == [(2_000 * (nth - 1),)]
    _invariants(registry)
    _complete_run_loads_all_six(registry, 2_000)


OUTPUT_TABLES = ("srb_estimates", "alerts", "cusum_paths", "detectability")
# Run ids differ between two runs that publish the same outputs; everything else must not.
RUN_ID_COLUMNS = {"alerts": " exclude (first_run_id, updated_run_id)"}


def _outputs(registry) -> dict[str, list[tuple]]:
    return {table: registry.query(f"select *{RUN_ID_COLUMNS.get(table, '')} from {table} order by all")
            for table in OUTPUT_TABLES}


# The nightly job, in a child process that SIGKILLs itself at one exact point of publishing.
# "before_commit": right after the swap statements of sql/transforms/publish.sql ran inside
# the publish transaction, before its commit; "after_commit": right after publish() returned.
_KILL_IN_PUBLISH = """
import os, signal, sys
import pipeline.run
from pipeline import db

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if sys.argv[2] == "before_commit":
    run_statements = db.run
    def run_then_die(con, name, **params):
        rows = run_statements(con, name, **params)
        if name == "transforms/publish":
            # in the middle: the swap is done inside the open transaction (main holds the
            # staged rows), nothing is committed yet
            swapped = con.execute("select (select count(*) from staging.srb_estimates), "
                                  "(select count(*) from (select * from main.srb_estimates "
                                  "except all select * from staging.srb_estimates))").fetchone()
            assert swapped[0] > 0 and swapped[1] == 0, swapped
            die()
        return rows
    db.run = run_then_die
else:
    publish = pipeline.run.publish
    def publish_then_die(*args, **kwargs):
        publish(*args, **kwargs)
        die()
    pipeline.run.publish = publish_then_die
from pipeline.cli import main
sys.argv = ["surveil", "run", "--config", sys.argv[1]]
main()
"""


def _deliver_month(registry, name: str, prefix: str, month: int, boys_share: float) -> None:
    """3,000 births in ``month`` of 2024, each a boy with probability ``boys_share`` (seeded)."""
    draw = random.Random(month)
    registry.deliver(name, [
        record(f"{prefix}{i}", birth_date=f"2024-{month:02d}-{1 + i % 28:02d}", registered_date=f"2024-{month:02d}-28",
               sex="M" if draw.random() < boys_share else "F", area_code=f"V{1 + i % 6}") for i in range(3000)])


@pytest.mark.parametrize("moment", ["before_commit", "after_commit"])
def test_sigkill_in_the_middle_of_publishing_leaves_old_or_new_outputs_whole(registry, moment):
    """Publishing swaps staged outputs in one transaction (sql/transforms/publish.sql): a
    SIGKILL after every swap statement ran but before the commit leaves the previous run's
    outputs, all four tables whole; one right after the commit leaves the new ones whole.
    Either way the next run completes and gives the new outputs."""
    run = [sys.executable, "-m", "pipeline.cli", "run", "--config", str(registry.config)]
    _deliver_month(registry, "births_2024-01.csv", "A", 1, 0.515)
    assert subprocess.run(run, capture_output=True).returncode == 0
    old = _outputs(registry)
    assert old["srb_estimates"] and old["cusum_paths"] and old["detectability"]
    # a second month at SRB 120: every estimate of the window changes
    _deliver_month(registry, "births_2024-02.csv", "B", 2, 0.545)
    killed = subprocess.run([sys.executable, "-c", _KILL_IN_PUBLISH, str(registry.config), moment],
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr  # it died where it was told to
    after_kill = _outputs(registry)
    assert registry.query("select status from runs order by started_at desc limit 1") == [("running",)]
    assert registry.query("select count(*) from loads where status = 'loaded'") == [(2,)]
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    new = _outputs(registry)
    assert all(new[table] != old[table] for table in ("srb_estimates", "cusum_paths", "detectability"))
    assert after_kill == (old if moment == "before_commit" else new)


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
