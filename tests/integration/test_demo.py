import io

from kiosk.demo import play


def test_demo_plays_every_step_against_the_simulator() -> None:
    out = io.StringIO()
    assert play(out) == 0
    text = out.getvalue()
    for number in range(1, 12):
        assert f"── {number}. " in text
    assert "AJ title                  Truyện Kiều" in text
    assert "Mượn thành công" in text  # the checkout succeeded, in the ILS's own words
    assert "đang được giữ cho bạn đọc khác" in text  # the hold for someone else refused it
    assert "CV alert_type             01" in text and "CV alert_type             04" in text
