"""The sorter scenarios' belt harness keeps a bounded list, whatever it is fed (issue 15).

The footprint bench feeds a thousand items and polls ``sim_belt`` five times a
second: the harness lists the items on their way and the last ``keep`` that left,
and counts every one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from drivers.registry import parse_url
from drivers.sim.conveyor import ConveyorMachine, machine_for
from drivers.sim.field import TagField
from scenario.sorter_child import Belt

_names = itertools.count()


@pytest.fixture
def machine() -> Iterator[ConveyorMachine]:
    """A running belt with no diverter fired: every item ends in the exception bin."""
    name = f"harness{next(_names)}"
    made = machine_for(parse_url(f"conveyor+sim://{name}?diverters=1.6"))
    made.set_output("shutter", True)
    made.set_output("belt", True)
    yield made
    ConveyorMachine.forget(name)
    TagField.forget(name)


def test_it_lists_the_items_on_their_way_and_only_the_last_that_left(
    machine: ConveyorMachine,
) -> None:
    belt = Belt(machine, None, keep=2)
    labels = [f"B{n:04}" for n in range(1, 7)]
    belt.feed({"items": labels})
    # Two seconds apart (spacing 1 m at 0.5 m/s), 4 m to the end: some still on their way.
    machine.advance_to(machine.time + 9.0)
    early = belt.state()
    on_the_way = belt.state(moving_only=True)
    assert early["moving"] == len(on_the_way["items"]) > 0
    assert {i["fate"] for i in on_the_way["items"]} <= {"waiting", "on_belt"}
    assert early["left"] == {"in_exception_bin": len(labels) - early["moving"]}
    machine.advance_to(machine.time + 60.0)
    final = belt.state()
    assert [i["label"] for i in final["items"]] == labels[-2:]
    assert (final["moving"], final["fed"], final["left"]) == (0, 6, {"in_exception_bin": 6})
    assert belt.state(moving_only=True)["items"] == []
    # The machine keeps no more than the harness does.
    assert machine.items == [item for _, item in belt.items]
    belt.fault({"name": "slip", "item": labels[-1]})  # a listed item can still be named
    with pytest.raises(ValueError, match="no item"):
        belt.fault({"name": "slip", "item": labels[0]})


def test_by_default_it_lists_every_item_of_a_scenario(machine: ConveyorMachine) -> None:
    belt = Belt(machine, None)
    labels = [f"C{n:04}" for n in range(1, 31)]
    belt.feed({"items": labels})
    machine.advance_to(machine.time + 200.0)
    final = belt.state()
    assert [i["label"] for i in final["items"]] == labels
    assert {i["fate"] for i in final["items"]} == {"in_exception_bin"}
