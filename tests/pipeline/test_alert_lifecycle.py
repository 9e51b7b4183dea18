"""People set alert statuses; the pipeline keeps them and records who did what."""
from __future__ import annotations

import datetime as dt

from tests.pipeline.test_run import excess_in_town_two


def _registry_with_alert(registry, surveil) -> str:
    registry.deliver("a.csv", excess_in_town_two())
    assert surveil("run", "--config", registry.config).exit_code == 0
    (alert_id,) = registry.query("select alert_id from alerts where area_code = 'T2' and stratum = 'parity_2' "
                                 "and method = 'level'")[0]
    return alert_id


def test_ack_investigate_close_are_recorded_and_kept_across_runs(registry, surveil):
    alert_id = _registry_with_alert(registry, surveil)
    acked = surveil("alerts", "ack", alert_id, "--config", registry.config, "--note", "seen", "--by", "li")
    assert acked.exit_code == 0
    assert surveil("alerts", "investigate", alert_id, "--config", registry.config, "--by", "li").exit_code == 0
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select status from alerts where alert_id = $a", {"a": alert_id}) == [("investigating",)]
    assert surveil("alerts", "close", alert_id, "--config", registry.config, "--note", "clinic audited",
                   "--by", "zhao").exit_code == 0
    assert registry.query("select actor, action, status_from, status_to, note from alert_events order by event_id") == [
        ("li", "ack", "new", "acknowledged", "seen"),
        ("li", "investigate", "acknowledged", "investigating", ""),
        ("zhao", "close", "investigating", "closed", "clinic audited"),
    ]
    # more births in the same episode: the closed alert is neither re-raised nor updated
    registry.deliver("b.csv", excess_in_town_two(4, dt.date(2024, 7, 29), "S"))
    before = registry.query("select * from alerts where alert_id = $a", {"a": alert_id})
    assert surveil("run", "--config", registry.config).exit_code == 0
    assert registry.query("select * from alerts where alert_id = $a", {"a": alert_id}) == before


def test_forbidden_transition_is_one_line_and_changes_nothing(registry, surveil):
    alert_id = _registry_with_alert(registry, surveil)
    assert surveil("alerts", "close", alert_id, "--config", registry.config).exit_code == 0
    result = surveil("alerts", "ack", alert_id, "--config", registry.config)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"surveil: error: alert {alert_id} is closed; 'ack' applies to new alerts"
    assert surveil("alerts", "show", "a-nope", "--config", registry.config).exit_code == 1


def test_list_shows_open_alerts(registry, surveil):
    alert_id = _registry_with_alert(registry, surveil)
    listing = surveil("alerts", "list", "--config", registry.config)
    assert listing.exit_code == 0 and alert_id in listing.stdout
    surveil("alerts", "close", alert_id, "--config", registry.config)
    assert alert_id not in surveil("alerts", "list", "--config", registry.config).stdout
    assert alert_id in surveil("alerts", "list", "--config", registry.config, "--closed").stdout
