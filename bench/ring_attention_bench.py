"""Ring (context-parallel) attention on GPUs: tz.ops.ring_attention over
NCCL, causal, zigzag layout, bf16, B = 1, head dim 128.

Multi-GPU (one process per GPU, launched with torchrun):

    torchrun --nproc-per-node 4 bench/ring_attention_bench.py --seqs 131072,524288 --out DIR
    torchrun --nproc-per-node 2 bench/ring_attention_bench.py --seqs 131072,524288 --out DIR
    torchrun --nproc-per-node 1 bench/ring_attention_bench.py --seqs 524288 --out DIR --no-check
    python3 bench/ring_attention_bench.py --summarize DIR

For each sequence length S:

1. exactness: every rank generates the same full-sequence q, k, v, dout
   (seeded), runs ring attention forward + backward on its zigzag slices and
   compares its slices of out, dq, dk, dv with a single-GPU reference over
   the whole sequence: torch's scaled_dot_product_attention (its own flash
   kernels, O(S) memory), computed on the rank's own GPU; and the output's
   rows sampled from every chunk against float64 attention from the
   definition (one head and 64 rows at a time, all keys, on the GPU).
   Normwise errors max |x - ref| / max |ref|; bf16 bound 3e-2 for grads and
   out vs SDPA (both round in bf16), 2e-2 for sampled rows vs float64.
2. time of forward + backward (CUDA events, median; every rank's time, the
   slowest counts), written to DIR/ring-W<world>.json.
3. a timeline of one forward + backward: per step, the compute span on the
   compute stream and each message's span on the communication stream (CUDA
   events), and how long the compute stream had to wait for a message after
   its compute was done (exposed communication), in DIR/ring-timeline-W<world>-S<S>.json
   and a text table (.txt). With --profile also a torch.profiler chrome
   trace per rank.

--summarize DIR reads the ring-W*.json files and writes the scaling
efficiency T(1) / (W * T(W)) per S into DIR/ring-scaling.md.

One GPU (no torchrun): --simulate W runs the W ranks of a ring one after
the other in this process, each with a loopback transport whose "message" is
a device-to-device copy of the same bytes on the side stream. It checks the
assembled forward output against the single-GPU reference and records the
forward timeline (copy vs compute overlap on one GPU); the backward needs
the ranks in lockstep and is not simulated. World size 1 under torchrun is
the 1-GPU baseline of the scaling (no messages).
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

B, H, D = 1, 8, 128
SEED = 1234
BOUND_GRAD = 3e-2
BOUND_SAMPLED = 2e-2


def rel_err(got, ref):
    got, ref = got.double(), ref.double()
    return (got - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30)


def full_inputs(torch, S, heads, device):
    g = torch.Generator(device=device)
    g.manual_seed(SEED + S)
    return [torch.randn((B, heads, S, D), generator=g, device=device, dtype=torch.float32).to(torch.bfloat16)
            for _ in range(4)]


def zigzag_rows(torch, S, rank, world, device):
    """Global row indices of rank's zigzag slice (chunks rank, 2W-1-rank)."""
    c = S // (2 * world)
    return torch.cat([torch.arange(rank * c, (rank + 1) * c, device=device),
                      torch.arange((2 * world - 1 - rank) * c, (2 * world - rank) * c, device=device)])


def sampled_float64_rows(torch, q, k, v, rows, scale):
    """float64 causal attention from the definition for the global query
    ``rows`` (all keys up to each row), one head and 64 rows at a time (the
    float64 scores of 64 rows against 512k keys are 256 MiB)."""
    out = torch.empty((B, q.shape[1], rows.numel(), D), dtype=torch.float64, device=q.device)
    hi = int(rows.max().item()) + 1
    keys = torch.arange(hi, device=q.device)
    for h in range(q.shape[1]):
        kh, vh = k[0, h, :hi].double(), v[0, h, :hi].double()
        for a in range(0, rows.numel(), 64):
            r = rows[a:a + 64]
            s = (q[0, h, r].double() @ kh.T) * scale
            s = s.masked_fill(keys[None, :] > r[:, None], float("-inf"))
            out[0, h, a:a + 64] = torch.softmax(s, dim=-1) @ vh
        del kh, vh
    return out


