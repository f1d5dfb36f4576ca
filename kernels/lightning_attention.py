"""Lightning attention: causal linear attention with a per-head exponential
decay, forward, backward and decode, in the Terrazzo kernel language.

The recurrence (per batch b and head h, lambda = exp(-s_h), q already
multiplied by the scale):

    S_t = lambda * S_{t-1} + k_t^T v_t        (S: Dk x Dv, float32, S_{-1} = S_0)
    o_t = q_t S_t

so o_i = sum_{j <= i} lambda^(i - j) (q_i . k_j) v_j + lambda^(i + 1) q_i S_0.

Chunked algorithm (chunks of CHUNK rows; a chunk starting at row c0 holds L
valid rows, L < CHUNK only for the last one):

  * lightning_chunk_states walks the chunks of one (b, h) in order (of one
    segment, below), one (BLOCK_A, BLOCK_B) tile of the float32 state per
    program, and stores the state *entering* each chunk (the carried state)
    into a scratch of shape (B * H, NT, DA, DB) (in the input dtype: it is
    only ever read as a tensor-core operand), updating it by
        M <- lambda^L M + sum_j lambda^(L - 1 - r_j) a_j^T b_j    (r_j = j - c0)
    With REVERSE it walks from the last chunk to the first and adds
        M <- lambda^L M + sum_i lambda^(r_i + 1) a_i^T b_i
    which is the carried state of the backward (see below).
  * lightning_chunk_output computes every chunk independently from its
    carried state: masked, decayed quadratic attention inside the chunk plus
    one product with the state,
        forward:  out_i = x_s * sum_{c0 <= j <= i} lambda^(i - j) (q_i . k_j) v_j
                        + y_s * lambda^(r_i + 1) q_i M
        REVERSE:  out_j = x_s * sum_{j <= i < c0 + L} lambda^(i - j) (q_j . k_i) v_i
                        + y_s * lambda^(L - 1 - r_j) q_j M
    (x_s = intra_scale, y_s = inter_scale).

Segments: the states pass is split into segments of chunks_per_seg chunks
that run in parallel, each from a zero state (the first from the initial
state), storing each chunk's state relative to its segment and the
segment's own total; lightning_segment_scan chains the totals into the
state entering each segment (E_{s+1} = lambda^len_s E_s + total_s) and the
final state, and lightning_chunk_output adds lambda^gap E_s to the chunk's
state (gap: the rows between the segment's start and the chunk's; from the
chunk's end to the segment's end in REVERSE). The sequential work per
program is one segment, not the whole sequence.

The forward is states(a=k, b=v) then output(q, k, v, M=S). The backward,
with dS_f the gradient of the final state, R the reverse carried state
(R of the last chunk = dS_f, R after the first chunk = dS_0):

    dq = scale * output(do, v, k, M = S^T)                     (forward mask)
    R  = states(a = q, b = do, a_scale = scale, REVERSE, init = dS_f)
    dk = output(v, do, q, M = R^T, intra_scale = scale)        (REVERSE)
    dv = output(k, q, do, M = R,   intra_scale = scale)        (REVERSE)

lightning_backward_states runs the two states passes (forward S, reverse R)
in one launch, side by side; lightning_chunk_dqdk computes dq and dk in one
pass (the weighted do v^T of a chunk serves both, transposed for dk).

FEATURE_MAP(x) (an elementwise @tz.jit function of a float32 tile, or None)
maps q and k where they are loaded (linear attention with a kernel feature
map: phi(q_t) S_t with S_t built from phi(k_t)); the backward applies
FEATURE_MAP_GRAD(x, g) (the map's derivative at x times g) to the gradients
of the mapped q and k.

The decay enters only through _decay_pow (lambda^n = exp2(-g n) with
g = s * log2(e)); a variant with another decay rule changes that function
and the exponents passed to it (docs/linear-attention.md).

Tensors are addressed through four strides each ((B, H, S, D) logical
order), so (B, S, H, D) memory needs no copy. States are float32 (B, H, Dk,
Dv) with any strides. decay is a float32 (H,) tensor of slopes s >= 0.
Grids: states (DA / BLOCK_A, DB / BLOCK_B, B * H * n_segs); scan (DA /
BLOCK_A, DB / BLOCK_B, B * H); output (cdiv(N, CHUNK), D_V / BLOCK_V, B * H);
decode (DV / BLOCK_V, B * H).
"""

