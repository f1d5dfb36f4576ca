"""Cosine-similarity attention (issue #4): forward and backward kernels.

    q_hat = q / max(||q||, eps)      k_hat = k / max(||k||, eps)   (per group)
    s     = SCALE * q_hat . k_hat  (+ bias)
    o     = softmax_j(s over the keys that are not masked) @ v

Why no running maximum: q_hat and k_hat have norm <= 1, so |q_hat . k_hat| <= 1;
with GROUPS sub-vectors of HEAD_DIM // GROUPS columns normalised separately
|q_hat . k_hat| <= GROUPS. So s <= BOUND = GROUPS * SCALE and p = exp(s - BOUND)
<= 1 never overflows: the forward is a single pass with no rescaling of the
accumulator, acc += p @ v, l += rowsum(p), o = acc / l. The price is that of
any fixed-offset softmax: p >= exp(-2 * BOUND) for an unmasked key, so SCALE
must stay moderate: exp2 in float32 underflows below 2^-149, i.e. past
GROUPS * SCALE ~ 50 the rows whose every score is near -BOUND lose precision
(and float16 has its own limit, see _pv_config). An additive bias moves the
bound: p <= exp(max bias), so biases must stay below ~80 (float32 exp range);
biases that mask (-inf, or very negative) are fine, they give p = 0.

SCALE is a constexpr (default 10): it is a fixed hyperparameter, and knowing
the bound at compile time lets the kernel pick the precision of p (see
_pv_config) and fold the constants.

Layouts. Every tensor is addressed through explicit element strides, one per
logical dimension, so (B, H, S, D) and (B, S, H, D) storage (or any other
permutation, or a bias broadcast with stride 0) work without copies:

    Q, DQ, O, DO   [B, H,    N_Q, D]          K, V, DK, DV [B, H_KV, N_K, D]
    Bias, DBias    [B or 1, H or 1, N_Q, N_K]  (broadcast dims: stride 0)
    KeyMask        [B, N_K]  bool or int8, nonzero = the key may be attended
    KeyLens        [B]       int32, keys j >= KeyLens[b] are padding
    Lse, Delta     [B, H, N_Q] float32, contiguous (written by the kernels)

D must equal HEAD_DIM (a power of two) and GROUPS must divide it. Pointers
whose HAS_ flag is False may be None (their strides are then ignored).

Masking. Query i attends key j iff j < N_K, the key is not padding (KeyMask /
KeyLens), and, with CAUSAL, j <= i + (N_K - N_Q) (bottom-right aligned, as for
cross attention or decoding with a KV cache; the offset uses the padded length
N_K, not KeyLens). A row that attends nothing (e.g. the first N_Q - N_K rows of
causal cross attention with N_Q > N_K, or a batch whose keys are all masked)
outputs zeros and gets zero gradients; it never produces NaN. Masked keys and
values are not even loaded, so garbage (inf / NaN) in padding stays out.

MQA / GQA: H_KV divides H; query head h reads key/value head h // (H // H_KV).

Precision. Loads may be float16, bfloat16 or float32; the norms, scores,
exponentials, row sums and all accumulators are float32, and the operands of
every tz.dot are in the input dtype (tensor-core style) except as noted in
_score_operand (GROUPS == 1: the normalisation is applied to the float32
scores, so the score dot reads the exact inputs) and _pv_config. Outputs are
converted to the output pointer's dtype, so a caller may ask for float32
DQ / DK / DV / DBias.

What the forward saves for the backward: only Lse[b, h, i] = log sum_j
exp(s_ij) over the attended keys (natural log, float32; computed as BOUND +
log(l) with the fixed offset, no max); -inf for a row that attends nothing.
The backward recomputes q_hat, k_hat and the scores and gets the
probabilities as P = exp(s - Lse) with no division; a -inf Lse is turned into
+inf there so that such rows give P = 0 instead of exp(inf - inf). The
normalised q / k are not saved: recomputing them costs O(BLOCK * D) per block
next to the O(BLOCK^2 * D) of the dots, and saves two tensors of memory.

Backward (launch in this order; grids in each kernel's docstring):
  1. cosine_sim_attention_bwd_preprocess: Delta = rowsum(dO * O) (float32).
  2. cosine_sim_attention_bwd_dkdv: dS = P * (dO V^T - Delta); dV = P^T dO,
     dk_hat = SCALE * dS^T q_hat, summed over the H // H_KV query heads that
     share a key/value head (looped inside the program: no atomics); then dK
     through the normalisation.
  3. cosine_sim_attention_bwd_dq: dq_hat = SCALE * dS k_hat, dQ through the
     normalisation, and dBias = dS summed over the dimensions along which the
     bias is broadcast (deterministic, no atomics, no zero-initialised buffer:
     see that kernel).
Kernels 2 and 3 only read what 1 and the forward wrote; they are independent.

Gradient of the normalisation (per group, n = ||x||): for n > eps,
dx = (dx_hat - x_hat (x_hat . dx_hat)) / n; for n <= eps the clamp is active,
x_hat = x / eps is linear and dx = dx_hat / eps (what autograd gives for
torch.nn.functional.normalize). At a zero vector the gradient is therefore
dx_hat / eps: finite, but with a small eps it can exceed the float16 range;
pass a float32 DQ / DK, or a larger eps, if that matters.
"""
import terrazzo as tz