def check(torch, tz, S, rank, world, device):
    """Ring forward + backward on this rank's slices against single-GPU SDPA
    and float64 sampled rows. Returns a dict of errors."""
    import torch.nn.functional as F
    q, k, v, do = full_inputs(torch, S, H, device)
    rows = zigzag_rows(torch, S, rank, world, device)
    lq, lk, lv = (x[:, :, rows].contiguous().requires_grad_() for x in (q, k, v))
    out = tz.ops.ring_attention(lq, lk, lv, causal=True, layout="zigzag")
    out.backward(do[:, :, rows].contiguous())
    torch.cuda.synchronize()
    got = {"out": out.detach(), "dq": lq.grad, "dk": lk.grad, "dv": lv.grad}
    del out, lq, lk, lv

    fq, fk, fv = (x.clone().requires_grad_() for x in (q, k, v))
    ref_out = F.scaled_dot_product_attention(fq, fk, fv, is_causal=True)
    ref_out.backward(do)
    ref = {"out": ref_out.detach()[:, :, rows], "dq": fq.grad[:, :, rows], "dk": fk.grad[:, :, rows],
           "dv": fv.grad[:, :, rows]}
    del fq, fk, fv, ref_out
    errors = {f"{n}_vs_sdpa": rel_err(got[n], ref[n]) for n in got}
    # 64 rows from each of the rank's two chunks (first, last, random).
    c = S // (2 * world)
    g = torch.Generator(device="cpu")
    g.manual_seed(SEED + rank)
    pick = []
    for chunk in range(2):
        idx = torch.randint(0, c, (62,), generator=g).tolist() + [0, c - 1]
        pick += [chunk * c + i for i in idx]
    pick = torch.tensor(sorted(set(pick)), device=device)
    exact = sampled_float64_rows(torch, q, k, v, rows[pick], D ** -0.5)
    errors["out_sampled_vs_float64"] = rel_err(got["out"][:, :, pick], exact)
    errors["sampled_rows"] = int(pick.numel())
    errors["ok"] = (errors["out_sampled_vs_float64"] <= BOUND_SAMPLED and
                    all(errors[f"{n}_vs_sdpa"] <= BOUND_GRAD for n in got))
    return errors


def time_fwd_bwd(torch, tz, dist, S, rank, world, device, reps):
    q, k, v, do = full_inputs(torch, S, H, device)
    rows = zigzag_rows(torch, S, rank, world, device)
    lq, lk, lv = (x[:, :, rows].contiguous().requires_grad_() for x in (q, k, v))
    ldo = do[:, :, rows].contiguous()
    del q, k, v, do

    def step():
        lq.grad = lk.grad = lv.grad = None
        out = tz.ops.ring_attention(lq, lk, lv, causal=True, layout="zigzag")
        out.backward(ldo)

    step()  # compiles, creates the NCCL communicators
    times = []
    for _ in range(reps):
        dist.barrier()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2], (lq, lk, lv, ldo)


def timeline(torch, tz, tensors, profile_path=None):
    """One forward + backward under record_timeline: per-step spans (ms
    from the first mark)."""
    from terrazzo.ring_attention import record_timeline
    lq, lk, lv, ldo = tensors
    lq.grad = lk.grad = lv.grad = None
    prof = None
    if profile_path:
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                  torch.profiler.ProfilerActivity.CUDA])
        prof.__enter__()
    with record_timeline() as marks:
        out = tz.ops.ring_attention(lq, lk, lv, causal=True, layout="zigzag")
        out.backward(ldo)
    torch.cuda.synchronize()
    if prof is not None:
        prof.__exit__(None, None, None)
        prof.export_chrome_trace(profile_path)
    return spans_of(marks)