import terrazzo as tz

LOG2E = 1.4426950408889634


# ---------------------------------------------------------------------------
# helpers (inlined into the kernels)
# ---------------------------------------------------------------------------

@tz.jit
def _decay_rate(decay_ptr, h, HAS_DECAY: tz.constexpr):
    # log2 of 1/lambda per step: lambda^n == exp2(-g * n).
    if HAS_DECAY:
        g = tz.load(decay_ptr + h).to(tz.float32) * LOG2E
    else:
        g = 0.0
    return g


@tz.jit
def _decay_pow(g, n):
    # lambda^n for a run-time or tile exponent n >= 0; the one place the
    # decay rule lives.
    return tz.exp2(-g * n.to(tz.float32))


@tz.jit
def _base(ptr, b, h, stride_b, stride_h):
    # 64-bit batch/head offsets: B * H * S * D may exceed 2**31 elements.
    return ptr + b.to(tz.int64) * stride_b + h.to(tz.int64) * stride_h


@tz.jit
def _load_rows(base, rows, cols, n_rows, stride_r, stride_c):
    # Rows past the sequence read 0, so they add nothing to any product.
    return tz.load(base + rows[:, None] * stride_r + cols[None, :] * stride_c, mask=rows[:, None] < n_rows,
                   other=0.0)


@tz.jit
def _features(x, rows, n_rows, FEATURE_MAP: tz.constexpr):
    # q or k rows through the optional feature map (elementwise, in float32);
    # rows past the sequence stay 0 whatever the map gives for 0.
    if FEATURE_MAP is None:
        y = x
    else:
        y = tz.where(rows[:, None] < n_rows, FEATURE_MAP(x.to(tz.float32)), 0.0).to(x.dtype)
    return y


@tz.jit
def _state_tile(base, rows, cols, stride_r, stride_c):
    return tz.load(base + rows[:, None] * stride_r + cols[None, :] * stride_c)


# ---------------------------------------------------------------------------
# carried states
# ---------------------------------------------------------------------------

