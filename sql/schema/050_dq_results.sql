-- Data-quality record of every run, so analysts can trend quality in SQL.
-- Grain: one row per catalogue expectation per run with delivery NULL (the run's verdict:
-- success true/false, or NULL when the run did not evaluate it, with the reason in
-- observed), plus one row per delivery file (or chunk of files) where files were judged
-- one by one: a file refused by the loader, the files of a chunk that failed the
-- delivery suite, a file refused on an earlier run. Key: run_id, expectation, delivery.
-- Written in the publish transaction when the run publishes, in its own when it stops.
create table if not exists dq_results (
    run_id          varchar not null,
    checked_at      timestamp not null,
    suite           varchar not null,      -- delivery | registry | outputs
    expectation     varchar not null,      -- expectations/catalogue.py (older runs may keep older names)
    severity        varchar not null,      -- critical | warning
    success         boolean,               -- NULL: not evaluated in this run
    observed        varchar,
    threshold       varchar,
    sample          varchar,               -- offending values; never identifiers
    observed_value  double,
    delivery        varchar                -- NULL: the run's row; else the file name (or chunk)
);
