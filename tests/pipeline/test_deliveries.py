"""Whole-file behaviour: encodings and formats, refusals, corrections, idempotence."""
from __future__ import annotations

import hmac

import openpyxl
import polars as pl
import pytest

from tests.conftest import HEADER, good_records, record

GOOD = good_records(120)  # keeps one bad row under the gate's 2 % quarantine share
CHINESE_HEADER = "记录编号,出生日期,性别,孩次,地区编码,胎数,登记日期,母亲年龄,户籍状态,政策属性,接生机构"


def test_gb18030_with_chinese_headers_and_values(registry, surveil):
    registry.deliver("b.csv", [record("Z1", sex="女", residence_status="流动", policy_status="政策内"), *GOOD],
                     header=CHINESE_HEADER, encoding="gb18030")
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select encoding, rows_loaded from loads") == [("gb18030", 121)]
    assert registry.query("select sex, residence_status, policy_status from births where source_line = 2") == [
        ("F", "floating", "within")]


def test_utf8_bom_header_is_recognised(registry, surveil):
    registry.deliver("b.csv", GOOD, header="\ufeff" + HEADER)
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select encoding, rows_loaded from loads") == [("utf-8-sig", 120)]


def test_extra_columns_are_dropped_and_reported(registry, surveil):
    registry.deliver("b.csv", [line + ",Zhang San,440106199001011234" for line in GOOD],
                     header=HEADER + ",mother_name,id_card")
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 0
    assert "columns not loaded (not in the contract): id_card, mother_name" in result.output
    assert registry.query("select columns_dropped from loads") == [("mother_name,id_card",)]
    assert "mother_name" not in {r[0] for r in registry.query("select column_name from duckdb_columns()")}


def test_record_ids_are_stored_only_as_keyed_hashes(registry, surveil):
    registry.deliver("b.csv", [record("SECRET-ID-42"), *GOOD, record("SECRET-ID-43", sex="X")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    raw = registry.database.read_bytes()
    assert b"SECRET-ID-42" not in raw and b"SECRET-ID-43" not in raw
    (hashed,) = registry.query("select record_hash from births where source_line = 2")[0]
    # the first 128 bits of HMAC-SHA256 under the configured key
    assert hashed == int(hmac.new(b"test-key", b"SECRET-ID-42", "sha256").hexdigest()[:32], 16)
    assert registry.query("select count(*) from quarantine where record_hash is not null") == [(1,)]


def test_parquet_and_xlsx_deliveries_number_rows_like_lines(registry, surveil, tmp_path):
    frame = pl.read_csv(("\n".join([HEADER, *GOOD, record("P1", sex="X")]) + "\n").encode(), infer_schema=False)
    frame.write_parquet(registry.births / "a.parquet")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in [frame.columns, *frame.with_columns(pl.col("record_id") + "x").rows()]:
        sheet.append(list(row))
    workbook.save(registry.births / "b.xlsx")
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select regexp_extract(source_file, '[ab]\\.\\w+$'), line, rule from quarantine "
                          "order by source_file") == [("a.parquet", 122, "invalid_sex"), ("b.xlsx", 122, "invalid_sex")]
    assert registry.query("select count(*) from births") == [(240,)]


def test_line_numbers_count_newlines_inside_quoted_fields(registry, surveil):
    multi = record("M1", facility_code='"H1\nwing B"')
    registry.deliver("b.csv", [multi, record("M2", sex="X"), *GOOD])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select line, rule from quarantine") == [(4, "invalid_sex")]


@pytest.mark.parametrize(("content", "rule", "where"), [
    (b"", "empty_file", ":1:"),
    ((HEADER + "\n").encode(), "empty_file", ":2:"),
    (("record_id,birth_date,sex,area_code\n" + "R1,2024-01-01,M,V1\n").encode(), "missing_column", ":1:"),
    ((HEADER + "\n" + record("A1") + "\n").encode("utf-16"), "unknown_encoding", ":1:"),
    ((HEADER + "\n" + record("A1") + "\n" + record("A2", facility_code="Café\xff") + "\n").encode("latin-1"),
     "unknown_encoding", ":3:"),
    ((HEADER + "\n" + record("A1") + ",extra,fields\n").encode(), "unparseable", ": unparseable"),
    ((HEADER + "\n" + "\n".join(record(f"X{i}", sex="X") for i in range(3)) + "\n" + record("OK") + "\n").encode(),
     "mostly_invalid", ": mostly_invalid"),
])
def test_unreadable_delivery_is_refused_whole_and_others_still_load(registry, surveil, content, rule, where):
    registry.deliver("a_good.csv", GOOD)
    bad = registry.births / "b_bad.csv"
    bad.write_bytes(content)
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 3
    error_lines = [line for line in result.stderr.splitlines() if line]
    assert len(error_lines) == 1
    assert str(bad) + where in error_lines[0] and rule in error_lines[0]
    assert registry.query("select file_name, status, rule from loads order by file_name") == [
        ("a_good.csv", "loaded", None), ("b_bad.csv", "refused", rule)]
    assert registry.query("select count(*) from births") == [(120,)]
    assert registry.query("select count(*) from birth_records where delivery_id = "
                          "(select delivery_id from loads where file_name = 'b_bad.csv')") == [(0,)]


def test_refused_file_keeps_last_good_outputs_until_fixed(registry, surveil):
    registry.deliver("a.csv", GOOD)
    assert surveil("run", "--config", registry.config).exit_code == 0
    before = registry.query("select * from srb_estimates order by all")
    registry.deliver("b.csv", [record("N1")], header="record_id,sex")
    assert surveil("run", "--config", registry.config).exit_code == 3
    assert surveil("run", "--config", registry.config).exit_code == 3  # still there, still refused
    assert registry.query("select * from srb_estimates order by all") == before
    registry.deliver("b.csv", [record("N1", birth_date="2024-03-20", registered_date="2024-03-21")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select count(*) from births") == [(121,)]
    assert registry.query("select max(births) from srb_estimates where area_code = 'C' and stratum = 'all'") == [
        (121,)]


def test_same_file_twice_changes_nothing(registry, surveil):
    registry.deliver("a.csv", GOOD)
    assert surveil("run", "--config", registry.config).exit_code == 0
    tables = ["loads", "birth_records", "births", "quarantine", "srb_estimates", "alerts"]
    before = {t: registry.query(f"select * from {t} order by all") for t in tables}
    result = surveil("run", "--config", registry.config)
    assert result.exit_code == 0
    assert "0 loaded, 1 unchanged" in result.output
    assert {t: registry.query(f"select * from {t} order by all") for t in tables} == before


def test_changed_file_replaces_its_earlier_rows(registry, surveil):
    registry.deliver("a.csv", GOOD)
    surveil("run", "--config", registry.config)
    registry.deliver("a.csv", GOOD[:60])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select status from loads order by delivery_id") == [("superseded",), ("loaded",)]
    assert registry.query("select count(*) from births") == [(60,)]


def test_later_delivery_corrects_a_record(registry, surveil):
    registry.deliver("births_2024-03.csv", [record("R1", sex="M"), *GOOD])
    registry.deliver("births_2024-04.csv", [record("R1", sex="F")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select count(*), count(*) filter (where sex = 'F') from births") == [(121, 61)]
    # an earlier-named file that changes later does not override the later delivery
    registry.deliver("births_2024-03.csv", [record("R1", sex="M"), *GOOD, record("X4")])
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select sex from births b join loads l using (delivery_id) "
                          "where l.file_name = 'births_2024-04.csv'") == [("F",)]