@tz.jit
def _chunk_states(pid_a, pid_b, bh, seg, a_ptr, b_ptr, init_ptr, states_ptr, totals_ptr, decay_ptr,
                  stride_ab, stride_ah, stride_as, stride_ad,
                  stride_bb, stride_bh, stride_bs, stride_bd,
                  stride_ib, stride_ih, stride_ir, stride_ic,
                  H, N, a_scale, chunks_per_seg,
                  DA: tz.constexpr, DB: tz.constexpr, BLOCK_A: tz.constexpr, BLOCK_B: tz.constexpr,
                  CHUNK: tz.constexpr, REVERSE: tz.constexpr, HAS_DECAY: tz.constexpr,
                  HAS_INITIAL: tz.constexpr, FEATURE_MAP: tz.constexpr):
    # One (BLOCK_A, BLOCK_B) tile of the state of (b, h) = divmod(bh, H)
    # through the chunks of segment `seg` (see lightning_chunk_states).
    offs_a = pid_a * BLOCK_A + tz.arange(0, BLOCK_A)
    offs_b = pid_b * BLOCK_B + tz.arange(0, BLOCK_B)
    b = bh // H
    h = bh % H
    g = _decay_rate(decay_ptr, h, HAS_DECAY)
    a_base = _base(a_ptr, b, h, stride_ab, stride_ah)
    b_base = _base(b_ptr, b, h, stride_bb, stride_bh)
    n_chunks = (N + CHUNK - 1) // CHUNK
    n_segs = (n_chunks + chunks_per_seg - 1) // chunks_per_seg
    first = seg * chunks_per_seg
    count = tz.minimum(chunks_per_seg, n_chunks - first)
    # The given initial state enters at the sequence's start: the first
    # segment (the last one, in reverse); the others start from zero.
    if HAS_INITIAL:
        if REVERSE:
            at_start = seg == n_segs - 1
        else:
            at_start = seg == 0
        m = _state_tile(_base(init_ptr, b, h, stride_ib, stride_ih), offs_a, offs_b, stride_ir,
                        stride_ic).to(tz.float32) * at_start.to(tz.float32)
    else:
        m = tz.zeros((BLOCK_A, BLOCK_B), dtype=tz.float32)
    states_base = states_ptr + bh.to(tz.int64) * n_chunks * (DA * DB)
    r = tz.arange(0, CHUNK)
    for i in range(0, count):
        if REVERSE:
            t = first + count - 1 - i
        else:
            t = first + i
        start = t * CHUNK
        # The chunk states are read back only as tensor-core operands,
        # rounded to the input dtype: they are stored that way (half the
        # traffic of float32); the running state stays float32.
        tz.store(states_base + t.to(tz.int64) * (DA * DB) + offs_a[:, None] * DB + offs_b[None, :],
                 m.to(states_ptr.dtype.element_ty))
        rows = start + r
        a = _features(_load_rows(a_base, rows, offs_a, N, stride_as, stride_ad), rows, N, FEATURE_MAP)
        bt = _load_rows(b_base, rows, offs_b, N, stride_bs, stride_bd)
        if HAS_DECAY:
            length = tz.minimum(N - start, CHUNK)
            if REVERSE:
                w = _decay_pow(g, r + 1)
            else:
                w = _decay_pow(g, tz.maximum(length - 1 - r, 0))
            a = (a.to(tz.float32) * w[:, None]).to(a.dtype)
            m = m * _decay_pow(g, length)
        m = m + tz.dot(a.T, bt) * a_scale
    # The segment's own contribution (float32), for lightning_segment_scan.
    tz.store(totals_ptr + (bh.to(tz.int64) * n_segs + seg) * (DA * DB) + offs_a[:, None] * DB + offs_b[None, :], m)


@tz.jit
def lightning_chunk_states(a_ptr, b_ptr, init_ptr, states_ptr, totals_ptr, decay_ptr,
                           stride_ab, stride_ah, stride_as, stride_ad,
                           stride_bb, stride_bh, stride_bs, stride_bd,
                           stride_ib, stride_ih, stride_ir, stride_ic,
                           H, N, a_scale, chunks_per_seg,
                           DA: tz.constexpr, DB: tz.constexpr, BLOCK_A: tz.constexpr, BLOCK_B: tz.constexpr,
                           CHUNK: tz.constexpr, REVERSE: tz.constexpr = False, HAS_DECAY: tz.constexpr = False,
                           HAS_INITIAL: tz.constexpr = False, FEATURE_MAP: tz.constexpr = None):
    # a: (B, H, N, DA) (q or k: FEATURE_MAP applies), b: (B, H, N, DB); init: float32 (B, H, DA, DB)
    # (strides given); states: contiguous (B * H, NT, DA, DB), the input
    # dtype, each chunk's state relative to its segment; totals: float32
    # contiguous (B * H, n_segs, DA, DB). Grid (DA / BLOCK_A, DB / BLOCK_B,
    # B * H * n_segs).
    n_chunks = (N + CHUNK - 1) // CHUNK
    n_segs = (n_chunks + chunks_per_seg - 1) // chunks_per_seg
    z = tz.program_id(2)
    _chunk_states(tz.program_id(0), tz.program_id(1), z // n_segs, z % n_segs, a_ptr, b_ptr, init_ptr, states_ptr,
                  totals_ptr, decay_ptr, stride_ab, stride_ah, stride_as, stride_ad,
                  stride_bb, stride_bh, stride_bs, stride_bd, stride_ib, stride_ih, stride_ir, stride_ic,
                  H, N, a_scale, chunks_per_seg, DA, DB, BLOCK_A, BLOCK_B, CHUNK, REVERSE, HAS_DECAY, HAS_INITIAL,
                  FEATURE_MAP)


