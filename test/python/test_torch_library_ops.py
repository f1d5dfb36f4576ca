"""The attention ops as torch.library custom ops (python/terrazzo/torch_ops.py):
opcheck (schema, fake tensors, autograd registration, AOT dispatch), shape
propagation under FakeTensorMode and on the meta device, and a small
transformer block under torch.compile(fullgraph=True) with no graph break,
matching eager in values and gradients. On CPU tensors the kernels run on the
interpreter (tiny shapes) and torch.compile uses backend="aot_eager"
(Dynamo + AOTAutograd, the parts that see the custom ops; inductor would add
a C++ build of the surrounding linears and nothing about our ops).

With TZ_TEST_DEVICE=cuda (scripts/gpu-check.sh torch-ops) the GPU cases run
too: CUDA-graph capture and replay of the block, and inductor fullgraph on
CUDA tensors. Skipped without torch (CI has none)."""

import os
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import terrazzo as tz  # noqa: E402
from terrazzo import torch_ops  # noqa: E402

ON_GPU = os.environ.get("TZ_TEST_DEVICE", "cpu") == "cuda"
needs_cuda = pytest.mark.skipif(not (ON_GPU and torch.cuda.is_available()),
                                reason="GPU case: TZ_TEST_DEVICE=cuda with a CUDA device")

B, H, S, D = 1, 2, 40, 16
E = H * D
RADIUS = 4


@tz.jit
def softcap(score, b, h, q_idx, kv_idx):
    return 8.0 * tz.tanh(score / 8.0)


@tz.jit
def rel_bias(score, b, h, q_idx, kv_idx, table_ptr):
    # table is (H, 2 RADIUS + 1): a learned bias per head and clipped distance.
    dist = tz.minimum(tz.maximum(q_idx - kv_idx, -RADIUS), RADIUS)
    return score + tz.load(table_ptr + h * (2 * RADIUS + 1) + dist + RADIUS)


@tz.jit
def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < 24)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _rand(shape, seed, dtype=torch.float16, grad=False, device="cpu", scale=1.0):
    t = (torch.randn(shape, generator=_gen(seed), dtype=torch.float32) * scale).to(dtype).to(device)
    return t.requires_grad_(grad)


def _qkv(seed, grad=True, device="cpu", h_kv=H, s=S):
    return (_rand((B, H, s, D), seed, grad=grad, device=device),
            _rand((B, h_kv, s, D), seed + 1, grad=grad, device=device),
            _rand((B, h_kv, s, D), seed + 2, grad=grad, device=device))


def _table(seed, device="cpu", grad=True):
    return _rand((H, 2 * RADIUS + 1), seed, dtype=torch.float32, grad=grad, device=device, scale=0.5)


def _opcheck(op, args):
    torch.library.opcheck(op, args)


def _opcheck_backward(op, args):
    """opcheck of a backward op, on inputs that do not require grad: the
    backward ops have no derivative of their own (no double backward)."""
    def detach(a):
        if isinstance(a, torch.Tensor):
            return a.detach()
        if isinstance(a, list):
            return [detach(x) for x in a]
        return a
    torch.library.opcheck(op, tuple(detach(a) for a in args))


# --- opcheck ---------------------------------------------------------------------------


def test_opcheck_flash_attention_plain_and_causal():
    q, k, v = _qkv(11, h_kv=1)  # grouped-query: H_KV = 1
    op, bwd = torch_ops.flash_attention_op(None, None), torch_ops.flash_attention_backward_op(None, None)
    for causal in (False, True):
        _opcheck(op, (q, k, v, None, [], 0, 0, 0, [], [], causal, None))
    out, lse = op(q, k, v, None, [], 0, 0, 0, [], [], True, 0.3)
    dout = _rand(out.shape, 12)
    _opcheck_backward(bwd, (q, k, v, out.detach(), lse, dout, None, [], 0, 0, 0, [], [], True, 0.3))


def test_opcheck_flash_attention_score_mod_with_capture():
    q, k, v = _qkv(21)
    table = _table(22)
    op, bwd = torch_ops.flash_attention_op(rel_bias, None), torch_ops.flash_attention_backward_op(rel_bias, None)
    _opcheck(op, (q, k, v, None, [], 0, 0, 0, [], [table], False, None))
    out, lse = op(q, k, v, None, [], 0, 0, 0, [], [table], False, None)
    _opcheck_backward(bwd, (q, k, v, out.detach(), lse, _rand(out.shape, 23), None, [], 0, 0, 0, [],
                                       [table], False, None))


