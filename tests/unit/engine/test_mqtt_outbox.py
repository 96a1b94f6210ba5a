"""The durable outbox: order, acknowledgement, survival across reopening."""

from pathlib import Path

from engine.mqtt.outbox import Outbox


def test_order_and_ack(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        ids = [outbox.add(f"t/{n}", b"{}", retain=n == 0) for n in range(5)]
        assert ids == sorted(ids)
        assert outbox.count() == 5
        first = outbox.pending(2)
        assert [e.id for e in first] == ids[:2]
        assert first[0].retain and not first[1].retain
        assert [e.id for e in outbox.pending(10, after=ids[2])] == ids[3:]
        outbox.mark_sent(ids[1])
        outbox.mark_sent_many(ids[3:])
        assert [e.topic for e in outbox.pending(10)] == ["t/0", "t/2"]
        assert outbox.count() == 2


def test_survives_reopening(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        outbox.add("a", b"1")
        outbox.add("b", b"2")
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        assert [(e.topic, e.payload) for e in outbox.pending()] == [("a", b"1"), ("b", b"2")]
        assert outbox.current_revision() == "0002"


def test_wait_change_wakes() -> None:
    with Outbox.open(None) as outbox:
        generation = outbox.generation
        assert outbox.wait_change(generation, 0.01) == generation
        outbox.add("a", b"1")
        generation = outbox.wait_change(generation, 1)
        outbox.poke()
        assert outbox.wait_change(generation, 1) != generation


def test_ids_are_never_reused(tmp_path: Path) -> None:
    """The sender's cursor relies on it: an emptied outbox does not start again at 1."""
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        first = outbox.add("a", b"1")
        outbox.mark_sent(first)
        assert outbox.count() == 0
        assert outbox.add("b", b"2") > first
    with Outbox.open(tmp_path / "outbox.db") as outbox:
        outbox.mark_sent_many(e.id for e in outbox.pending())
        assert outbox.add("c", b"3") > first + 1
