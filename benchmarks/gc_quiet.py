"""Garbage-collector quiet for timed loops, in the benchmarks only (never in the library).

With a few hundred thousand live objects (stored states, their events, fact dicts), one
generation-2 collection costs ~0.36 s on this VM and once inflated a benchmark run by 60%
(issue #20): which timed loop pays for it is chance, so the ratios jumped. `quiet_gc`
collects once before the loop (untimed) and freezes what survives, so later collections never
scan the setup's objects; with `disable` it also switches the collector off for the loop
(short loops: their own garbage is freed by reference counting, and what is cyclic waits
until the loop ends). Long runs (a nightly batch) freeze only, so memory stays bounded.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_gc(*, disable: bool = True) -> Iterator[None]:
    """Collect and freeze what exists; with `disable`, no collection inside the block."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    if disable:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
