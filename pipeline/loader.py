"""Load stage: every new or changed delivery file into the registry, one transaction each.

A file is identified by its path and SHA-256: an unchanged file is skipped, a changed
one replaces the rows its earlier version loaded. A file that cannot be read, lacks a
required column or whose rows mostly fail is refused whole and recorded in ``loads``;
the other deliveries of the run still load.
"""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from pipeline import db
from pipeline.columns import map_headers
from pipeline.errors import ConfigError, DeliveryRefused
from pipeline.identifiers import hash_in_parallel
from pipeline.readers import LINE, read_delivery
from pipeline.rules import RowRule, judge_rows


@dataclass(frozen=True)
class DeliveryOutcome:
    path: Path
    status: str  # loaded | refused | unchanged | refused_before
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    columns_dropped: tuple[str, ...] = ()
    message: str = ""  # for refusals: "file:line: rule: detail (data-quality gate failed: expectation)"
    rule: str | None = None  # for refusals: the loader rule or the failed expectation


@dataclass
class LoadReport:
    outcomes: list[DeliveryOutcome] = field(default_factory=list)

    @property
    def refused(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.status in ("refused", "refused_before")]

    @property
    def changed(self) -> bool:
        return any(o.status == "loaded" for o in self.outcomes)

    def total(self, attribute: str) -> int:
        return sum(getattr(o, attribute) for o in self.outcomes if o.status == "loaded")


def discover_deliveries(pattern: str, base_dir: Path) -> list[Path]:
    """Delivery files matching the configured path or glob, in delivery order (by name)."""
    full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
    paths = [Path(p).resolve() for p in glob.glob(full, recursive=True) if Path(p).is_file()]
    if not paths and not glob.has_magic(full):
        raise ConfigError(f"[data.births] {full}: no such file")
    return sorted(paths, key=lambda p: (p.name, str(p)))


@dataclass(frozen=True)
class _JudgedDelivery:
    clean: pl.DataFrame
    quarantined: pl.DataFrame
    rows_read: int
    columns_dropped: list[str]
    encoding: str


# Judged deliveries are gated together, up to this many rows at a time: one quality
# pass per chunk instead of one per file (GX costs ~0.4 s a pass whatever its size), with
# memory bounded for a large backlog (~125 bytes a judged row: ~0.6 GB a chunk).
GATE_CHUNK_ROWS = 5_000_000
# Files parsed and judged ahead of the one being gated and committed (memory: their rows).
# Small files go two at a time: each one's Polars work is mostly fixed cost, and two
# workers keep both cores busy. A large file goes alone: its judging already uses both
# cores, and the DuckDB insert of the file before it needs one.
_JUDGED_AHEAD = 2
_SMALL_FILE_BYTES = 8_000_000

# The delivery gate: given the judged deliveries of a chunk, the refusals it decides,
# path -> (rule, one-line reason). Supplied by pipeline/gate.py.
DeliveryGate = Callable[[list["PendingDelivery"]], dict[Path, tuple[str, str]]]
# Told of a file the loader refuses (unreadable, a missing column, mostly invalid rows);
# returns the one-line reason to record. Supplied by pipeline/gate.py, which keeps the
# refusal as a data-quality outcome; the loader itself knows no expectation.
RefusalReporter = Callable[[Path, DeliveryRefused], str]


@dataclass(frozen=True)
class PendingDelivery:
    path: Path
    size: int
    sha256: str
    batch: _JudgedDelivery


