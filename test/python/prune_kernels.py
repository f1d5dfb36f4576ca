"""The kernel the autotuner pruning tests (test_autotune_prune.py and, in
child processes, test_gpu_autotune_prune.py) tune: large BLOCKs need more
shared memory than a block may use, or spill."""

import terrazzo as tz


@tz.jit
def sin_transpose(x, y, n, iters, BLOCK: tz.constexpr):
    # The transpose goes through shared memory (BLOCK * BLOCK * 4 bytes of
    # scratch); the loop keeps a whole BLOCK x BLOCK tile live in registers.
    rows = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    cols = tz.program_id(1) * BLOCK + tz.arange(0, BLOCK)
    t = tz.load(x + rows[:, None] * n + cols[None, :])
    acc = tz.zeros((BLOCK, BLOCK), dtype=tz.float32)
    for i in range(0, iters):
        acc = acc * 0.5 + tz.sin(t * (i + 1))
    tz.store(y + cols[:, None] * n + rows[None, :], tz.trans(acc))
