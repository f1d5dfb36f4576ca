"""Flash attention, forward and backward, in the Terrazzo kernel language.

Tensors are addressed as (batch, head, sequence, head_dim) through four
strides each, so (B, H, S, D), (B, S, H, D) and packed-QKV layouts all work
without copies. Q, O, dO, dQ have H heads and N_Q rows; K, V, dK, dV have H_KV
heads (H_KV divides H: MQA/GQA, query head h reads key/value head
h // (H // H_KV)) and N_K rows.

Masking: key j is visible to query i when j < n_k (n_k = N_K, or the
batch's entry of the optional int32 key-length tensor, clipped to N_K), and,
with CAUSAL, when j <= i + (n_k - N_Q): the diagonal is aligned bottom-right,
as for a query block appended to a key/value cache. MASK_MOD further hides
keys.

SCORE_MOD(score, b, h, q_idx, kv_idx) -> score is applied to the scaled score
(q . k * sm_scale) before masking; MASK_MOD(b, h, q_idx, kv_idx) -> bool keeps
a key where it is true. b and h (the query head) are scalars, q_idx a
(BLOCK_M, 1) and kv_idx a (1, BLOCK_N) int32 tile. Pass None when absent.
SCORE_MOD may take captured tensors after those five arguments: the kernels'
score_mod_arg0..3 (pointers, None when unused) are passed on in order;
MASK_MOD likewise takes mask_mod_arg0..3 after its four.
The backward differentiates SCORE_MOD (tz.derivative: d score_mod / d score)
and, in the dQ kernel, adds the gradient of every value it loads from
capture i into score_mod_grad{i} (float32, like the capture; None: not
wanted) with atomic adds.

LSE convention: the forward stores the natural-log log-sum-exp of each row's
final scores, lse = log(sum_j exp(score_ij)), as float32 in a contiguous
(B, H, N_Q) tensor; rows with no visible key get -inf (their output is 0).
The backward reads it back (multiplying by log2(e)) to recompute P without a
second pass over the keys. Delta (rowsum(dO * O)) is float32, contiguous
(B, H, N_Q) too.

Grids: forward, preprocess and dQ: (cdiv(N_Q, BLOCK_M), B * H);
dK/dV: (cdiv(N_K, BLOCK_N), B * H_KV).

HEAD_DIM_PADDED (a power of two >= HEAD_DIM, None means HEAD_DIM) lets a head
dimension such as 96 use a 128-wide tile with the extra columns masked.

Pointers that a flag disables (lse_ptr without STORE_LSE, seqlens_k_ptr
without HAS_SEQLENS_K) may be None: they are never touched.

Packed variable-length batches (VARLEN): q, o, dO, dQ hold the sequences'
rows one after another along the row dimension (N_Q rows in all), k, v, dK,
dV likewise (N_K rows); the host passes batch strides of 0 and B = the number
of sequences. Sequence b owns query rows [cu_seqlens_q[b], cu_seqlens_q[b+1])
and key rows [cu_seqlens_k[b], cu_seqlens_k[b+1]) (int32, clamped into the
tensors so that malformed offsets cannot reach outside them). Causal masking,
SCORE_MOD and MASK_MOD see in-sequence indices and b = the sequence. LSE and
delta are (H, N_Q): row h * N_Q + t for packed row t. The grids cover the
longest sequence (max_seqlen) instead of N_Q / N_K; programs past the end of
their sequence do no work.

Block sparsity (SPARSE_BLOCK, the block mask's block size; see
kernels/block_mask.py): the forward and dQ visit, for their row block
start_m // SPARSE_BLOCK, only the key blocks the mask lists as full (no
MASK_MOD call, no masking) or partial (masked); dK/dV visit the query blocks
of their key block from the transposed lists. BLOCK_M and BLOCK_N must divide
SPARSE_BLOCK: each listed block is walked in SPARSE_BLOCK // BLOCK_N (or
// BLOCK_M) tiles. The lists: sparse_counts_ptr holds, per (batch, head,
block) row, (number of partial, number of full) blocks; sparse_indices_ptr,
per row, sparse_cols partial block indices then sparse_cols full ones. Row =
b * sparse_stride_b + h * sparse_stride_h + block (a stride of 0 broadcasts
the mask over batches or heads). Not combined with CAUSAL, HAS_SEQLENS_K or
VARLEN (the host refuses): a full block has every key in range.
"""

import terrazzo as tz

# exp(x) == exp2(x * LOG2E): the kernels keep scores in log2 units so that
# every exponential is an exp2 and the softmax scale costs no extra multiply.
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453


# ---------------------------------------------------------------------------
# helpers (inlined into the kernels)
# ---------------------------------------------------------------------------

@tz.jit
def _load_rows(ptrs, rows, n_rows, offs_d, CHECK_ROWS: tz.constexpr, HEAD_DIM: tz.constexpr,
               HEAD_DIM_PADDED: tz.constexpr):
    # Masks are built only where they can be false, so full blocks of an
    # unpadded head dimension load without any predicate.
    if CHECK_ROWS:
        if HEAD_DIM == HEAD_DIM_PADDED:
            mask = rows[:, None] < n_rows
        else:
            mask = (rows[:, None] < n_rows) & (offs_d[None, :] < HEAD_DIM)
    else:
        if HEAD_DIM == HEAD_DIM_PADDED:
            mask = None
        else:
            mask = offs_d[None, :] < HEAD_DIM
    return tz.load(ptrs, mask=mask, other=0.0)


