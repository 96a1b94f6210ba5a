"""`muontra demo` shows a drop at the return machine: the sorter on the belt and ILS simulators."""

from __future__ import annotations

import io

from demo.sorter import play_sorter


def test_the_sorter_demo_tells_each_item_and_lands_it_where_it_said() -> None:
    out = io.StringIO()
    assert play_sorter(out) == 0
    text = out.getvalue()
    # The wall screen's words, in both languages, and the bin each item was sent to.
    assert "B0009    → bin hold     Đã nhận — cảm ơn. / Returned — thank you." in text
    assert "B0011    → bin transit" in text
    assert "[incomplete_set]" in text and "[already_sorted]" in text
    assert "(no tag) → bin x" in text
    # Where the belt simulator put them: the same places.
    assert "B0009      diverter 3" in text and "B0011      diverter 4" in text
    assert "B0006#1/2  in exception bin" in text
    assert "x        Ngoại lệ / Exceptions                  3/100" in text
    assert "Staff empty bin 1: 1 item(s)" in text