LOG2E = 1.4426950408889634  # scores are kept in log2 units, for exp2
LN2 = 0.6931471805599453


# --- helpers (inlined into the kernels) ----------------------------------------


@tz.jit
def _group_sum(x, ROWS: tz.constexpr, GROUPS: tz.constexpr, HEAD_DIM: tz.constexpr):
    """Per row, the sum of x over each group of HEAD_DIM // GROUPS consecutive
    columns, broadcastable against x: shape (ROWS, 1) for one group, else
    (ROWS, HEAD_DIM) with every column holding its group's sum."""
    if GROUPS == 1:
        return tz.sum(x, axis=1)[:, None]
    else:
        GD = HEAD_DIM // GROUPS
        s = tz.sum(tz.reshape(x, (ROWS, GROUPS, GD)), axis=2)
        return tz.reshape(tz.broadcast_to(s[:, :, None], (ROWS, GROUPS, GD)), (ROWS, HEAD_DIM))


@tz.jit
def _l2_normalize(x, eps, ROWS: tz.constexpr, GROUPS: tz.constexpr, HEAD_DIM: tz.constexpr):
    """(x_hat, inv_norm, unclamped) for a float32 tile x. max(norm, eps) keeps
    zero vectors finite: they normalise to zero."""
    norm = tz.sqrt(_group_sum(x * x, ROWS, GROUPS, HEAD_DIM))
    inv_norm = 1.0 / tz.maximum(norm, eps)
    return x * inv_norm, inv_norm, norm > eps


@tz.jit
def _score_operand(x, eps, mult, ROWS: tz.constexpr, GROUPS: tz.constexpr, HEAD_DIM: tz.constexpr):
    """Normalises a loaded (ROWS, HEAD_DIM) block x of q or k rows and returns
    (op, fac, x_hat, inv_norm, unclamped): the scores are
    _scores(q_op, q_fac, k_op, k_fac) = mult_q * mult_k * q_hat . k_hat.

    GROUPS == 1: op is x itself and fac = mult / max(||x||, eps) per row; the
    normalisation is applied to the float32 scores (s = (q . k) * fac_q *
    fac_k), so the dot sees the exact inputs and the only error in s is the
    float32 accumulation: important, since scale multiplies any error in
    q_hat . k_hat, and rounding q_hat to bfloat16 alone would cost ~2^-9 * scale
    in the exponent. GROUPS > 1: the group norms do not factor out of the
    dot, so op = x_hat * mult rounded to x's dtype and fac is None."""
    xf = x.to(tz.float32)
    x_hat, inv_norm, unclamped = _l2_normalize(xf, eps, ROWS, GROUPS, HEAD_DIM)
    if GROUPS == 1:
        return x, tz.reshape(inv_norm, (ROWS,)) * mult, x_hat, inv_norm, unclamped
    else:
        return (x_hat * mult).to(x.dtype), None, x_hat, inv_norm, unclamped


@tz.jit
def _scores(a_op, a_fac, b_op, b_fac, GROUPS: tz.constexpr):
    """(rows of a) x (rows of b) float32 scores from _score_operand results."""
    s = tz.dot(a_op, tz.trans(b_op))
    if GROUPS == 1:
        s = s * a_fac[:, None] * b_fac[None, :]
    return s


@tz.jit
def _l2_normalize_bwd(x_hat, inv_norm, unclamped, dx_hat,
                      ROWS: tz.constexpr, GROUPS: tz.constexpr, HEAD_DIM: tz.constexpr):
    """dx from dx_hat through x_hat = x / max(||x||, eps), per group. Where the
    clamp is active the map is linear (x / eps) and there is no projection."""
    radial = tz.where(unclamped, _group_sum(x_hat * dx_hat, ROWS, GROUPS, HEAD_DIM), 0.0)
    return (dx_hat - x_hat * radial) * inv_norm


@tz.jit
def _pv_config(V_DTYPE: tz.constexpr, HAS_BIAS: tz.constexpr, GROUPS: tz.constexpr, SCALE: tz.constexpr):
    """(dtype, shift) for the unnormalised probabilities p of the forward:
    p = exp2(s2 - offset2), offset2 = bound2 - shift, is rounded to `dtype`
    for the p @ v dot.

    Without bias p = 2^(s2 - bound2) lies in [2^-(2 * bound2), 1] with
    bound2 = GROUPS * SCALE * log2(e). bfloat16 and float32 have float32's
    exponent range: p is used as is. float16 (normal from 2^-14, largest
    65504 < 2^16) does not hold that range: shifting p up by 2^15 (exact; it
    cancels in acc / l and is taken out of Lse) keeps p <= 2^15 and puts the
    whole range in float16's normal numbers when 2 * bound2 <= 29, i.e.
    GROUPS * SCALE <= 10.05 (the default, SCALE = 10 with one group). Past
    that, a row whose every score is far below the bound would fall into
    subnormals or flush to zero; and a bias moves p above 1 by exp(bias), so
    no fixed shift is safe. In those cases p stays float32 for this dot and
    v is widened to it (on tensor cores: tf32 instead of f16 for the p @ v
    dot only), which is exact for every p."""
    if V_DTYPE == tz.float16:
        if (not HAS_BIAS) and 2.0 * GROUPS * SCALE * LOG2E <= 29.0:
            return tz.float16, 15.0
        else:
            return tz.float32, 0.0
    else:
        return V_DTYPE, 0.0