@tz.jit
def _store_rows(ptrs, value, rows, n_rows, offs_d, HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr):
    if HEAD_DIM == HEAD_DIM_PADDED:
        mask = rows[:, None] < n_rows
    else:
        mask = (rows[:, None] < n_rows) & (offs_d[None, :] < HEAD_DIM)
    tz.store(ptrs, value.to(ptrs.dtype.element_ty), mask=mask)


@tz.jit
def _keep(b, h, q_idx, kv_idx, N_Q, n_k, CAUSAL: tz.constexpr, MASK_MOD: tz.constexpr, mask_captures=()):
    keep = kv_idx < n_k
    if CAUSAL:
        keep = keep & (kv_idx <= q_idx + (n_k - N_Q))
    if MASK_MOD is not None:
        keep = keep & _apply_mod(MASK_MOD, (b, h, q_idx, kv_idx) + mask_captures).to(tz.int1)
    return keep


@tz.jit
def _captures(a0, a1, a2, a3):
    # The captured tensors given to a score_mod: the leading arguments that
    # are not None.
    if a0 is None:
        return ()
    if a1 is None:
        return (a0,)
    if a2 is None:
        return (a0, a1)
    if a3 is None:
        return (a0, a1, a2)
    return (a0, a1, a2, a3)


@tz.jit
def _apply_mod(F: tz.constexpr, args):
    # F(*args) for a score_mod's five (a mask_mod's four) arguments and up
    # to four captures.
    if len(args) == 4:
        return F(args[0], args[1], args[2], args[3])
    if len(args) == 5:
        return F(args[0], args[1], args[2], args[3], args[4])
    if len(args) == 6:
        return F(args[0], args[1], args[2], args[3], args[4], args[5])
    if len(args) == 7:
        return F(args[0], args[1], args[2], args[3], args[4], args[5], args[6])
    if len(args) == 8:
        return F(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7])
    return F(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8])


@tz.jit
def _score_mod_backward(ds, x, b, h, q_idx, kv_idx, SCORE_MOD: tz.constexpr, captures, capture_grads):
    # ds is the gradient of the loss in score_mod's result; returns it in
    # score_mod's input x (chain rule through the compiler-derived
    # derivative), and adds ds * d score_mod / d value into capture_grads[i]
    # for every value read from captures[i] (None: not wanted).
    args = (x, b, h, q_idx, kv_idx) + captures
    if capture_grads is not None:
        for i in tz.static_range(len(captures)):
            tz.add_load_gradients(SCORE_MOD, args, 5 + i, capture_grads[i], ds)
    return ds * _apply_mod(tz.derivative(SCORE_MOD, 0), args)


@tz.jit
def _scores_log2(qk, b, h, q_idx, kv_idx, N_Q, n_k, sm_scale, qk_scale, MASKED: tz.constexpr,
                 CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr, captures=(),
                 mask_captures=()):
    # Scores in log2 units, -inf where hidden. Without a SCORE_MOD the scale
    # and log2(e) fold into one multiply; a SCORE_MOD sees natural units.
    # q_idx and kv_idx broadcast to the tile: offs_m[:, None], offs_n[None, :]
    # for a [queries, keys] tile, the other way round for its transpose.
    if SCORE_MOD is None:
        s = qk * qk_scale
    else:
        s = _apply_mod(SCORE_MOD, (qk * sm_scale, b, h, q_idx, kv_idx) + captures) * LOG2E
    if MASKED:
        s = tz.where(_keep(b, h, q_idx, kv_idx, N_Q, n_k, CAUSAL, MASK_MOD, mask_captures), s, -float("inf"))
    return s


@tz.jit
def _kv_bounds(start_m, N_Q, n_k, CAUSAL: tz.constexpr, MASK_MOD: tz.constexpr, BLOCK_M: tz.constexpr,
               BLOCK_N: tz.constexpr):
    # Key range [0, hi) for query rows [start_m, start_m + BLOCK_M), split at
    # full_hi: blocks below it are visible to every row (no mask needed),
    # blocks from it on need the mask. Causal blocks past the last row's
    # diagonal are skipped entirely; hi <= 0 (rows before the first key under
    # bottom-right alignment) runs no iteration and leaves the rows at zero.
    if CAUSAL:
        diag = start_m + (n_k - N_Q)  # last key visible to the first row
        hi = tz.minimum(n_k, diag + BLOCK_M)
        full_hi = tz.maximum(tz.minimum(n_k, diag + 1), 0) // BLOCK_N * BLOCK_N
    else:
        hi = n_k
        full_hi = n_k // BLOCK_N * BLOCK_N
    if MASK_MOD is not None:
        full_hi = 0  # an opaque mask may hide anything
    return full_hi, hi


@tz.jit
def _batch_head(pid, n_heads):
    return pid // n_heads, pid % n_heads


@tz.jit
def _base(ptr, b, h, stride_b, stride_h):
    # 64-bit batch/head offsets: B * H * S * D may exceed 2**31 elements even
    # when one head's slice does not.
    return ptr + b.to(tz.int64) * stride_b + h.to(tz.int64) * stride_h


@tz.jit
def _key_length(seqlens_k_ptr, b, N_K, HAS_SEQLENS_K: tz.constexpr):
    if HAS_SEQLENS_K:
        n_k = tz.minimum(tz.load(seqlens_k_ptr + b).to(tz.int32), N_K)
    else:
        n_k = N_K
    return n_k


