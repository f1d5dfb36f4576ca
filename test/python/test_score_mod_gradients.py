"""Gradients through a differentiated score_mod (issue 16): the flash
attention backward with compiler-derived d score_mod / d score, and the
gradients of tensors a score_mod reads (score_mod_args).

The reference is float64 attention written from the definition,
softmax(score_mod(Q K^T scale)) V, with the softmax's chain rule; the
score_mod's own derivatives (in the score and in each captured value) are
central differences of its float64 numpy twin, so nothing of the compiler's
differentiation enters the reference.

On the interpreter (CI) the inputs are numpy arrays and small, with lengths
that are not multiples of the tile. With TZ_TEST_DEVICE=cuda
(scripts/gpu-check.sh score-mod-grad) the same cases run on torch CUDA
tensors through autograd, at larger shapes.
"""

import importlib.util
import os

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16

ON_GPU = os.environ.get("TZ_TEST_DEVICE", "cpu") == "cuda"

DTYPES = [np.float16] + ([BF16] if BF16 is not None else [])
# Normwise bounds: a few units of the input format's roundoff, grown by the
# reduction lengths (P and dS are rounded to the input dtype for the dots).
BOUND = {np.dtype(np.float16): 4e-3}
if BF16 is not None:
    BOUND[np.dtype(BF16)] = 3e-2

REL_POS_RADIUS = 6


# --- the score_mods, each with a float64 numpy twin ------------------------

@tz.jit
def softcap(score, b, h, q_idx, kv_idx):
    return 20.0 * tz.tanh(score / 20.0)


def softcap_np(score, b, h, q_idx, kv_idx):
    return 20.0 * np.tanh(score / 20.0)


@tz.jit
def head_scale(score, b, h, q_idx, kv_idx, scale_ptr):
    return score * tz.load(scale_ptr + h)


def head_scale_np(score, b, h, q_idx, kv_idx, scale):
    return score * scale[h]


@tz.jit
def alibi(score, b, h, q_idx, kv_idx):
    slope = tz.exp2(-(h + 1.0))
    return score + slope * (kv_idx - q_idx)


def alibi_np(score, b, h, q_idx, kv_idx):
    return score + 2.0 ** -(h + 1.0) * (kv_idx - q_idx)


@tz.jit
def rel_pos_bias(score, b, h, q_idx, kv_idx, table_ptr):
    # table is (H, 2R + 1): a learned bias per head and clipped distance.
    dist = tz.minimum(tz.maximum(q_idx - kv_idx, -REL_POS_RADIUS), REL_POS_RADIUS)
    return score + tz.load(table_ptr + h * (2 * REL_POS_RADIUS + 1) + dist + REL_POS_RADIUS)


def rel_pos_bias_np(score, b, h, q_idx, kv_idx, table):
    dist = np.clip(q_idx - kv_idx, -REL_POS_RADIUS, REL_POS_RADIUS)
    return score + table[h, dist + REL_POS_RADIUS]


# torch twins (GPU mode): the float64 autograd reference differentiates these.
def softcap_torch(score, b, h, q_idx, kv_idx):
    import torch
    return 20.0 * torch.tanh(score / 20.0)


def head_scale_torch(score, b, h, q_idx, kv_idx, scale):
    return score * scale[h]


def alibi_torch(score, b, h, q_idx, kv_idx):
    return score + 2.0 ** -(h + 1.0) * (kv_idx - q_idx)


def rel_pos_bias_torch(score, b, h, q_idx, kv_idx, table):
    dist = (q_idx - kv_idx).clamp(-REL_POS_RADIUS, REL_POS_RADIUS)
    return score + table[h, dist + REL_POS_RADIUS]


TORCH_TWINS = {"softcap": softcap_torch, "head_scale": head_scale_torch, "alibi": alibi_torch,
               "rel_pos_bias": rel_pos_bias_torch}


def no_captures(rng, H):
    return ()


def per_head_scale(rng, H):
    return (rng.uniform(0.5, 1.5, H).astype(np.float32),)


def bias_table(rng, H):
    return (rng.standard_normal((H, 2 * REL_POS_RADIUS + 1)).astype(np.float32),)