def test_opcheck_flash_attention_seqlens_and_block_mask():
    q, k, v = _qkv(31)
    op = torch_ops.flash_attention_op(None, None)
    _opcheck(op, (q, k, v, torch.tensor([29], dtype=torch.int32), [], 0, 0, 0, [], [], False, None))
    mask = tz.ops.create_block_mask(sliding_window, 1, 1, S, S, block_size=16, device="cpu")
    op = torch_ops.flash_attention_op(None, sliding_window)
    _opcheck(op, (q, k, v, None, *torch_ops.block_mask_arguments(mask), [], [], False, None))


def test_opcheck_flash_attention_varlen():
    cu = torch.tensor([0, 13, 40], dtype=torch.int32)
    q, k, v = (_rand((S, H, D), 41 + i, grad=True) for i in range(3))
    op = torch_ops.flash_attention_varlen_op(softcap, None)
    bwd = torch_ops.flash_attention_varlen_backward_op(softcap, None)
    _opcheck(op, (q, k, v, cu, cu, 27, 27, [], [], True, None))
    out, lse = op(q, k, v, cu, cu, 27, 27, [], [], True, None)
    _opcheck_backward(bwd, (q, k, v, out.detach(), lse, _rand(out.shape, 44), cu, cu, 27, 27, [], [],
                                       True, None))


def test_opcheck_cosine_sim_attention():
    q, k, v = _qkv(51)
    bias = _rand((1, 1, S, S), 52, dtype=torch.float32, grad=True)
    key_lens = torch.tensor([33], dtype=torch.int32)
    op = torch_ops.cosine_sim_attention_fwd
    _opcheck(op, (q, k, v, bias, None, key_lens, True, 10.0, 1, 1e-6))
    _opcheck(op, (q, k, v, None, None, None, False, 10.0, 2, 1e-6))
    out, lse = op(q, k, v, bias, None, key_lens, True, 10.0, 1, 1e-6)
    for need_dbias in (True, False):
        _opcheck_backward(torch_ops.cosine_sim_attention_bwd,
                 (q, k, v, out.detach(), lse, _rand(out.shape, 53), bias, None, key_lens, True, 10.0, 1, 1e-6,
                  need_dbias))


# --- fake tensors and meta shapes -------------------------------------------------------


def test_fake_tensor_and_meta_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode

    table = _table(61, grad=False)
    with FakeTensorMode() as mode:
        q = mode.from_tensor(_rand((2, 4, 24, 32), 62))
        kv = mode.from_tensor(_rand((2, 2, 56, 32), 63))
        out, lse = tz.ops.flash_attention(q, kv, kv, score_mod=rel_bias, score_mod_args=(mode.from_tensor(table),),
                                          return_lse=True)
        assert out.shape == (2, 4, 24, 32) and out.dtype == torch.float16
        assert lse.shape == (2, 4, 24) and lse.dtype == torch.float32
        out, lse = tz.ops.cosine_sim_attention(q, kv, kv, return_lse=True)
        assert out.shape == q.shape and lse.shape == (2, 4, 24)
    meta = torch.empty((50, 4, 32), dtype=torch.bfloat16, device="meta")
    cu = torch.empty((3,), dtype=torch.int32, device="meta")
    out, lse = tz.ops.flash_attention_varlen(meta, meta, meta, cu, cu, 30, 30, return_lse=True)
    assert out.device.type == "meta" and out.shape == (50, 4, 32) and out.dtype == torch.bfloat16
    assert lse.shape == (4, 50) and lse.dtype == torch.float32


# --- torch.compile of a small transformer block ----------------------------------------


class Block(torch.nn.Module):
    """x (B, S, E) -> qkv projection -> attention over H heads -> output
    projection; ``attention(q, k, v)`` is one of the library's ops."""

    def __init__(self, attention, seed, device="cpu"):
        super().__init__()
        torch.manual_seed(seed)
        self.qkv = torch.nn.Linear(E, 3 * E).to(device=device, dtype=torch.float16)
        self.out = torch.nn.Linear(E, E).to(device=device, dtype=torch.float16)
        self.attention = attention

    def forward(self, x, *captures):
        q, k, v = self.qkv(x).view(x.shape[0], x.shape[1], 3, H, D).permute(2, 0, 3, 1, 4).unbind(0)
        o = self.attention(q, k, v, *captures)  # (B, H, S, D); q, k, v are strided views
        return self.out(o.transpose(1, 2).reshape(x.shape[0], x.shape[1], E))


