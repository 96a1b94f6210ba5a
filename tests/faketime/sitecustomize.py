"""Loaded by every Python process of a run under libfaketime (``make dates``): run by
tests/conftest.py, and as sitecustomize (PYTHONPATH, which conftest sets) in the
processes the tests start.

The date runs shift the wall clock with Debian's libfaketime and leave the
monotonic clock real (FAKETIME_DONT_FAKE_MONOTONIC=1): with both faked, every
timed lock wait in CPython (sem_clockwait on the real monotonic clock against a
faked deadline) hangs. But libfaketime 0.9.10 still shifts the absolute deadline
of clock_nanosleep on the monotonic clock, so ``time.sleep`` fails with EINVAL;
select() takes a relative timeout that the shift leaves alone. Nothing here runs
outside those runs.
"""

import os
import select
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
