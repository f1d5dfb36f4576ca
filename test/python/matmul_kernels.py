"""The masked matmul the GPU matmul tests, the TMA tests and tzc's TMA test
(test/Frontend/tma_matmul.py) compile: C[M, N] = A[M, K] @ B[K, N], all
row-major and contiguous, edges masked with zero fill, fp32 accumulation
stored in C's type. WRAP wraps A's rows modulo M instead (as Triton's
matmul tutorial does), which no TMA tensor map can describe."""

import terrazzo as tz


@tz.jit
def masked_matmul(a, b, c, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr,
                  WRAP: tz.constexpr = False):
    rm = tz.program_id(0) * BM + tz.arange(0, BM)
    if WRAP:
        rm = rm % M
    rn = tz.program_id(1) * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        x = tz.load(a + rm[:, None] * K + (k + rk)[None, :], mask=(rm[:, None] < M) & ((k + rk)[None, :] < K),
                    other=0.0)
        y = tz.load(b + (k + rk)[:, None] * N + rn[None, :], mask=((k + rk)[:, None] < K) & (rn[None, :] < N),
                    other=0.0)
        acc = tz.dot(x, y, acc)
    tz.store(c + rm[:, None] * N + rn[None, :], acc.to(c.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))