@tz.jit
def _sequence(cu_seqlens_q_ptr, cu_seqlens_k_ptr, seqlens_k_ptr, b, N_Q, N_K, VARLEN: tz.constexpr,
              HAS_SEQLENS_K: tz.constexpr):
    # (first query row, query count, first key row, key count) of batch b.
    # Packed offsets are clamped into [0, N] and made non-decreasing, so a
    # malformed cu_seqlens on the GPU (where the host cannot read it) gives
    # wrong rows, never out-of-bounds memory.
    if VARLEN:
        q_start = tz.minimum(tz.maximum(tz.load(cu_seqlens_q_ptr + b), 0), N_Q)
        q_end = tz.minimum(tz.maximum(tz.load(cu_seqlens_q_ptr + b + 1), q_start), N_Q)
        k_start = tz.minimum(tz.maximum(tz.load(cu_seqlens_k_ptr + b), 0), N_K)
        k_end = tz.minimum(tz.maximum(tz.load(cu_seqlens_k_ptr + b + 1), k_start), N_K)
        return q_start, q_end - q_start, k_start, k_end - k_start
    return 0, N_Q, 0, _key_length(seqlens_k_ptr, b, N_K, HAS_SEQLENS_K)


@tz.jit
def _seq_base(ptr, b, h, start, stride_b, stride_h, stride_n, VARLEN: tz.constexpr):
    # _base, moved to the sequence's first row in a packed tensor.
    base = _base(ptr, b, h, stride_b, stride_h)
    if VARLEN:
        base = base + start.to(tz.int64) * stride_n
    return base


@tz.jit
def _row_stats_offset(b, h, H, N_Q, q_start, VARLEN: tz.constexpr):
    # Where row 0 of (b, h) sits in the LSE / delta tensors: (B, H, N_Q), or
    # (H, N_Q) over the packed rows.
    if VARLEN:
        return h.to(tz.int64) * N_Q + q_start
    return (b * H + h).to(tz.int64) * N_Q


@tz.jit
def _sparse_row(counts_ptr, indices_ptr, b, h, block, stride_b, stride_h, cols):
    # The block mask's row for (b, h, block): (partial count, partial list,
    # full count, full list).
    row = b.to(tz.int64) * stride_b + h.to(tz.int64) * stride_h + block.to(tz.int64)
    n_partial = tz.load(counts_ptr + row * 2)
    n_full = tz.load(counts_ptr + row * 2 + 1)
    partial = indices_ptr + row * 2 * cols
    return n_partial, partial, n_full, partial + cols


@tz.jit
def _sparse_spans(block_list, n_blocks, SPARSE_BLOCK: tz.constexpr):
    # A block list as plain row ranges, whose loads the GPU pipeliner copies
    # ahead (it cannot where an address depends on a loaded index), plus the
    # blocks left to gather one by one. A list of consecutive blocks (the
    # full blocks of a window or of a document) is one range; otherwise its
    # first and its last block are ranges (a window's or a document's
    # partial blocks: the far edge and the diagonal) and the blocks between
    # them, list[1 : n - 1], are gathered. Returns (lo1, hi1, lo2, hi2,
    # number gathered). A list's first slot always exists, so both loads are
    # in bounds.
    first = tz.load(block_list)
    last = tz.load(block_list + tz.maximum(n_blocks - 1, 0))
    consecutive = last - first == n_blocks - 1
    hi1 = tz.where(n_blocks > 0, tz.where(consecutive, last + 1, first + 1), first)
    hi2 = tz.where(consecutive | (n_blocks < 2), last, last + 1)
    n_gathered = tz.where(consecutive, 0, tz.maximum(n_blocks - 2, 0))
    return first * SPARSE_BLOCK, hi1 * SPARSE_BLOCK, last * SPARSE_BLOCK, hi2 * SPARSE_BLOCK, n_gathered


