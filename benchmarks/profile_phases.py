"""Where a decision's time goes: CPU time per phase of `Engine.decide`, inside real decisions.

`bench_engine.py --phases` runs this. It is the one benchmark that reaches past the public
faces: it wraps the engine's private phase functions (facts, gate, digests, matching, trace),
as the engine module names them, with timers to measure them where they run, which no public
API could do without slowing every decision. pyproject.toml's import contract names this
module as the exception.
"""

from __future__ import annotations

import time
from typing import Any

from bench_engine import chunks

import dunning._decide.engine as engine_mod
from dunning import Engine


def phases(rules: Any, total: int, seed: int, reps: int = 3) -> None:
    """CPU time per phase of `Engine.decide` (python backend), measured inside real decisions:
    the engine's phase functions are wrapped with timers (~0.3 us each), and `total` fresh
    stored states (read back from a snapshot store) are decided; the run with the least total
    time of `reps` is shown, so other load on the machine counts as little as it can."""
    clock = time.process_time
    took: dict[str, float] = {}

    def timed(fn: Any, key: str) -> Any:
        def run(*args: Any, **kw: Any) -> Any:
            t = clock()
            try:
                return fn(*args, **kw)
            finally:
                took[key] = took.get(key, 0.0) + clock() - t

        return run

    engine_mod.compute_facts = timed(engine_mod.compute_facts, "facts")
    engine_mod.evaluate = timed(engine_mod.evaluate, "compliance gate")
    engine_mod.state_digest = timed(engine_mod.state_digest, "input digest")
    engine_mod.decision_id = timed(engine_mod.decision_id, "content id")
    Engine.match = timed(Engine.match, "rule matching")  # type: ignore[method-assign]
    Engine._match_of = timed(Engine._match_of, "trace (Match per matching rule)")  # type: ignore[method-assign]
    engine = Engine(rules)
    stored = chunks(total, total, seed)  # the snapshot store lives as long as the generator
    chunk = next(stored)
    for state, at in chunk.read()[:200]:  # warm the per-rule-set caches (plans, code)
        engine.decide(state, at)
    runs = []
    for _ in range(reps):
        took.clear()
        own = chunk.read()  # fresh read-backs from the snapshot store
        t = clock()
        for s, at in own:
            engine.decide(s, at)
        runs.append((clock() - t, dict(took)))
    whole, parts = min(runs, key=lambda r: r[0])
    parts["Decision object, rest"] = whole - sum(parts.values())
    print(
        f"CPU time per decision inside Engine.decide, best of {reps} runs, {total:,} fresh states:"
    )
    for k, v in parts.items():
        print(f"  {k:34} {v / total * 1e6:8.1f} us")
    print(f"  {'total':34} {whole / total * 1e6:8.1f} us"
          f"  => {total / whole:,.0f} full decisions/s of CPU time")  # fmt: skip
