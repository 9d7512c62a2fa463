"""Time budgets for runs of guest code without a thread per run.

`uc_emu_start(timeout=...)` starts a timer thread for every run and joins it at the end; measured
on Unicorn 2.1.4 that costs ~0.8 ms per call, more than a whole fuzz input. One watchdog thread per
process serves every timed run instead: a run arms it with a deadline and disarms it when
`emu_start` returns, and the watchdog calls `uc_emu_stop` on a run that passes its deadline (as
Unicorn's own timer thread does, from another thread). It sleeps on a condition while nothing is
armed and polls every TICK_S while something is, so a budget ends up to TICK_S late.
"""
from __future__ import annotations

import os
import threading
import time

from unicorn import Uc

TICK_S = 0.005


class Watchdog:
    def __init__(self):
        self._reset()
        # A forked child (batch workers) has no watchdog thread, whatever the parent had: start afresh.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._armed: dict[int, tuple[Uc, float]] = {}       # thread id -> (engine, deadline)
        self._lock = threading.Lock()           # arm/disarm take it directly: a Condition's own
        self._cv = threading.Condition(self._lock)     # `with` is Python code, paid twice per run
        self._thread: threading.Thread | None = None
        self._idle = False                 # the thread waits for an arm (not polling)

    def arm(self, uc: Uc, seconds: float) -> None:
        with self._lock:
            self._armed[threading.get_ident()] = (uc, time.perf_counter() + seconds)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="hvci-watchdog", daemon=True)
                self._thread.start()
            elif self._idle:
                self._cv.notify()

    def disarm(self) -> None:
        with self._lock:
            self._armed.pop(threading.get_ident(), None)

    def _watch(self) -> None:
        with self._cv:
            while True:
                if not self._armed:
                    self._idle = True
                    self._cv.wait()
                    self._idle = False
                    continue
                self._stop_expired()
                self._cv.wait(TICK_S)

    def _stop_expired(self) -> None:
        """A function of its own, so that no engine stays referenced from the thread's frame."""
        now = time.perf_counter()
        for uc, deadline in self._armed.values():
            if now >= deadline:
                uc.emu_stop()          # a no-op once the run has ended; disarm comes under this lock


WATCHDOG = Watchdog()
