"""python-escpos's capability database, loaded from a pickle we write rather than parsed as YAML.

``escpos.capabilities`` reads its printer database (``capabilities.json``, about
100 kB) at import. It keeps a pickle of it in ``ESCPOS_CAPABILITIES_PICKLE_DIR``,
but that defaults to a new ``mkdtemp()`` per process: every daemon start then
parses the file with PyYAML's pure-Python loader: half a second, and about 1 MB
that stays resident after the parse (issue 15).

:func:`import_capabilities` gives it a pickle instead, written by us from the
same file read with the standard library's JSON parser (the file is JSON, and
JSON is YAML), in a private folder of our own that is removed again straight
after the import: the database python-escpos ends up with is the same, the YAML
parse is gone. (python-escpos still creates its own empty ``mkdtemp()`` folder at
import, whether it uses it or not.) Why not a long-lived pickle on disk: a
pickle read back from a shared or reused place would run whatever code someone
put in it, and writing a fresh one costs about a millisecond.

A deployment that sets ``ESCPOS_CAPABILITIES_FILE`` or
``ESCPOS_CAPABILITIES_PICKLE_DIR`` itself is left to python-escpos.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pickle
import platform
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PICKLE_DIR = "ESCPOS_CAPABILITIES_PICKLE_DIR"
CAPABILITIES_FILE = "ESCPOS_CAPABILITIES_FILE"


def import_capabilities() -> ModuleType:
    """``escpos.capabilities``, imported from a pickle we wrote (see the module docstring)."""
    if PICKLE_DIR in os.environ or CAPABILITIES_FILE in os.environ:
        return importlib.import_module("escpos.capabilities")
    folder = Path(tempfile.mkdtemp(prefix="muontra-escpos-"))
    try:
        _write_pickle(folder)
        # Only for the import: a child process must not inherit a folder about to go.
        os.environ[PICKLE_DIR] = str(folder)
        try:
            return importlib.import_module("escpos.capabilities")
        finally:
            del os.environ[PICKLE_DIR]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_pickle(folder: Path) -> None:
    """The pickle python-escpos looks for, from its own JSON file; none when unreadable
    (python-escpos then parses the file itself, as it always did)."""
    try:
        source = resources.files("escpos") / "capabilities.json"
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError, ModuleNotFoundError) as error:
        log.debug("python-escpos's capabilities.json not read (%s); it parses it itself", error)
        return
    # The name and protocol python-escpos itself uses; its file is newer than the
    # package's capabilities.json (written now), so python-escpos takes it.
    target = folder / f"{platform.python_version()}.capabilities.pickle"
    with open(target, "wb") as out:
        pickle.dump(data, out, protocol=2)