@dataclass
class Loader:
    con: duckdb.DuckDBPyConnection
    rules: tuple[RowRule, ...]
    hash_key: bytes
    max_quarantine_share: float
    now: dt.datetime
    gate: DeliveryGate | None = None
    report_refusal: RefusalReporter | None = None
    needs_rebuild: bool = False
    loaded_ids: list[int] = field(default_factory=list)

    def load_all(self, paths: list[Path], progress: Callable[[Path], None] | None = None) -> LoadReport:
        """Load each file in delivery order; then make ``births`` current.

        Files are read and judged one by one, gated a chunk at a time, then committed one
        transaction per file in delivery order. While a chunk is gated and committed, the
        next files are already being parsed and judged (worker threads: Polars and DuckDB
        both work outside the GIL, so the two overlap on two cores).
        """
        report = LoadReport()
        # a run killed between a deferred delivery and the rebuild left births behind
        self.needs_rebuild = self.needs_rebuild or bool(db.row(self.con, "load/births_stale")[0])
        pending: list[PendingDelivery] = []
        judging: deque[tuple[Path, int, str, Future[_JudgedDelivery]]] = deque()

        def take_next() -> None:
            path, size, sha256, judged = judging.popleft()
            outcome = self._collect(path, size, sha256, judged, pending)
            if outcome is not None:
                report.outcomes.append(outcome)
            if sum(p.batch.clean.height for p in pending) >= GATE_CHUNK_ROWS:
                report.outcomes.extend(self._gate_and_commit(pending))
                pending.clear()
            if progress:
                progress(path)

        with ThreadPoolExecutor(max_workers=_JUDGED_AHEAD, thread_name_prefix="judge") as judge:
            for path in paths:
                data = path.read_bytes()
                sha256 = hashlib.sha256(data).hexdigest()
                seen = self._seen(path, sha256)
                if seen is not None:
                    report.outcomes.append(seen)
                    if progress:
                        progress(path)
                    continue
                judging.append((path, len(data), sha256, judge.submit(self._judge, path, data)))
                while len(judging) > (_JUDGED_AHEAD if len(data) < _SMALL_FILE_BYTES else 1):
                    take_next()
            while judging:
                take_next()
        report.outcomes.extend(self._gate_and_commit(pending))
        report.outcomes.sort(key=lambda o: paths.index(o.path))
        if self.needs_rebuild:
            self._rebuild_births()
        return report

    def _rebuild_births(self) -> None:
        """Rebuild births from every current delivery and clear the stale flag, at once."""
        self.con.begin()
        try:
            db.run(self.con, "transforms/births_current")
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        self.needs_rebuild = False

    def _seen(self, path: Path, sha256: str) -> DeliveryOutcome | None:
        """The outcome for a file loaded or refused before (same path and content), else None."""
        seen = db.row(self.con, "load/delivery_seen", path=str(path), sha256=sha256)
        if seen is None:
            return None
        _, status, rule, reason, loaded_at = seen
        if status == "loaded":
            return DeliveryOutcome(path, "unchanged")
        return DeliveryOutcome(path, "refused_before", message=f"{reason} (refused on {loaded_at:%Y-%m-%d %H:%M})",
                               rule=rule)

    def _collect(self, path: Path, size: int, sha256: str, judged: Future[_JudgedDelivery],
                 pending: list[PendingDelivery]) -> DeliveryOutcome | None:
        """A judged file joins ``pending``; a refused one is recorded and its outcome returned."""
        try:
            batch = judged.result()
        except DeliveryRefused as refused:
            if self.report_refusal is not None:
                message = self.report_refusal(path, refused)
            else:
                where = f"{path}:{refused.line}" if refused.line else f"{path}"
                message = f"{where}: {refused.rule}: {refused.detail}"
            self._record_refusal(path, size, sha256, refused.rule, message)
            return DeliveryOutcome(path, "refused", message=message, rule=refused.rule)
        pending.append(PendingDelivery(path, size, sha256, batch))
        return None

    def _gate_and_commit(self, pending: list[PendingDelivery]) -> list[DeliveryOutcome]:
        refusals = self.gate(pending) if (self.gate and pending) else {}
        outcomes = []
        for item in pending:
            if item.path in refusals:
                rule, message = refusals[item.path]
                self._record_refusal(item.path, item.size, item.sha256, rule, message)
                outcomes.append(DeliveryOutcome(item.path, "refused", message=message, rule=rule))
                continue
            self._commit(item.path, item.size, item.sha256, item.batch)
            batch = item.batch
            outcomes.append(DeliveryOutcome(item.path, "loaded", batch.rows_read, batch.clean.height,
                                            batch.quarantined.height, tuple(batch.columns_dropped)))
        return outcomes

    def _judge(self, path: Path, data: bytes) -> _JudgedDelivery:
        raw = read_delivery(path, data)
        headers = [c for c in raw.frame.columns if c != LINE]
        renames, dropped = map_headers(headers)
        # Dropped columns (names, ID numbers, addresses) are discarded here, unread.
        frame = raw.frame.select([pl.col(h).alias(c) for h, c in renames.items()] + [pl.col(LINE)])
        judged = judge_rows(frame, self.rules)
        rows_read = frame.height
        share = judged.quarantined.height / rows_read
        if share > self.max_quarantine_share:
            top = judged.quarantined.group_by("rule").len().sort("len", descending=True).row(0)
            first_line = judged.quarantined.filter(pl.col("rule") == top[0])[LINE][0]
            raise DeliveryRefused(
                "mostly_invalid",
                f"{share:.0%} of {rows_read} rows break a rule (most often {top[0]}, first at line {first_line})",
                observed_value=share,
            )
        clean = hash_in_parallel(judged.clean, "record_id", self.hash_key).rename({LINE: "source_line"})
        quarantined = hash_in_parallel(judged.quarantined, "record_id", self.hash_key).rename({LINE: "line"})
        return _JudgedDelivery(clean, quarantined, rows_read, dropped, raw.encoding)

    def _next_id(self) -> int:
        return int(db.row(self.con, "load/next_delivery_id")[0])

    def _load_row(self, path: Path, size: int, sha256: str, **values: object) -> dict[str, object]:
        row = dict(delivery_id=self._next_id(), path=str(path), file_name=path.name, size_bytes=size,
                   sha256=sha256, status="loaded", rule=None, reason=None, rows_read=0, rows_loaded=0,
                   rows_quarantined=0, columns_dropped=None, encoding=None, loaded_at=self.now)
        row.update(values)
        return row

    def _record_refusal(self, path: Path, size: int, sha256: str, rule: str, message: str) -> None:
        self.con.begin()
        try:
            db.run(self.con, "load/insert_load",
                   **self._load_row(path, size, sha256, status="refused", rule=rule, reason=message))
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def refuse_loaded(self, report: LoadReport, rule: str, reason: str) -> list[str]:
        """Refuse, in one transaction, the deliveries of ``loaded_ids`` (a later suite failed).

        Each gets ``loads.status = 'refused'`` with ``rule`` and its path before ``reason``;
        its rows leave ``birth_records`` and ``quarantine`` (the file on disk stays the
        record, as for a file refused at loading) and ``superseded_records`` is rebuilt,
        since an in-place apply may have superseded earlier rows. An unchanged file is then
        ``refused_before`` on the next run. Returns the refused files' names.
        """
        if not self.loaded_ids:
            return []
        self.con.begin()
        try:
            names = [name for (name,) in db.run(self.con, "load/refuse_deliveries",
                                                delivery_ids=self.loaded_ids, rule=rule, reason=reason)]
            db.run(self.con, "transforms/births_current")
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        report.outcomes = [
            DeliveryOutcome(o.path, "refused", o.rows_read, message=f"{o.path}: {reason}", rule=rule)
            if o.status == "loaded" else o for o in report.outcomes]
        self.loaded_ids = []
        return names

    def _commit(self, path: Path, size: int, sha256: str, batch: _JudgedDelivery) -> None:
        """Supersede the file's earlier version and insert this one, all or nothing."""
        self.con.begin()
        try:
            row = self._load_row(
                path, size, sha256, rows_read=batch.rows_read, rows_loaded=batch.clean.height,
                rows_quarantined=batch.quarantined.height,
                columns_dropped=",".join(batch.columns_dropped) or None, encoding=batch.encoding)
            sorts_last, replaces_earlier = db.row(
                self.con, "load/delivery_order", path=str(path), file_name=path.name)
            if replaces_earlier:
                db.run(self.con, "load/supersede_path", path=str(path))
            db.run(self.con, "load/insert_load", **row)
            self.loaded_ids.append(int(row["delivery_id"]))
            self.con.register("new_birth_records", batch.clean.to_arrow())
            self.con.register("new_quarantine", batch.quarantined.to_arrow())
            if self.needs_rebuild or not sorts_last or replaces_earlier:
                self.needs_rebuild = True
                db.run(self.con, "load/births_mark_stale")
            else:
                db.run(self.con, "load/births_apply_delivery")
            db.run(self.con, "load/insert_birth_records", delivery_id=row["delivery_id"])
            db.run(self.con, "load/insert_quarantine", delivery_id=row["delivery_id"], source_file=str(path))
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        finally:
            for name in ("new_birth_records", "new_quarantine"):
                self.con.unregister(name)