@tz.jit
def _key_limit(KeyLens, b, N_K, HAS_KEY_LENS: tz.constexpr):
    """Keys at or past this index are padding: N_K, or min(N_K, KeyLens[b])."""
    if HAS_KEY_LENS:
        return tz.minimum(tz.load(KeyLens + b), N_K)
    else:
        return N_K


@tz.jit
def _key_ok(KeyMask, b64, stride_maskb, stride_maskn, offs_n, n_k_lim, HAS_KEY_MASK: tz.constexpr):
    """(BLOCK_N,) i1: key j exists, is within KeyLens and not masked out."""
    ok = offs_n < n_k_lim
    if HAS_KEY_MASK:
        keep = tz.load(KeyMask + b64 * stride_maskb + offs_n * stride_maskn, mask=ok, other=0)
        ok = ok & keep.to(tz.int1)
    return ok


@tz.jit
def _causal_ok(q_idx, kv_idx, N_Q, N_K):
    """i1, bottom-right aligned causal mask, broadcast from q_idx and kv_idx
    (queries x keys, or keys x queries for the transposed backward scores:
    built in that shape, the mask keeps the scores' register layout)."""
    return kv_idx <= q_idx + (N_K - N_Q)


# --- forward -----------------------------------------------------------------------


@tz.jit
def cosine_sim_key_inv_norms(K, KInv, stride_kb, stride_kh, stride_kn, stride_kd, H_KV, N_K, eps,
                             BLOCK_N: tz.constexpr, HEAD_DIM: tz.constexpr):
    """Grid (cdiv(N_K, BLOCK_N), B * H_KV). KInv[b, hk, n] = 1 / max(||k||, eps)
    in float32, for the forward with GROUPS == 1: there the norm only scales
    the scores, so with it read from here the key tiles feed nothing but the
    dot and are copied ahead into shared memory (tzgpu-pipeline), instead of
    being loaded, squared and summed again by every query block."""
    start_n = tz.program_id(0) * BLOCK_N
    bhk = tz.program_id(1)
    b = bhk // H_KV
    hk = bhk % H_KV
    offs_n = start_n + tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, HEAD_DIM)
    ok = offs_n < N_K
    k = tz.load(K + b.to(tz.int64) * stride_kb + hk.to(tz.int64) * stride_kh
                + offs_n[:, None] * stride_kn + offs_d[None, :] * stride_kd, mask=ok[:, None], other=0.0)
    k_hat, inv_norm, unclamped = _l2_normalize(k.to(tz.float32), eps, BLOCK_N, 1, HEAD_DIM)
    tz.store(KInv + bhk.to(tz.int64) * N_K + offs_n, tz.reshape(inv_norm, (BLOCK_N,)), mask=ok)


@tz.jit
def _fwd_key_bounds(start_m, N_Q, N_K, n_k_lim, CAUSAL: tz.constexpr, HAS_KEY_MASK: tz.constexpr,
                    BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr):
    """(full_hi, hi) for query rows [start_m, start_m + BLOCK_M): keys from hi
    on are invisible to every row (not visited); key blocks below full_hi are
    visible to every row (no mask needed), the rest need the mask. Causal
    visibility uses the padded N_K (see Masking), key padding n_k_lim."""
    if CAUSAL:
        diag = start_m + (N_K - N_Q)  # last key visible to the first row
        hi = tz.minimum(n_k_lim, diag + BLOCK_M)
        full_hi = tz.maximum(tz.minimum(n_k_lim, diag + 1), 0) // BLOCK_N * BLOCK_N
    else:
        hi = n_k_lim
        full_hi = n_k_lim // BLOCK_N * BLOCK_N
    if HAS_KEY_MASK:
        full_hi = 0  # any key may be masked out
    return full_hi, hi