# name: (score_mod, numpy twin, captures(rng, H), input magnitude)
# The soft-cap gets large scores, so that it bends them (tanh' ~ 0.5).
CASES = {
    "softcap": (softcap, softcap_np, no_captures, 4.0),
    "head_scale": (head_scale, head_scale_np, per_head_scale, 1.0),
    "alibi": (alibi, alibi_np, no_captures, 1.0),
    "rel_pos_bias": (rel_pos_bias, rel_pos_bias_np, bias_table, 1.0),
}


# --- float64 reference ----------------------------------------------------------

def reference(q, k, v, do, causal, scale, mod_np, captures, mask_np=None, mask_captures=()):
    """Output, dq, dk, dv and each capture's gradient, in float64."""
    q, k, v, do = (np.asarray(x, dtype=np.float64) for x in (q, k, v, do))
    caps = [np.asarray(c, dtype=np.float64) for c in captures]
    B, H, NQ, _ = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    group = H // H_KV
    kr, vr = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    b_idx = np.arange(B)[:, None, None, None]
    h_idx = np.arange(H)[None, :, None, None]
    qi, kj = np.arange(NQ)[:, None], np.arange(NK)[None, :]

    def mod(x, caps):
        return np.broadcast_to(mod_np(x, b_idx, h_idx, qi, kj, *caps), x.shape)

    x = q @ kr.transpose(0, 1, 3, 2) * scale
    s = mod(x, caps)
    keep = np.ones(s.shape, dtype=bool)
    if causal:
        keep = np.broadcast_to(kj <= qi + (NK - NQ), s.shape)
    if mask_np is not None:
        keep = keep & mask_np(b_idx, h_idx, qi, kj, *mask_captures)
    s = np.where(keep, s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    l = e.sum(-1, keepdims=True)
    p = e / np.where(l > 0, l, 1.0)
    o = p @ vr

    dp = do @ vr.transpose(0, 1, 3, 2)
    ds = p * (dp - (p * dp).sum(-1, keepdims=True))  # d loss / d score_mod(x)
    h_step = 1e-6 * np.maximum(np.abs(x), 1.0)
    dmod = (mod(x + h_step, caps) - mod(x - h_step, caps)) / (2 * h_step)
    dx = ds * dmod
    dq = dx @ kr * scale
    dk = (dx.transpose(0, 1, 3, 2) @ q * scale).reshape(B, H_KV, group, NK, -1).sum(2)
    dv = (p.transpose(0, 1, 3, 2) @ do).reshape(B, H_KV, group, NK, -1).sum(2)
    cap_grads = []
    for i, c in enumerate(caps):
        g = np.zeros_like(c)
        for idx in np.ndindex(c.shape):
            plus = [cc.copy() for cc in caps]
            minus = [cc.copy() for cc in caps]
            step = 1e-6 * max(abs(c[idx]), 1.0)
            plus[i][idx] += step
            minus[i][idx] -= step
            g[idx] = np.sum(ds * (mod(x, plus) - mod(x, minus))) / (2 * step)
        cap_grads.append(g)
    return dict(o=o, dq=dq, dk=dk, dv=dv, caps=cap_grads)


def torch_reference(q, k, v, do, causal, scale, mod_torch, captures):
    """The same quantities by float64 torch autograd of softmax(score_mod(Q K^T scale)) V."""
    import torch
    dev = "cuda"

    def t64(a, grad=True):
        return torch.tensor(np.asarray(a, dtype=np.float64), device=dev, requires_grad=grad)

    tq, tk, tv = t64(q), t64(k), t64(v)
    caps = [t64(c) for c in captures]
    B, H, NQ, _ = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    kr = tk.repeat_interleave(H // H_KV, dim=1)
    vr = tv.repeat_interleave(H // H_KV, dim=1)
    b_idx = torch.arange(B, device=dev).view(B, 1, 1, 1)
    h_idx = torch.arange(H, device=dev).view(1, H, 1, 1)
    qi = torch.arange(NQ, device=dev).view(NQ, 1)
    kj = torch.arange(NK, device=dev).view(1, NK)
    s = mod_torch(tq @ kr.transpose(-1, -2) * scale, b_idx, h_idx, qi, kj, *caps)
    if causal:
        s = s.masked_fill(~(kj <= qi + (NK - NQ)), float("-inf"))
    o = torch.softmax(s, dim=-1) @ vr
    o.backward(t64(do, grad=False))

    def host(t):
        return t.detach().cpu().numpy()

    return dict(o=host(o), dq=host(tq.grad), dk=host(tk.grad), dv=host(tv.grad), caps=[host(c.grad) for c in caps])


def report(case, dtype, causal, run, errors):
    # scripts/gpu-check.sh score-mod-grad keeps these lines with its results.
    path = os.environ.get("TZ_SCORE_MOD_GRAD_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(f"{case:13s} {np.dtype(dtype).name:8s} {'causal' if causal else 'full':6s} {run:19s} "
                    + " ".join(f"{k}={v:.2e}" for k, v in errors.items()) + "\n")


def rel_err(got, ref, what):
    got = np.asarray(got, dtype=np.float64)
    assert np.all(np.isfinite(got)), f"{what}: non-finite values (poison left?)"
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))


# --- runs -------------------------------------------------------------------------

def run_numpy(q, k, v, do, causal, mod, captures):
    # Outputs poisoned (NaN) first: every element must be written.
    out = np.full(q.shape, np.nan, dtype=q.dtype)
    lse = np.full(q.shape[:3], np.nan, dtype=np.float32)
    tz._terrazzo.ops.flash_attention_forward(q, k, v, causal, None, mod, None, None, True, out=out, lse_out=lse,
                                             score_mod_args=captures)
    dq, dk, dv = (np.full(x.shape, np.nan, dtype=x.dtype) for x in (q, k, v))
    grads = [np.zeros(c.shape, dtype=np.float32) for c in captures]
    tz._terrazzo.ops.flash_attention_backward(q, k, v, out, lse, do, causal, None, mod, None, None, dq=dq, dk=dk,
                                              dv=dv, score_mod_args=captures, score_mod_arg_grads=grads)
    return out, dq, dk, dv, grads


def _cuda(a, grad=False):
    # On the GPU in GPU mode; else a CPU tensor (the ops run it on the interpreter).
    import torch
    t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) if BF16 is not None and a.dtype == BF16 \
        else torch.from_numpy(a)
    return (t.cuda() if ON_GPU else t.clone()).requires_grad_(grad)