@tz.jit
def lightning_backward_states(k_ptr, v_ptr, init_ptr, fwd_states_ptr, fwd_totals_ptr,
                              q_ptr, do_ptr, dfinal_ptr, rev_states_ptr, rev_totals_ptr, decay_ptr,
                              stride_kb, stride_kh, stride_ks, stride_kd,
                              stride_vb, stride_vh, stride_vs, stride_vd,
                              stride_ib, stride_ih, stride_ir, stride_ic,
                              stride_qb, stride_qh, stride_qs, stride_qd,
                              stride_dob, stride_doh, stride_dos, stride_dod,
                              stride_fb, stride_fh, stride_fr, stride_fc,
                              H, N, scale, chunks_per_seg,
                              DK: tz.constexpr, DV: tz.constexpr, BLOCK_A: tz.constexpr, BLOCK_B: tz.constexpr,
                              CHUNK: tz.constexpr, HAS_DECAY: tz.constexpr = False,
                              HAS_INITIAL: tz.constexpr = False, HAS_DFINAL: tz.constexpr = False,
                              FEATURE_MAP: tz.constexpr = None):
    # Both sequential passes of the backward in one launch (grid (DK /
    # BLOCK_A, DV / BLOCK_B, 2 * B * H * n_segs)), side by side: the first
    # half recomputes the forward states of (k, v) from the initial state;
    # the second the reverse states of (scale * q, do) from dS_f.
    n_chunks = (N + CHUNK - 1) // CHUNK
    n_segs = (n_chunks + chunks_per_seg - 1) // chunks_per_seg
    z = tz.program_id(2)
    half = tz.num_programs(2) // 2
    if z < half:
        _chunk_states(tz.program_id(0), tz.program_id(1), z // n_segs, z % n_segs, k_ptr, v_ptr, init_ptr,
                      fwd_states_ptr, fwd_totals_ptr, decay_ptr, stride_kb, stride_kh, stride_ks, stride_kd,
                      stride_vb, stride_vh, stride_vs, stride_vd, stride_ib, stride_ih, stride_ir, stride_ic,
                      H, N, 1.0, chunks_per_seg, DK, DV, BLOCK_A, BLOCK_B, CHUNK, False, HAS_DECAY, HAS_INITIAL,
                      FEATURE_MAP)
    else:
        zr = z - half
        _chunk_states(tz.program_id(0), tz.program_id(1), zr // n_segs, zr % n_segs, q_ptr, do_ptr, dfinal_ptr,
                      rev_states_ptr, rev_totals_ptr, decay_ptr, stride_qb, stride_qh, stride_qs, stride_qd,
                      stride_dob, stride_doh, stride_dos, stride_dod, stride_fb, stride_fh, stride_fr, stride_fc,
                      H, N, scale, chunks_per_seg, DK, DV, BLOCK_A, BLOCK_B, CHUNK, True, HAS_DECAY, HAS_DFINAL,
                      FEATURE_MAP)