@tz.jit
def _fwd_inner(acc, l_i, q_op, q_fac, k_base, v_base, kinv_base, bias_base, KeyMask, b64,
               stride_kn, stride_kd, stride_vn, stride_vd, stride_biasm, stride_biasn,
               stride_maskb, stride_maskn, offs_m, row_ok, N_Q, N_K, n_k_lim, eps, offset2, lo, hi,
               MASKED: tz.constexpr, CAUSAL: tz.constexpr, HAS_BIAS: tz.constexpr, HAS_KEY_MASK: tz.constexpr,
               GROUPS: tz.constexpr, P_DTYPE: tz.constexpr, BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr,
               HEAD_DIM: tz.constexpr):
    """acc += p @ v and l += rowsum(p) over the key blocks [lo, hi). MASKED
    False: every key there is visible to every row (_fwd_key_bounds), so no
    mask is built and the loads are unmasked; rows past N_Q compute finite
    garbage that is never stored (their q and bias read as zeros)."""
    ln = tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, HEAD_DIM)
    for start_n in range(lo, hi, BLOCK_N):
        offs_n = start_n + ln
        n64 = start_n.to(tz.int64)
        k_ptrs = k_base + n64 * stride_kn + ln[:, None] * stride_kn + offs_d[None, :] * stride_kd
        v_ptrs = v_base + n64 * stride_vn + ln[:, None] * stride_vn + offs_d[None, :] * stride_vd
        if MASKED:
            key_ok = _key_ok(KeyMask, b64, stride_maskb, stride_maskn, offs_n, n_k_lim, HAS_KEY_MASK)
            # Padding keys are not even read: garbage (inf / NaN) there would
            # otherwise reach acc through 0 * NaN.
            k = tz.load(k_ptrs, mask=key_ok[:, None], other=0.0)
            if GROUPS == 1:
                k_fac = tz.load(kinv_base + offs_n, mask=key_ok, other=0.0)
        else:
            k = tz.load(k_ptrs)
            if GROUPS == 1:
                k_fac = tz.load(kinv_base + offs_n)
        if GROUPS == 1:
            z = _scores(q_op, q_fac, k, k_fac, GROUPS) - offset2
        else:
            k_op, k_fac, k_hat, k_inv, k_unclamped = _score_operand(k, eps, 1.0, BLOCK_N, GROUPS, HEAD_DIM)
            z = _scores(q_op, q_fac, k_op, k_fac, GROUPS) - offset2
        if HAS_BIAS:
            bias_ptrs = bias_base + n64 * stride_biasn + tz.arange(0, BLOCK_M)[:, None] * stride_biasm \
                + ln[None, :] * stride_biasn
            if MASKED:
                bias = tz.load(bias_ptrs, mask=row_ok[:, None] & key_ok[None, :], other=0.0)
            else:
                bias = tz.load(bias_ptrs, mask=row_ok[:, None], other=0.0)
            z = z + bias.to(tz.float32) * LOG2E
        # z <= P_SHIFT without bias: no max, no rescaling of acc.
        if MASKED:
            valid = row_ok[:, None] & key_ok[None, :]
            if CAUSAL:
                valid = valid & _causal_ok(offs_m[:, None], offs_n[None, :], N_Q, N_K)
            p = tz.where(valid, tz.exp2(z), 0.0)
            v = tz.load(v_ptrs, mask=key_ok[:, None], other=0.0)
        else:
            p = tz.exp2(z)
            v = tz.load(v_ptrs)
        l_i += tz.sum(p, axis=1)
        acc = tz.dot(p.to(P_DTYPE), v, acc)
    return acc, l_i


