"""tz.ops.lightning_attention (+ decode) on the GPU with torch tensors: the
output, the final state and every gradient (q, k, v, the initial state,
through torch.autograd, with a gradient on the final state too) against
float64 PyTorch math written from the recurrence's unrolled form, fp16 and
bf16, with and without decay, ragged N, N = 1, every head dim pair the
tiles split differently, (B, N, H, D) strides; decode vs forward at every
position. Skipped without a CUDA GPU."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from torch_gpu_checks import BOUND, make, rel_err  # noqa: E402 (needs torch)

DTYPES = [pytest.param(torch.float16, id="f16"), pytest.param(torch.bfloat16, id="bf16")]


def reference(q, k, v, decay, scale, init):
    """float64 (out, final state) of S_t = lambda S_{t-1} + k_t^T v_t,
    o_t = scale q_t S_t, unrolled: o_i = sum_{j <= i} lambda^(i-j) scale
    (q_i . k_j) v_j + lambda^(i+1) scale q_i S_init, S_f = sum_j
    lambda^(N-1-j) k_j^T v_j + lambda^N S_init. Differentiable."""
    q, k, v = (x.double() for x in (q, k, v))
    B, H, N, DK = q.shape
    s = torch.zeros(H, dtype=torch.float64, device=q.device) if decay is None else decay.double()
    i = torch.arange(N, device=q.device, dtype=torch.float64)
    dist = i[:, None] - i[None, :]
    w = torch.where(dist >= 0, torch.exp(-s[:, None, None] * dist.clamp_min(0)), torch.zeros((), dtype=torch.float64,
                                                                                             device=q.device))
    out = ((scale * q @ k.transpose(-1, -2)) * w) @ v
    tail = torch.exp(-s[:, None] * (N - 1 - i))  # (H, N): lambda^(N-1-j)
    final = torch.einsum("bhnk,bhnv,hn->bhkv", k, v, tail)
    if init is not None:
        init = init.double()
        out = out + torch.exp(-s[:, None, None] * (i[:, None] + 1)) * (scale * q @ init)
        final = final + torch.exp(-s * N)[None, :, None, None] * init
    return out, final


def run_case(dtype, B, H, N, DK, DV, decay, initial, layout="bhsd", scale=None):
    if layout == "bshd":
        mk = lambda D: make((B, N, H, D), dtype).transpose(1, 2)
    else:
        mk = lambda D: make((B, H, N, D), dtype)
    q, k, v = mk(DK), mk(DK), mk(DV)
    for x in (q, k, v):
        if not x.is_leaf:  # the (B, S, H, D) views: keep their gradients to compare
            x.retain_grad()
    dec = torch.rand(H, device="cuda") * 0.5 if decay else None
    if decay:
        dec[0] = 0.0
    init = torch.randn(B, H, DK, DV, device="cuda").requires_grad_() if initial else None
    out, fin = tz.ops.lightning_attention(q, k, v, decay=dec, scale=scale, initial_state=init,
                                          return_final_state=True)
    assert out.dtype == dtype and fin.dtype == torch.float32
    sc = DK ** -0.5 if scale is None else scale
    leaves = [q, k, v] + ([init] if initial else [])
    qr, kr, vr = (x.detach().double().requires_grad_() for x in (q, k, v))
    initr = init.detach().double().requires_grad_() if initial else None
    r_out, r_fin = reference(qr, kr, vr, dec, sc, initr)
    assert rel_err(out, r_out.detach()) <= BOUND[dtype], "out"
    assert rel_err(fin, r_fin.detach()) <= BOUND[dtype], "final state"
    do = torch.randn_like(out)
    dfin = torch.randn_like(fin) * 0.1
    torch.autograd.backward([out, fin], [do, dfin])
    torch.autograd.backward([r_out, r_fin], [do.double(), dfin.double()])
    refs = [qr, kr, vr] + ([initr] if initial else [])
    for name, got, ref in zip(("dq", "dk", "dv", "dinit"), leaves, refs):
        assert rel_err(got.grad, ref.grad) <= 2 * BOUND[dtype], name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decay", [False, True], ids=["nodecay", "decay"])
@pytest.mark.parametrize("N", [1, 200, 1000])
def test_forward_backward(dtype, decay, N):
    run_case(dtype, 2, 4, N, 64, 64, decay, initial=True)


@pytest.mark.parametrize("DK,DV", [(128, 128), (256, 64), (64, 256), (16, 32)])
def test_head_dims(DK, DV):
    run_case(torch.bfloat16, 1, 2, 333, DK, DV, True, initial=False)


@pytest.mark.parametrize("tiles", ["64,32,64,128,64,1000000", "64,32,64,128,128,8", "128,32,64,128,64",
                                   "32,32,64,128,128,1", "64,64,64,128,64,32"])
def test_other_tiles(monkeypatch, tiles):
    """The benchmark's tile sweep settings (TZ_LIGHTNING_TILES) give correct
    results too."""
    monkeypatch.setenv("TZ_LIGHTNING_TILES", tiles)
    run_case(torch.bfloat16, 1, 4, 1500, 128, 128, True, initial=True)


@tz.jit
def elu_plus_one(x):
    return tz.where(x > 0.0, x + 1.0, tz.exp(x))


@tz.jit
def elu_plus_one_grad(x, g):
    return tz.where(x > 0.0, g, g * tz.exp(x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_feature_map(dtype):
    """feature_map=elu + 1 through autograd: the reference maps q and k in
    float64 (torch differentiates the map there)."""
    B, H, N, D = 2, 4, 700, 64
    q, k, v = (make((B, H, N, D), dtype) for _ in range(3))
    dec = torch.rand(H, device="cuda") * 0.3
    out = tz.ops.lightning_attention(q, k, v, decay=dec, feature_map=elu_plus_one, feature_map_grad=elu_plus_one_grad)
    qr, kr, vr = (x.detach().double().requires_grad_() for x in (q, k, v))
    phi = lambda x: torch.where(x > 0, x + 1.0, torch.exp(x.clamp_max(0.0)))
    r_out, _ = reference(phi(qr), phi(kr), vr, dec, D ** -0.5, None)
    assert rel_err(out, r_out.detach()) <= BOUND[dtype]
    do = torch.randn_like(out)
    out.backward(do)
    r_out.backward(do.double())
    for name, got, ref in (("dq", q, qr), ("dk", k, kr), ("dv", v, vr)):
        assert rel_err(got.grad, ref.grad) <= 2 * BOUND[dtype], name


def test_strides_and_scale():
    run_case(torch.float16, 2, 3, 130, 128, 128, True, initial=True, layout="bshd", scale=0.05)


@pytest.mark.parametrize("dtype", DTYPES)
def test_decode_matches_forward(dtype):
    B, H, N, DK, DV = 2, 4, 70, 128, 128
    q, k, v = (make((B, H, N, D), dtype, False) for D in (DK, DK, DV))
    dec = torch.rand(H, device="cuda")
    state0 = torch.randn(B, H, DK, DV, device="cuda")
    fwd, fin = tz.ops.lightning_attention(q, k, v, decay=dec, initial_state=state0, return_final_state=True)
    r_out, r_fin = reference(q, k, v, dec, DK ** -0.5, state0)
    state = state0.clone()
    for t in range(N):
        o, state = tz.ops.lightning_attention_decode(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], state,
                                                     decay=dec, inplace=True)
        assert rel_err(o, r_out[:, :, t:t + 1]) <= BOUND[dtype], f"decode out {t}"
        assert rel_err(fwd[:, :, t:t + 1], o.double()) <= 2 * BOUND[dtype], f"forward vs decode {t}"
    assert rel_err(state, r_fin) <= 1e-5
    assert rel_err(fin, state.double()) <= BOUND[dtype]


def test_long_sequence_against_fp32_recurrence():
    """N = 8192 (128 chunks) with and without decay: the carried state over
    many chunks, against a float64 reference computed chunk-free."""
    B, H, N, D = 1, 2, 8192, 64
    q, k, v = (make((B, H, N, D), torch.bfloat16, False) for _ in range(3))
    for dec in (None, torch.tensor([0.0, 0.01], device="cuda")):
        out, fin = tz.ops.lightning_attention(q, k, v, decay=dec, return_final_state=True)
        r_out, r_fin = reference(q, k, v, dec, D ** -0.5, None)
        assert rel_err(out, r_out) <= BOUND[torch.bfloat16]
        assert rel_err(fin, r_fin) <= BOUND[torch.bfloat16]


def test_argument_errors():
    q = make((1, 2, 8, 64), torch.float16, False)
    with pytest.raises(ValueError, match="argument 'k': is on cpu"):
        tz.ops.lightning_attention(q, q.cpu(), q)
    with pytest.raises(ValueError, match="argument 'decay': is on cpu"):
        tz.ops.lightning_attention(q, q, q, decay=torch.zeros(2))
