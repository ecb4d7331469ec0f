"""Process-wide tuning for a long-running Hookdoor process (`hookdoor serve`, `hookdoor worker`)."""

from __future__ import annotations

import gc

# CPython runs a young-generation collection every 700 net allocations of container objects. A server
# allocates a handful of dicts per request or delivery and frees nearly all of them by reference
# counting, so most of those collections find nothing, and each one also walks the survivors. Measured
# on the delivery worker, three runs each way in turn: 551, 393, 370 µs of CPU per delivery with the
# defaults; 344, 356, 280 µs with this.
YOUNG_GENERATION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Collect less often, and move what start-up made (modules, tables, compiled statements, all kept
    for the life of the process) out of the collector's sight. Call once, when start-up is done."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)