def _flash_rel_bias(q, k, v, table):
    return tz.ops.flash_attention(q, k, v, causal=True, score_mod=rel_bias, score_mod_args=(table,))


_block_masks = {}


def _flash_block_mask(q, k, v):
    # Built once outside the traced region (as a model builds it once per
    # length); the compiled function reads its tensors.
    return tz.ops.flash_attention(q, k, v, block_mask=_block_masks[q.device.type])


def _cosine_sim(q, k, v):
    return tz.ops.cosine_sim_attention(q, k, v, causal=True, scale=8.0)


def _reference_attention(q, k, v, table):
    """float64 softmax(causal(q k^T / sqrt(D) + table[h, clip(i - j)])) v,
    from the definition."""
    q, k, v, table = (t.detach().double() for t in (q, k, v, table))
    i = torch.arange(S).view(S, 1)
    j = torch.arange(S).view(1, S)
    bias = table[:, (i - j).clamp(-RADIUS, RADIUS) + RADIUS]  # (H, S, S)
    s = q @ k.transpose(-1, -2) / D**0.5 + bias
    s = s.masked_fill(j > i, float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def _run(fn, x, captures):
    y = fn(x, *captures)
    dy = _rand(y.shape, 99, device=y.device)
    grads = torch.autograd.grad(y, (x, *captures), dy)
    return y.detach(), grads


def _assert_same(got, want, what, tol):
    got, want = got.detach().double(), want.detach().double()
    assert torch.isfinite(got).all(), f"{what}: non-finite values"
    err = (got - want).abs().max().item() / max(want.abs().max().item(), 1e-30)
    assert err <= tol, f"{what}: normwise error {err:.3g} > {tol:g}"


@pytest.mark.parametrize("attention,with_table", [(_flash_rel_bias, True), (_flash_block_mask, False),
                                                  (_cosine_sim, False)],
                         ids=["flash_score_mod", "flash_block_mask", "cosine_sim"])
def test_compile_fullgraph_matches_eager(attention, with_table):
    torch._dynamo.reset()
    _block_masks["cpu"] = tz.ops.create_block_mask(sliding_window, None, None, S, S, block_size=16, device="cpu")
    block = Block(attention, 71)
    x = _rand((B, S, E), 72, grad=True)
    captures = (_table(73),) if with_table else ()

    explained = torch._dynamo.explain(block)(x, *captures)
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1

    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)
    y_eager, g_eager = _run(block, x, captures)
    y_comp, g_comp = _run(compiled, x, captures)
    # The same kernels on the same inputs: equal up to the order AOTAutograd
    # accumulates the linears' float16 gradients in.
    _assert_same(y_comp, y_eager, "output", 1e-3)
    for name, got, want in zip(["dx", "dtable"], g_comp, g_eager):
        _assert_same(got, want, name, 2e-3)


def test_eager_block_attention_matches_float64_reference():
    """The custom-op path computes the right attention (the compile test
    above only compares two runs of it)."""
    q, k, v = _qkv(81, grad=False)
    table = _table(82, grad=False)
    out = torch.full_like(q, float("nan"))
    out.copy_(_flash_rel_bias(q, k, v, table))
    _assert_same(out, _reference_attention(q, k, v, table), "flash_attention(rel_bias)", 2e-3)


# --- GPU: CUDA graphs and inductor -----------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("attention,with_table", [(_flash_rel_bias, True), (_cosine_sim, False)],
                         ids=["flash_score_mod", "cosine_sim"])
def test_cuda_graph_capture_and_replay(attention, with_table):
    block = Block(attention, 91, device="cuda")
    static_x = _rand((B, S, E), 92, device="cuda")
    captures = (_table(93, device="cuda", grad=False),) if with_table else ()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.no_grad():
        for _ in range(2):  # warm up: compile the kernels before capture
            block(static_x, *captures)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        static_y = block(static_x, *captures)
    for seed in (94, 95):
        static_x.copy_(_rand((B, S, E), seed, device="cuda"))
        static_y.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        with torch.no_grad():
            want = block(static_x, *captures)
        _assert_same(static_y, want, "replayed output", 1e-3)


