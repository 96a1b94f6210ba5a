import io

import pytest

from demo.run import play


def test_sip2_demo_plays_every_step_against_the_simulator() -> None:
    out = io.StringIO()
    assert play(out) == 0
    text = out.getvalue()
    for number in range(1, 12):
        assert f"── {number}. " in text
    assert "AJ title                  Truyện Kiều" in text
    assert "Mượn thành công" in text  # the checkout succeeded, in the ILS's own words
    assert "đang được giữ cho bạn đọc khác" in text  # the hold for someone else refused it
    assert "CV alert_type             01" in text and "CV alert_type             04" in text


def test_kiosk_demo_plays_a_session_for_a_person() -> None:
    from demo.kiosk import play_kiosk

    out = io.StringIO()
    assert play_kiosk(out) == 0
    text = out.getvalue()
    for number in range(1, 10):
        assert f"── {number}. " in text
    assert "PIN 0000 → Mã PIN không đúng" in text
    assert "[B0001] Đã mượn / Checked out — hạn trả / due" in text
    assert "[B0006] Thiếu phần 2 của bộ 2 phần" in text
    assert "[B0002] Đã mượn (ngoại tuyến, sẽ đồng bộ sau)" in text
    assert "[B0002] đồng bộ với ILS / replayed to the ILS: replayed" in text
    assert "QR │ MUONTRA1 OUT" in text
    assert "[B0009] Đã trả / Returned — Có bạn đọc khác đang đặt giữ" in text
    assert "P0001" not in text.split("── 2.")[1]  # no patron id on the screen


def test_demo_without_a_display_plays_text_and_says_how_to_see_the_screen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from muontra.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "── 9. " in out and "xvfb-run" in out and "simulator panel" in out