@tz.jit
def lightning_segment_scan(totals_ptr, entries_ptr, init_ptr, final_ptr, decay_ptr,
                           stride_ib, stride_ih, stride_ir, stride_ic,
                           stride_fb, stride_fh, stride_fr, stride_fc,
                           H, N, chunks_per_seg,
                           DA: tz.constexpr, DB: tz.constexpr, BLOCK_A: tz.constexpr, BLOCK_B: tz.constexpr,
                           CHUNK: tz.constexpr, REVERSE: tz.constexpr = False, HAS_DECAY: tz.constexpr = False,
                           HAS_INITIAL: tz.constexpr = False, STORE_FINAL: tz.constexpr = False):
    # The state entering each segment (entries, float32, like totals) from
    # the segments' own contributions: E_0 = 0, E_{s+1} = lambda^len_s E_s +
    # total_s (segments from the right with REVERSE); what is left after the
    # last is the final state (dS_0 in reverse). The initial state is already
    # in the first segment's total; with no segment at all (N == 0) the final
    # state is the initial one. Grid (DA / BLOCK_A, DB / BLOCK_B, B * H).
    offs_a = tz.program_id(0) * BLOCK_A + tz.arange(0, BLOCK_A)
    offs_b = tz.program_id(1) * BLOCK_B + tz.arange(0, BLOCK_B)
    bh = tz.program_id(2)
    b = bh // H
    h = bh % H
    g = _decay_rate(decay_ptr, h, HAS_DECAY)
    n_chunks = (N + CHUNK - 1) // CHUNK
    n_segs = (n_chunks + chunks_per_seg - 1) // chunks_per_seg
    seg_rows = chunks_per_seg * CHUNK
    tile = offs_a[:, None] * DB + offs_b[None, :]
    if HAS_INITIAL:
        e = _state_tile(_base(init_ptr, b, h, stride_ib, stride_ih), offs_a, offs_b, stride_ir,
                        stride_ic).to(tz.float32) * (n_segs == 0).to(tz.float32)
    else:
        e = tz.zeros((BLOCK_A, BLOCK_B), dtype=tz.float32)
    for i in range(0, n_segs):
        if REVERSE:
            sg = n_segs - 1 - i
        else:
            sg = i
        at = (bh.to(tz.int64) * n_segs + sg) * (DA * DB) + tile
        tz.store(entries_ptr + at, e)
        if HAS_DECAY:
            e = e * _decay_pow(g, tz.minimum(N - sg * seg_rows, seg_rows))
        e = e + tz.load(totals_ptr + at)
    if STORE_FINAL:
        f_base = _base(final_ptr, b, h, stride_fb, stride_fh)
        tz.store(f_base + offs_a[:, None] * stride_fr + offs_b[None, :] * stride_fc, e)


# ---------------------------------------------------------------------------
# chunk outputs
# ---------------------------------------------------------------------------

@tz.jit
def _segment_entry(entries_ptr, bh, t, start, N, g, chunks_per_seg, D_QK: tz.constexpr, D_V: tz.constexpr,
                   CHUNK: tz.constexpr, REVERSE: tz.constexpr, HAS_DECAY: tz.constexpr):
    # Where the state entering chunk t's segment is, and its decay to the
    # chunk: over the rows from the segment's start to the chunk's (from the
    # chunk's end to the segment's end in REVERSE).
    n_chunks = (N + CHUNK - 1) // CHUNK
    n_segs = (n_chunks + chunks_per_seg - 1) // chunks_per_seg
    seg = t // chunks_per_seg
    e_base = entries_ptr + (bh.to(tz.int64) * n_segs + seg) * (D_QK * D_V)
    if HAS_DECAY:
        seg_rows = chunks_per_seg * CHUNK
        if REVERSE:
            gap = tz.minimum(seg * seg_rows + seg_rows, N) - tz.minimum(start + CHUNK, N)
        else:
            gap = start - seg * seg_rows
        e_decay = _decay_pow(g, gap)
    else:
        e_decay = 1.0
    return e_base, e_decay


@tz.jit
def _carried_state(m_base, e_base, e_decay, rows, cols, stride_mr, stride_mc, dtype: tz.constexpr):
    # The chunk's state within its segment plus the decayed state entering
    # the segment, as a tensor-core operand of `dtype`.
    m = _state_tile(m_base, rows, cols, stride_mr, stride_mc).to(tz.float32)
    return (m + _state_tile(e_base, rows, cols, stride_mr, stride_mc) * e_decay).to(dtype)


@tz.jit
def _intra_weights(scores, r, g, REVERSE: tz.constexpr, HAS_DECAY: tz.constexpr):
    # Row r attends column c of its chunk when c <= r (forward) or c >= r
    # (REVERSE), weighted lambda^|r - c|.
    if REVERSE:
        dist = r[None, :] - r[:, None]
    else:
        dist = r[:, None] - r[None, :]
    if HAS_DECAY:
        w = tz.where(dist >= 0, scores * _decay_pow(g, tz.maximum(dist, 0)), 0.0)
    else:
        w = tz.where(dist >= 0, scores, 0.0)
    return w


