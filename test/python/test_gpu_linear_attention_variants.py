"""tz.ops.focused_linear_attention and tz.ops.agent_attention on the GPU with
torch tensors: output and every gradient (through torch.autograd) against
float64 PyTorch math written from the definitions, fp16 and bf16, ragged
lengths. Skipped without a CUDA GPU."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from torch_gpu_checks import BOUND, make, rel_err  # noqa: E402 (needs torch)

DTYPES = [pytest.param(torch.float16, id="f16"), pytest.param(torch.bfloat16, id="bf16")]


def focused_reference(q, k, v, power=3.0, eps=1e-6):
    def phi(x):
        r = torch.relu(x) + eps
        u = r ** power
        return r.norm(dim=-1, keepdim=True) * u / u.norm(dim=-1, keepdim=True)

    pq, pk = phi(q.double()), phi(k.double())
    N = q.shape[2]
    kv = pk.transpose(-1, -2) @ v.double() / N
    z = pq @ pk.mean(dim=2, keepdim=True).transpose(-1, -2) + eps
    return (pq @ kv) / z


def agent_reference(q, k, v, agents, scale):
    q, k, v, a = (x.double() for x in (q, k, v, agents))
    agent_values = torch.softmax(scale * a @ k.transpose(-1, -2), dim=-1) @ v
    return torch.softmax(scale * q @ a.transpose(-1, -2), dim=-1) @ agent_values


def check_grads(out, ref, leaves, dtype):
    assert rel_err(out, ref.detach()) <= BOUND[dtype], "out"
    do = torch.randn_like(out)
    out.backward(do)
    ref.backward(do.double())
    for i, (got, r) in enumerate(leaves):
        assert rel_err(got.grad, r.grad) <= 2 * BOUND[dtype], f"gradient {i}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,D", [(1000, 64), (333, 128), (70, 32)])
def test_focused(dtype, N, D):
    q, k, v = (make((2, 3, N, D), dtype) for _ in range(3))
    refs = [x.detach().double().requires_grad_() for x in (q, k, v)]
    out = tz.ops.focused_linear_attention(q, k, v)
    check_grads(out, focused_reference(*refs), list(zip((q, k, v), refs)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,n,D", [(1000, 49, 64), (333, 256, 128), (70, 7, 32)])
def test_agent(dtype, N, n, D):
    q, k, v = (make((2, 3, N, D), dtype) for _ in range(3))
    agents = make((2, 3, n, D), dtype)
    leaves = [q, k, v, agents]
    refs = [x.detach().double().requires_grad_() for x in leaves]
    out = tz.ops.agent_attention(q, k, v, agents)
    check_grads(out, agent_reference(*refs, D ** -0.5), list(zip(leaves, refs)), dtype)
