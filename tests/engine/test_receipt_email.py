"""The e-mail receipt end to end: the engine asks the ILS for the address, sends through SMTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.engine.harness import Kiosk, ils_simulator, write_config
from tests.integration.test_receipt_delivery import Inbox, free_port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def test_email_receipt_reaches_the_patrons_address(
    tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    box, port = inbox
    smtp = (
        '\n[receipts]\nemail = true\n[receipts.smtp]\nhost = "127.0.0.1"\n'
        f'port = {port}\nstarttls = false\nsender = "thuvien@example.org"\n'
    )
    with ils_simulator(tmp_path / "ils.sqlite") as (sim, _store):
        kiosk = Kiosk(write_config(tmp_path, sim.port, extra=smtp))
        try:
            kiosk.call("identify", method="typed", value="P0001")
            kiosk.call("pin", pin="1234")
            kiosk.call("sim_place", item_id="B0001")
            kiosk.event("item", outcome="checked_out", item_id="B0001")
            summary = kiosk.call("done")
            assert summary["email_available"] is True
            assert kiosk.call("receipt", method="email") == {"method": "email", "delivered": True}
        finally:
            kiosk.close()
    (envelope,) = box.envelopes
    assert envelope.rcpt_tos == ["nguyen.thi.huong@example.vn"]
    message = box.message()
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "B0001" in text and "Truyện Kiều" in text
    assert "P0001" not in message.as_string()