@tz.jit
def _sparse_tile_start(block_list, t, SPARSE_BLOCK: tz.constexpr, TILE: tz.constexpr):
    # Tile t of a block list walked TILE rows at a time: listed block
    # t // (SPARSE_BLOCK // TILE), tile t % (SPARSE_BLOCK // TILE) inside it.
    tiles = SPARSE_BLOCK // TILE
    return tz.load(block_list + t // tiles) * SPARSE_BLOCK + (t % tiles) * TILE


# ---------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------

@tz.jit
def _fwd_tile(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
              b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
              MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
              HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
              captures=(), mask_captures=()):
    offs_d = tz.arange(0, HEAD_DIM_PADDED)
    offs_n = start_n + tz.arange(0, BLOCK_N)
    k = _load_rows(k_base + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd,
                   offs_n, n_k, offs_d, MASKED, HEAD_DIM, HEAD_DIM_PADDED)
    s = _scores_log2(tz.dot(q, k.T), b, h, offs_m[:, None], offs_n[None, :], N_Q, n_k, sm_scale,
                     qk_scale, MASKED, CAUSAL, SCORE_MOD, MASK_MOD, captures, mask_captures)
    m_new = tz.maximum(m_i, tz.max(s, axis=1))
    # While a row has seen no visible key its max is -inf, and
    # exp2(-inf - -inf) would be NaN; shifting by 0 instead gives
    # exp2(-inf) = 0, so such rows keep l = 0 and acc = 0.
    m_shift = tz.where(m_new == -float("inf"), 0.0, m_new)
    p = tz.exp2(s - m_shift[:, None])
    alpha = tz.exp2(m_i - m_shift)
    l_i = l_i * alpha + tz.sum(p, axis=1)
    v = _load_rows(v_base + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                   offs_n, n_k, offs_d, MASKED, HEAD_DIM, HEAD_DIM_PADDED)
    acc = tz.dot(p.to(v.dtype), v, acc * alpha[:, None])
    return acc, l_i, m_new


@tz.jit
def _fwd_inner(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
               b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo, hi,
               MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
               HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
               captures=(), mask_captures=()):
    for start_n in range(lo, hi, BLOCK_N):
        acc, l_i, m_i = _fwd_tile(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                  b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
                                  MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                                  captures, mask_captures)
    return acc, l_i, m_i


@tz.jit
def _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, block_list, n_blocks,
                MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
                HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
                SPARSE_BLOCK: tz.constexpr, captures=(), mask_captures=()):
    # The key blocks of a block-mask list, BLOCK_N keys at a time.
    lo1, hi1, lo2, hi2, n_gathered = _sparse_spans(block_list, n_blocks, SPARSE_BLOCK)
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                               b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo1, hi1,
                               MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                               captures, mask_captures)
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                               b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo2, hi2,
                               MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                               captures, mask_captures)
    for t in range(0, n_gathered * (SPARSE_BLOCK // BLOCK_N)):
        start_n = _sparse_tile_start(block_list + 1, t, SPARSE_BLOCK, BLOCK_N)
        acc, l_i, m_i = _fwd_tile(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                  b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
                                  MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                                  captures, mask_captures)
    return acc, l_i, m_i


@tz.jit
def flash_attention_fwd(q_ptr, k_ptr, v_ptr, o_ptr, lse_ptr, seqlens_k_ptr,
                        stride_qb, stride_qh, stride_qm, stride_qd,
                        stride_kb, stride_kh, stride_kn, stride_kd,
                        stride_vb, stride_vh, stride_vn, stride_vd,
                        stride_ob, stride_oh, stride_om, stride_od,
                        H, H_KV, N_Q, N_K, sm_scale,
                        HEAD_DIM: tz.constexpr, BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr,
                        CAUSAL: tz.constexpr = False, HEAD_DIM_PADDED: tz.constexpr = None,
                        STORE_LSE: tz.constexpr = False, HAS_SEQLENS_K: tz.constexpr = False,
                        SCORE_MOD: tz.constexpr = None, MASK_MOD: tz.constexpr = None,
                        VARLEN: tz.constexpr = False, cu_seqlens_q_ptr=None, cu_seqlens_k_ptr=None,
                        SPARSE_BLOCK: tz.constexpr = None, sparse_counts_ptr=None, sparse_indices_ptr=None,
                        sparse_stride_b=0, sparse_stride_h=0, sparse_cols=0,
                        score_mod_arg0=None, score_mod_arg1=None, score_mod_arg2=None, score_mod_arg3=None,
                        mask_mod_arg0=None, mask_mod_arg1=None, mask_mod_arg2=None, mask_mod_arg3=None):
    D_PAD = HEAD_DIM if HEAD_DIM_PADDED is None else HEAD_DIM_PADDED
    captures = _captures(score_mod_arg0, score_mod_arg1, score_mod_arg2, score_mod_arg3)
    mask_captures = _captures(mask_mod_arg0, mask_mod_arg1, mask_mod_arg2, mask_mod_arg3)
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b, h = _batch_head(bh, H)
    h_kv = h // (H // H_KV)
    q_start, n_q, k_start, n_k = _sequence(cu_seqlens_q_ptr, cu_seqlens_k_ptr, seqlens_k_ptr, b, N_Q, N_K,
                                           VARLEN, HAS_SEQLENS_K)

    offs_m = start_m + tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, D_PAD)
    q_base = _seq_base(q_ptr, b, h, q_start, stride_qb, stride_qh, stride_qm, VARLEN)
    k_base = _seq_base(k_ptr, b, h_kv, k_start, stride_kb, stride_kh, stride_kn, VARLEN)
    v_base = _seq_base(v_ptr, b, h_kv, k_start, stride_vb, stride_vh, stride_vn, VARLEN)
    q = _load_rows(q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                   offs_m, n_q, offs_d, True, HEAD_DIM, D_PAD)

    qk_scale = sm_scale * LOG2E
    m_i = tz.full((BLOCK_M,), -float("inf"), tz.float32)
    l_i = tz.zeros((BLOCK_M,), dtype=tz.float32)
    acc = tz.zeros((BLOCK_M, D_PAD), dtype=tz.float32)
    if SPARSE_BLOCK is None:
        full_hi, hi = _kv_bounds(start_m, n_q, n_k, CAUSAL, MASK_MOD, BLOCK_M, BLOCK_N)
        if VARLEN:  # programs past the end of a short sequence visit nothing
            hi = tz.where(start_m < n_q, hi, 0)
            full_hi = tz.minimum(full_hi, hi)
        acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                   b, h, offs_m, n_q, n_k, sm_scale, qk_scale, 0, full_hi,
                                   False, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N,
                                   captures, mask_captures)
        acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                   b, h, offs_m, n_q, n_k, sm_scale, qk_scale, full_hi, hi,
                                   True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N,
                                   captures, mask_captures)
    else:
        n_partial, partial, n_full, full = _sparse_row(sparse_counts_ptr, sparse_indices_ptr, b, h,
                                                       start_m // SPARSE_BLOCK, sparse_stride_b, sparse_stride_h,
                                                       sparse_cols)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                    b, h, offs_m, n_q, n_k, sm_scale, qk_scale, full, n_full,
                                    False, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N, SPARSE_BLOCK,
                                    captures, mask_captures)
        acc, l_i, m_i = _fwd_blocks(acc, l_i, m_i, q, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                                    b, h, offs_m, n_q, n_k, sm_scale, qk_scale, partial, n_partial,
                                    True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N, SPARSE_BLOCK,
                                    captures, mask_captures)

    # A row with no visible key has l = 0 and acc = 0: dividing by 1 there
    # gives the zeros a fully masked row should produce, never 0/0.
    has_keys = l_i > 0.0
    l_safe = tz.where(has_keys, l_i, 1.0)
    o_base = _seq_base(o_ptr, b, h, q_start, stride_ob, stride_oh, stride_om, VARLEN)
    _store_rows(o_base + offs_m[:, None] * stride_om + offs_d[None, :] * stride_od, acc / l_safe[:, None],
                offs_m, n_q, offs_d, HEAD_DIM, D_PAD)
    if STORE_LSE:
        lse = tz.where(has_keys, (m_i + tz.log2(l_safe)) * LN2, -float("inf"))
        tz.store(lse_ptr + _row_stats_offset(b, h, H, N_Q, q_start, VARLEN) + offs_m, lse, mask=offs_m < n_q)