@tz.jit
def cosine_sim_attention_fwd(
        Q, K, V, Bias, KeyMask, KeyLens, Out, Lse, KInv,
        stride_qb, stride_qh, stride_qm, stride_qd,
        stride_kb, stride_kh, stride_kn, stride_kd,
        stride_vb, stride_vh, stride_vn, stride_vd,
        stride_biasb, stride_biash, stride_biasm, stride_biasn,
        stride_maskb, stride_maskn,
        stride_ob, stride_oh, stride_om, stride_od,
        H, H_KV, N_Q, N_K, eps,
        CAUSAL: tz.constexpr, HAS_BIAS: tz.constexpr, HAS_KEY_MASK: tz.constexpr,
        HAS_KEY_LENS: tz.constexpr, GROUPS: tz.constexpr,
        BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr, HEAD_DIM: tz.constexpr,
        SCALE: tz.constexpr = 10.0):
    """Grid (cdiv(N_Q, BLOCK_M), B * H). Writes Out (in its own dtype) and Lse.
    With GROUPS == 1, KInv holds the keys' inverse norms
    (cosine_sim_key_inv_norms, float32 (B, H_KV, N_K)); otherwise it is unused."""
    tz.static_assert(HEAD_DIM % GROUPS == 0, "GROUPS must divide HEAD_DIM")
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b = bh // H
    h = bh % H
    hk = h // (H // H_KV)
    # Whole-tensor offsets in int64 (B * H * N * D may pass 2^31); offsets
    # inside a block stay int32.
    b64 = b.to(tz.int64)
    h64 = h.to(tz.int64)
    hk64 = hk.to(tz.int64)
    m64 = start_m.to(tz.int64)
    lm = tz.arange(0, BLOCK_M)
    ln = tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, HEAD_DIM)
    offs_m = start_m + lm
    row_ok = offs_m < N_Q

    q = tz.load(Q + b64 * stride_qb + h64 * stride_qh + m64 * stride_qm
                + lm[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                mask=row_ok[:, None], other=0.0)
    # SCALE and log2(e) go into q's factor, so that the scores come out in
    # log2 units: s2 = SCALE * log2(e) * q_hat . k_hat.
    q_op, q_fac, q_hat, q_inv, q_unclamped = _score_operand(q, eps, SCALE * LOG2E, BLOCK_M, GROUPS, HEAD_DIM)
    P_DTYPE, P_SHIFT = _pv_config(V.dtype.element_ty, HAS_BIAS, GROUPS, SCALE)
    # The fixed offset that replaces the running max: s2 - offset2 <= P_SHIFT.
    offset2 = GROUPS * SCALE * LOG2E - P_SHIFT

    k_base = K + b64 * stride_kb + hk64 * stride_kh
    v_base = V + b64 * stride_vb + hk64 * stride_vh
    bias_base = Bias
    if HAS_BIAS:
        bias_base = Bias + b64 * stride_biasb + h64 * stride_biash + m64 * stride_biasm

    n_k_lim = _key_limit(KeyLens, b, N_K, HAS_KEY_LENS)
    full_hi, hi = _fwd_key_bounds(start_m, N_Q, N_K, n_k_lim, CAUSAL, HAS_KEY_MASK, BLOCK_M, BLOCK_N)
    kinv_base = KInv
    if GROUPS == 1:
        kinv_base = KInv + (b * H_KV + hk).to(tz.int64) * N_K
    l_i = tz.zeros((BLOCK_M,), dtype=tz.float32)
    acc = tz.zeros((BLOCK_M, HEAD_DIM), dtype=tz.float32)
    acc, l_i = _fwd_inner(acc, l_i, q_op, q_fac, k_base, v_base, kinv_base, bias_base, KeyMask, b64,
                          stride_kn, stride_kd, stride_vn, stride_vd, stride_biasm, stride_biasn,
                          stride_maskb, stride_maskn, offs_m, row_ok, N_Q, N_K, n_k_lim, eps, offset2, 0, full_hi,
                          False, CAUSAL, HAS_BIAS, HAS_KEY_MASK, GROUPS, P_DTYPE, BLOCK_M, BLOCK_N, HEAD_DIM)
    acc, l_i = _fwd_inner(acc, l_i, q_op, q_fac, k_base, v_base, kinv_base, bias_base, KeyMask, b64,
                          stride_kn, stride_kd, stride_vn, stride_vd, stride_biasm, stride_biasn,
                          stride_maskb, stride_maskn, offs_m, row_ok, N_Q, N_K, n_k_lim, eps, offset2, full_hi, hi,
                          True, CAUSAL, HAS_BIAS, HAS_KEY_MASK, GROUPS, P_DTYPE, BLOCK_M, BLOCK_N, HEAD_DIM)

    # A row that attended nothing has l == 0: output zeros, Lse = -inf.
    has_keys = l_i > 0.0
    out = acc * tz.where(has_keys, 1.0 / l_i, 0.0)[:, None]
    tz.store(Out + b64 * stride_ob + h64 * stride_oh + m64 * stride_om
             + lm[:, None] * stride_om + offs_d[None, :] * stride_od,
             out.to(Out.dtype.element_ty), mask=row_ok[:, None])
    # l = sum exp(s - offset): log sum exp(s) = offset + log(l), in natural log.
    lse = tz.where(has_keys, offset2 * LN2 + tz.log(l_i), float("-inf"))
    tz.store(Lse + bh.to(tz.int64) * N_Q + offs_m, lse, mask=row_ok)


# --- backward ----------------------------------------------------------------------


@tz.jit
def cosine_sim_attention_bwd_preprocess(
        Out, DOut, Delta,
        stride_ob, stride_oh, stride_om, stride_od,
        stride_dob, stride_doh, stride_dom, stride_dod,
        H, N_Q,
        BLOCK_M: tz.constexpr, HEAD_DIM: tz.constexpr):
    """Grid (cdiv(N_Q, BLOCK_M), B * H). Delta[b, h, i] = sum_d dO * O (float32):
    the rowsum(P * dP) of the softmax backward, once per row here rather than
    once per key block in the dK/dV kernel."""
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b64 = (bh // H).to(tz.int64)
    h64 = (bh % H).to(tz.int64)
    m64 = start_m.to(tz.int64)
    lm = tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, HEAD_DIM)
    offs_m = start_m + lm
    row_ok = offs_m < N_Q
    o = tz.load(Out + b64 * stride_ob + h64 * stride_oh + m64 * stride_om
                + lm[:, None] * stride_om + offs_d[None, :] * stride_od,
                mask=row_ok[:, None], other=0.0)
    do = tz.load(DOut + b64 * stride_dob + h64 * stride_doh + m64 * stride_dom
                 + lm[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                 mask=row_ok[:, None], other=0.0)
    delta = tz.sum(o.to(tz.float32) * do.to(tz.float32), axis=1)
    tz.store(Delta + bh.to(tz.int64) * N_Q + offs_m, delta, mask=row_ok)


@tz.jit
def cosine_sim_attention_bwd_dkdv(
        Q, K, V, Bias, KeyMask, KeyLens, DOut, Lse, Delta, DK, DV,
        stride_qb, stride_qh, stride_qm, stride_qd,
        stride_kb, stride_kh, stride_kn, stride_kd,
        stride_vb, stride_vh, stride_vn, stride_vd,
        stride_biasb, stride_biash, stride_biasm, stride_biasn,
        stride_maskb, stride_maskn,
        stride_dob, stride_doh, stride_dom, stride_dod,
        stride_dkb, stride_dkh, stride_dkn, stride_dkd,
        stride_dvb, stride_dvh, stride_dvn, stride_dvd,
        H, H_KV, N_Q, N_K, eps,
        CAUSAL: tz.constexpr, HAS_BIAS: tz.constexpr, HAS_KEY_MASK: tz.constexpr,
        HAS_KEY_LENS: tz.constexpr, GROUPS: tz.constexpr,
        BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr, HEAD_DIM: tz.constexpr,
        SCALE: tz.constexpr = 10.0):
    """Grid (cdiv(N_K, BLOCK_N), B * H_KV). A program owns a block of keys of
    one key/value head and loops over the H // H_KV query heads sharing it and
    over the query blocks that can see it, so dK and dV are summed in
    registers and written once: no atomics, and every element is written
    (masked keys get zeros)."""
    tz.static_assert(HEAD_DIM % GROUPS == 0, "GROUPS must divide HEAD_DIM")
    start_n = tz.program_id(0) * BLOCK_N
    bhk = tz.program_id(1)
    b = bhk // H_KV
    hk = bhk % H_KV
    group = H // H_KV
    b64 = b.to(tz.int64)
    hk64 = hk.to(tz.int64)
    n64 = start_n.to(tz.int64)
    lm = tz.arange(0, BLOCK_M)
    ln = tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, HEAD_DIM)
    offs_n = start_n + ln

    n_k_lim = _key_limit(KeyLens, b, N_K, HAS_KEY_LENS)
    key_ok = _key_ok(KeyMask, b64, stride_maskb, stride_maskn, offs_n, n_k_lim, HAS_KEY_MASK)
    k = tz.load(K + b64 * stride_kb + hk64 * stride_kh + n64 * stride_kn
                + ln[:, None] * stride_kn + offs_d[None, :] * stride_kd,
                mask=key_ok[:, None], other=0.0)
    k_op, k_fac, k_hat, k_inv, k_unclamped = _score_operand(k, eps, 1.0, BLOCK_N, GROUPS, HEAD_DIM)
    v = tz.load(V + b64 * stride_vb + hk64 * stride_vh + n64 * stride_vn
                + ln[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                mask=key_ok[:, None], other=0.0)

    # The query blocks that can see this key block: with CAUSAL, rows from
    # start_n - (N_K - N_Q) on; none if the whole block is past KeyLens.
    lo = 0
    if CAUSAL:
        lo = tz.maximum(start_n - (N_K - N_Q), 0) // BLOCK_M * BLOCK_M
    hi = tz.where(start_n < n_k_lim, N_Q, 0)

    dv = tz.zeros((BLOCK_N, HEAD_DIM), dtype=tz.float32)
    dk_acc = tz.zeros((BLOCK_N, HEAD_DIM), dtype=tz.float32)
    for hh in range(0, group):
        h = hk * group + hh
        h64 = h.to(tz.int64)
        q_base = Q + b64 * stride_qb + h64 * stride_qh
        do_base = DOut + b64 * stride_dob + h64 * stride_doh
        row_base = (b * H + h).to(tz.int64) * N_Q
        if HAS_BIAS:
            bias_base = Bias + b64 * stride_biasb + h64 * stride_biash + n64 * stride_biasn
        for start_m in range(lo, hi, BLOCK_M):
            offs_m = start_m + lm
            m64 = start_m.to(tz.int64)
            row_ok = offs_m < N_Q
            q = tz.load(q_base + m64 * stride_qm + lm[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                        mask=row_ok[:, None], other=0.0)
            q_op, q_fac, q_hat, q_inv, q_unclamped = _score_operand(q, eps, SCALE * LOG2E, BLOCK_M, GROUPS,
                                                                    HEAD_DIM)
            # Transposed scores (keys x queries): dV and dK then come out as
            # (BLOCK_N, HEAD_DIM) with no transposed accumulator.
            s2t = _scores(k_op, k_fac, q_op, q_fac, GROUPS)
            valid = key_ok[:, None] & row_ok[None, :]
            if HAS_BIAS:
                bias = tz.load(bias_base + m64 * stride_biasm + ln[:, None] * stride_biasn
                               + lm[None, :] * stride_biasm, mask=valid, other=0.0)
                s2t = s2t + bias.to(tz.float32) * LOG2E
            if CAUSAL:
                valid = valid & _causal_ok(offs_m[None, :], offs_n[:, None], N_Q, N_K)
            lse = tz.load(Lse + row_base + offs_m, mask=row_ok, other=0.0)
            lse2 = tz.where(lse == float("-inf"), float("inf"), lse * LOG2E)
            pt = tz.where(valid, tz.exp2(s2t - lse2[None, :]), 0.0)
            do = tz.load(do_base + m64 * stride_dom + lm[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                         mask=row_ok[:, None], other=0.0)
            # P is normalised here (<= 1, and >= 1 / N_K at a row's largest
            # entry), so the input dtype holds it, float16 included.
            dv = tz.dot(pt.to(DOut.dtype.element_ty), do, dv)
            delta = tz.load(Delta + row_base + offs_m, mask=row_ok, other=0.0)
            dst = pt * (tz.dot(v, tz.trans(do)) - delta[None, :])
            # dk_hat = SCALE * dS^T q_hat. The operand carries SCALE * log2(e)
            # (for GROUPS > 1 it is q_op itself); log2(e) is divided out
            # below. q_hat is rounded to the input dtype here rather than
            # folded into dS as a row factor: for a zero q, dS / eps could
            # overflow float16 and then meet the zero row as inf * 0 = NaN.
            q_grad = q_op if GROUPS > 1 else (q_hat * (SCALE * LOG2E)).to(Q.dtype.element_ty)
            dk_acc = tz.dot(dst.to(Q.dtype.element_ty), q_grad, dk_acc)

    dk = _l2_normalize_bwd(k_hat, k_inv, k_unclamped, dk_acc * LN2, BLOCK_N, GROUPS, HEAD_DIM)
    n_ok = offs_n < N_K
    tz.store(DK + b64 * stride_dkb + hk64 * stride_dkh + n64 * stride_dkn
             + ln[:, None] * stride_dkn + offs_d[None, :] * stride_dkd,
             dk.to(DK.dtype.element_ty), mask=n_ok[:, None])
    tz.store(DV + b64 * stride_dvb + hk64 * stride_dvh + n64 * stride_dvn
             + ln[:, None] * stride_dvn + offs_d[None, :] * stride_dvd,
             dv.to(DV.dtype.element_ty), mask=n_ok[:, None])


@tz.jit
def cosine_sim_attention_bwd_dq(
        Q, K, V, Bias, KeyMask, KeyLens, DOut, Lse, Delta, DQ, DBias,
        stride_qb, stride_qh, stride_qm, stride_qd,
        stride_kb, stride_kh, stride_kn, stride_kd,
        stride_vb, stride_vh, stride_vn, stride_vd,
        stride_biasb, stride_biash, stride_biasm, stride_biasn,
        stride_maskb, stride_maskn,
        stride_dob, stride_doh, stride_dom, stride_dod,
        stride_dqb, stride_dqh, stride_dqm, stride_dqd,
        stride_dbb, stride_dbh, stride_dbm, stride_dbn,
        H, H_KV, N_Q, N_K, bias_rep_b, bias_rep_h, eps,
        CAUSAL: tz.constexpr, HAS_BIAS: tz.constexpr, HAS_DBIAS: tz.constexpr,
        HAS_KEY_MASK: tz.constexpr, HAS_KEY_LENS: tz.constexpr, GROUPS: tz.constexpr,
        BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr, HEAD_DIM: tz.constexpr,
        SCALE: tz.constexpr = 10.0):
    """Grid (cdiv(N_Q, BLOCK_M), (B // bias_rep_b) * (H // bias_rep_h)).

    dBias (HAS_DBIAS, which needs HAS_BIAS) is dS summed over the dimensions
    along which the bias is broadcast: bias_rep_b = B if the bias is shared
    by all batches (else 1), bias_rep_h = H if it is shared by all heads
    (else 1); without dBias pass 1 and 1 (the grid is then (., B * H)). A
    program owns rows [start_m, start_m + BLOCK_M) of one dBias slice and
    loops over the bias_rep_b * bias_rep_h (batch, head) pairs that add into
    it: the first pair stores dS, the others add to what this same program
    stored. So the sum is deterministic and needs neither atomics nor a
    zeroed buffer; key blocks outside the causal / KeyLens range are written
    as zeros. DBias has its own strides (stride 0 on its broadcast
    dimensions; any float dtype, float32 advisable as it holds the running
    sum)."""
    tz.static_assert(HEAD_DIM % GROUPS == 0, "GROUPS must divide HEAD_DIM")
    tz.static_assert(HAS_BIAS or not HAS_DBIAS, "HAS_DBIAS needs HAS_BIAS")
    start_m = tz.program_id(0) * BLOCK_M
    slot = tz.program_id(1)
    h_slots = H // bias_rep_h
    slot_b = slot // h_slots
    slot_h = slot % h_slots
    m64 = start_m.to(tz.int64)
    lm = tz.arange(0, BLOCK_M)
    ln = tz.arange(0, BLOCK_N)
    offs_d = tz.arange(0, HEAD_DIM)
    offs_m = start_m + lm
    row_ok = offs_m < N_Q
    if HAS_DBIAS:
        db_base = DBias + slot_b.to(tz.int64) * stride_dbb + slot_h.to(tz.int64) * stride_dbh + m64 * stride_dbm

    for rb in range(0, bias_rep_b):
        for rh in range(0, bias_rep_h):
            b = slot_b * bias_rep_b + rb
            h = slot_h * bias_rep_h + rh
            first = (rb == 0) & (rh == 0)
            hk = h // (H // H_KV)
            b64 = b.to(tz.int64)
            h64 = h.to(tz.int64)
            hk64 = hk.to(tz.int64)
            row_base = (b * H + h).to(tz.int64) * N_Q

            q = tz.load(Q + b64 * stride_qb + h64 * stride_qh + m64 * stride_qm
                        + lm[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                        mask=row_ok[:, None], other=0.0)
            q_op, q_fac, q_hat, q_inv, q_unclamped = _score_operand(q, eps, SCALE * LOG2E, BLOCK_M, GROUPS,
                                                                    HEAD_DIM)
            do = tz.load(DOut + b64 * stride_dob + h64 * stride_doh + m64 * stride_dom
                         + lm[:, None] * stride_dom + offs_d[None, :] * stride_dod,
                         mask=row_ok[:, None], other=0.0)
            lse = tz.load(Lse + row_base + offs_m, mask=row_ok, other=0.0)
            lse2 = tz.where(lse == float("-inf"), float("inf"), lse * LOG2E)
            delta = tz.load(Delta + row_base + offs_m, mask=row_ok, other=0.0)

            k_base = K + b64 * stride_kb + hk64 * stride_kh
            v_base = V + b64 * stride_vb + hk64 * stride_vh
            if HAS_BIAS:
                bias_base = Bias + b64 * stride_biasb + h64 * stride_biash + m64 * stride_biasm
            n_k_lim = _key_limit(KeyLens, b, N_K, HAS_KEY_LENS)
            hi = n_k_lim
            if CAUSAL:
                hi = tz.minimum(hi, start_m + BLOCK_M + (N_K - N_Q))
            hi = tz.maximum(hi, 0)

            dq_acc = tz.zeros((BLOCK_M, HEAD_DIM), dtype=tz.float32)
            for start_n in range(0, hi, BLOCK_N):
                offs_n = start_n + ln
                n64 = start_n.to(tz.int64)
                key_ok = _key_ok(KeyMask, b64, stride_maskb, stride_maskn, offs_n, n_k_lim, HAS_KEY_MASK)
                k = tz.load(k_base + n64 * stride_kn + ln[:, None] * stride_kn + offs_d[None, :] * stride_kd,
                            mask=key_ok[:, None], other=0.0)
                k_op, k_fac, k_hat, k_inv, k_unclamped = _score_operand(k, eps, 1.0, BLOCK_N, GROUPS, HEAD_DIM)
                v = tz.load(v_base + n64 * stride_vn + ln[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                            mask=key_ok[:, None], other=0.0)
                s2 = _scores(q_op, q_fac, k_op, k_fac, GROUPS)
                valid = row_ok[:, None] & key_ok[None, :]
                if HAS_BIAS:
                    bias = tz.load(bias_base + n64 * stride_biasn + lm[:, None] * stride_biasm
                                   + ln[None, :] * stride_biasn, mask=valid, other=0.0)
                    s2 = s2 + bias.to(tz.float32) * LOG2E
                if CAUSAL:
                    valid = valid & _causal_ok(offs_m[:, None], offs_n[None, :], N_Q, N_K)
                p = tz.where(valid, tz.exp2(s2 - lse2[:, None]), 0.0)
                ds = p * (tz.dot(do, tz.trans(v)) - delta[:, None])
                # dq_hat = SCALE * dS k_hat (k_hat rounded: see dK in the dkdv kernel).
                k_grad = k_op if GROUPS > 1 else k_hat.to(K.dtype.element_ty)
                dq_acc = tz.dot(ds.to(K.dtype.element_ty), k_grad, dq_acc)
                if HAS_DBIAS:
                    # Masked entries of ds are exact zeros; they are written too.
                    db_ptrs = db_base + n64 * stride_dbn + lm[:, None] * stride_dbm + ln[None, :] * stride_dbn
                    db_mask = row_ok[:, None] & (offs_n[None, :] < N_K)
                    prev = tz.load(db_ptrs, mask=db_mask & (not first), other=0.0)
                    tz.store(db_ptrs, prev.to(tz.float32) + ds, mask=db_mask)
            if HAS_DBIAS:
                # Key blocks the loop skipped (causal / KeyLens) have dS = 0;
                # the first pair writes them so that all of dBias is defined.
                for start_n in range(tz.cdiv(hi, BLOCK_N) * BLOCK_N, N_K, BLOCK_N):
                    n64 = start_n.to(tz.int64)
                    db_ptrs = db_base + n64 * stride_dbn + lm[:, None] * stride_dbm + ln[None, :] * stride_dbn
                    db_mask = row_ok[:, None] & ((start_n + ln)[None, :] < N_K) & first
                    tz.store(db_ptrs, tz.zeros((BLOCK_M, BLOCK_N), dtype=tz.float32), mask=db_mask)

            dq = _l2_normalize_bwd(q_hat, q_inv, q_unclamped, dq_acc * SCALE, BLOCK_M, GROUPS, HEAD_DIM)
            tz.store(DQ + b64 * stride_dqb + h64 * stride_dqh + m64 * stride_dqm
                     + lm[:, None] * stride_dqm + offs_d[None, :] * stride_dqd,
                     dq.to(DQ.dtype.element_ty), mask=row_ok[:, None])
