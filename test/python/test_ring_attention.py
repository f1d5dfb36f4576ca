"""Ring (context-parallel) attention, python/terrazzo/ring_attention.py:

- the merge kernel (kernels/attention_merge.py) alone on the interpreter,
  against attention over the union of two key sets in float64 from the
  definition (rows empty on one side or both, padded head dim, strided
  slices, NaN-poisoned accumulator rows that must not be read);
- the per-step plan: over all steps, each rank's tasks cover every visible
  (query, key) pair of the global causal / full mask exactly once;
- tz.ops.ring_attention and ring_cosine_sim_attention across 2, 3 and 4
  gloo processes on the CPU interpreter: output, lse and the gradients of
  q, k, v (each rank's slice) against float64 attention over the whole
  sequence from the definition, causal and not, contiguous (uneven) and
  zigzag (uneven) layouts, GQA, score_mod / mask_mod on global positions;
  and tz.ops.ring_lightning_attention (state passing) against the float64
  recurrence, with and without decay, uneven runs.

The multi-process tests need torch (gloo); without it they skip, like the
library's other torch tests.
"""

import os

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, poisoned

from terrazzo.ring_attention import layout_segments, plan_step

F16 = np.dtype(np.float16)


def rel_err(got, ref):
    got = np.asarray(got, np.float64)
    assert got.shape == ref.shape
    assert not np.isnan(got).any(), "NaN in the result (an element left unwritten?)"
    return np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30)


# --- the merge kernel ---------------------------------------------------------------


