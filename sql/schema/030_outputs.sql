-- Published outputs (CONTRACT §4). A run builds them in schema staging and swaps
-- them in with one transaction after the output checks pass.

create schema if not exists staging;

create table if not exists srb_estimates (
    area_code     varchar not null,
    level         varchar not null,
    stratum       varchar not null,
    period_start  date not null,
    window_start  date not null,
    births        bigint not null,       -- boys + girls (births of unknown sex excluded)
    boys          bigint not null,
    girls         bigint not null,
    srb_raw       double,                -- 100 * boys / girls; NULL when girls = 0
    srb_raw_lo    double,                -- exact (Clopper-Pearson) 95 % interval of srb_raw
    srb_raw_hi    double,
    srb_smoothed  double not null,       -- posterior mean, boys per 100 girls
    srb_lo        double not null,       -- posterior 95 % interval
    srb_hi        double not null,
    prob_above    double not null        -- P(true SRB > alert_level)
    -- key (area_code, stratum, period_start): checked by the output gate, not indexed,
    -- because an index makes the nightly swap of the whole table several times slower
);

create table if not exists alerts (
    alert_id         varchar primary key,
    area_code        varchar not null,
    stratum          varchar not null,
    method           varchar not null,
    detected_period  date not null,
    onset_period     date,
    boys             bigint not null,
    girls            bigint not null,
    srb_observed     double,
    srb_expected     double not null,
    statistic        double not null,
    threshold        double not null,
    status           varchar not null default 'new',
    first_run_id     varchar not null,
    updated_run_id   varchar not null
);

create table if not exists runs (
    run_id        varchar primary key,
    started_at    timestamp not null,
    finished_at   timestamp,
    asof_date     date,
    status        varchar not null,      -- running | published | gate_failed | failed
    exit_code     integer,
    message       varchar,
    rows_loaded   bigint,
    rows_quarantined bigint,
    alerts_new    integer
);
