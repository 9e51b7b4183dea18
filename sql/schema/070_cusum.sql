-- CUSUM surveillance (issue 4): what an alert's baseline was, the charts behind the
-- alerts, what each chart can detect, and the calibration cache.

-- Migration of alerts (030): `create table if not exists` does not add columns to a table
-- made by an earlier version, so they are added here.
alter table alerts add column if not exists baseline_note varchar;      -- why the baseline is weak, if it is
alter table alerts add column if not exists last_alarm_period date;     -- latest alarm merged into the episode

-- One row per monitored area x stratum x method x period: the charts the reports draw.
create table if not exists cusum_paths (
    area_code       varchar not null,
    stratum         varchar not null,
    method          varchar not null,     -- cusum, or glr (the second detector, when configured)
    period_start    date not null,
    births          bigint not null,      -- boys + girls in the period
    boys            bigint not null,
    statistic       double not null,      -- S_t, LLR units (before the reset that follows an alarm)
    threshold       double not null,      -- h_t, LLR units
    share_expected  double not null,      -- baseline share of boys (pooled over classes if risk-adjusted)
    srb_expected    double not null,      -- the same as boys per 100 girls
    is_alarm        boolean not null
);

-- One row per monitored area x stratum: the smallest SRB its chart finds within 52 periods
-- on average, at the latest period's volume and threshold. NULL: not even SRB 250.
create table if not exists detectability (
    area_code          varchar not null,
    level              varchar not null,
    stratum            varchar not null,
    births_per_period  double not null,   -- trailing mean births a period
    srb_expected       double not null,   -- baseline SRB the chart compares with
    threshold          double not null,   -- h, LLR units
    min_detectable_srb double,            -- boys per 100 girls; NULL when undetectable
    arl0_periods       double not null    -- in-control average run length the budget gives
);

-- Cache of Brook-Evans thresholds at the nodes of the calibration grid (births a period,
-- p0 and odds ratio of the node's SRB, ARL0 to 3 digits; models.threshold_grid): kept across
-- runs, so a warm run calibrates nothing.
create table if not exists cusum_calibration (
    births_key      double not null,
    share_key       double not null,
    odds_ratio_key  double not null,
    arl0_key        double not null,
    threshold       double not null,
    arl0_achieved   double not null,
    rel_change      double not null,
    states          integer not null,
    primary key (births_key, share_key, odds_ratio_key, arl0_key)
);

-- Cache of detectable SRBs by rounded key (births, p0, OR, threshold to 0.001).
create table if not exists cusum_detectability_cache (
    births_key      double not null,
    share_key       double not null,
    odds_ratio_key  double not null,
    threshold_key   double not null,
    min_detectable_srb double not null,   -- 'infinity' when undetectable
    primary key (births_key, share_key, odds_ratio_key, threshold_key)
);

-- Cache of GLR thresholds by simulation (pipeline/surveil_glr.py): per grid node of births
-- a period, in-control share of boys, window and ARL0; kept across runs.
create table if not exists glr_calibration (
    births_key      double not null,
    share_key       double not null,
    window_key      integer not null,
    arl0_key        double not null,
    threshold       double not null,      -- h, LLR units
    rel_se          double not null,      -- relative standard error of the ARL0 at h
    runs            integer not null,     -- simulated in-control series ...
    periods         integer not null,     -- ... of this many periods each
    primary key (births_key, share_key, window_key, arl0_key)
);