def spans_of(marks):
    """Marks -> {"marks": {label: ms}, "steps": [...]} with per-step compute
    and message spans and the exposed communication."""
    first = marks[0][1]
    at = {label: (first.elapsed_time(ev) if hasattr(ev, "elapsed_time") else (ev - first) * 1e3)
          for label, ev in marks}
    steps = []
    for phase in ("fwd", "bwd"):
        t = 0
        while f"{phase}{t}:compute_start" in at:
            p = f"{phase}{t}:"
            # Backward: the attention kernels' span, without the wait for the
            # dK/dV message that follows them (that wait is the exposed part).
            end = p + "kernels_end" if p + "kernels_end" in at else p + "compute_end"
            row = {"phase": phase, "step": t, "compute_ms": at[end] - at[p + "compute_start"]}
            for msg in ("kv", "dkv"):
                if p + msg + "_issued" in at and p + msg + "_done" in at:
                    row[msg + "_ms"] = at[p + msg + "_done"] - at[p + msg + "_issued"]
                    # The compute stream waits for the message after this step's
                    # compute (kv) or after the next step's (dkv: waited on one step later).
                    if msg == "kv":
                        row["kv_exposed_ms"] = max(0.0, at[p + msg + "_done"] - at[p + "compute_end"])
                    else:
                        # Waited on after the next step's attention kernels.
                        nxt = f"{phase}{t + 1}:kernels_end"
                        if nxt in at:
                            row["dkv_exposed_ms"] = max(0.0, at[p + msg + "_done"] - at[nxt])
                        else:  # the last one: nothing left to hide it behind
                            row["dkv_exposed_ms"] = at[p + msg + "_done"] - at[p + "compute_end"]
            steps.append(row)
            t += 1
    return {"marks_ms": at, "steps": steps}


def timeline_text(tl, title):
    lines = [title, "phase step  compute_ms  kv_ms  kv_exposed_ms  dkv_ms  dkv_exposed_ms"]
    for s in tl["steps"]:
        def f(key):
            return f"{s[key]:.3f}" if key in s else "-"
        lines.append(f"{s['phase']:>5} {s['step']:>4}  {f('compute_ms'):>10}  {f('kv_ms'):>5}  "
                     f"{f('kv_exposed_ms'):>13}  {f('dkv_ms'):>6}  {f('dkv_exposed_ms'):>14}")
    exposed = sum(s.get("kv_exposed_ms", 0) + s.get("dkv_exposed_ms", 0) for s in tl["steps"])
    comm = sum(s.get("kv_ms", 0) + s.get("dkv_ms", 0) for s in tl["steps"])
    compute = sum(s["compute_ms"] for s in tl["steps"])
    lines.append(f"total: compute {compute:.3f} ms, messages {comm:.3f} ms, exposed {exposed:.3f} ms")
    return "\n".join(lines)