@needs_cuda
def test_cuda_inductor_fullgraph_matches_eager():
    torch._dynamo.reset()
    block = Block(_flash_rel_bias, 101, device="cuda")
    x = _rand((B, S, E), 102, grad=True, device="cuda")
    captures = (_table(103, device="cuda"),)
    compiled = torch.compile(block, fullgraph=True)
    y_eager, g_eager = _run(block, x, captures)
    y_comp, g_comp = _run(compiled, x, captures)
    _assert_same(y_comp, y_eager, "output", 2e-3)
    for name, got, want in zip(["dx", "dtable"], g_comp, g_eager):
        _assert_same(got, want, name, 5e-3)


# --- bad arguments on the torch path -----------------------------------------------------


@pytest.mark.parametrize("call,name", [
    (lambda q: tz.ops.flash_attention(q, q.numpy(), q), "k"),
    (lambda q: tz.ops.flash_attention(q, q, q, seqlens_k=np.array([5], np.int32)), "seqlens_k"),
    (lambda q: tz.ops.flash_attention(q, q, q, score_mod=rel_bias, score_mod_args=(np.zeros((H, 9), np.float32),)),
     "score_mod_args[0]"),
    (lambda q: tz.ops.cosine_sim_attention(q, q, q, key_lens=np.array([5], np.int32)), "key_lens"),
    (lambda q: tz.ops.flash_attention_varlen(q[0], q[0], q[0], np.array([0, 2], np.int32),
                                             torch.tensor([0, 2], dtype=torch.int32), 2, 2), "cu_seqlens_q"),
], ids=["k", "seqlens_k", "score_mod_args", "key_lens", "cu_seqlens_q"])
def test_numpy_argument_with_torch_inputs_is_named(call, name):
    q = _rand((1, H, 8, D), 111)
    with pytest.raises(TypeError, match=rf"argument '{re.escape(name)}'.*torch tensor.*ndarray"):
        call(q)


def test_wrong_option_type_is_named():
    q = _rand((1, H, 8, D), 112)
    with pytest.raises(RuntimeError, match="argument 'causal'"):
        tz.ops.flash_attention(q, q, q, causal="yes")
    with pytest.raises(RuntimeError, match="argument 'groups'"):
        tz.ops.cosine_sim_attention(q, q, q, groups="two")


def test_compiled_function_follows_the_score_mod_it_is_given():
    """The op of a score_mod is a constant of the graph: a call with another
    score_mod must not reuse it (Dynamo guards on the function)."""
    torch._dynamo.reset()

    def attend(q, k, v, mod):
        return tz.ops.flash_attention(q, k, v, score_mod=mod, scale=4.0)  # scale 4: softcap's tanh bites

    compiled = torch.compile(attend, backend="aot_eager", fullgraph=True)
    q, k, v = _qkv(121, grad=False)
    for mod in (softcap, None, softcap):
        _assert_same(compiled(q, k, v, mod), attend(q, k, v, mod), f"score_mod={getattr(mod, '__name__', mod)}", 0)
    assert (attend(q, k, v, softcap) != attend(q, k, v, None)).any()  # the two differ, so the check can fail


# --- lightning attention ---------------------------------------------------------------


@tz.jit
def elu_plus_one(x):
    return tz.where(x > 0.0, x + 1.0, tz.exp(x))


@tz.jit
def elu_plus_one_grad(x, g):
    return tz.where(x > 0.0, g, g * tz.exp(x))


def _lightning_inputs(seed):
    q, k, v = (_rand((B, H, 24, D), seed + i, grad=True, scale=0.5) for i in range(3))
    decay = torch.tensor([0.1, 0.5], dtype=torch.float32)
    init = _rand((B, H, D, D), seed + 3, dtype=torch.float32, grad=True, scale=0.3)
    return q, k, v, decay, init


@pytest.mark.parametrize("maps", [(None, None), (elu_plus_one, elu_plus_one_grad)], ids=["plain", "feature_map"])
def test_opcheck_lightning_attention(maps):
    q, k, v, decay, init = _lightning_inputs(131)
    op, bwd = torch_ops.lightning_attention_op(*maps), torch_ops.lightning_attention_backward_op(*maps)
    _opcheck(op, (q, k, v, init, decay, None, True))
    _opcheck(op, (q, k, v, None, None, 0.2, False))
    dout = _rand(v.shape, 135)
    dfinal = _rand(init.shape, 136, dtype=torch.float32)
    _opcheck_backward(bwd, (q, k, v, dout, init, decay, None, dfinal, True))
    _opcheck_backward(bwd, (q, k, v, dout, None, None, None, None, False))