@tz.jit
def _inter_weights(inter, r, g, start, N, CHUNK: tz.constexpr, REVERSE: tz.constexpr, HAS_DECAY: tz.constexpr):
    # The carried state reaches row r decayed lambda^(r + 1) (forward) or
    # lambda^(L - 1 - r) (REVERSE, L the chunk's valid rows).
    if HAS_DECAY:
        if REVERSE:
            length = tz.minimum(N - start, CHUNK)
            inter = inter * _decay_pow(g, tz.maximum(length - 1 - r, 0))[:, None]
        else:
            inter = inter * _decay_pow(g, r + 1)[:, None]
    return inter


@tz.jit
def lightning_chunk_output(q_ptr, k_ptr, v_ptr, states_ptr, entries_ptr, out_ptr, decay_ptr,
                           stride_qb, stride_qh, stride_qs, stride_qd,
                           stride_kb, stride_kh, stride_ks, stride_kd,
                           stride_vb, stride_vh, stride_vs, stride_vd,
                           stride_mr, stride_mc,
                           stride_ob, stride_oh, stride_os, stride_od,
                           H, N, intra_scale, inter_scale, chunks_per_seg,
                           D_QK: tz.constexpr, D_V: tz.constexpr, BLOCK_K: tz.constexpr, BLOCK_V: tz.constexpr,
                           CHUNK: tz.constexpr, REVERSE: tz.constexpr = False, HAS_DECAY: tz.constexpr = False,
                           FEATURE_MAP: tz.constexpr = None):
    # q, k: (B, H, N, D_QK) (queries and keys: FEATURE_MAP applies to both);
    # v, out: (B, H, N, D_V). The carried state of
    # chunk t is read at states_ptr + (bh * NT + t) * D_QK * D_V, element
    # (r, c) of the (D_QK, D_V) tile at r * stride_mr + c * stride_mc (a
    # transposed read is a swap of the two strides); the entering state of
    # its segment likewise from entries_ptr.
    t = tz.program_id(0)
    offs_v = tz.program_id(1) * BLOCK_V + tz.arange(0, BLOCK_V)
    bh = tz.program_id(2)
    b = bh // H
    h = bh % H
    g = _decay_rate(decay_ptr, h, HAS_DECAY)
    n_chunks = (N + CHUNK - 1) // CHUNK
    start = t * CHUNK
    r = tz.arange(0, CHUNK)
    rows = start + r
    q_base = _base(q_ptr, b, h, stride_qb, stride_qh)
    k_base = _base(k_ptr, b, h, stride_kb, stride_kh)
    m_base = states_ptr + (bh.to(tz.int64) * n_chunks + t) * (D_QK * D_V)
    e_base, e_decay = _segment_entry(entries_ptr, bh, t, start, N, g, chunks_per_seg, D_QK, D_V, CHUNK, REVERSE,
                                     HAS_DECAY)

    scores = tz.zeros((CHUNK, CHUNK), dtype=tz.float32)
    inter = tz.zeros((CHUNK, BLOCK_V), dtype=tz.float32)
    for kk in tz.static_range(0, D_QK, BLOCK_K):
        offs_k = kk + tz.arange(0, BLOCK_K)
        q = _features(_load_rows(q_base, rows, offs_k, N, stride_qs, stride_qd), rows, N, FEATURE_MAP)
        k = _features(_load_rows(k_base, rows, offs_k, N, stride_ks, stride_kd), rows, N, FEATURE_MAP)
        scores = tz.dot(q, k.T, scores)
        m = _carried_state(m_base, e_base, e_decay, offs_k, offs_v, stride_mr, stride_mc, q.dtype)
        inter = tz.dot(q, m, inter)

    scores = _intra_weights(scores, r, g, REVERSE, HAS_DECAY)
    inter = _inter_weights(inter, r, g, start, N, CHUNK, REVERSE, HAS_DECAY)
    v = _load_rows(_base(v_ptr, b, h, stride_vb, stride_vh), rows, offs_v, N, stride_vs, stride_vd)
    acc = tz.dot((scores * intra_scale).to(v.dtype), v, inter * inter_scale)
    o_base = _base(out_ptr, b, h, stride_ob, stride_oh)
    tz.store(o_base + rows[:, None] * stride_os + offs_v[None, :] * stride_od, acc.to(out_ptr.dtype.element_ty),
             mask=rows[:, None] < N)


