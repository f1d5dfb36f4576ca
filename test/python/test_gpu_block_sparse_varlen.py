"""Block masks and packed sequences on the GPU with torch tensors: a block
mask built on the GPU equals the interpreter's; block-sparse attention and
flash_attention_varlen, forward and every gradient through torch.autograd,
against float64 PyTorch math over the dense mask / each sequence alone,
fp16 and bf16. Skipped without a CUDA GPU."""

import numpy as np
import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from torch_gpu_checks import BOUND, make, rel_err  # noqa: E402 (needs torch)


@pytest.fixture(autouse=True)
def fixed_tiles(monkeypatch):
    """The first candidate tiles, untimed: these tests check numerics, and
    tuning would compile every candidate of every variant here (minutes);
    test_gpu_library_tuning.py tests the tuner."""
    monkeypatch.setenv("TZ_LIBRARY_AUTOTUNE", "0")

WINDOW = 200
DOC_1, DOC_2, DOC_3 = 300, 333, 700


@tz.jit
def causal_window(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)


@tz.jit
def _document(i):
    return (i >= DOC_1).to(tz.int32) + (i >= DOC_2).to(tz.int32) + (i >= DOC_3).to(tz.int32)


@tz.jit
def document_causal(b, h, q_idx, kv_idx):
    return (_document(q_idx) == _document(kv_idx)) & (q_idx >= kv_idx)


def dense_keep(name, N):
    i = torch.arange(N, device="cuda")[:, None]
    j = torch.arange(N, device="cuda")[None, :]
    if name == "window":
        return (i >= j) & (i - j < WINDOW)
    doc = lambda x: (x >= DOC_1).int() + (x >= DOC_2).int() + (x >= DOC_3).int()
    return (doc(i) == doc(j)) & (i >= j)


def attention64(q, k, v, keep):
    """float64 softmax attention over keep (NQ, NK) or (1, NQ, NK); rows
    without keys give 0. q (B, H, NQ, D), k and v (B, H_KV, NK, D)."""
    q, k, v = (x.double() for x in (q, k, v))
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    s = (q @ k.transpose(-1, -2)) / q.shape[-1] ** 0.5
    s = s.masked_fill(~keep, float("-inf"))
    return torch.softmax(s, dim=-1).nan_to_num(0.0) @ v


@pytest.mark.parametrize("name,mod", [("window", causal_window), ("documents", document_causal)])
def test_gpu_block_mask_matches_interpreter(name, mod):
    gpu = tz.ops.create_block_mask(mod, None, None, 1000, 1000, block_size=128, device="cuda")
    cpu = tz.ops.create_block_mask(mod, None, None, 1000, 1000, block_size=128)
    for field in ("classes", "kv_counts", "kv_indices", "q_counts", "q_indices"):
        np.testing.assert_array_equal(getattr(gpu, field).cpu().numpy(), getattr(cpu, field), err_msg=field)


# Each case compiles four kernels: two cases cover both dtypes and both masks.
@pytest.mark.parametrize("dtype,name,mod", [(torch.float16, "window", causal_window),
                                            (torch.bfloat16, "documents", document_causal)],
                         ids=["f16-window", "bf16-documents"])
def test_gpu_block_sparse_forward_and_gradients(dtype, name, mod):
    torch.manual_seed(7)
    B, H, H_KV, N, D = 2, 4, 2, 1000, 128
    q, k, v = make((B, H, N, D), dtype), make((B, H_KV, N, D), dtype), make((B, H_KV, N, D), dtype)
    bm = tz.ops.create_block_mask(mod, None, None, N, N, block_size=128, device="cuda")
    out = tz.ops.flash_attention(q, k, v, block_mask=bm)
    dout = torch.randn_like(out)
    out.backward(dout)
    q64, k64, v64 = (x.detach().double().requires_grad_() for x in (q, k, v))
    ref = attention64(q64, k64, v64, dense_keep(name, N))
    ref.backward(dout.double())
    bound = BOUND[dtype]
    assert rel_err(out, ref.detach()) < bound
    for got, want, what in ((q.grad, q64.grad, "dq"), (k.grad, k64.grad, "dk"), (v.grad, v64.grad, "dv")):
        assert rel_err(got, want) < 2 * bound, what


