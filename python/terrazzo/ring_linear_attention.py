"""Lightning attention (linear attention with decay) over a sequence split
across the ranks of a torch.distributed group: context parallelism by state
passing (docs/ring-attention.md, "Linear attention").

Rank r holds a contiguous run of the sequence (rank order, any lengths >= 1).
The recurrence S_t = lambda S_{t-1} + k_t^T v_t makes a run's final state
affine in the state it starts from: with F_r the final state of rank r's run
from a zero state and n_r its length,

    S_init(r) = lambda^{n_{r-1}} S_init(r-1) + F_{r-1},   S_init(0) = 0,

and its output is lightning attention from S_init(r). So each rank computes
F_r, the ranks all-gather the F's (one (B, H, Dk, Dv) float32 state each),
and each rank runs its run again from S_init(r). The backward mirrors it:
the gradient of a run's initial state, dS_init(r), all-gathered, gives the
gradient of each final state F_r = sum_{j > r} lambda^{n_{r+1} + ... +
n_{j-1}} dS_init(j), which flows into k and v through a second backward of
the zero-state run. Costs: two forwards and two backwards of the local run,
one all-gather of states each way; no key/value messages.
"""

from . import ops as _ops_module


def _decay_powers(decay, n, like):
    """lambda^n per head as a (1, H, 1, 1) float32 tensor (1 without decay)."""
    import torch
    if decay is None:
        return torch.ones((1, like.shape[1], 1, 1), dtype=torch.float32, device=like.device)
    return torch.exp(-decay.to(torch.float32) * float(n)).reshape(1, -1, 1, 1)


def _all_gather(dist, group, world, x):
    import torch
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x, group=group)
    return parts


def _gather_lengths(dist, group, world, n, device):
    import torch
    mine = torch.tensor([n], dtype=torch.int64, device=device)
    parts = [torch.empty_like(mine) for _ in range(world)]
    dist.all_gather(parts, mine, group=group)
    return [int(p.item()) for p in parts]


_function = None


def _ring_lightning_function():
    global _function
    if _function is None:
        import torch
        import torch.distributed as dist

        def message_device(group, device):
            return torch.device("cpu") if dist.get_backend(group) == "gloo" else device

        class RingLightningAttention(torch.autograd.Function):
            @staticmethod
            def forward(ctx, q, k, v, decay, scale, group):
                world, rank = dist.get_world_size(group), dist.get_rank(group)
                mdev = message_device(group, q.device)
                lengths = _gather_lengths(dist, group, world, q.shape[2], mdev)
                if min(lengths) < 1:
                    raise ValueError(f"argument 'q': every rank needs at least one token, got lengths {lengths}")
                _, final = _ops_module.lightning_attention(q, k, v, decay=decay, scale=scale, return_final_state=True)
                finals = [f.to(q.device) for f in _all_gather(dist, group, world, final.to(mdev))]
                init = torch.zeros_like(final)
                for j in range(rank):
                    init = _decay_powers(decay, lengths[j], q) * init + finals[j]
                out = _ops_module.lightning_attention(q, k, v, decay=decay, scale=scale, initial_state=init)
                ctx.save_for_backward(q, k, v, decay, init)
                ctx.options = (scale, group, lengths, rank, world, mdev)
                return out

            @staticmethod
            def backward(ctx, dout):
                q, k, v, decay, init = ctx.saved_tensors
                scale, group, lengths, rank, world, mdev = ctx.options
                dout = dout.contiguous()
                dq, dk, dv, dinit = _ops_module.lightning_attention_backward(
                    q, k, v, dout, decay=decay, scale=scale, initial_state=init, need_dinitial_state=True)
                dinits = [d.to(q.device) for d in _all_gather(dist, group, world, dinit.to(mdev))]
                # dF_r = sum_{j > r} lambda^{n_{r+1} + ... + n_{j-1}} dS_init(j), accumulated from the far end.
                dfinal = torch.zeros_like(dinit)
                for j in range(world - 1, rank, -1):
                    dfinal = _decay_powers(decay, lengths[j], q) * dfinal + dinits[j]
                _, dk2, dv2, _ = _ops_module.lightning_attention_backward(
                    q, k, v, torch.zeros_like(dout), decay=decay, scale=scale, dfinal_state=dfinal,
                    need_dinitial_state=False)
                dk = (dk.float() + dk2.float()).to(k.dtype)
                dv = (dv.float() + dv2.float()).to(v.dtype)
                return dq, dk, dv, None, None, None

        _function = RingLightningAttention
    return _function


def ring_lightning_attention(q, k, v, *, group=None, decay=None, scale=None):
    """tz.ops.lightning_attention over a sequence split across the ranks of
    ``group`` (default: the world), each holding a contiguous run in rank
    order (any lengths >= 1): q, k (B, H, N_r, Dk), v (B, H, N_r, Dv) as
    lightning_attention takes them, ``decay`` and ``scale`` the same on every
    rank. Returns this rank's run of the output, equal to lightning_attention
    over the whole sequence; differentiable in q, k, v (every rank must run
    the backward: it all-gathers)."""
    import torch
    import torch.distributed as dist
    for x, n in ((q, "q"), (k, "k"), (v, "v")):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"ring_lightning_attention: argument '{n}': expected a torch tensor, "
                            f"got {type(x).__name__}")
    if not dist.is_initialized():
        raise RuntimeError("ring_lightning_attention: torch.distributed is not initialised "
                           "(call init_process_group first)")
    return _ring_lightning_function().apply(q, k, v, decay, scale, group)