# ---------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------

@tz.jit
def flash_attention_bwd_preprocess(o_ptr, do_ptr, delta_ptr,
                                   stride_ob, stride_oh, stride_om, stride_od,
                                   stride_dob, stride_doh, stride_dom, stride_dod,
                                   H, N_Q,
                                   HEAD_DIM: tz.constexpr, BLOCK_M: tz.constexpr,
                                   HEAD_DIM_PADDED: tz.constexpr = None):
    # delta_i = sum_j P_ij dP_ij = dO_i . O_i: the softmax-gradient term,
    # computed once per row instead of once per key block.
    D_PAD = HEAD_DIM if HEAD_DIM_PADDED is None else HEAD_DIM_PADDED
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b, h = _batch_head(bh, H)
    offs_m = start_m + tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, D_PAD)
    o = _load_rows(_base(o_ptr, b, h, stride_ob, stride_oh) + offs_m[:, None] * stride_om
                   + offs_d[None, :] * stride_od, offs_m, N_Q, offs_d, True, HEAD_DIM, D_PAD)
    do = _load_rows(_base(do_ptr, b, h, stride_dob, stride_doh) + offs_m[:, None] * stride_dom
                    + offs_d[None, :] * stride_dod, offs_m, N_Q, offs_d, True, HEAD_DIM, D_PAD)
    delta = tz.sum(o.to(tz.float32) * do.to(tz.float32), axis=1)
    tz.store(delta_ptr + bh.to(tz.int64) * N_Q + offs_m, delta, mask=offs_m < N_Q)


@tz.jit
def _load_lse_log2(lse_ptr, offs_m, N_Q):
    # Rows past N_Q read +inf so their P is exp2(s - inf) = 0 and they add
    # nothing to dK/dV. Rows with no visible key stored -inf; +inf does the
    # same for them where s - (-inf) would be NaN or +inf.
    lse = tz.load(lse_ptr + offs_m, mask=offs_m < N_Q, other=float("inf"))
    return tz.where(lse == -float("inf"), float("inf"), lse * LOG2E)