def run_distributed(args):
    import torch
    import torch.distributed as dist
    import terrazzo as tz
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    device = torch.device("cuda", local)
    dist.init_process_group("nccl", device_id=device)
    rank, world = dist.get_rank(), dist.get_world_size()
    os.makedirs(args.out, exist_ok=True)
    results = {"world": world, "B": B, "H": H, "D": D, "dtype": "bfloat16", "layout": "zigzag", "causal": True,
               "gpu": torch.cuda.get_device_name(device), "runs": []}
    for S in args.seqs:
        if S % (2 * world):
            raise SystemExit(f"S = {S} does not split into {2 * world} chunks")
        entry = {"S": S}
        if args.check:
            t0 = time.time()
            entry["errors"] = check(torch, tz, S, rank, world, device)
            entry["check_s"] = time.time() - t0
            torch.cuda.empty_cache()
        ms, tensors = time_fwd_bwd(torch, tz, dist, S, rank, world, device, args.reps)
        all_ms = [None] * world
        dist.all_gather_object(all_ms, ms)
        entry["fwd_bwd_ms_per_rank"] = all_ms
        entry["fwd_bwd_ms"] = max(all_ms)
        if world > 1 or args.timeline_single:
            profile = os.path.join(args.out, f"ring-trace-W{world}-S{S}-rank{rank}.json") if args.profile else None
            tl = timeline(torch, tz, tensors, profile)
            tls = [None] * world
            dist.all_gather_object(tls, tl)
            if rank == 0:
                name = os.path.join(args.out, f"ring-timeline-W{world}-S{S}")
                with open(name + ".json", "w") as f:
                    json.dump({"world": world, "S": S, "ranks": tls}, f, indent=1)
                with open(name + ".txt", "w") as f:
                    for r, t in enumerate(tls):
                        f.write(timeline_text(t, f"rank {r} of {world}, S = {S}") + "\n\n")
        errors = [None] * world
        dist.all_gather_object(errors, entry.get("errors"))
        entry["errors_per_rank"] = errors
        entry.pop("errors", None)
        results["runs"].append(entry)
        if rank == 0:
            ok = all(e is None or e["ok"] for e in errors)
            print(f"W={world} S={S}: fwd+bwd {entry['fwd_bwd_ms']:.1f} ms"
                  + ("" if not args.check else f", check {'ok' if ok else 'FAILED'}: "
                     + json.dumps(errors)), flush=True)
        del tensors
        torch.cuda.empty_cache()
    if rank == 0:
        with open(os.path.join(args.out, f"ring-W{world}.json"), "w") as f:
            json.dump(results, f, indent=1)
    failed = args.check and any(not e["ok"] for r in results["runs"] for e in r["errors_per_rank"] if e)
    dist.destroy_process_group()
    return 1 if failed else 0


class LoopbackRing:
    """Rank ``rank`` of a simulated ring of ``world`` on one GPU: a message
    from the previous rank is a copy, on the side stream, of the block that
    rank would send (taken from the full k and v)."""

    def __init__(self, torch, rank, world, blocks, lengths):
        from terrazzo.ring_attention import _comm_stream
        self.rank, self.world, self.cuda = rank, world, True
        self.compute = torch.cuda.current_stream()
        self.side = _comm_stream(torch.device("cuda", torch.cuda.current_device()))
        self.blocks, self.lengths, self.step = blocks, lengths, 0

    def all_lengths(self, device, *lengths):
        return [[n, n] for n in self.lengths]

    def exchange(self, sends, recvs, tag, label=""):
        import torch
        from terrazzo.ring_attention import _mark
        self.step += 1
        src = (self.rank - self.step) % self.world
        self.side.wait_stream(self.compute)
        _mark(self, label + "_issued", side=True)
        with torch.cuda.stream(self.side):
            for r, b in zip(recvs, self.blocks[src]):
                r.copy_(b)
        return label, None

    def wait(self, handle):
        from terrazzo.ring_attention import _mark
        _mark(self, handle[0] + "_done", side=True)
        self.compute.wait_stream(self.side)