def _host(t):
    return t.detach().float().cpu().numpy()


def run_torch_autograd(q, k, v, do, causal, mod, captures):
    # What a model does: tensors that require grad, backward through autograd.
    tq, tk, tv = _cuda(q, True), _cuda(k, True), _cuda(v, True)
    tcaps = [_cuda(c, True) for c in captures]
    out = tz.ops.flash_attention(tq, tk, tv, causal=causal, score_mod=mod, score_mod_args=tcaps)
    out.backward(_cuda(do))
    return _host(out), _host(tq.grad), _host(tk.grad), _host(tv.grad), [_host(c.grad) for c in tcaps]


def run_torch_poisoned(q, k, v, do, causal, mod, captures):
    # The library ops on CUDA tensors with every output NaN-filled first.
    import torch
    tq, tk, tv, tdo = _cuda(q), _cuda(k), _cuda(v), _cuda(do)
    tcaps = [_cuda(c) for c in captures]
    out = torch.full_like(tq, float("nan"))
    lse = torch.full(tq.shape[:3], float("nan"), dtype=torch.float32, device="cuda")
    tz._terrazzo.ops.flash_attention_forward(tq, tk, tv, causal, None, mod, None, None, True, out=out, lse_out=lse,
                                             score_mod_args=tcaps)
    dq, dk, dv = (torch.full_like(t, float("nan")) for t in (tq, tk, tv))
    grads = [torch.zeros(c.shape, dtype=torch.float32, device="cuda") for c in tcaps]
    tz._terrazzo.ops.flash_attention_backward(tq, tk, tv, out, lse, tdo, causal, None, mod, None, None, dq=dq,
                                              dk=dk, dv=dv, score_mod_args=tcaps, score_mod_arg_grads=grads)
    torch.cuda.synchronize()
    return _host(out), _host(dq), _host(dk), _host(dv), [_host(g) for g in grads]


