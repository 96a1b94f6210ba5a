"""Security events into alerts, without I/O (central/security_rules.py through the evaluator):
by severity, once per device, threat and subject with a growing count, bounded against a flood,
cleared when the cause is gone; texts for every threat in both languages."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from central.alert_texts import SECURITY_TEXTS, TEXTS, alert_text
from central.alert_values import AlertKey, Change, Cleared, Counted, Raised
from central.alerts import AlertEvaluator
from central.ops import _merged
from central.security_rules import OVERFLOW, SECURITY_RULES, SUBJECT_FIELD, UNKNOWN_THREAT
from central.settings_ops import AlertsSection
from protocols.mqtt.security_schema import Threat

SITE = "VN-HN0001"
T0 = 1_800_000_000.0
RULES = AlertsSection(security_subjects=5)


def sec(threat: str, severity: str = "critical", **evidence: Any) -> dict[str, Any]:
    return {"threat": threat, "severity": severity, **evidence}


def kinds(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(type(c).__name__, c.key.rule, c.key.subject) for c in changes]


def test_by_severity_critical_and_warning_raise_info_does_not() -> None:
    ev = AlertEvaluator(RULES)
    got = ev.on_event(SITE, "kiosk-01", "security", sec("case_opened", part="case"), T0)
    assert kinds(got) == [("Raised", "case_opened", "case")]
    raised = got[0]
    assert isinstance(raised, Raised)
    assert (raised.severity, raised.count, dict(raised.evidence)) == (
        "critical",
        1,
        {"part": "case"},
    )
    warned = ev.on_event(SITE, "gate-a", "security", sec("foreign_afi", "warning", uid="E0A1"), T0)
    assert kinds(warned) == [("Raised", "foreign_afi", "E0A1")]
    assert isinstance(warned[0], Raised) and warned[0].severity == "warning"
    info = sec("pin_wrong", "info", patron_ref="ab12cd34", count=2)
    assert ev.on_event(SITE, "kiosk-01", "security", info, T0) == []
    # An unknown severity is not ignored: it is a warning.
    odd = ev.on_event(SITE, "kiosk-01", "security", sec("clock_jump", "severe"), T0)
    assert isinstance(odd[0], Raised) and odd[0].severity == "warning"
    # A device cannot raise central's own join as critical.
    posed = sec("card_across_kiosks", patron_ref="ab", devices=9)
    claimed = ev.on_event(SITE, "kiosk-01", "security", posed, T0)
    assert isinstance(claimed[0], Raised) and claimed[0].severity == "warning"


def test_a_resent_event_counts_and_never_raises_twice() -> None:
    ev = AlertEvaluator(RULES)
    first = ev.on_event(SITE, "kiosk-01", "security", sec("pin_guessing", cards=4, count=1), T0)
    assert kinds(first) == [("Raised", "pin_guessing", "")]
    # The same window going on (count 1 -> 9): 8 more; a new window (count 3): 3 more.
    again = ev.on_event(
        SITE, "kiosk-01", "security", sec("pin_guessing", cards=6, count=9), T0 + 60
    )
    assert again == [Counted(first[0].key, T0 + 60, add=8, evidence={"cards": 6})]
    later = ev.on_event(
        SITE, "kiosk-01", "security", sec("pin_guessing", cards=2, count=3), T0 + 90
    )
    assert later == [Counted(first[0].key, T0 + 90, add=3, evidence={"cards": 2})]
    # Another kiosk's is its own alert.
    other = ev.on_event(SITE, "kiosk-02", "security", sec("pin_guessing", count=1), T0)
    assert kinds(other) == [("Raised", "pin_guessing", "")]
    assert other[0].key.device == "kiosk-02"


def test_a_flood_of_distinct_subjects_is_bounded_per_device_and_threat() -> None:
    ev = AlertEvaluator(RULES)
    changes: list[Change] = []
    for n in range(10_000):
        event = sec("foreign_afi", "warning", uid=f"E0{n:08X}", afi=7)
        changes += ev.on_event(SITE, "gate-evil", "security", event, T0 + n)
    raised = [c for c in changes if isinstance(c, Raised)]
    assert len(raised) == 5 + 1  # the bound, and the one alert that counts the rest
    assert raised[-1].key == AlertKey("foreign_afi", SITE, "gate-evil", OVERFLOW)
    counted = [c for c in changes if isinstance(c, Counted)]
    assert sum(c.add for c in counted) + raised[-1].count == 10_000 - 5
    # Invented threat codes fall under one rule and the same bound.
    for n in range(1000):
        ev.on_event(SITE, "gate-evil", "security", sec(f"made_up_{n}"), T0)
    unknown = [k for k in ev.open if k.rule == UNKNOWN_THREAT]
    assert len(unknown) == 6 and AlertKey(UNKNOWN_THREAT, SITE, "gate-evil", OVERFLOW) in unknown
    # Another device of the site is not crowded out.
    good = ev.on_event(SITE, "gate-b", "security", sec("foreign_afi", "warning", uid="E1"), T0)
    assert kinds(good) == [("Raised", "foreign_afi", "E1")]


def test_cause_gone_the_unplugged_part_is_back() -> None:
    ev = AlertEvaluator(RULES)
    unplugged = sec("device_unplugged", part="printer")
    assert kinds(ev.on_event(SITE, "kiosk-01", "security", unplugged, T0)) == [
        ("Raised", "device_unplugged", "printer")
    ]
    # Another part coming back changes nothing; the printer ready again clears it.
    pad = {"part": "pad", "state": "ready"}
    assert ev.on_event(SITE, "kiosk-01", "device", pad, T0 + 1) == []
    ready = {"part": "printer", "state": "ready"}
    assert kinds(ev.on_event(SITE, "kiosk-01", "device", ready, T0 + 2)) == [
        ("Cleared", "device_unplugged", "printer")
    ]
    # Through telemetry too (a reader).
    ev.on_event(SITE, "gate-a", "security", sec("device_unplugged", part="antenna-1"), T0)
    got = ev.on_telemetry(SITE, "gate-a", {"antenna-1": "ready"}, {}, T0 + 3)
    assert kinds(got) == [("Cleared", "device_unplugged", "antenna-1")]


def test_security_switched_off_raises_nothing() -> None:
    for rules in (AlertsSection(security=False), AlertsSection(enabled=False)):
        ev = AlertEvaluator(rules)
        assert ev.on_event(SITE, "k", "security", sec("case_opened", part="case"), T0) == []


def test_closed_by_the_store_it_may_be_raised_again_and_counts_afresh() -> None:
    ev = AlertEvaluator(RULES)
    [raised] = ev.on_event(SITE, "k", "security", sec("config_changed", count=4), T0)
    ev.closed([raised.key])  # the quiet time, in the store
    [again] = ev.on_event(SITE, "k", "security", sec("config_changed", count=5), T0 + 4000)
    assert isinstance(again, Raised) and again.count == 5


def test_every_threat_reads_in_both_languages_and_has_a_subject_rule() -> None:
    assert set(SUBJECT_FIELD) == set(Threat)
    assert set(SECURITY_TEXTS) == SECURITY_RULES | {"broker_logins_refused"}
    assert not set(SECURITY_TEXTS) & set(TEXTS)  # no threat can pass for another rule
    for rule in SECURITY_RULES:
        vi, en = (alert_text(rule, "kiosk-01", "30077", lang) for lang in ("vi", "en"))
        assert "kiosk-01" in vi and "kiosk-01" in en and vi != en
    broker = [alert_text("broker_logins_refused", "broker", "", lang) for lang in ("vi", "en")]
    assert "broker" in broker[0] and "broker" in broker[1] and broker[0] != broker[1]
    # A site-wide alert names the site; the overflow's subject reads as "many".
    assert alert_text("cloned_tag", "", "30077", "en").startswith("Site: item 30077")
    assert alert_text("cloned_tag", "", "30077", "vi").startswith("Cả cơ sở: tài liệu 30077")
    assert "(many)" in alert_text("foreign_afi", "g", OVERFLOW, "en")


def test_counts_of_one_alert_in_a_batch_are_merged_in_order() -> None:
    key, other = AlertKey("x", SITE, "d", "s"), AlertKey("y", SITE, "d", "")
    changes: list[Change] = [
        Raised(key, 1, severity="critical"),
        Counted(key, 2, add=3),
        Counted(other, 2, add=1),
        Counted(key, 3, add=4, evidence={"a": 1}),
        Cleared(key, 4),
        Counted(key, 5, add=1),
    ]
    assert _merged(changes) == [
        Raised(key, 1, severity="critical"),
        Counted(key, 3, add=7, evidence={"a": 1}),
        Counted(other, 2, add=1),
        Cleared(key, 4),
        Counted(key, 5, add=1),
    ]


_value = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.text(max_size=300))


@given(
    st.dictionaries(
        st.sampled_from(
            ["threat", "severity", "count", "item_id", "uid", "patron_ref", "part", "peer_uid"]
        ),
        _value,
    )
)
def test_hostile_security_data_never_raises(data: dict[str, Any]) -> None:
    ev = AlertEvaluator(RULES)
    for change in ev.on_event(SITE, "d", "security", data, T0) + ev.on_event(
        SITE, "d", "security", data, T0 + 1
    ):
        assert len(change.key.rule) <= 40 and len(change.key.subject) <= 128
        if isinstance(change, Raised):
            assert 1 <= change.count <= 1_000_000_000
        if isinstance(change, Counted):
            assert change.add >= 1


_threats = st.sampled_from(["case_opened", "foreign_afi", "pin_guessing", "made_up"])


@given(
    st.lists(
        st.tuples(
            _threats,
            st.sampled_from(["critical", "warning", "info"]),
            st.sampled_from(["a", "b", "c", "d"]),
            st.integers(1, 20),
            st.booleans(),
        ),
        max_size=40,
    )
)
def test_each_key_is_open_once_and_counts_only_open_keys(
    steps: list[tuple[str, str, str, int, bool]],
) -> None:
    ev = AlertEvaluator(AlertsSection(security_subjects=2))
    open_keys: set[AlertKey] = set()
    now = T0
    for threat, severity, subject, count, close in steps:
        now += 1
        data = sec(threat, severity, part=subject, uid=subject, count=count)
        for change in ev.on_event(SITE, "d", "security", data, now):
            if isinstance(change, Raised):
                assert change.key not in open_keys
                open_keys.add(change.key)
            else:
                assert isinstance(change, Counted) and change.key in open_keys
        if close and open_keys:
            shut = sorted(open_keys, key=AlertKey.text)[0]
            ev.closed([shut])
            open_keys.discard(shut)
        assert open_keys == set(ev.open)
