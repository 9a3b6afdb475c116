"""The measurement loop every benchmark shares: contenders interleaved, GC paused, per call.

Machines here are shared and noisy, so each contender runs in every round, in a rotating order,
and the scripts report the best and the median round — and ratios between contenders measured
in the same run, never absolute times alone.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def measure(
    contenders: dict[str, Callable[[], Any]], rounds: int, calls: int
) -> dict[str, list[float]]:
    """Per-call seconds of each contender, one figure per round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            call = contenders[name]
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                elapsed = time.perf_counter() - start
            finally:
                if gc_was_enabled:
                    gc.enable()
            times[name].append(elapsed / calls)
    return times