@tz.jit
def lightning_chunk_dqdk(q_ptr, k_ptr, v_ptr, do_ptr, fwd_states_ptr, fwd_entries_ptr, rev_states_ptr,
                         rev_entries_ptr, dq_ptr, dk_ptr, decay_ptr,
                         stride_qb, stride_qh, stride_qs, stride_qd,
                         stride_kb, stride_kh, stride_ks, stride_kd,
                         stride_vb, stride_vh, stride_vs, stride_vd,
                         stride_dob, stride_doh, stride_dos, stride_dod,
                         stride_dqb, stride_dqh, stride_dqs, stride_dqd,
                         stride_dkb, stride_dkh, stride_dks, stride_dkd,
                         H, N, scale, chunks_per_seg,
                         DK: tz.constexpr, DV: tz.constexpr, BLOCK_O: tz.constexpr, BLOCK_V: tz.constexpr,
                         CHUNK: tz.constexpr, HAS_DECAY: tz.constexpr = False, FEATURE_MAP: tz.constexpr = None,
                         FEATURE_MAP_GRAD: tz.constexpr = None):
    # dq and dk of one chunk and BLOCK_O of their columns, sharing the
    # decayed, masked P = do v^T of the chunk (dq uses it causally, dk its
    # transpose):
    #   dq = scale * (P k + lambda^(r+1) do S^T)
    #   dk = scale * P^T q + lambda^(L-1-r) v R^T
    # S from the forward states (and entries), R from the reverse ones, both
    # stored as (DK, DV) tiles. Grid (cdiv(N, CHUNK), DK / BLOCK_O, B * H).
    t = tz.program_id(0)
    offs_o = tz.program_id(1) * BLOCK_O + tz.arange(0, BLOCK_O)
    bh = tz.program_id(2)
    b = bh // H
    h = bh % H
    g = _decay_rate(decay_ptr, h, HAS_DECAY)
    n_chunks = (N + CHUNK - 1) // CHUNK
    start = t * CHUNK
    r = tz.arange(0, CHUNK)
    rows = start + r
    do_base = _base(do_ptr, b, h, stride_dob, stride_doh)
    v_base = _base(v_ptr, b, h, stride_vb, stride_vh)
    chunk_at = (bh.to(tz.int64) * n_chunks + t) * (DK * DV)
    fe_base, fe_decay = _segment_entry(fwd_entries_ptr, bh, t, start, N, g, chunks_per_seg, DK, DV, CHUNK, False,
                                       HAS_DECAY)
    re_base, re_decay = _segment_entry(rev_entries_ptr, bh, t, start, N, g, chunks_per_seg, DK, DV, CHUNK, True,
                                       HAS_DECAY)

    p = tz.zeros((CHUNK, CHUNK), dtype=tz.float32)
    inter_q = tz.zeros((CHUNK, BLOCK_O), dtype=tz.float32)
    inter_k = tz.zeros((CHUNK, BLOCK_O), dtype=tz.float32)
    for vv in tz.static_range(0, DV, BLOCK_V):
        offs_v = vv + tz.arange(0, BLOCK_V)
        do = _load_rows(do_base, rows, offs_v, N, stride_dos, stride_dod)
        v = _load_rows(v_base, rows, offs_v, N, stride_vs, stride_vd)
        p = tz.dot(do, v.T, p)
        # (BLOCK_V, BLOCK_O) tiles of S^T and R^T: element (c, r) at r * DV + c.
        s_t = _carried_state(fwd_states_ptr + chunk_at, fe_base, fe_decay, offs_v, offs_o, 1, DV, do.dtype)
        inter_q = tz.dot(do, s_t, inter_q)
        r_t = _carried_state(rev_states_ptr + chunk_at, re_base, re_decay, offs_v, offs_o, 1, DV, do.dtype)
        inter_k = tz.dot(v, r_t, inter_k)

    p = _intra_weights(p, r, g, False, HAS_DECAY)
    inter_q = _inter_weights(inter_q, r, g, start, N, CHUNK, False, HAS_DECAY)
    inter_k = _inter_weights(inter_k, r, g, start, N, CHUNK, True, HAS_DECAY)
    k = _load_rows(_base(k_ptr, b, h, stride_kb, stride_kh), rows, offs_o, N, stride_ks, stride_kd)
    q = _load_rows(_base(q_ptr, b, h, stride_qb, stride_qh), rows, offs_o, N, stride_qs, stride_qd)
    p_in = p.to(k.dtype)
    dq = tz.dot(p_in, _features(k, rows, N, FEATURE_MAP), inter_q) * scale
    dk = tz.dot(p_in.T, _features(q, rows, N, FEATURE_MAP)) * scale + inter_k
    if FEATURE_MAP is not None:
        # Gradients of the mapped q and k, back through the map.
        dq = FEATURE_MAP_GRAD(q.to(tz.float32), dq)
        dk = FEATURE_MAP_GRAD(k.to(tz.float32), dk)
    mask = rows[:, None] < N
    tz.store(_base(dq_ptr, b, h, stride_dqb, stride_dqh) + rows[:, None] * stride_dqs + offs_o[None, :] * stride_dqd,
             dq.to(dq_ptr.dtype.element_ty), mask=mask)
    tz.store(_base(dk_ptr, b, h, stride_dkb, stride_dkh) + rows[:, None] * stride_dks + offs_o[None, :] * stride_dkd,
             dk.to(dk_ptr.dtype.element_ty), mask=mask)