def shapes():
    if ON_GPU:
        return (2, 4, 2, 301, 517, 64)
    return (1, 2, 1, 37, 45, 16)  # GQA; lengths no multiple of the 16/32/64 tiles


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", list(CASES))
def test_score_mod_gradients(rng, case, dtype, causal):
    mod, mod_np, make_captures, magnitude = CASES[case]
    B, H, H_KV, NQ, NK, D = shapes()
    q = (magnitude * rng.standard_normal((B, H, NQ, D))).astype(dtype)
    k = (magnitude * rng.standard_normal((B, H_KV, NK, D))).astype(dtype)
    v = rng.standard_normal((B, H_KV, NK, D)).astype(dtype)
    do = rng.standard_normal((B, H, NQ, D)).astype(dtype)
    captures = make_captures(rng, H)
    ref = reference(q, k, v, do, causal, 1.0 / np.sqrt(D), mod_np, captures)
    if ON_GPU:
        # float64 autograd, and the two references agree
        ref_np, ref = ref, torch_reference(q, k, v, do, causal, 1.0 / np.sqrt(D), TORCH_TWINS[case], captures)
        for name in ("o", "dq", "dk", "dv"):
            assert rel_err(ref_np[name], ref[name], name) < 1e-6, f"references disagree on {name}"
        for a, b in zip(ref_np["caps"], ref["caps"]):
            assert rel_err(a, b, "capture gradient") < 1e-6, "references disagree on a capture's gradient"
    # Without a GPU, torch CPU tensors (when torch is installed) go through
    # the same autograd Function on the interpreter.
    runs = (run_torch_autograd, run_torch_poisoned) if ON_GPU else (run_numpy,) + \
        ((run_torch_autograd,) if importlib.util.find_spec("torch") else ())
    bound = BOUND[np.dtype(dtype)]
    for run in runs:
        out, dq, dk, dv, grads = run(q, k, v, do, causal, mod, captures)
        errors = {"out": rel_err(out, ref["o"], "out")}
        for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
            errors[name] = rel_err(got, ref[name], name)
        assert len(grads) == len(captures)
        for i, g in enumerate(grads):
            assert g.shape == captures[i].shape
            errors[f"arg{i}"] = rel_err(g, ref["caps"][i], f"score_mod_args[{i}] gradient")
        report(case, dtype, causal, run.__name__, errors)
        assert errors["out"] < bound, (run.__name__, errors)
        for name, err in errors.items():
            assert err < 2 * bound, (run.__name__, name, errors)


def test_reference_differentiates_score_mod(rng):
    # The reference's chain rule, checked by a directional finite difference
    # of its own loss: a wrong derivative there would pass wrong kernels.
    B, H, NQ, NK, D = 1, 2, 5, 7, 4
    q, k, v, do = (rng.standard_normal(s) for s in ((B, H, NQ, D), (B, H, NK, D), (B, H, NK, D), (B, H, NQ, D)))
    table = rng.standard_normal((H, 2 * REL_POS_RADIUS + 1))
    dirs = [rng.standard_normal(x.shape) for x in (q, k, table)]

    def loss(q, k, table):
        r = reference(q, k, v, do, True, 0.5, lambda *a: softcap_np(rel_pos_bias_np(*a), *a[1:5]), (table,))
        return np.sum(r["o"] * do), r

    _, r = loss(q, k, table)
    t = 1e-6
    plus, _ = loss(q + t * dirs[0], k + t * dirs[1], table + t * dirs[2])
    minus, _ = loss(q - t * dirs[0], k - t * dirs[1], table - t * dirs[2])
    predicted = np.sum(r["dq"] * dirs[0]) + np.sum(r["dk"] * dirs[1]) + np.sum(r["caps"][0] * dirs[2])
    assert abs((plus - minus) / (2 * t) - predicted) < 1e-6 * max(1.0, abs(predicted))


@pytest.mark.skipif(ON_GPU, reason="interpreter errors")
def test_non_differentiable_score_mod_is_a_diagnostic(rng):
    q = rng.standard_normal((1, 1, 16, 16)).astype(np.float16)
    out = np.zeros_like(q)
    lse = np.zeros((1, 1, 16), dtype=np.float32)
    tz._terrazzo.ops.flash_attention_forward(q, q, q, False, None, bit_trick, None, None, True, out=out, lse_out=lse)
    with pytest.raises(tz.CompilationError) as e:
        tz.ops.flash_attention_backward(q, q, q, out, lse, q, score_mod=bit_trick)
    message = str(e.value)
    assert "cannot differentiate 'arith.bitcast'" in message
    assert "test_score_mod_gradients.py:" in message
    assert "bits = score.to(tz.int32, bitcast=True)" in message