@pytest.mark.parametrize("dtype,causal", [(torch.float16, True), (torch.bfloat16, False)],
                         ids=["f16-causal", "bf16-full"])
def test_gpu_varlen_forward_and_gradients(dtype, causal):
    torch.manual_seed(11)
    lens = [1, 100, 257, 64, 1000, 33]
    H, H_KV, D = 8, 2, 128
    cu = torch.tensor([0] + np.cumsum(lens).tolist(), dtype=torch.int32, device="cuda")
    T = sum(lens)
    q, k, v = make((T, H, D), dtype), make((T, H_KV, D), dtype), make((T, H_KV, D), dtype)
    out = tz.ops.flash_attention_varlen(q, k, v, cu, cu, max(lens), max(lens), causal=causal)
    dout = torch.randn_like(out)
    out.backward(dout)
    bound = BOUND[dtype]
    for b, n in enumerate(lens):
        rows = slice(int(cu[b]), int(cu[b + 1]))
        q64, k64, v64 = (x.detach()[rows].transpose(0, 1)[None].double().requires_grad_() for x in (q, k, v))
        keep = torch.ones(n, n, dtype=torch.bool, device="cuda")
        if causal:
            keep = torch.tril(keep)
        ref = attention64(q64, k64, v64, keep)
        ref.backward(dout[rows].transpose(0, 1)[None].double())
        assert rel_err(out[rows], ref.detach()[0].transpose(0, 1)) < bound, f"out, sequence {b}"
        for got, want, what in ((q.grad, q64.grad, "dq"), (k.grad, k64.grad, "dk"), (v.grad, v64.grad, "dv")):
            assert rel_err(got[rows], want[0].transpose(0, 1)) < 2 * bound, f"{what}, sequence {b}"


@tz.jit
def causal_document_ids(b, h, q_idx, kv_idx, doc_ptr):
    return (tz.load(doc_ptr + q_idx) == tz.load(doc_ptr + kv_idx)) & (q_idx >= kv_idx)


@tz.jit
def head_scale(score, b, h, q_idx, kv_idx, scale_ptr):
    return score * tz.load(scale_ptr + h)


def test_gpu_block_mask_with_captures_and_their_gradients():
    # The block mask's mask_mod reads document ids (mask_mod_args, kept by
    # the mask), the score_mod a per-head scale whose gradient autograd
    # returns; float64 torch autograd of the definition as the reference.
    torch.manual_seed(13)
    dtype, B, H, H_KV, N, D = torch.float16, 1, 4, 2, 1000, 64
    q, k, v = make((B, H, N, D), dtype), make((B, H_KV, N, D), dtype), make((B, H_KV, N, D), dtype)
    docs = torch.full((N + 128,), -1, dtype=torch.int32, device="cuda")
    pos = torch.arange(N, device="cuda")
    docs[:N] = (pos >= DOC_1).int() + (pos >= DOC_2).int() + (pos >= DOC_3).int()
    scale = (torch.rand(H, device="cuda") + 0.5).requires_grad_()
    bm = tz.ops.create_block_mask(causal_document_ids, None, None, N, N, block_size=128, device="cuda",
                                  mask_mod_args=(docs,))
    out = tz.ops.flash_attention(q, k, v, block_mask=bm, score_mod=head_scale, score_mod_args=(scale,))
    dout = torch.randn_like(out)
    out.backward(dout)
    q64, k64, v64 = (x.detach().double().requires_grad_() for x in (q, k, v))
    s64 = scale.detach().double().requires_grad_()
    rep = H // H_KV
    x = q64 @ k64.repeat_interleave(rep, dim=1).transpose(-1, -2) / D ** 0.5
    x = (x * s64[None, :, None, None]).masked_fill(~dense_keep("documents", N), float("-inf"))
    ref = torch.softmax(x, dim=-1) @ v64.repeat_interleave(rep, dim=1)
    ref.backward(dout.double())
    bound = BOUND[dtype]
    assert rel_err(out, ref.detach()) < bound
    for got, want, what in ((q.grad, q64.grad, "dq"), (k.grad, k64.grad, "dk"), (v.grad, v64.grad, "dv"),
                            (scale.grad, s64.grad, "d scale")):
        assert rel_err(got, want) < 2 * bound, what