# ---------------------------------------------------------------------------
# decode: one new token per (b, h)
# ---------------------------------------------------------------------------

@tz.jit
def lightning_decode(q_ptr, k_ptr, v_ptr, state_ptr, new_state_ptr, out_ptr, decay_ptr,
                     stride_qb, stride_qh, stride_qd,
                     stride_kb, stride_kh, stride_kd,
                     stride_vb, stride_vh, stride_vd,
                     stride_sb, stride_sh, stride_sr, stride_sc,
                     stride_nb, stride_nh, stride_nr, stride_nc,
                     stride_ob, stride_oh, stride_od,
                     H, scale,
                     DK: tz.constexpr, DV: tz.constexpr, BLOCK_V: tz.constexpr, HAS_DECAY: tz.constexpr = False,
                     FEATURE_MAP: tz.constexpr = None):
    # S' = lambda S + k^T v, o = scale * q S'. Each program reads and writes
    # only its own (DK, BLOCK_V) slice, so new_state may be state (in place).
    offs_k = tz.arange(0, DK)
    offs_v = tz.program_id(0) * BLOCK_V + tz.arange(0, BLOCK_V)
    bh = tz.program_id(1)
    b = bh // H
    h = bh % H
    g = _decay_rate(decay_ptr, h, HAS_DECAY)
    q = tz.load(_base(q_ptr, b, h, stride_qb, stride_qh) + offs_k * stride_qd).to(tz.float32)
    k = tz.load(_base(k_ptr, b, h, stride_kb, stride_kh) + offs_k * stride_kd).to(tz.float32)
    v = tz.load(_base(v_ptr, b, h, stride_vb, stride_vh) + offs_v * stride_vd).to(tz.float32)
    if FEATURE_MAP is not None:
        # Rounded to the input dtype, as the chunked forward's operands are.
        q = FEATURE_MAP(q).to(q_ptr.dtype.element_ty).to(tz.float32)
        k = FEATURE_MAP(k).to(k_ptr.dtype.element_ty).to(tz.float32)
    s = _state_tile(_base(state_ptr, b, h, stride_sb, stride_sh), offs_k, offs_v, stride_sr, stride_sc)
    s = s.to(tz.float32)
    if HAS_DECAY:
        s = s * tz.exp2(-g)
    s = s + k[:, None] * v[None, :]
    o = tz.sum(q[:, None] * s, axis=0) * scale
    n_base = _base(new_state_ptr, b, h, stride_nb, stride_nh)
    tz.store(n_base + offs_k[:, None] * stride_nr + offs_v[None, :] * stride_nc, s)
    tz.store(_base(out_ptr, b, h, stride_ob, stride_oh) + offs_v * stride_od, o.to(out_ptr.dtype.element_ty))
