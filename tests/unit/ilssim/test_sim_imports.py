"""A daemon whose ILS is the simulator (``sip2+sim://``) does not keep alembic in memory.

Alembic, mako and their script machinery cost a process several MB it keeps for
life (issue 15). A daemon migrates a new database in a short-lived child
(``engine.db.migrate_in_child``) and leaves one at head alone without importing
alembic; the simulator's store must not import it either, for its annotations.
Checked in fresh interpreters, since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import json, sys
from pathlib import Path
from engine.db import migrate_in_child
from ilssim.running import running_simulator

migrate_in_child(sys.argv[2] == "child")
with running_simulator(Path(sys.argv[1]), items=5) as (sim, store):
    revision = store.current_revision()
print(json.dumps({"revision": revision,
                  "loaded": sorted({m.split('.')[0] for m in sys.modules} & {"alembic", "mako"})}))
"""


def _simulator_in_a_child(path: Path, migrate: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), migrate],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert isinstance(answer, dict)
    return answer


def test_the_simulator_at_head_and_a_new_one_migrated_by_a_child_load_no_alembic(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ils-sim.sqlite"
    # A daemon's first start: the new database is migrated (and seeded) by a child.
    first = _simulator_in_a_child(path, "child")
    assert first == {"revision": "0001", "loaded": []}
    # Every later start: the database is at head and nothing is migrated, in-process or not.
    again = _simulator_in_a_child(path, "here")
    assert again == {"revision": "0001", "loaded": []}


def test_a_database_that_needs_migrating_here_does_load_alembic(tmp_path: Path) -> None:
    # The check above can fail: migrating in-process is what imports alembic.
    answer = _simulator_in_a_child(tmp_path / "ils-sim.sqlite", "here")
    assert answer == {"revision": "0001", "loaded": ["alembic", "mako"]}
