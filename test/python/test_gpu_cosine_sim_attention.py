"""tz.ops.cosine_sim_attention on the GPU with torch tensors: the output and
every gradient (q, k, v, and the bias, through torch.autograd) against
float64 PyTorch math, fp16 and bf16, causal and not, GQA, ragged cross
attention, groups, a broadcast bias, key masks and lengths, (B, S, H, D)
strides, and the argument checks. Skipped without a CUDA GPU."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from torch_gpu_checks import BOUND, make, rel_err  # noqa: E402 (needs torch)

DTYPES = [pytest.param(torch.float16, id="f16"), pytest.param(torch.bfloat16, id="bf16")]


def normalize(x, groups, eps):
    """x / max(||x||, eps) per group of D // groups columns."""
    g = x.unflatten(-1, (groups, x.shape[-1] // groups))
    n = torch.linalg.vector_norm(g, dim=-1, keepdim=True)
    return (g / n.clamp_min(eps)).flatten(-2)


def reference(q, k, v, causal, scale, groups=1, eps=1e-6, bias=None, key_mask=None, key_lens=None):
    """float64 cosine-sim attention with the library's conventions:
    bottom-right causal, masked keys dropped, rows that attend nothing give
    zeros (and zero gradients, with no NaN anywhere)."""
    q, k, v = (x.double() for x in (q, k, v))
    B, H, NQ, _ = q.shape
    NK = k.shape[2]
    rep = H // k.shape[1]
    q_hat = normalize(q, groups, eps)
    k_hat = normalize(k, groups, eps).repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = scale * q_hat @ k_hat.transpose(-1, -2)
    if bias is not None:
        s = s + bias.double()
    qi = torch.arange(NQ, device=q.device)[:, None]
    kj = torch.arange(NK, device=q.device)[None, :]
    keep = torch.ones(B, 1, NQ, NK, dtype=torch.bool, device=q.device)
    if causal:
        keep = keep & (kj <= qi + (NK - NQ))
    if key_mask is not None:
        keep = keep & key_mask.bool()[:, None, None, :]
    if key_lens is not None:
        keep = keep & (kj < key_lens.long()[:, None, None, None])
    if bias is not None:
        keep = keep & torch.isfinite(s)  # a -inf bias masks
    live = keep.any(-1, keepdim=True)
    # Dead rows get finite scores (so softmax and its gradient stay finite)
    # and are then zeroed.
    s = s.masked_fill(~keep, float("-inf")).masked_fill(~live, 0.0)
    p = torch.softmax(s, dim=-1) * live
    return p @ v


def check_case(dtype, B, H, H_KV, NQ, NK, D, causal, groups=1, scale=10.0, bias_shape=None, bias_dtype=None,
               key_mask=None, key_lens=None, layout="bhsd"):
    torch.manual_seed(B * 1000 + NQ * 7 + NK + D + groups)
    if layout == "bshd":  # (B, S, H, D) memory viewed as (B, H, S, D): no copies
        q = make((B, NQ, H, D), dtype).transpose(1, 2)
        k = make((B, NK, H_KV, D), dtype).transpose(1, 2)
        v = make((B, NK, H_KV, D), dtype).transpose(1, 2)
    else:
        q, k, v = make((B, H, NQ, D), dtype), make((B, H_KV, NK, D), dtype), make((B, H_KV, NK, D), dtype)
    bias = None
    if bias_shape is not None:
        bias = (2.0 * torch.randn(bias_shape, device="cuda", dtype=bias_dtype or dtype)).requires_grad_(True)
    leaves = [x for x in (q, k, v, bias) if x is not None]
    for x in leaves:
        x.retain_grad()
    out = tz.ops.cosine_sim_attention(q, k, v, scale=scale, causal=causal, groups=groups, bias=bias,
                                      key_mask=key_mask, key_lens=key_lens)
    assert out.dtype == dtype and out.shape == q.shape
    dout = torch.randn_like(out)
    out.backward(dout)
    refs = [x.detach().double().requires_grad_(True) for x in leaves]
    qr, kr, vr = refs[:3]
    br = refs[3] if bias is not None else None
    ref = reference(qr, kr, vr, causal, scale, groups, 1e-6, br, key_mask, key_lens)
    ref.backward(dout.double())
    bound = BOUND[dtype]
    assert rel_err(out.detach(), ref.detach()) < bound, "out"
    names = ("dq", "dk", "dv", "dbias")
    for name, x, r in zip(names, leaves, refs):
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == x.dtype, name
        assert rel_err(x.grad, r.grad) < 2 * bound, name
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_self_attention(dtype, causal):
    check_case(dtype, 2, 4, 4, 200, 200, 64, causal)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_cross_attention_ragged_and_gqa(dtype, causal):
    check_case(dtype, 2, 8, 2, 77, 139, 64, causal)
    out = check_case(dtype, 1, 4, 1, 139, 77, 64, causal)
    if causal:  # the first 139 - 77 rows attend nothing
        assert (out[:, :, : 139 - 77] == 0).all()


@pytest.mark.parametrize("D,groups", [(16, 1), (32, 2), (128, 1), (128, 4), (256, 1)])
def test_head_dims_and_groups(D, groups):
    check_case(torch.float16, 1, 2, 2, 70, 90, D, True, groups=groups)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("which", ["head", "batch", "full", "shared"])
def test_bias_gradient(dtype, causal, which):
    """The bias's gradient is summed over its broadcast dimensions."""
    B, H, NQ, NK = 2, 4, 77, 139
    shape = {"head": (1, H, NQ, NK), "batch": (B, 1, NQ, NK), "full": (B, H, NQ, NK), "shared": (1, 1, NQ, NK)}[which]
    check_case(dtype, B, H, 2, NQ, NK, 64, causal, bias_shape=shape)


def test_float32_bias_and_scale():
    check_case(torch.bfloat16, 2, 2, 2, 100, 100, 64, True, scale=5.0, bias_shape=(1, 2, 100, 100),
               bias_dtype=torch.float32)


@pytest.mark.parametrize("dtype", DTYPES)
def test_key_mask_and_lengths(dtype):
    B, NK = 3, 139
    g = torch.Generator(device="cuda").manual_seed(5)
    key_mask = torch.rand(B, NK, device="cuda", generator=g) < 0.8
    key_mask[1] = False  # batch 1 attends nothing: zeros, zero gradients
    key_lens = torch.tensor([139, 60, 100], dtype=torch.int32, device="cuda")
    out = check_case(dtype, B, 4, 2, 77, NK, 64, False, key_mask=key_mask, key_lens=key_lens,
                     bias_shape=(1, 4, 77, NK))
    assert (out[1] == 0).all()


def test_int8_key_mask_and_bshd_layout():
    key_mask = (torch.arange(123, device="cuda") % 5 != 0).to(torch.int8).repeat(2, 1) * 7
    check_case(torch.bfloat16, 2, 4, 2, 128, 123, 64, True, groups=2, key_mask=key_mask, layout="bshd")


def test_lse_and_backward_entry_point():
    """return_lse and cosine_sim_attention_backward with torch tensors."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 50, 64, device="cuda", dtype=torch.float16) for _ in range(3))
    bias = torch.randn(1, 2, 50, 50, device="cuda", dtype=torch.float32)
    out, lse = tz.ops.cosine_sim_attention(q, k, v, bias=bias, return_lse=True)
    assert lse.dtype == torch.float32 and lse.shape == (1, 2, 50)
    dout = torch.randn_like(out)
    dq, dk, dv, dbias = tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, dout, bias=bias)
    qr, kr, vr, br = (x.double().requires_grad_(True) for x in (q, k, v, bias))
    ref = reference(qr, kr, vr, False, 10.0, bias=br)
    ref.backward(dout.double())
    assert rel_err(out, ref.detach()) < BOUND[torch.float16]
    for name, got, r in (("dq", dq, qr), ("dk", dk, kr), ("dv", dv, vr), ("dbias", dbias, br)):
        assert rel_err(got, r.grad) < 2 * BOUND[torch.float16], name


def test_bad_arguments_name_the_argument():
    q = torch.randn(1, 2, 16, 64, device="cuda", dtype=torch.float16)
    k = torch.randn(1, 2, 16, 64, device="cuda", dtype=torch.float16)
    with pytest.raises(ValueError, match="'k'"):
        tz.ops.cosine_sim_attention(q, k.cpu(), k)
    with pytest.raises(ValueError, match="'v'"):
        tz.ops.cosine_sim_attention(q, k, k.float())
    with pytest.raises(ValueError, match="'bias'"):
        tz.ops.cosine_sim_attention(q, k, k, bias=torch.zeros(1, 2, 16, 16))  # on the CPU
    with pytest.raises(ValueError, match="'key_mask'"):
        tz.ops.cosine_sim_attention(q, k, k, key_mask=torch.ones(1, 15, dtype=torch.bool, device="cuda"))
    with pytest.raises(ValueError, match="'groups'"):
        tz.ops.cosine_sim_attention(q, k, k, groups=3)
    with pytest.raises(ValueError, match="'q'"):
        tz.ops.cosine_sim_attention(q[..., :48], k[..., :48], k[..., :48])
