"""The cached launch path on the GPU: repeated launches are served from the
cache (and compute the right thing), follow torch's current stream and an
explicit stream=, recompile when a global changes, fall back to the full
path for arguments it does not cache (and keep its errors), and serve
autotuned kernels once tuned. Skipped without a CUDA GPU."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")


@tz.jit
def axpby(x_ptr, y_ptr, z_ptr, out_ptr, n, alpha, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    z = tz.load(z_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, alpha * x + y - z, mask=mask)


def reference(x, y, z, alpha):
    return alpha * x.double() + y.double() - z.double()


def fresh(n, seed):
    g = torch.Generator(device="cuda").manual_seed(seed)
    x, y, z = (torch.randn(n, device="cuda", generator=g) for _ in range(3))
    out = torch.full((n + 64,), float("nan"), device="cuda")
    return x, y, z, out


def check(out, x, y, z, alpha, n):
    torch.cuda.synchronize()
    assert torch.allclose(out[:n].double(), reference(x, y, z, alpha), rtol=1e-6, atol=1e-6)
    assert torch.isnan(out[n:]).all(), "elements past n were written"


def test_torch_tensors_are_read_through_their_c_getters():
    axpby[(1,)](*fresh(16, 1), 16, 1.0, BLOCK=16)
    state = tz._terrazzo._tensor_reader_state()
    assert state["torch_found"] and state["direct_calls"], state
    assert "Tensor" in state["direct_types"] and "Parameter" in state["direct_types"], state


def test_repeated_launches_hit_the_cache_and_are_right():
    before = axpby._fast_stats()
    for i, n in enumerate([5000, 5000, 7001, 5000, 12345]):
        x, y, z, out = fresh(n, i)
        axpby[(tz.cdiv(n, 256),)](x, y, z, out, n, 0.25 * (i + 1), BLOCK=256)
        check(out, x, y, z, 0.25 * (i + 1), n)
    after = axpby._fast_stats()
    # 5000 (miss), 5000 (hit), 7001 (same key: hit), 5000 (hit), 12345 (hit).
    assert after["hits"] - before["hits"] >= 3, after


def test_launch_follows_the_current_torch_stream():
    n = 1 << 20
    x, y, z, out = fresh(n, 7)
    axpby[(tz.cdiv(n, 1024),)](x, y, z, out, n, 1.0, BLOCK=1024)  # plan it
    torch.cuda.synchronize()
    stream = torch.cuda.Stream()
    hits = axpby._fast_stats()["hits"]
    with torch.cuda.stream(stream):
        torch.cuda._sleep(100_000_000)  # keeps `stream` busy; x is rewritten after it
        x.fill_(3.0)
        axpby[(tz.cdiv(n, 1024),)](x, y, z, out, n, 1.0, BLOCK=1024)
    assert axpby._fast_stats()["hits"] == hits + 1
    stream.synchronize()
    # On any other stream the kernel would have read x before the fill.
    check(out, x, y, z, 1.0, n)


def test_explicit_stream_option():
    n = 4096
    x, y, z, out = fresh(n, 8)
    stream = torch.cuda.Stream()
    for _ in range(2):
        with torch.cuda.stream(stream):
            torch.cuda._sleep(50_000_000)
            x.fill_(-2.0)
        axpby[(tz.cdiv(n, 256),)](x, y, z, out, n, 1.0, BLOCK=256, stream=stream.cuda_stream)
        stream.synchronize()
        check(out, x, y, z, 1.0, n)


OFFSET = 1.0


@tz.jit
def add_offset(x_ptr, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, tz.load(x_ptr + offs, mask=offs < n) + OFFSET, mask=offs < n)


def test_a_rebound_global_recompiles():
    global OFFSET
    x = torch.zeros(1000, device="cuda")
    for _ in range(2):
        add_offset[(4,)](x, 1000, BLOCK=256)
    try:
        OFFSET = 10.0
        add_offset[(4,)](x, 1000, BLOCK=256)
    finally:
        OFFSET = 1.0
    add_offset[(4,)](x, 1000, BLOCK=256)
    torch.cuda.synchronize()
    assert torch.equal(x, torch.full_like(x, 13.0))


def test_argument_errors_still_name_the_argument():
    n = 256
    x, y, z, out = fresh(n, 9)
    axpby[(1,)](x, y, z, out, n, 1.0, BLOCK=256)
    with pytest.raises(Exception, match="out_ptr"):
        axpby[(1,)](x, y, z, out.cpu(), n, 1.0, BLOCK=256)  # host memory
    with pytest.raises(Exception, match="'z_ptr'.*complex|complex.*'z_ptr'|z_ptr"):
        axpby[(1,)](x, y, z.to(torch.complex64), out, n, 1.0, BLOCK=256)  # a dtype kernels do not take
    with pytest.raises(Exception, match="num_warps"):
        axpby[(1,)](x, y, z, out, n, 1.0, BLOCK=256, num_warps=3)
    with pytest.raises(Exception, match="grid"):
        axpby[(1, 70000)](x, y, z, out, n, 1.0, BLOCK=256)


def test_autotuned_kernel_is_served_from_the_cache_once_tuned():
    @tz.autotune(configs=[tz.Config({"BLOCK": 128}, num_warps=4), tz.Config({"BLOCK": 512}, num_warps=4)],
                 key=["n"])
    @tz.jit
    def tuned(x_ptr, y_ptr, z_ptr, out_ptr, n, alpha, BLOCK: tz.constexpr):
        offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
        mask = offs < n
        tz.store(out_ptr + offs, alpha * tz.load(x_ptr + offs, mask=mask) + tz.load(y_ptr + offs, mask=mask)
                 - tz.load(z_ptr + offs, mask=mask), mask=mask)

    for i, n in enumerate([3000, 3000, 3000, 9000, 9000]):
        x, y, z, out = fresh(n, 20 + i)
        tuned[lambda meta: (tz.cdiv(meta["n"], meta["BLOCK"]),)](x, y, z, out, n, 2.0)
        check(out, x, y, z, 2.0, n)
    stats = tuned._fast_stats()
    assert stats["hits"] >= 3 and stats["entries"] == 2, stats
