-- Which migrations an existing database needs (none for a new one).
select 'record_hash_uhugeint' as migration
from duckdb_columns()
where table_name = 'birth_records' and column_name = 'record_hash' and data_type = 'VARCHAR'

union all
select 'births_view'
from duckdb_tables()
where table_name = 'births'
