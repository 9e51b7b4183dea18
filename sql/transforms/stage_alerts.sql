-- Stage the alerts table: every earlier alert kept with its status; this run's
-- candidates (registered as new_alerts) either update an open alert's evidence
-- (only when it changed) or enter as new. Grain: one row per alert_id.
create or replace table staging.alerts as
with earlier_alerts as (
    select * from main.alerts
),
candidate_alerts as (
    select * from new_alerts
),
matched as (
    select
        alert_id,
        earlier.alert_id is null as is_new,
        earlier.alert_id is not null
            and candidate.alert_id is not null
            and earlier.status <> 'closed'
            and (earlier.boys, earlier.girls, earlier.srb_expected, earlier.statistic, earlier.threshold,
                 earlier.last_alarm_period)
                is distinct from
                (candidate.boys, candidate.girls, candidate.srb_expected, candidate.statistic,
                 candidate.threshold, candidate.last_alarm_period)
            as is_evidence_updated
    from earlier_alerts as earlier
    full outer join candidate_alerts as candidate using (alert_id)
),
-- the row whose values are published: the candidate's when new or updated
chosen as (
    select candidate.*
    from matched join candidate_alerts as candidate using (alert_id)
    where is_new or is_evidence_updated
    union all by name
    select earlier.*
    from matched join earlier_alerts as earlier using (alert_id)
    where not (is_new or is_evidence_updated)
)
select
    chosen.alert_id, chosen.area_code, chosen.stratum, chosen.method, chosen.detected_period,
    chosen.onset_period, chosen.boys, chosen.girls, chosen.srb_observed, chosen.srb_expected,
    chosen.statistic, chosen.threshold,
    coalesce(earlier.status, 'new') as status,
    coalesce(earlier.first_run_id, $run_id) as first_run_id,
    case when matched.is_new or matched.is_evidence_updated then $run_id
         else earlier.updated_run_id end as updated_run_id,
    -- added by schema 070 (CUSUM): why the baseline is weak; the episode's latest alarm
    chosen.baseline_note,
    chosen.last_alarm_period
from chosen
join matched using (alert_id)
left join earlier_alerts as earlier using (alert_id)
