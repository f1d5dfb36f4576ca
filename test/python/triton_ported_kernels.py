"""Triton kernels as Triton users write them, with only the imports changed
(`triton` -> `terrazzo.triton_compat`). The tutorials' vector add, fused
softmax, grouped matmul and layer norm, plus kernels for the rest of the
language: reduce/associative_scan with combine functions, join/split,
histogram, static_range(step=), range hints, autotune and heuristics.
test_triton_ported.py runs them against float64 references."""

import terrazzo.triton_compat as triton
import terrazzo.triton_compat.language as tl
from terrazzo.triton_compat.language.extra import libdevice


# --- tutorial 01: vector add --------------------------------------------------

@triton.jit
def add_kernel(x_ptr, y_ptr, output_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    block_start = pid * BLOCK_SIZE
    offsets = block_start + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    output = x + y
    tl.store(output_ptr + offsets, output, mask=mask)


# --- tutorial 02: fused softmax (num_stages is a kernel parameter) -------------

@triton.jit
def softmax_kernel(output_ptr, input_ptr, input_row_stride, output_row_stride, n_rows, n_cols,
                   BLOCK_SIZE: tl.constexpr, num_stages: tl.constexpr):
    row_start = tl.program_id(0)
    row_step = tl.num_programs(0)
    for row_idx in tl.range(row_start, n_rows, row_step, num_stages=num_stages):
        row_start_ptr = input_ptr + row_idx * input_row_stride
        col_offsets = tl.arange(0, BLOCK_SIZE)
        input_ptrs = row_start_ptr + col_offsets
        mask = col_offsets < n_cols
        row = tl.load(input_ptrs, mask=mask, other=-float('inf'))
        row_minus_max = row - tl.max(row, axis=0)
        numerator = tl.exp(row_minus_max)
        denominator = tl.sum(numerator, axis=0)
        softmax_output = numerator / denominator
        output_row_start_ptr = output_ptr + row_idx * output_row_stride
        output_ptrs = output_row_start_ptr + col_offsets
        tl.store(output_ptrs, softmax_output, mask=mask)


# --- tutorial 03: matmul with grouped ordering, autotuned ----------------------

def matmul_configs():
    return [
        triton.Config({'BLOCK_SIZE_M': 16, 'BLOCK_SIZE_N': 16, 'BLOCK_SIZE_K': 16, 'GROUP_SIZE_M': 2}, num_stages=3,
                      num_warps=4),
        triton.Config({'BLOCK_SIZE_M': 32, 'BLOCK_SIZE_N': 32, 'BLOCK_SIZE_K': 32, 'GROUP_SIZE_M': 8}, num_stages=4,
                      num_warps=4),
    ]


@triton.jit
def leaky_relu(x):
    return tl.where(x >= 0, x, 0.01 * x)


@triton.autotune(configs=matmul_configs(), key=['M', 'N', 'K'])
@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_SIZE_M: tl.constexpr, BLOCK_SIZE_N: tl.constexpr, BLOCK_SIZE_K: tl.constexpr,
                  GROUP_SIZE_M: tl.constexpr, ACTIVATION: tl.constexpr):
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_SIZE_M)
    num_pid_n = tl.cdiv(N, BLOCK_SIZE_N)
    num_pid_in_group = GROUP_SIZE_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_SIZE_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_SIZE_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    offs_am = (pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)) % M
    offs_bn = (pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)) % N
    offs_k = tl.arange(0, BLOCK_SIZE_K)
    a_ptrs = a_ptr + (offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak)
    b_ptrs = b_ptr + (offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn)

    accumulator = tl.zeros((BLOCK_SIZE_M, BLOCK_SIZE_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_SIZE_K)):
        a = tl.load(a_ptrs, mask=offs_k[None, :] < K - k * BLOCK_SIZE_K, other=0.0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < K - k * BLOCK_SIZE_K, other=0.0)
        accumulator = tl.dot(a, b, accumulator)
        a_ptrs += BLOCK_SIZE_K * stride_ak
        b_ptrs += BLOCK_SIZE_K * stride_bk
    if ACTIVATION == "leaky_relu":
        accumulator = leaky_relu(accumulator)
    c = accumulator.to(tl.float16)

    offs_cm = pid_m * BLOCK_SIZE_M + tl.arange(0, BLOCK_SIZE_M)
    offs_cn = pid_n * BLOCK_SIZE_N + tl.arange(0, BLOCK_SIZE_N)
    c_ptrs = c_ptr + stride_cm * offs_cm[:, None] + stride_cn * offs_cn[None, :]
    c_mask = (offs_cm[:, None] < M) & (offs_cn[None, :] < N)
    tl.store(c_ptrs, c, mask=c_mask)


