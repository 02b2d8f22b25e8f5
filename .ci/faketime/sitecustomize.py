"""Loaded only by .ci/run's faketime pass (PYTHONPATH=.ci/faketime), never by the app.

libfaketime 0.9.10 (Debian bookworm) breaks `time.sleep` on Python 3.11+ when the monotonic
clock is left real (FAKETIME_DONT_FAKE_MONOTONIC=1): Python sleeps with
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) and libfaketime hands the kernel a negative
time, so every sleep raises EINVAL (wolfcw/libfaketime#426, fixed after 0.9.10). Faking the
monotonic clock instead hangs every lock or event wait with a timeout (sem_clockwait is not
intercepted; wolfcw/libfaketime#390). Waiting on a lock with a timeout is a sleep on the real
monotonic clock, which libfaketime leaves alone, so `time.sleep` does that here.
"""

import threading
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    lock = threading.Lock()
    lock.acquire()
    lock.acquire(timeout=seconds)


time.sleep = _sleep