@tz.jit
def _dkdv_tile(dk, dv, k, v, q_base, do_base, lse_row, delta_row, stride_qm, stride_qd, stride_dom, stride_dod,
               b, h, offs_n, n_q, n_k, sm_scale, qk_scale, start_m,
               MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
               HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_M: tz.constexpr,
               captures=(), mask_captures=()):
    offs_m = start_m + tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, HEAD_DIM_PADDED)
    q = _load_rows(q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                   offs_m, n_q, offs_d, True, HEAD_DIM, HEAD_DIM_PADDED)
    do = _load_rows(do_base + offs_m[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                    offs_m, n_q, offs_d, True, HEAD_DIM, HEAD_DIM_PADDED)
    lse2 = _load_lse_log2(lse_row, offs_m, n_q)
    delta = tz.load(delta_row + offs_m, mask=offs_m < n_q, other=0.0)
    # Transposed, keys along rows: P^T and dS^T come out of their
    # dots in the accumulator layout that the next dot takes its A
    # operand from registers in, and q and do are read from shared
    # memory both ways.
    qk_t = tz.dot(k, q.T)
    s_t = _scores_log2(qk_t, b, h, offs_m[None, :], offs_n[:, None], n_q, n_k, sm_scale,
                       qk_scale, MASKED, CAUSAL, SCORE_MOD, MASK_MOD, captures, mask_captures)
    p_t = tz.exp2(s_t - lse2[None, :])
    dv = tz.dot(p_t.to(do.dtype), do, dv)
    dp_t = tz.dot(v, do.T)
    ds_t = p_t * (dp_t - delta[None, :])
    if SCORE_MOD is not None:
        # The captures' gradients are the dQ kernel's to add.
        ds_t = _score_mod_backward(ds_t, qk_t * sm_scale, b, h, offs_m[None, :], offs_n[:, None],
                                   SCORE_MOD, captures, None)
    dk = tz.dot(ds_t.to(q.dtype), q, dk)
    return dk, dv


@tz.jit
def _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_row, delta_row, stride_qm, stride_qd, stride_dom, stride_dod,
                 b, h, offs_n, n_q, n_k, sm_scale, qk_scale, block_list, n_blocks,
                 MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
                 HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_M: tz.constexpr,
                 SPARSE_BLOCK: tz.constexpr, captures=(), mask_captures=()):
    # The query blocks of a transposed block-mask list, BLOCK_M rows at a time.
    lo1, hi1, lo2, hi2, n_gathered = _sparse_spans(block_list, n_blocks, SPARSE_BLOCK)
    for start_m in range(lo1, hi1, BLOCK_M):
        dk, dv = _dkdv_tile(dk, dv, k, v, q_base, do_base, lse_row, delta_row, stride_qm, stride_qd, stride_dom,
                            stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale, start_m,
                            MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_M,
                            captures, mask_captures)
    for start_m in range(lo2, hi2, BLOCK_M):
        dk, dv = _dkdv_tile(dk, dv, k, v, q_base, do_base, lse_row, delta_row, stride_qm, stride_qd, stride_dom,
                            stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale, start_m,
                            MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_M,
                            captures, mask_captures)
    for t in range(0, n_gathered * (SPARSE_BLOCK // BLOCK_M)):
        start_m = _sparse_tile_start(block_list + 1, t, SPARSE_BLOCK, BLOCK_M)
        dk, dv = _dkdv_tile(dk, dv, k, v, q_base, do_base, lse_row, delta_row, stride_qm, stride_qd, stride_dom,
                            stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale, start_m,
                            MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_M,
                            captures, mask_captures)
    return dk, dv


@tz.jit
def flash_attention_bwd_dkdv(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr, seqlens_k_ptr,
                             stride_qb, stride_qh, stride_qm, stride_qd,
                             stride_kb, stride_kh, stride_kn, stride_kd,
                             stride_vb, stride_vh, stride_vn, stride_vd,
                             stride_dob, stride_doh, stride_dom, stride_dod,
                             stride_dkb, stride_dkh, stride_dkn, stride_dkd,
                             stride_dvb, stride_dvh, stride_dvn, stride_dvd,
                             H, H_KV, N_Q, N_K, sm_scale,
                             HEAD_DIM: tz.constexpr, BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr,
                             CAUSAL: tz.constexpr = False, HEAD_DIM_PADDED: tz.constexpr = None,
                             HAS_SEQLENS_K: tz.constexpr = False,
                             SCORE_MOD: tz.constexpr = None, MASK_MOD: tz.constexpr = None,
                             VARLEN: tz.constexpr = False, cu_seqlens_q_ptr=None, cu_seqlens_k_ptr=None,
                             SPARSE_BLOCK: tz.constexpr = None, sparse_counts_ptr=None, sparse_indices_ptr=None,
                             sparse_stride_b=0, sparse_stride_h=0, sparse_cols=0,
                             score_mod_arg0=None, score_mod_arg1=None, score_mod_arg2=None, score_mod_arg3=None,
                             mask_mod_arg0=None, mask_mod_arg1=None, mask_mod_arg2=None, mask_mod_arg3=None):
    # One program owns one key block of one key/value head and visits every
    # query head of its group, so dK and dV are summed over the group in
    # registers and written once, with no atomics.
    D_PAD = HEAD_DIM if HEAD_DIM_PADDED is None else HEAD_DIM_PADDED
    start_n = tz.program_id(0) * BLOCK_N
    b, h_kv = _batch_head(tz.program_id(1), H_KV)
    group = H // H_KV
    q_start, n_q, k_start, n_k = _sequence(cu_seqlens_q_ptr, cu_seqlens_k_ptr, seqlens_k_ptr, b, N_Q, N_K,
                                           VARLEN, HAS_SEQLENS_K)

    offs_n = start_n + tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, D_PAD)
    k = _load_rows(_seq_base(k_ptr, b, h_kv, k_start, stride_kb, stride_kh, stride_kn, VARLEN)
                   + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd, offs_n, n_k, offs_d, True, HEAD_DIM,
                   D_PAD)
    v = _load_rows(_seq_base(v_ptr, b, h_kv, k_start, stride_vb, stride_vh, stride_vn, VARLEN)
                   + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd, offs_n, n_k, offs_d, True, HEAD_DIM,
                   D_PAD)
    dk = tz.zeros((BLOCK_N, D_PAD), dtype=tz.float32)
    dv = tz.zeros((BLOCK_N, D_PAD), dtype=tz.float32)

    # Causal: query rows before start_n - (n_k - n_q) see none of these keys.
    # A block entirely in the key padding has no query to visit.
    if CAUSAL:
        lo = tz.maximum(start_n - (n_k - n_q), 0) // BLOCK_M * BLOCK_M
    else:
        lo = 0
    hi = tz.where(start_n < n_k, n_q, 0)

    qk_scale = sm_scale * LOG2E
    captures = _captures(score_mod_arg0, score_mod_arg1, score_mod_arg2, score_mod_arg3)
    mask_captures = _captures(mask_mod_arg0, mask_mod_arg1, mask_mod_arg2, mask_mod_arg3)
    for g in range(0, group):
        h = h_kv * group + g
        q_base = _seq_base(q_ptr, b, h, q_start, stride_qb, stride_qh, stride_qm, VARLEN)
        do_base = _seq_base(do_ptr, b, h, q_start, stride_dob, stride_doh, stride_dom, VARLEN)
        row0 = _row_stats_offset(b, h, H, N_Q, q_start, VARLEN)
        if SPARSE_BLOCK is None:
            for start_m in range(lo, hi, BLOCK_M):
                dk, dv = _dkdv_tile(dk, dv, k, v, q_base, do_base, lse_ptr + row0, delta_ptr + row0, stride_qm,
                                    stride_qd, stride_dom, stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale,
                                    start_m, True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_M,
                                    captures, mask_captures)
        else:
            n_partial, partial, n_full, full = _sparse_row(sparse_counts_ptr, sparse_indices_ptr, b, h,
                                                           start_n // SPARSE_BLOCK, sparse_stride_b,
                                                           sparse_stride_h, sparse_cols)
            dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_ptr + row0, delta_ptr + row0, stride_qm,
                                  stride_qd, stride_dom, stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale,
                                  full, n_full, False, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_M,
                                  SPARSE_BLOCK, captures, mask_captures)
            dk, dv = _dkdv_blocks(dk, dv, k, v, q_base, do_base, lse_ptr + row0, delta_ptr + row0, stride_qm,
                                  stride_qd, stride_dom, stride_dod, b, h, offs_n, n_q, n_k, sm_scale, qk_scale,
                                  partial, n_partial, True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_M,
                                  SPARSE_BLOCK, captures, mask_captures)

    # dS is the gradient of the scaled score; the scale comes back once here.
    # Rows past a packed sequence's keys belong to the next sequence.
    k_rows = n_k if VARLEN else N_K
    _store_rows(_seq_base(dk_ptr, b, h_kv, k_start, stride_dkb, stride_dkh, stride_dkn, VARLEN)
                + offs_n[:, None] * stride_dkn + offs_d[None, :] * stride_dkd, dk * sm_scale, offs_n, k_rows, offs_d,
                HEAD_DIM, D_PAD)
    _store_rows(_seq_base(dv_ptr, b, h_kv, k_start, stride_dvb, stride_dvh, stride_dvn, VARLEN)
                + offs_n[:, None] * stride_dvn + offs_d[None, :] * stride_dvd, dv, offs_n, k_rows, offs_d,
                HEAD_DIM, D_PAD)