# --- tutorial 05: layer norm forward -------------------------------------------

@triton.jit
def _layer_norm_fwd_fused(X, Y, W, B, Mean, Rstd, stride, N, eps, BLOCK_SIZE: tl.constexpr):
    row = tl.program_id(0)
    Y += row * stride
    X += row * stride
    mean = 0
    _mean = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for off in range(0, N, BLOCK_SIZE):
        cols = off + tl.arange(0, BLOCK_SIZE)
        a = tl.load(X + cols, mask=cols < N, other=0.).to(tl.float32)
        _mean += a
    mean = tl.sum(_mean, axis=0) / N
    _var = tl.zeros([BLOCK_SIZE], dtype=tl.float32)
    for off in range(0, N, BLOCK_SIZE):
        cols = off + tl.arange(0, BLOCK_SIZE)
        x = tl.load(X + cols, mask=cols < N, other=0.).to(tl.float32)
        x = tl.where(cols < N, x - mean, 0.)
        _var += x * x
    var = tl.sum(_var, axis=0) / N
    rstd = 1 / tl.sqrt(var + eps)
    tl.store(Mean + row, mean)
    tl.store(Rstd + row, rstd)
    for off in range(0, N, BLOCK_SIZE):
        cols = off + tl.arange(0, BLOCK_SIZE)
        mask = cols < N
        w = tl.load(W + cols, mask=mask)
        b = tl.load(B + cols, mask=mask)
        x = tl.load(X + cols, mask=mask, other=0.).to(tl.float32)
        x_hat = (x - mean) * rstd
        y = x_hat * w + b
        tl.store(Y + cols, y, mask=mask)


# --- Welford mean/variance with tl.reduce and a combine function ----------------

@triton.jit
def welford_combine(mean_1, m2_1, weight_1, mean_2, m2_2, weight_2):
    delta = mean_2 - mean_1
    new_weight = weight_1 + weight_2
    w2_over_w = tl.where(new_weight == 0.0, 0.0, weight_2 / new_weight)
    return (
        mean_1 + delta * w2_over_w,
        m2_1 + m2_2 + delta * delta * weight_1 * w2_over_w,
        new_weight,
    )


@triton.jit
def welford_kernel(x_ptr, mean_ptr, var_ptr, n_cols, stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * stride + cols, mask=mask, other=0.0)
    weight = mask.to(tl.float32)
    m2 = tl.zeros([BLOCK], dtype=tl.float32)
    mean, m2, weight = tl.reduce((x, m2, weight), 0, welford_combine)
    tl.store(mean_ptr + row, mean)
    tl.store(var_ptr + row, m2 / weight)


# --- argmax with the first index on ties, as a tuple reduction ------------------

@triton.jit
def argmax_combine(value1, index1, value2, index2):
    take_left = (value1 > value2) | ((value1 == value2) & (index1 < index2))
    return tl.where(take_left, value1, value2), tl.where(take_left, index1, index2)


@triton.jit
def row_argmax_kernel(x_ptr, value_ptr, index_ptr, stride, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * stride + cols)
    v, i = tl.reduce((x, cols), 0, argmax_combine)
    tl.store(value_ptr + row, v)
    tl.store(index_ptr + row, i)


@triton.jit
def max_combine(a, b):
    return tl.maximum(a, b)