@tz.jit
def bit_trick(score, b, h, q_idx, kv_idx):
    bits = score.to(tz.int32, bitcast=True)
    return (bits & 0x7FFFFFFF).to(tz.float32, bitcast=True)


def test_bad_score_mod_args():
    q = np.zeros((1, 1, 16, 16), dtype=np.float16)
    table = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match="score_mod_args.*at most 4"):
        tz.ops.flash_attention(q, q, q, score_mod=head_scale, score_mod_args=(table,) * 5)
    with pytest.raises(ValueError, match="score_mod_args.*needs a score_mod"):
        tz.ops.flash_attention(q, q, q, score_mod_args=(table,))
    with pytest.raises(TypeError, match="score_mod_args\\[0\\]"):
        tz.ops.flash_attention(q, q, q, score_mod=head_scale, score_mod_args=("table",))
    with pytest.raises(ValueError, match="mask_mod_args.*needs a mask_mod"):
        tz.ops.flash_attention(q, q, q, mask_mod_args=(table,))


@pytest.mark.skipif(ON_GPU, reason="compile-only check for CI")
@pytest.mark.parametrize("case", ["head_scale", "rel_pos_bias"])
def test_backward_with_captures_compiles_for_gpu(case):
    # CI has no GPU: the dQ kernel with its derivative, the reductions and the
    # atomic adds into the capture's gradient must still reach a cubin.
    kernel_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels",
                               "flash_attention.py")
    dq_kernel = tz._terrazzo.Kernel.from_file(kernel_file, "flash_attention_bwd_dq")
    mod, _, make_captures, _ = CASES[case]
    B, H, N, D = 1, 2, 128, 64
    q = np.zeros((B, H, N, D), np.float16)
    rows = np.zeros((B, H, N), np.float32)
    capture = make_captures(np.random.default_rng(0), H)[0]
    grad = np.zeros(capture.shape, np.float32)
    strides = tuple(s // 2 for s in q.strides)
    args = (q, q, q, q, rows, rows, q, None) + strides * 5 + (H, H, N, N, 0.125)
    kwargs = dict(HEAD_DIM=D, BLOCK_M=64, BLOCK_N=64, CAUSAL=True, SCORE_MOD=mod, score_mod_arg0=capture,
                  score_mod_grad0=grad, arch="sm_90a", num_warps=4)
    if case == "rel_pos_bias":  # and a mask_mod reading a tensor
        kwargs.update(MASK_MOD=same_document, mask_mod_arg0=np.zeros(N + 64, np.int32))
    info = dq_kernel.compile_for_gpu(args, kwargs)
    assert info["cubin_bytes"] > 0
    assert "atom" in info["ptx"] or "red." in info["ptx"]
    # The forward and the dK/dV kernel read the capture (and differentiate).
    fwd = tz._terrazzo.Kernel.from_file(kernel_file, "flash_attention_fwd")
    fwd_args = (q, q, q, q, rows, None) + strides * 4 + (H, H, N, N, 0.125)
    kw = {k: v for k, v in kwargs.items() if k != "score_mod_grad0"}
    assert fwd.compile_for_gpu(fwd_args, dict(kw, STORE_LSE=True))["cubin_bytes"] > 0
    dkdv = tz._terrazzo.Kernel.from_file(kernel_file, "flash_attention_bwd_dkdv")
    dkdv_args = (q, q, q, q, rows, rows, q, q, None) + strides * 6 + (H, H, N, N, 0.125)
    assert dkdv.compile_for_gpu(dkdv_args, kw)["cubin_bytes"] > 0


@tz.jit
def bucketed_bias(score, b, h, q_idx, kv_idx, bucket_ptr, bias_ptr):
    # An int32 bucket per distance (a capture without a gradient) indexing a
    # float bias per bucket (a capture with one).
    dist = tz.minimum(tz.abs(q_idx - kv_idx), 15)
    return score + tz.load(bias_ptr + tz.load(bucket_ptr + dist))


def bucketed_bias_np(score, b, h, q_idx, kv_idx, buckets, bias):
    return score + bias[buckets.astype(np.int64)[np.minimum(np.abs(q_idx - kv_idx), 15)]]


@pytest.mark.skipif(ON_GPU, reason="numpy API")
def test_numpy_api_returns_capture_gradients(rng):
    B, H, NQ, NK, D = 1, 2, 21, 19, 16
    q, k, v, do = (rng.standard_normal(s).astype(np.float16)
                   for s in ((B, H, NQ, D), (B, H, NK, D), (B, H, NK, D), (B, H, NQ, D)))
    buckets = (np.arange(16) // 3).astype(np.int32)
    bias = rng.standard_normal(6).astype(np.float32)
    out, lse = tz.ops.flash_attention(q, k, v, score_mod=bucketed_bias, score_mod_args=(buckets, bias),
                                      return_lse=True)
    dq, dk, dv, grads = tz.ops.flash_attention_backward(q, k, v, out, lse, do, score_mod=bucketed_bias,
                                                        score_mod_args=(buckets, bias))
    assert grads[0] is None and grads[1].dtype == np.float32 and grads[1].shape == bias.shape
    ref = reference(q, k, v, do, False, 1.0 / np.sqrt(D), bucketed_bias_np, (buckets, bias))
    assert rel_err(out, ref["o"], "out") < BOUND[np.dtype(np.float16)]
    for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
        assert rel_err(got, ref[name], name) < 2 * BOUND[np.dtype(np.float16)], name
    assert rel_err(grads[1], ref["caps"][1], "bias gradient") < 2 * BOUND[np.dtype(np.float16)]
    # Without captures the backward keeps returning three gradients.
    assert len(tz.ops.flash_attention_backward(q, k, v, out, lse, do)) == 3


@tz.jit
def same_document(b, h, q_idx, kv_idx, doc_ptr):
    # doc_ptr holds one document id per position, padded past the longest
    # sequence: the last tiles ask about indices past the end.
    return tz.load(doc_ptr + q_idx) == tz.load(doc_ptr + kv_idx)


def same_document_np(b, h, q_idx, kv_idx, docs):
    return docs[q_idx] == docs[kv_idx]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_mask_mod_reads_a_tensor(rng, dtype):
    # Causal attention within documents (ids read by the mask_mod), with a
    # per-head scale read by the score_mod: gradients of q, k, v and the scale.
    B, H, H_KV, NQ, NK, D = shapes()
    N = max(NQ, NK)
    q = rng.standard_normal((B, H, N, D)).astype(dtype)
    k, v = (rng.standard_normal((B, H_KV, N, D)).astype(dtype) for _ in range(2))
    do = rng.standard_normal((B, H, N, D)).astype(dtype)
    ends = np.sort(rng.choice(np.arange(1, N), 3, replace=False))
    docs = np.full(N + 1024, -1, np.int32)
    docs[:N] = np.searchsorted(ends, np.arange(N), side="right")
    scale = per_head_scale(rng, H)[0]
    ref = reference(q, k, v, do, True, 1.0 / np.sqrt(D), head_scale_np, (scale,), same_document_np, (docs,))
    if ON_GPU:
        tq, tk, tv = _cuda(q, True), _cuda(k, True), _cuda(v, True)
        tscale, tdocs = _cuda(scale, True), _cuda(docs)
        out = tz.ops.flash_attention(tq, tk, tv, causal=True, score_mod=head_scale, score_mod_args=(tscale,),
                                     mask_mod=same_document, mask_mod_args=(tdocs,))
        out.backward(_cuda(do))
        out, dq, dk, dv, dscale = (_host(t) for t in (out, tq.grad, tk.grad, tv.grad, tscale.grad))
    else:
        out, lse = tz.ops.flash_attention(q, k, v, causal=True, score_mod=head_scale, score_mod_args=(scale,),
                                          mask_mod=same_document, mask_mod_args=(docs,), return_lse=True)
        dq, dk, dv, (dscale,) = tz.ops.flash_attention_backward(
            q, k, v, out, lse, do, causal=True, score_mod=head_scale, score_mod_args=(scale,),
            mask_mod=same_document, mask_mod_args=(docs,))
    bound = BOUND[np.dtype(dtype)]
    assert rel_err(out, ref["o"], "out") < bound
    for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
        assert rel_err(got, ref[name], name) < 2 * bound, name
    assert rel_err(dscale, ref["caps"][0], "scale gradient") < 2 * bound
