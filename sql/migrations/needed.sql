-- Which migrations an existing database needs (none for a new one).
select 'record_hash_uhugeint' as migration
from duckdb_columns()
where table_name = 'birth_records' and column_name = 'record_hash' and data_type = 'VARCHAR'

union all
select 'births_view'
from duckdb_tables()
where table_name = 'births'

union all
select 'outbox_refused_recipients'
from duckdb_tables()
where table_name = 'outbox'
  and not exists (select 1 from duckdb_columns()
                  where table_name = 'outbox' and column_name = 'refused_recipients')

union all
select 'dq_results_success_nullable'
from duckdb_columns()
where table_name = 'dq_results' and column_name = 'success' and not is_nullable
