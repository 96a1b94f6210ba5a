"""`muontra demo` shows a drop at the return machine: the sorter on the belt and ILS simulators."""

from __future__ import annotations

import io

from demo.sorter import play_sorter
from scenario.sorter_run import RATE


def test_the_sorter_demo_tells_each_item_and_lands_it_where_it_said() -> None:
    out = io.StringIO()
    # The belt at the scenarios' pace (scenario.sorter_run.RATE), not the demo's 4x: on a
    # loaded test machine a stalled thread must not turn into a missed diverter or a jam
    # (the timing rules themselves are tested in tests/integration/test_sorter_timing.py).
    code = play_sorter(out, rate=RATE)
    text = out.getvalue()
    # On failure the whole output is shown: it names the sorter's log.
    assert code == 0, text
    # The wall screen's words, in both languages, and the bin each item was sent to.
    expected = [
        "B0009    → bin hold     Đã nhận — cảm ơn. / Returned — thank you.",
        "B0011    → bin transit",
        "[incomplete_set]",
        "[already_sorted]",
        "(no tag) → bin x",
        # Where the belt simulator put them: the same places.
        "B0009      diverter 3",
        "B0011      diverter 4",
        "B0006#1/2  in exception bin",
        # The staff screen's counts agree with the belt.
        "x        Ngoại lệ / Exceptions                  3/100",
        "Staff empty bin 1: 1 item(s)",
    ]
    missing = [line for line in expected if line not in text]
    assert not missing, f"missing {missing} in:\n{text}"