@tz.jit
def _dq_tile(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
             b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
             MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
             HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
             captures=(), capture_grads=None, mask_captures=()):
    offs_d = tz.arange(0, HEAD_DIM_PADDED)
    offs_n = start_n + tz.arange(0, BLOCK_N)
    k = _load_rows(k_base + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd,
                   offs_n, n_k, offs_d, MASKED, HEAD_DIM, HEAD_DIM_PADDED)
    v = _load_rows(v_base + offs_n[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                   offs_n, n_k, offs_d, MASKED, HEAD_DIM, HEAD_DIM_PADDED)
    qk = tz.dot(q, k.T)
    s = _scores_log2(qk, b, h, offs_m[:, None], offs_n[None, :], N_Q, n_k, sm_scale,
                     qk_scale, MASKED, CAUSAL, SCORE_MOD, MASK_MOD, captures, mask_captures)
    p = tz.exp2(s - lse2[:, None])
    ds = p * (tz.dot(do, v.T) - delta[:, None])
    if SCORE_MOD is not None:
        ds = _score_mod_backward(ds, qk * sm_scale, b, h, offs_m[:, None], offs_n[None, :], SCORE_MOD,
                                 captures, capture_grads)
    return tz.dot(ds.to(k.dtype), k, dq)


@tz.jit
def _dq_inner(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
              b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo, hi,
              MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
              HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
              captures=(), capture_grads=None, mask_captures=()):
    for start_n in range(lo, hi, BLOCK_N):
        dq = _dq_tile(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                      b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
                      MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                      captures, capture_grads, mask_captures)
    return dq


@tz.jit
def _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
               b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, block_list, n_blocks,
               MASKED: tz.constexpr, CAUSAL: tz.constexpr, SCORE_MOD: tz.constexpr, MASK_MOD: tz.constexpr,
               HEAD_DIM: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr, BLOCK_N: tz.constexpr,
               SPARSE_BLOCK: tz.constexpr, captures=(), capture_grads=None, mask_captures=()):
    lo1, hi1, lo2, hi2, n_gathered = _sparse_spans(block_list, n_blocks, SPARSE_BLOCK)
    dq = _dq_inner(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                   b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo1, hi1,
                   MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                   captures, capture_grads, mask_captures)
    dq = _dq_inner(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                   b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, lo2, hi2,
                   MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                   captures, capture_grads, mask_captures)
    for t in range(0, n_gathered * (SPARSE_BLOCK // BLOCK_N)):
        start_n = _sparse_tile_start(block_list + 1, t, SPARSE_BLOCK, BLOCK_N)
        dq = _dq_tile(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                      b, h, offs_m, N_Q, n_k, sm_scale, qk_scale, start_n,
                      MASKED, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, HEAD_DIM_PADDED, BLOCK_N,
                      captures, capture_grads, mask_captures)
    return dq


@tz.jit
def flash_attention_bwd_dq(q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr, seqlens_k_ptr,
                           stride_qb, stride_qh, stride_qm, stride_qd,
                           stride_kb, stride_kh, stride_kn, stride_kd,
                           stride_vb, stride_vh, stride_vn, stride_vd,
                           stride_dob, stride_doh, stride_dom, stride_dod,
                           stride_dqb, stride_dqh, stride_dqm, stride_dqd,
                           H, H_KV, N_Q, N_K, sm_scale,
                           HEAD_DIM: tz.constexpr, BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr,
                           CAUSAL: tz.constexpr = False, HEAD_DIM_PADDED: tz.constexpr = None,
                           HAS_SEQLENS_K: tz.constexpr = False,
                           SCORE_MOD: tz.constexpr = None, MASK_MOD: tz.constexpr = None,
                           VARLEN: tz.constexpr = False, cu_seqlens_q_ptr=None, cu_seqlens_k_ptr=None,
                           SPARSE_BLOCK: tz.constexpr = None, sparse_counts_ptr=None, sparse_indices_ptr=None,
                           sparse_stride_b=0, sparse_stride_h=0, sparse_cols=0,
                           score_mod_arg0=None, score_mod_arg1=None, score_mod_arg2=None, score_mod_arg3=None,
                           score_mod_grad0=None, score_mod_grad1=None, score_mod_grad2=None, score_mod_grad3=None,
                           mask_mod_arg0=None, mask_mod_arg1=None, mask_mod_arg2=None, mask_mod_arg3=None):
    # A separate pass for dQ (rather than atomics from the dK/dV kernel)
    # keeps the result deterministic; it walks the same key range as the
    # forward.
    D_PAD = HEAD_DIM if HEAD_DIM_PADDED is None else HEAD_DIM_PADDED
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b, h = _batch_head(bh, H)
    h_kv = h // (H // H_KV)
    q_start, n_q, k_start, n_k = _sequence(cu_seqlens_q_ptr, cu_seqlens_k_ptr, seqlens_k_ptr, b, N_Q, N_K,
                                           VARLEN, HAS_SEQLENS_K)

    offs_m = start_m + tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, D_PAD)
    q = _load_rows(_seq_base(q_ptr, b, h, q_start, stride_qb, stride_qh, stride_qm, VARLEN)
                   + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd, offs_m, n_q, offs_d, True, HEAD_DIM,
                   D_PAD)
    do = _load_rows(_seq_base(do_ptr, b, h, q_start, stride_dob, stride_doh, stride_dom, VARLEN)
                    + offs_m[:, None] * stride_dom + offs_d[None, :] * stride_dod, offs_m, n_q, offs_d, True,
                    HEAD_DIM, D_PAD)
    row0 = _row_stats_offset(b, h, H, N_Q, q_start, VARLEN)
    lse2 = _load_lse_log2(lse_ptr + row0, offs_m, n_q)
    delta = tz.load(delta_ptr + row0 + offs_m, mask=offs_m < n_q, other=0.0)
    k_base = _seq_base(k_ptr, b, h_kv, k_start, stride_kb, stride_kh, stride_kn, VARLEN)
    v_base = _seq_base(v_ptr, b, h_kv, k_start, stride_vb, stride_vh, stride_vn, VARLEN)

    qk_scale = sm_scale * LOG2E
    captures = _captures(score_mod_arg0, score_mod_arg1, score_mod_arg2, score_mod_arg3)
    capture_grads = (score_mod_grad0, score_mod_grad1, score_mod_grad2, score_mod_grad3)
    mask_captures = _captures(mask_mod_arg0, mask_mod_arg1, mask_mod_arg2, mask_mod_arg3)
    dq = tz.zeros((BLOCK_M, D_PAD), dtype=tz.float32)
    if SPARSE_BLOCK is None:
        full_hi, hi = _kv_bounds(start_m, n_q, n_k, CAUSAL, MASK_MOD, BLOCK_M, BLOCK_N)
        if VARLEN:
            hi = tz.where(start_m < n_q, hi, 0)
            full_hi = tz.minimum(full_hi, hi)
        dq = _dq_inner(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                       b, h, offs_m, n_q, n_k, sm_scale, qk_scale, 0, full_hi,
                       False, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N,
                       captures, capture_grads, mask_captures)
        dq = _dq_inner(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                       b, h, offs_m, n_q, n_k, sm_scale, qk_scale, full_hi, hi,
                       True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N,
                       captures, capture_grads, mask_captures)
    else:
        n_partial, partial, n_full, full = _sparse_row(sparse_counts_ptr, sparse_indices_ptr, b, h,
                                                       start_m // SPARSE_BLOCK, sparse_stride_b, sparse_stride_h,
                                                       sparse_cols)
        dq = _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                        b, h, offs_m, n_q, n_k, sm_scale, qk_scale, full, n_full,
                        False, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N, SPARSE_BLOCK,
                        captures, capture_grads, mask_captures)
        dq = _dq_blocks(dq, q, do, lse2, delta, k_base, v_base, stride_kn, stride_kd, stride_vn, stride_vd,
                        b, h, offs_m, n_q, n_k, sm_scale, qk_scale, partial, n_partial,
                        True, CAUSAL, SCORE_MOD, MASK_MOD, HEAD_DIM, D_PAD, BLOCK_N, SPARSE_BLOCK,
                        captures, capture_grads, mask_captures)
    _store_rows(_seq_base(dq_ptr, b, h, q_start, stride_dqb, stride_dqh, stride_dqm, VARLEN)
                + offs_m[:, None] * stride_dqm + offs_d[None, :] * stride_dqd, dq * sm_scale, offs_m, n_q, offs_d,
                HEAD_DIM, D_PAD)