def attention_over(s, visible, v):
    """float64 softmax attention of scores s (B, H, N, K) over the visible
    keys: (out (B, H, N, D), lse (B, H, N)); rows with none: 0 and -inf."""
    s = np.where(visible, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    e = np.where(visible, np.exp(s - m_safe), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    out = (e / np.where(total > 0, total, 1.0)) @ v
    lse = np.where(total[..., 0] > 0, np.log(np.where(total[..., 0] > 0, total[..., 0], 1.0)) + m_safe[..., 0],
                   -np.inf)
    return out, lse


MERGE_DTYPES = [pytest.param((np.float32, F16), id="f32+f16"),
                pytest.param((F16, F16), id="f16+f16"),
                pytest.param((np.float32, BF16), id="f32+bf16",
                             marks=pytest.mark.skipif(BF16 is None, reason="no ml_dtypes"))]


@pytest.mark.parametrize("dtypes", MERGE_DTYPES)
@pytest.mark.parametrize("D", [16, 24])
def test_merge_matches_attention_over_the_union(rng, dtypes, D):
    acc_dtype, part_dtype = (np.dtype(d) for d in dtypes)
    B, H, N, Ka, Kb = 2, 3, 37, 20, 13
    s = rng.standard_normal((B, H, N, Ka + Kb)) * 3.0
    v = rng.standard_normal((B, H, Ka + Kb, D))
    visible = rng.random((B, H, N, Ka + Kb)) < 0.7
    visible[:, :, 0:3, :Ka] = False   # rows with keys only in the partial
    visible[:, :, 3:6, Ka:] = False   # rows with keys only in the accumulator
    visible[:, :, 6:8, :] = False     # rows with no key at all
    o_a, lse_a = attention_over(s[..., :Ka], visible[..., :Ka], v[:, :, :Ka])
    o_b, lse_b = attention_over(s[..., Ka:], visible[..., Ka:], v[:, :, Ka:])
    ref_o, ref_lse = attention_over(s, visible, v)

    # The accumulator is a strided slice of a larger (B, N + 5, H, D) buffer;
    # its rows without keys are NaN (never read, since their weight is 0).
    big = poisoned((B, N + 5, H, D), acc_dtype)
    acc = big.transpose(0, 2, 1, 3)[:, :, 2:2 + N]
    acc[...] = np.where(np.isfinite(lse_a)[..., None], o_a, np.nan).astype(acc_dtype)
    lse_big = poisoned((B, H, N + 4), np.float32)
    lse = lse_big[:, :, 1:1 + N]
    lse[...] = lse_a
    part = o_b.astype(part_dtype)
    part_lse = lse_b.astype(np.float32)

    tz.ops.attention_merge(acc, lse, part, part_lse)

    tol = {np.dtype(np.float32): 4e-3, F16: 4e-3}.get(acc_dtype, 3e-2)
    if part_dtype == BF16:
        tol = 3e-2
    assert rel_err(acc, ref_o) <= tol
    empty = ~np.isfinite(ref_lse)
    assert np.array_equal(~np.isfinite(lse), empty) and (lse[empty] == -np.inf).all()
    assert np.max(np.abs(lse[~empty] - ref_lse[~empty])) <= 1e-5 * max(1.0, np.max(np.abs(ref_lse[~empty])))
    assert (acc[empty] == 0).all()
    # The margins around the slices are untouched.
    assert np.isnan(big[:, :2]).all() and np.isnan(big[:, 2 + N:]).all()
    assert np.isnan(lse_big[:, :, 0]).all() and np.isnan(lse_big[:, :, 1 + N:]).all()


def test_merge_argument_errors():
    out = np.zeros((1, 2, 8, 16), np.float32)
    lse = np.zeros((1, 2, 8), np.float32)
    with pytest.raises(ValueError, match="'part_lse'.*float32"):
        tz.ops.attention_merge(out, lse, out.astype(F16), lse.astype(np.float64))
    with pytest.raises(ValueError, match="'part_out'.*shape"):
        tz.ops.attention_merge(out, lse, np.zeros((1, 2, 9, 16), F16), lse)
    with pytest.raises(ValueError, match="'lse'.*shape"):
        tz.ops.attention_merge(out, np.zeros((1, 2, 7), np.float32), out, lse)
    with pytest.raises(ValueError, match="'out'.*int32"):
        tz.ops.attention_merge(out.astype(np.int32), lse, out, lse)


# --- the plan of each step ----------------------------------------------------------


@pytest.mark.parametrize("layout,lengths", [("contiguous", [5, 9, 2]), ("contiguous", [4]),
                                            ("zigzag", [6, 2, 10, 4]), ("zigzag", [4, 4])])
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("positions", [False, True])
def test_plan_covers_the_mask_once(layout, lengths, causal, positions):
    W, S = len(lengths), sum(lengths)
    segs = layout_segments(lengths, layout)
    # Segments tile [0, S) exactly.
    starts = sorted((s.start, s.length) for r in segs for s in r)
    assert [a for a, _ in starts] == list(np.cumsum([0] + [n for _, n in starts])[:-1])
    assert sum(n for _, n in starts) == S

    def global_rows(rank):
        rows = np.empty(lengths[rank], np.int64)
        for s in segs[rank]:
            rows[s.local:s.local + s.length] = np.arange(s.start, s.start + s.length)
        return rows

    covered = np.zeros((S, S), np.int64)
    for r in range(W):
        qrows = global_rows(r)
        for src in range(W):
            krows = global_rows(src)
            for t in plan_step(segs[r], segs[src], causal, src == r, positions):
                if positions:  # one affine offset per task
                    assert (qrows[t.q0:t.q0 + t.nq] == t.q_start + np.arange(t.nq)).all()
                    assert (krows[t.k0:t.k0 + t.nk] == t.k_start + np.arange(t.nk)).all()
                for i in range(t.nq):
                    for j in range(t.nk):
                        qi, kj = qrows[t.q0 + i], krows[t.k0 + j]
                        # A causal task's mask is on local rows (bottom-right
                        # aligned with nq == nk).
                        if t.causal:
                            assert t.nq == t.nk
                            if j > i:
                                continue
                        covered[qi, kj] += 1
    expected = np.tril(np.ones((S, S), np.int64)) if causal else np.ones((S, S), np.int64)
    assert np.array_equal(covered, expected)


def test_layout_errors():
    from terrazzo.ring_attention import check_lengths
    with pytest.raises(ValueError, match="'q'.*even"):
        check_lengths([4, 3], "zigzag", "q")
    with pytest.raises(ValueError, match="'k'.*at least one"):
        check_lengths([4, 0], "contiguous", "k")
    with pytest.raises(ValueError, match="'layout'"):
        layout_segments([4, 4], "striped")


# --- across processes (gloo) -------------------------------------------------------


def lightning_reference(case):
    """float64 lightning attention over the whole sequence from its
    recurrence (lightning_reference.py); lse zeros (it has none)."""
    from lightning_reference import ref_backward, ref_forward
    args = (case["q"], case["k"], case["v"])
    out, _, _ = ref_forward(*args, case.get("decay"), case.get("scale"))
    dq, dk, dv, _ = ref_backward(*args, case["do"], case.get("decay"), case.get("scale"))
    return {"out": out, "lse": np.zeros(out.shape[:3]), "dq": dq, "dk": dk, "dv": dv}


def reference(case):
    """float64 attention over the whole sequence from the definition:
    (out, lse, dq, dk, dv) with torch autograd."""
    if case["kind"] == "lightning":
        return lightning_reference(case)
    import torch
    q, k, v, do = (torch.tensor(case[n], dtype=torch.float64) for n in ("q", "k", "v", "do"))
    q.requires_grad_(), k.requires_grad_(), v.requires_grad_()
    H, Hkv, S, D = q.shape[1], k.shape[1], q.shape[2], q.shape[3]
    kk, vv = (x.repeat_interleave(H // Hkv, dim=1) for x in (k, v))
    i = torch.arange(S, dtype=torch.float64)[:, None]
    j = torch.arange(S, dtype=torch.float64)[None, :]
    visible = torch.ones(S, S, dtype=torch.bool)
    if case["kind"] == "cosine_sim":
        qn = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        kn = kk / kk.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        s = case["scale"] * qn @ kn.transpose(-1, -2)
    else:
        scale = case.get("scale") or D ** -0.5
        s = scale * q @ kk.transpose(-1, -2)
        if case.get("score_mod") == "absolute_bias":
            s = s + 0.25 * torch.remainder(j, 4) - 0.125 * torch.remainder(i, 3)
        if case.get("mask_mod") == "window_and_pattern":
            visible &= (j > i - 7) & (torch.remainder(i + j, 5) != 1)
    if case["causal"]:
        visible &= j <= i
    s = s.masked_fill(~visible, -float("inf"))
    lse = torch.logsumexp(s, dim=-1)
    p = torch.exp(s - torch.where(torch.isfinite(lse), lse, 0.0)[..., None])
    out = p @ vv
    out.backward(do)
    return {"out": out.detach().numpy(), "lse": lse.detach().numpy(), "dq": q.grad.numpy(),
            "dk": k.grad.numpy(), "dv": v.grad.numpy()}


def run_ring(tmp_path, cases, world):
    """Runs the cases on ``world`` gloo processes; per case, the ranks'
    slices put together: {out, lse, dq, dk, dv} over the whole sequence."""
    torch = pytest.importorskip("torch")
    import torch.distributed as dist
    import torch.multiprocessing as mp
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch without gloo")
    import ring_attention_worker
    from terrazzo.ring_attention import unshard_sequence
    init_file = str(tmp_path / "init")
    mp.spawn(ring_attention_worker.run_rank, args=(world, init_file, str(tmp_path), cases), nprocs=world,
             join=True)
    results = []
    for i, case in enumerate(cases):
        per_rank = [np.load(tmp_path / f"case{i}-rank{r}.npz") for r in range(world)]
        got = {}
        for name in ("out", "lse", "dq", "dk", "dv"):
            parts = [torch.from_numpy(p[name]) for p in per_rank]
            if name == "lse":
                parts = [x[..., None] for x in parts]
            full = unshard_sequence(parts, case["layout"]).numpy()
            got[name] = full[..., 0] if name == "lse" else full
        got["timeline"] = [list(p["timeline"]) for p in per_rank]
        results.append(got)
    return results


def make_case(rng, kind, layout, lengths, causal, H=2, Hkv=2, D=16, dtype="float16", **extra):
    S = sum(lengths)
    case = {"kind": kind, "layout": layout, "lengths": lengths, "causal": causal, "dtype": dtype}
    # Inputs rounded to the dtype first, so the reference sees what the kernels see.
    np_dtype = F16 if dtype == "float16" else BF16
    for name, heads in (("q", H), ("k", Hkv), ("v", Hkv), ("do", H)):
        case[name] = rng.standard_normal((1, heads, S, D)).astype(np_dtype).astype(np.float32)
    case.update(extra)
    return case


OUT_TOL = {"float16": 4e-3, "bfloat16": 3e-2}
GRAD_TOL = {"float16": 1e-2, "bfloat16": 6e-2}


def check_against_reference(got, case):
    ref = reference(case)
    assert rel_err(got["out"], ref["out"]) <= OUT_TOL[case["dtype"]]
    finite = np.isfinite(ref["lse"])
    assert np.array_equal(np.isfinite(got["lse"]), finite)
    if case["kind"] == "flash":
        assert np.max(np.abs(got["lse"][finite] - ref["lse"][finite])) <= 1e-2
    for g in ("dq", "dk", "dv"):
        assert rel_err(got[g], ref[g]) <= GRAD_TOL[case["dtype"]], g


# Cases by world size; each world size is one set of processes (fixture
# below), each case one test.
CASES = {
    2: [dict(kind="flash", layout="contiguous", lengths=[13, 22], causal=False, H=4, Hkv=2),
        dict(kind="flash", layout="contiguous", lengths=[9, 15], causal=True, score_mod="absolute_bias",
             mask_mod="window_and_pattern"),
        dict(kind="cosine_sim", layout="zigzag", lengths=[12, 8], causal=True, scale=8.0),
        dict(kind="lightning", layout="contiguous", lengths=[21, 40], causal=True, decay=None)],
    3: [dict(kind="flash", layout="zigzag", lengths=[10, 14, 6], causal=True, scale=0.3),
        # Three ranks: the decay between runs (lambda^n of the middle run) matters.
        dict(kind="lightning", layout="contiguous", lengths=[16, 5, 30], causal=True, decay=[0.05, 0.3], scale=0.3)],
    4: [dict(kind="flash", layout="zigzag", lengths=[4, 4, 8, 4], causal=True, dtype="bfloat16",
             mask_mod="window_and_pattern")],
}
CASE_IDS = {
    2: ["contiguous-uneven-gqa", "contiguous-causal-uneven-mods-global-positions", "cosine-sim-zigzag-causal",
        "lightning-no-decay-uneven"],
    3: ["zigzag-causal-uneven", "lightning-decay-uneven"],
    4: ["zigzag-causal-mods-bf16"],
}


@pytest.fixture(scope="module")
def ring_runs(tmp_path_factory):
    """Per world size, (cases, results), run once for the module."""
    done = {}

    def get(world):
        if world not in done:
            if BF16 is None and any(spec.get("dtype") == "bfloat16" for spec in CASES[world]):
                pytest.skip("no ml_dtypes")
            rng = np.random.default_rng(1900 + world + int(os.environ.get("TZ_TEST_SEED", "0")))
            cases = [make_case(rng, **spec) for spec in CASES[world]]
            done[world] = (cases, run_ring(tmp_path_factory.mktemp(f"ring{world}"), cases, world))
        return done[world]
    return get


@pytest.mark.parametrize("world,index", [pytest.param(w, i, id=f"W{w}-{name}")
                                         for w, names in CASE_IDS.items() for i, name in enumerate(names)])
def test_ring_matches_whole_sequence_attention(ring_runs, world, index):
    cases, results = ring_runs(world)
    check_against_reference(results[index], cases[index])


@pytest.mark.parametrize("world", [2, 3])
def test_ring_timeline_marks_every_step_and_message(ring_runs, world):
    """record_timeline (what bench/ring_attention_bench.py reads): each rank
    marks every step's compute, its key/value message (all but the last
    step) and, in the backward, each step's dK/dV message."""
    cases, results = ring_runs(world)
    for labels in results[0]["timeline"]:
        expected = set()
        for t in range(world):
            for phase in ("fwd", "bwd"):
                expected |= {f"{phase}{t}:compute_start", f"{phase}{t}:compute_end"}
                if t + 1 < world:
                    expected |= {f"{phase}{t}:kv_issued", f"{phase}{t}:kv_done"}
            expected |= {f"bwd{t}:kernels_end", f"bwd{t}:dkv_issued", f"bwd{t}:dkv_done"}
        assert set(labels) == expected and len(labels) == len(expected)


def test_ring_argument_errors():
    torch = pytest.importorskip("torch")
    q = torch.zeros((1, 2, 8, 16), dtype=torch.float16)
    with pytest.raises(TypeError, match="ring_attention: argument 'k': expected a torch tensor"):
        tz.ops.ring_attention(q, np.zeros((1, 2, 8, 16), F16), q)
    with pytest.raises(ValueError, match="argument 'v': expected 4 dimensions"):
        tz.ops.ring_attention(q, q, q[0])
    with pytest.raises(ValueError, match="argument 'layout'"):
        tz.ops.ring_attention(q, q, q, layout="striped")
    import torch.distributed as dist
    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="init_process_group"):
            tz.ops.ring_cosine_sim_attention(q, q, q)
