-- Whether an optional table (written by a stage that may not be installed) exists and
-- has rows is decided in Python; this says whether it exists. Grain: one row.
select count(*) > 0 as is_present
from duckdb_tables()
where schema_name = 'main'
  and table_name = $table_name