@pytest.mark.parametrize("maps", [(None, None), (elu_plus_one, elu_plus_one_grad)], ids=["plain", "feature_map"])
def test_lightning_compile_fullgraph_matches_eager(maps):
    torch._dynamo.reset()
    q, k, v, decay, init = _lightning_inputs(141)

    def layer(q, k, v, init):
        out, final = tz.ops.lightning_attention(q, k, v, decay=decay, initial_state=init, return_final_state=True,
                                                feature_map=maps[0], feature_map_grad=maps[1])
        return out.float().sum(dim=-1) + final.sum()  # uses both outputs, so both gradients flow

    explained = torch._dynamo.explain(layer)(q, k, v, init)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    inputs = (q, k, v, init)
    y_eager, y_comp = layer(*inputs), compiled(*inputs)
    dy = _rand(y_eager.shape, 142, dtype=torch.float32)
    g_eager = torch.autograd.grad(y_eager, inputs, dy)
    g_comp = torch.autograd.grad(y_comp, inputs, dy)
    _assert_same(y_comp, y_eager, "output", 1e-5)
    for name, got, want in zip(["dq", "dk", "dv", "dinit"], g_comp, g_eager):
        _assert_same(got, want, name, 1e-3)


# --- focused linear attention and agent attention ----------------------------------------


def test_opcheck_focused_and_agent_attention():
    q, k, v = _qkv(151)
    _opcheck(torch_ops.focused_linear_attention_fwd, (q, k, v, 3.0, 1e-6, False))
    _opcheck_backward(torch_ops.focused_linear_attention_bwd, (q, k, v, _rand(v.shape, 154), 3.0, 1e-6, False))
    agents = _rand((B, H, 8, D), 155, grad=True)
    _opcheck(torch_ops.agent_attention_fwd, (q, k, v, agents, None))
    saved = [t.detach() for t in torch_ops.agent_attention_fwd(q, k, v, agents, 0.3)]
    _opcheck_backward(torch_ops.agent_attention_bwd, (q, k, v, agents, *saved, _rand(q.shape, 156), 0.3))


@pytest.mark.parametrize("variant", ["focused", "agent"])
def test_focused_and_agent_compile_fullgraph_matches_eager(variant):
    torch._dynamo.reset()
    q, k, v = _qkv(161)
    agents = _rand((B, H, 8, D), 164, grad=True)

    def layer(q, k, v, agents):
        if variant == "focused":
            return tz.ops.focused_linear_attention(q, k, v) * agents.sum()
        return tz.ops.agent_attention(q, k, v, agents)

    explained = torch._dynamo.explain(layer)(q, k, v, agents)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    inputs = (q, k, v, agents)
    y_eager, y_comp = layer(*inputs), compiled(*inputs)
    dy = _rand(y_eager.shape, 165)
    g_eager = torch.autograd.grad(y_eager, inputs, dy)
    g_comp = torch.autograd.grad(y_comp, inputs, dy)
    _assert_same(y_comp, y_eager, "output", 1e-3)
    for name, got, want in zip(["dq", "dk", "dv", "dagents"], g_comp, g_eager):
        _assert_same(got, want, name, 2e-3)


def test_varlen_compile_fullgraph_matches_eager():
    """Packed sequences: x (total, E) -> qkv -> flash_attention_varlen with a
    score_mod -> output projection, compiled whole."""
    torch._dynamo.reset()
    cu = torch.tensor([0, 11, 29, 40], dtype=torch.int32)
    proj = Block(None, 171)

    def layer(x):
        q, k, v = proj.qkv(x).view(x.shape[0], 3, H, D).unbind(1)
        o = tz.ops.flash_attention_varlen(q, k, v, cu, cu, 18, 18, causal=True, score_mod=softcap)
        return proj.out(o.reshape(x.shape[0], E))

    x = _rand((S, E), 172, grad=True)
    explained = torch._dynamo.explain(layer)(x)
    assert explained.graph_break_count == 0, explained.break_reasons
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)
    y_eager, (g_eager,) = _run(layer, x, ())
    y_comp, (g_comp,) = _run(compiled, x, ())
    _assert_same(y_comp, y_eager, "output", 1e-3)
    _assert_same(g_comp, g_eager, "dx", 2e-3)


def test_block_mask_of_wrong_type_is_named():
    q = _rand((1, H, 8, D), 181)
    with pytest.raises(TypeError, match="argument 'block_mask': expected a BlockMask"):
        tz.ops.flash_attention(q, q, q, block_mask=torch.zeros(4))