def run_simulated(args):
    import torch
    import torch.nn.functional as F
    import terrazzo as tz
    from terrazzo.ring_attention import FlashLocal, _Plan, record_timeline, ring_forward
    world = args.simulate
    device = torch.device("cuda", 0)
    os.makedirs(args.out, exist_ok=True)
    summary = {"simulated_world": world, "B": B, "H": H, "D": D, "runs": []}
    status = 0
    for S in args.seqs:
        q, k, v, _ = full_inputs(torch, S, H, device)
        rows = [zigzag_rows(torch, S, r, world, device) for r in range(world)]
        blocks = [(k[:, :, rw].contiguous(), v[:, :, rw].contiguous()) for rw in rows]
        lengths = [rw.numel() for rw in rows]
        local = FlashLocal(None, None, None)
        out = torch.empty_like(q)
        timelines = []
        fwd_ms = []
        for r in range(world):
            lq = q[:, :, rows[r]].contiguous()
            for attempt in range(2):  # the first compiles; the second is timed
                ring = LoopbackRing(torch, r, world, blocks, lengths)
                plan = _Plan(ring, lq, blocks[r][0], True, "zigzag", local)
                torch.cuda.synchronize()
                with record_timeline() as marks:
                    t0 = time.perf_counter()
                    o, _ = ring_forward(ring, plan, local, lq, *blocks[r])
                    torch.cuda.synchronize()
                    elapsed = (time.perf_counter() - t0) * 1e3
            fwd_ms.append(elapsed)
            timelines.append(spans_of(marks))
            out[:, :, rows[r]] = o
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        err = rel_err(out, ref)
        ok = err <= BOUND_GRAD
        status |= 0 if ok else 1
        name = os.path.join(args.out, f"ring-simulated-W{world}-S{S}")
        with open(name + ".json", "w") as f:
            json.dump({"simulated_world": world, "S": S, "ranks": timelines}, f, indent=1)
        with open(name + ".txt", "w") as f:
            for r, t in enumerate(timelines):
                f.write(timeline_text(t, f"simulated rank {r} of {world}, S = {S} (forward, loopback copies)")
                        + "\n\n")
        summary["runs"].append({"S": S, "out_vs_sdpa": err, "ok": ok, "fwd_ms_per_rank": fwd_ms})
        print(f"simulated W={world} S={S}: out vs SDPA {err:.2e} ({'ok' if ok else 'FAILED'}), forward ms per "
              f"simulated rank {[round(x, 1) for x in fwd_ms]}", flush=True)
        del q, k, v, blocks, out, ref
        torch.cuda.empty_cache()
    with open(os.path.join(args.out, f"ring-simulated-W{world}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return status


def summarize(out_dir):
    runs = {}
    for name in sorted(os.listdir(out_dir)):
        if name.startswith("ring-W") and name.endswith(".json"):
            with open(os.path.join(out_dir, name)) as f:
                r = json.load(f)
            for e in r["runs"]:
                runs[(r["world"], e["S"])] = e["fwd_bwd_ms"]
    lines = ["| S | W | fwd+bwd ms | speed-up over 1 GPU | scaling efficiency |", "|---|---|---|---|---|"]
    for (W, S), ms in sorted(runs.items(), key=lambda x: (x[0][1], x[0][0])):
        base = runs.get((1, S))
        if base is None:
            lines.append(f"| {S} | {W} | {ms:.1f} | - | - |")
        else:
            lines.append(f"| {S} | {W} | {ms:.1f} | {base / ms:.2f} | {base / (W * ms):.1%} |")
    text = "\n".join(lines)
    with open(os.path.join(out_dir, "ring-scaling.md"), "w") as f:
        f.write(text + "\n")
    print(text)
    return 0


def main():
    global H
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seqs", default="131072,524288", help="comma-separated sequence lengths")
    p.add_argument("--heads", type=int, default=H)
    p.add_argument("--out", default="ring-out")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-check", dest="check", action="store_false")
    p.add_argument("--profile", action="store_true", help="also a torch.profiler chrome trace per rank")
    p.add_argument("--timeline-single", action="store_true", help="record the timeline with one rank too")
    p.add_argument("--simulate", type=int, default=0, help="one GPU: simulate a ring of this many ranks")
    p.add_argument("--summarize", metavar="DIR", help="write DIR/ring-scaling.md from DIR/ring-W*.json")
    args = p.parse_args()
    args.seqs = [int(s) for s in args.seqs.split(",")]
    H = args.heads
    if args.summarize:
        return summarize(args.summarize)
    if args.simulate:
        return run_simulated(args)
    return run_distributed(args)


if __name__ == "__main__":
    sys.exit(main())
