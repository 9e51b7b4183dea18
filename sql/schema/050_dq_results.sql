-- One row per expectation per run (per delivery for the delivery suite), so analysts
-- can trend data quality in SQL. Grain: run_id, suite, expectation, delivery.
create table if not exists dq_results (
    run_id          varchar not null,
    checked_at      timestamp not null,
    suite           varchar not null,      -- delivery | registry | outputs
    expectation     varchar not null,
    severity        varchar not null,      -- critical | warning
    success         boolean not null,
    observed        varchar,
    threshold       varchar,
    sample          varchar,               -- offending values; never identifiers
    observed_value  double,
    delivery        varchar                -- file name, for the delivery suite
);
