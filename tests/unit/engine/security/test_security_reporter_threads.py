"""One reporter serves detectors on many threads (engine, ILS links, paho, the API's accept
loop): counting and forgetting must hold when they report at once."""

from __future__ import annotations

import threading

import pytest

from engine.events import EventBus
from engine.security import reporter as reporter_module
from engine.security.reporter import SecurityReporter
from protocols.mqtt.security_schema import Severity, Threat


def test_reports_from_many_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporter_module, "MAX_SUBJECTS", 64)  # forgetting all the time
    reporter = SecurityReporter(EventBus(history=10), window=3600)
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def flood(worker: int) -> None:
        try:
            start.wait()
            for n in range(3000):
                reporter.report(Threat.PIN_WRONG, Severity.INFO, (worker, n % 200))
                reporter.report(Threat.PIN_GUESSING, Severity.CRITICAL)
        except BaseException as error:  # handed to the test's thread
            failures.append(error)

    threads = [threading.Thread(target=flood, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a reporting thread did not finish"
    assert failures == []
    assert len(reporter._seen) <= 64
    # The one subject every thread shares was never forgotten mid-count: all 24,000 counted.
    assert reporter.seen(Threat.PIN_GUESSING) == 8 * 3000
