"""One rank of the ring-attention tests (test_ring_attention.py): joins a
gloo process group and, for each case, runs tz.ops.ring_attention (or the
cosine-sim ring) on its slices of the inputs, backpropagates its slice of
dout, and saves what it got to <out_dir>/case<i>-rank<r>.npz. Run by
torch.multiprocessing.spawn; kept apart from the test module so that the
spawned ranks import only this. One process group serves every case of a
world size: starting processes (importing torch) costs more than the cases."""

import numpy as np

import terrazzo as tz

# Mods on absolute positions (not only q_idx - kv_idx), so that a wrong
# query or key offset changes the result; the test's float64 reference
# applies the same formulas.
WINDOW = 7


@tz.jit
def absolute_bias(score, b, h, q_idx, kv_idx):
    return score + 0.25 * (kv_idx % 4).to(tz.float32) - 0.125 * (q_idx % 3).to(tz.float32)


@tz.jit
def window_and_pattern(b, h, q_idx, kv_idx):
    return (kv_idx > q_idx - WINDOW) & ((q_idx + kv_idx) % 5 != 1)


MODS = {"absolute_bias": absolute_bias, "window_and_pattern": window_and_pattern}


def _from_numpy(a, dtype):
    import torch
    return torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(dtype)


def _slice(x, rank, lengths, layout):
    """Rank ``rank``'s rows (dim 2) of the full tensor x under ``layout``."""
    from terrazzo.ring_attention import layout_segments
    import torch
    segments = layout_segments(lengths, layout)[rank]
    return torch.cat([x.narrow(2, s.start, s.length) for s in segments], dim=2).contiguous()


def run_case(rank, case, out_path):
    import torch
    dtype = getattr(torch, case["dtype"])
    layout, lengths = case["layout"], case["lengths"]
    q, k, v, do = (_from_numpy(case[n], dtype) for n in ("q", "k", "v", "do"))
    device = case.get("device", "cpu")  # "cuda": every rank on the one GPU (gloo stages the messages)
    q, k, v = (_slice(x, rank, lengths, layout).to(device).requires_grad_() for x in (q, k, v))
    do = _slice(do, rank, lengths, layout).to(device)
    from terrazzo.ring_attention import record_timeline
    with record_timeline() as marks:
        if case["kind"] == "lightning":
            decay = None if case.get("decay") is None else torch.tensor(case["decay"], dtype=torch.float32)
            if decay is not None:
                decay = decay.to(device)
            out = tz.ops.ring_lightning_attention(q, k, v, decay=decay, scale=case.get("scale"))
            lse = torch.zeros(out.shape[:3], device=out.device)  # no lse: linear attention
        elif case["kind"] == "cosine_sim":
            out, lse = tz.ops.ring_cosine_sim_attention(q, k, v, causal=case["causal"], scale=case["scale"],
                                                        layout=layout, return_lse=True)
        else:
            out, lse = tz.ops.ring_attention(q, k, v, causal=case["causal"], scale=case.get("scale"),
                                             score_mod=MODS.get(case.get("score_mod")),
                                             mask_mod=MODS.get(case.get("mask_mod")),
                                             layout=layout, return_lse=True)
        out.backward(do)
    as_np = {"out": out, "lse": lse, "dq": q.grad, "dk": k.grad, "dv": v.grad}
    saved = {n: t.detach().float().cpu().numpy() for n, t in as_np.items()}
    saved["timeline"] = np.array([label for label, _ in marks])
    np.savez(out_path, **saved)


def run_rank(rank, world, init_file, out_dir, cases):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="file://" + init_file, rank=rank, world_size=world)
    try:
        for i, case in enumerate(cases):
            run_case(rank, case, f"{out_dir}/case{i}-rank{rank}.npz")
        dist.barrier()
    finally:
        dist.destroy_process_group()