@triton.jit
def reduce_2d_kernel(x_ptr, out_ptr, BM: tl.constexpr, BN: tl.constexpr, AXIS: tl.constexpr, KEEP: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    x = tl.load(x_ptr + rows[:, None] * BN + cols[None, :])
    r = x.reduce(AXIS, max_combine, keep_dims=KEEP)
    if KEEP:
        full = tl.broadcast_to(r, (BM, BN))
    elif AXIS == 0:
        full = tl.broadcast_to(r[None, :], (BM, BN))
    else:
        full = tl.broadcast_to(r[:, None], (BM, BN))
    tl.store(out_ptr + rows[:, None] * BN + cols[None, :], full)


# --- scans: cumsum with a combine function, a linear recurrence ----------------

@triton.jit
def add_combine(a, b):
    return a + b


@triton.jit
def cumsum_kernel(x_ptr, out_ptr, BM: tl.constexpr, BN: tl.constexpr, AXIS: tl.constexpr, REVERSE: tl.constexpr):
    rows = tl.arange(0, BM)
    cols = tl.arange(0, BN)
    offs = rows[:, None] * BN + cols[None, :]
    x = tl.load(x_ptr + offs)
    tl.store(out_ptr + offs, tl.associative_scan(x, AXIS, add_combine, reverse=REVERSE))


@triton.jit
def recurrence_combine(a1, b1, a2, b2):
    # h -> a2 * (a1 * h + b1) + b2: composing affine maps (not commutative).
    return a1 * a2, a2 * b1 + b2


@triton.jit
def recurrence_kernel(a_ptr, b_ptr, h_ptr, BLOCK: tl.constexpr, REVERSE: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    a = tl.load(a_ptr + offs)
    b = tl.load(b_ptr + offs)
    _, h = tl.associative_scan((a, b), axis=0, combine_fn=recurrence_combine, reverse=REVERSE)
    tl.store(h_ptr + offs, h)


# --- join, split, interleave, flip, cat, histogram ------------------------------

@triton.jit
def join_split_kernel(a_ptr, b_ptr, joined_ptr, inter_ptr, lo_ptr, hi_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    a = tl.load(a_ptr + offs)
    b = tl.load(b_ptr + offs)
    j = tl.join(a, b)                                   # [BLOCK, 2]
    tl.store(joined_ptr + offs[:, None] * 2 + tl.arange(0, 2)[None, :], j)
    tl.store(inter_ptr + tl.arange(0, 2 * BLOCK), tl.interleave(a, b))
    lo, hi = tl.split(j * 2.0)
    tl.store(lo_ptr + offs, lo)
    tl.store(hi_ptr + offs, hi)


@triton.jit
def flip_cat_kernel(x_ptr, y_ptr, flip_ptr, cat_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    y = tl.load(y_ptr + offs)
    tl.store(flip_ptr + offs, tl.flip(x, 0))
    tl.store(cat_ptr + tl.arange(0, 2 * BLOCK), tl.cat(x, y, can_reorder=True))


@triton.jit
def histogram_kernel(x_ptr, hist_ptr, n, BLOCK: tl.constexpr, BINS: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0)
    h = tl.histogram(x, BINS, mask=mask)
    tl.atomic_add(hist_ptr + tl.arange(0, BINS), h)


# --- loops and small language features -------------------------------------------

@triton.jit(noinline=True)
def scaled(x, factor):
    return x * factor


@triton.jit
def loops_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    for i in tl.static_range(0, 8, step=2):                 # i = 0, 2, 4, 6
        acc += tl.load(x_ptr + i * BLOCK + offs)
    for j in tl.range(1, n, 2, num_stages=3, loop_unroll_factor=2, warp_specialize=False):
        acc += tl.load(x_ptr + j * BLOCK + offs)           # odd rows below n
    two = tl.constexpr(2)
    acc = scaled(acc, two.to(tl.float32))
    big = max(tl.max(acc, axis=0), 0.0)                    # Python max() on a run-time value
    tl.store(out_ptr + offs, acc / big)


@triton.heuristics({'EVEN_N': lambda args: args['n'] % args['BLOCK'] == 0})
@triton.jit
def scale_kernel(x_ptr, out_ptr, n, factor, BLOCK: tl.constexpr, EVEN_N: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    if EVEN_N:
        x = tl.load(x_ptr + offs)
        tl.store(out_ptr + offs, x * factor)
    else:
        x = tl.load(x_ptr + offs, mask=offs < n)
        tl.store(out_ptr + offs, x * factor, mask=offs < n)


@triton.jit
def math_kernel(x_ptr, out_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    y = libdevice.tanh(x) + tl.math.exp(x) + tl.extra.cuda.libdevice.sqrt(tl.abs(x))
    tl.store(out_ptr + offs, y + tl.softmax(x))


@triton.jit
def swizzle_kernel(out_i_ptr, out_j_ptr, SIZE_I: tl.constexpr, SIZE_J: tl.constexpr, SIZE_G: tl.constexpr):
    i = tl.arange(0, SIZE_I)[:, None] + tl.zeros([SIZE_I, SIZE_J], dtype=tl.int32)
    j = tl.arange(0, SIZE_J)[None, :] + tl.zeros([SIZE_I, SIZE_J], dtype=tl.int32)
    ni, nj = tl.swizzle2d(i, j, SIZE_I, SIZE_J, SIZE_G)
    offs = i * SIZE_J + j
    tl.store(out_i_ptr + offs, ni)
    tl.store(out_j_ptr + offs, nj)


@triton.jit
def int_ops_kernel(x_ptr, y_ptr, hi_ptr, or_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offs)
    y = tl.load(y_ptr + offs)
    tl.store(hi_ptr + offs, tl.umulhi(x, y))
    tl.store(or_ptr, tl.reduce_or(x, 0))


# --- tutorial 04: low-memory dropout (Philox random numbers) ---------------------

@triton.jit
def _seeded_dropout(x_ptr, output_ptr, n_elements, p, seed, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    block_start = pid * BLOCK_SIZE
    offsets = block_start + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    x = tl.load(x_ptr + offsets, mask=mask)
    random = tl.rand(seed, offsets)
    x_keep = random > p
    output = tl.where(x_keep, x / (1 - p), 0.0)
    tl.store(output_ptr + offsets, output, mask=mask)


@triton.jit
def random_streams_kernel(seed, bits_ptr, uniform_ptr, normal_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    r0, r1, r2, r3 = tl.randint4x(seed, offs)
    tl.store(bits_ptr + offs, r0)
    tl.store(bits_ptr + BLOCK + offs, r1)
    tl.store(bits_ptr + 2 * BLOCK + offs, r2)
    tl.store(bits_ptr + 3 * BLOCK + offs, r3)
    tl.store(uniform_ptr + offs, tl.rand(seed, offs))
    tl.store(normal_ptr + offs, tl.randn(seed, offs))


@triton.jit
def gather_kernel(src_ptr, index_ptr, out_ptr, N: tl.constexpr, K: tl.constexpr, M: tl.constexpr,
                  AXIS: tl.constexpr):
    # AXIS 0: src [N, M], index [K, M]; AXIS 1: src [M, N], index [M, K].
    if AXIS == 0:
        src = tl.load(src_ptr + tl.arange(0, N)[:, None] * M + tl.arange(0, M)[None, :])
        idx_offs = tl.arange(0, K)[:, None] * M + tl.arange(0, M)[None, :]
    else:
        src = tl.load(src_ptr + tl.arange(0, M)[:, None] * N + tl.arange(0, N)[None, :])
        idx_offs = tl.arange(0, M)[:, None] * K + tl.arange(0, K)[None, :]
    index = tl.load(index_ptr + idx_offs)
    tl.store(out_ptr + idx_offs, src.gather(index, AXIS))


@triton.jit
def sort_kernel(x_ptr, asc_ptr, desc_ptr, top_ptr, R: tl.constexpr, N: tl.constexpr, K: tl.constexpr):
    rows = tl.arange(0, R)[:, None]
    x = tl.load(x_ptr + rows * N + tl.arange(0, N)[None, :])
    tl.store(asc_ptr + rows * N + tl.arange(0, N)[None, :], tl.sort(x))
    tl.store(desc_ptr + rows * N + tl.arange(0, N)[None, :], x.sort(descending=True))
    tl.store(top_ptr + rows * K + tl.arange(0, K)[None, :], tl.topk(x, K))


@triton.jit
def bitonic_merge_kernel(x_ptr, out_ptr, N: tl.constexpr, DESCENDING: tl.constexpr):
    offs = tl.arange(0, N)
    tl.store(out_ptr + offs, tl.bitonic_merge(tl.load(x_ptr + offs), descending=DESCENDING))
