"""tz.ops.flash_attention on the GPU with torch tensors: forward and every
gradient (through torch.autograd) against float64 PyTorch math, fp16 and
bf16, causal and not, GQA, cross attention with ragged lengths, key lengths,
a score_mod, and the argument checks. Skipped without a CUDA GPU."""

import math

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from torch_gpu_checks import BOUND, make, rel_err  # noqa: E402 (needs torch)


@tz.jit
def alibi(score, b, h, q_idx, kv_idx):
    slope = 0.125 * (h + 1)
    return score - slope * (q_idx - kv_idx)


def reference(q, k, v, causal, scale, seqlens_k=None, score_mod=None):
    """float64 attention with the same conventions (bottom-right causal,
    fully masked rows give zeros)."""
    q, k, v = (x.double() for x in (q, k, v))
    B, H, NQ, D = q.shape
    rep = H // k.shape[1]
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = torch.einsum("bhqd,bhkd->bhqk", q, k) * scale
    NK = k.shape[2]
    qi = torch.arange(NQ, device=q.device)[:, None]
    kj = torch.arange(NK, device=q.device)[None, :]
    if score_mod is not None:
        hh = torch.arange(H, device=q.device)[None, :, None, None]
        s = score_mod(s, hh, qi, kj)
    keep = torch.ones(B, 1, NQ, NK, dtype=torch.bool, device=q.device)
    if causal:
        keep &= kj <= qi + (NK - NQ)
    if seqlens_k is not None:
        keep &= kj[None, None] < seqlens_k.long()[:, None, None, None]
    s = s.masked_fill(~keep, float("-inf"))
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return p @ v


def check_case(dtype, B, H, H_KV, NQ, NK, D, causal, seqlens_k=None, score_mod=None, ref_mod=None, layout="bhsd"):
    torch.manual_seed(B * 1000 + NQ * 7 + NK + D)
    if layout == "bshd":  # (B, S, H, D) memory viewed as (B, H, S, D): no copies
        q = make((B, NQ, H, D), dtype).transpose(1, 2)
        k = make((B, NK, H_KV, D), dtype).transpose(1, 2)
        v = make((B, NK, H_KV, D), dtype).transpose(1, 2)
    else:
        q, k, v = make((B, H, NQ, D), dtype), make((B, H_KV, NK, D), dtype), make((B, H_KV, NK, D), dtype)
    for x in (q, k, v):
        x.retain_grad()
    out = tz.ops.flash_attention(q, k, v, causal=causal, seqlens_k=seqlens_k, score_mod=score_mod)
    dout = torch.randn_like(out)
    out.backward(dout)
    qr, kr, vr = (x.detach().double().requires_grad_(True) for x in (q, k, v))
    ref = reference(qr, kr, vr, causal, 1.0 / math.sqrt(D), seqlens_k, ref_mod)
    ref.backward(dout.double())
    bound = BOUND[dtype]
    assert rel_err(out.detach(), ref.detach()) < bound, "out"
    for name, got, want in (("dq", q.grad, qr.grad), ("dk", k.grad, kr.grad), ("dv", v.grad, vr.grad)):
        assert rel_err(got, want) < 2 * bound, name


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("D", [64, 128])
def test_self_attention(dtype, causal, D):
    check_case(dtype, 2, 4, 4, 200, 200, D, causal)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["f16", "bf16"])
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_cross_attention_ragged_and_gqa(dtype, causal):
    check_case(dtype, 2, 8, 2, 77, 139, 64, causal)
    check_case(dtype, 1, 4, 1, 139, 77, 64, causal)


@pytest.mark.parametrize("D", [32, 96, 256])
def test_other_head_dims(D):
    check_case(torch.float16, 1, 2, 2, 70, 90, D, False)


def test_bshd_layout_and_key_lengths():
    lens = torch.tensor([50, 123], dtype=torch.int32, device="cuda")
    check_case(torch.bfloat16, 2, 4, 2, 128, 123, 64, False, seqlens_k=lens, layout="bshd")


def test_score_mod_alibi():
    def alibi_ref(s, h, qi, kj):
        return s - 0.125 * (h + 1) * (qi - kj)
    check_case(torch.float16, 1, 4, 4, 96, 96, 64, True, score_mod=alibi, ref_mod=alibi_ref)


def test_bad_arguments_name_the_argument():
    q = torch.randn(1, 2, 16, 64, device="cuda", dtype=torch.float16)
    k = torch.randn(1, 2, 16, 64, device="cuda", dtype=torch.float16)
    with pytest.raises(ValueError, match="'k'"):
        tz.ops.flash_attention(q, k.cpu(), k)
    with pytest.raises(ValueError, match="'v'"):
        tz.ops.flash_attention(q, k, k.float())
    with pytest.raises(ValueError, match="'k'"):
        tz.ops.flash_attention(q, k[:, :, :, :32], k[:, :, :, :32])
