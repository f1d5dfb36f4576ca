"""Ring (context-parallel) attention over torch.distributed.

Each rank of a process group holds a slice of the sequence of q, k and v
(layouts below). Key/value blocks travel around the ring of ranks with
``torch.distributed`` point-to-point messages, one hop per step, while the
rank attends its queries to the block it holds; the partial results are
merged exactly through their log-sum-exps (kernels/attention_merge.py). The
backward sends dK/dV accumulators around the ring the same way, each rank
adding its block's gradient from the global lse and output. The algorithm,
the layouts and how to run it: docs/ring-attention.md.

Layouts (the sequence dimension is dim 2 of (B, H, S, D)):

- ``"contiguous"``: rank r holds one run of the sequence; the runs follow
  rank order and may have any lengths >= 1 (uneven slices).
- ``"zigzag"``: the sequence is cut into 2W chunks; rank r holds chunk r
  followed by chunk 2W-1-r, two halves of equal length (its local length is
  even; ranks may differ). Under causal masking every rank then does the same
  work at every step (load balance).

Global positions follow from the lengths, which the ranks exchange once per
call. Causal masking is on global positions (key j visible to query i iff
j <= i); ``score_mod`` and ``mask_mod`` see global ``q_idx`` / ``kv_idx``:
each (query offset, key offset) pair is a ``@tz.jit`` wrapper that adds the
offsets as compile-time constants, so a rank compiles one specialization
per offset pair it meets (a handful per ring; cached for later calls).
"""

import contextlib
import functools
import time

from .jit import jit as _tz_jit
from . import ops as _ops_module

_ops = _ops_module._ops

LAYOUTS = ("contiguous", "zigzag")


def attention_merge(out, lse, part_out, part_lse):
    """Merges the attention result (``part_out``, ``part_lse``) over some keys
    into (``out``, ``lse``) over other keys, in place: afterwards they hold the
    attention over both key sets. out and part_out (B, H, N, D) float32,
    float16 or bfloat16; lse and part_lse float32 (B, H, N) natural-log
    log-sum-exps (-inf: no keys). Any strides; numpy arrays (interpreter) or
    torch tensors (CUDA: on the current stream). kernels/attention_merge.py."""
    _ops.attention_merge(out, lse, part_out, part_lse)
    return out, lse


# --- layouts: which global positions each rank's rows hold --------------------------


class Segment:
    """``length`` rows of a rank's local tensor, starting at local row
    ``local`` and global position ``start``; local order is global order."""

    __slots__ = ("local", "start", "length")

    def __init__(self, local, start, length):
        self.local, self.start, self.length = local, start, length

    def __repr__(self):
        return f"Segment(local={self.local}, start={self.start}, length={self.length})"


def layout_segments(lengths, layout):
    """For each rank, its list of Segments, from every rank's local length
    (``lengths[r]``) under ``layout``."""
    W = len(lengths)
    if layout == "contiguous":
        starts = [sum(lengths[:r]) for r in range(W)]
        return [[Segment(0, starts[r], lengths[r])] for r in range(W)]
    if layout == "zigzag":
        halves = [n // 2 for n in lengths]
        # Chunk c < W is rank c's first half; chunk c >= W is rank 2W-1-c's second.
        chunk_len = [halves[c] if c < W else halves[2 * W - 1 - c] for c in range(2 * W)]
        chunk_start = [sum(chunk_len[:c]) for c in range(2 * W)]
        return [[Segment(0, chunk_start[r], halves[r]), Segment(halves[r], chunk_start[2 * W - 1 - r], halves[r])]
                for r in range(W)]
    raise ValueError(f"argument 'layout': expected one of {LAYOUTS}, got {layout!r}")


def check_lengths(lengths, layout, what):
    for r, n in enumerate(lengths):
        if n < 1:
            raise ValueError(f"argument '{what}': rank {r} holds {n} rows; every rank needs at least one")
        if layout == "zigzag" and n % 2:
            raise ValueError(f"argument '{what}': the zigzag layout needs an even local length (two equal chunks), "
                             f"rank {r} holds {n}")


def shard_sequence(x, rank, world_size, layout="contiguous", dim=2):
    """Rank ``rank``'s slice of the full-sequence tensor ``x`` (equal
    lengths: the sequence must divide by ``world_size``, by 2 * world_size
    for zigzag), as a new contiguous tensor."""
    import torch
    S = x.shape[dim]
    parts = world_size if layout == "contiguous" else 2 * world_size
    if layout not in LAYOUTS:
        raise ValueError(f"argument 'layout': expected one of {LAYOUTS}, got {layout!r}")
    if S % parts:
        raise ValueError(f"argument 'x': sequence length {S} does not split into {parts} equal chunks")
    chunks = x.chunk(parts, dim=dim)
    if layout == "contiguous":
        return chunks[rank].contiguous()
    return torch.cat([chunks[rank], chunks[2 * world_size - 1 - rank]], dim=dim).contiguous()


def unshard_sequence(parts, layout="contiguous", dim=2):
    """The full-sequence tensor from every rank's slice (``parts[r]``, any
    lengths the layout allows): the inverse of sharding."""
    import torch
    if layout == "contiguous":
        return torch.cat(list(parts), dim=dim)
    segments = layout_segments([p.shape[dim] for p in parts], layout)
    pieces = []
    for r, p in enumerate(parts):
        for s in segments[r]:
            pieces.append((s.start, p.narrow(dim, s.local, s.length)))
    return torch.cat([t for _, t in sorted(pieces, key=lambda e: e[0])], dim=dim)


# --- what to compute at each step --------------------------------------------------


class Task:
    """One attention call: local query rows [q0, q0 + nq) against rows
    [k0, k0 + nk) of the key/value block held, causal (a diagonal block:
    same positions) or full, with the global positions of their first rows."""

    __slots__ = ("q0", "nq", "k0", "nk", "causal", "q_start", "k_start")

    def __init__(self, q0, nq, k0, nk, causal, q_start, k_start):
        self.q0, self.nq, self.k0, self.nk = q0, nq, k0, nk
        self.causal, self.q_start, self.k_start = causal, q_start, k_start

    def __repr__(self):
        return (f"Task(q[{self.q0}:{self.q0 + self.nq}] @ {self.q_start}, k[{self.k0}:{self.k0 + self.nk}] "
                f"@ {self.k_start}, causal={self.causal})")


def _coalesce(tasks, need_positions):
    """Joins full tasks that cover adjacent local rows on one side and the
    same rows on the other. With a score_mod/mask_mod the join must also keep
    global positions adjacent (one offset per call)."""
    def join(a, b):
        if a.causal or b.causal:
            return None
        if a.k0 == b.k0 and a.nk == b.nk and a.q0 + a.nq == b.q0:
            if not need_positions or a.q_start + a.nq == b.q_start:
                return Task(a.q0, a.nq + b.nq, a.k0, a.nk, False, a.q_start, a.k_start)
        if a.q0 == b.q0 and a.nq == b.nq and a.k0 + a.nk == b.k0:
            if not need_positions or a.k_start + a.nk == b.k_start:
                return Task(a.q0, a.nq, a.k0, a.nk + b.nk, False, a.q_start, a.k_start)
        return None

    tasks = list(tasks)
    changed = True
    while changed:
        changed = False
        tasks.sort(key=lambda t: (t.q0, t.k0))
        for i in range(len(tasks)):
            for j in range(len(tasks)):
                if i != j:
                    joined = join(tasks[i], tasks[j])
                    if joined is not None:
                        tasks = [t for n, t in enumerate(tasks) if n not in (i, j)] + [joined]
                        changed = True
                        break
            if changed:
                break
    return tasks


def plan_step(q_segments, kv_segments, causal, own_block, need_positions):
    """The Tasks of one step: this rank's query Segments against the key
    Segments of the block it holds. Causal pairs are full (keys before the
    queries), diagonal (the same chunk) or skipped (keys after them)."""
    if causal and own_block and (not need_positions or len(q_segments) == 1):
        # Local order is global order and the chunks are disjoint, so causal
        # attention over the whole local slice is exactly the global mask
        # restricted to it (chunk pairs out of order are fully hidden).
        n = sum(s.length for s in q_segments)
        return [Task(0, n, 0, n, True, q_segments[0].start, q_segments[0].start)]
    tasks = []
    for qs in q_segments:
        for ks in kv_segments:
            if not causal or ks.start + ks.length <= qs.start:
                tasks.append(Task(qs.local, qs.length, ks.local, ks.length, False, qs.start, ks.start))
            elif ks.start >= qs.start + qs.length:
                continue
            elif ks.start == qs.start and ks.length == qs.length:
                tasks.append(Task(qs.local, qs.length, ks.local, ks.length, True, qs.start, ks.start))
            else:
                raise AssertionError(f"overlapping segments {qs} and {ks}")
    return _coalesce(tasks, need_positions)


# --- mods on global positions --------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _shifted_score_mod(score_mod, q_off, kv_off):
    # One wrapper per offset pair, kept (and so its compiled kernels) for
    # later calls; the offsets are closure constants, i.e. constexprs.
    @_tz_jit
    def score_mod_at_global_positions(score, b, h, q_idx, kv_idx):
        return score_mod(score, b, h, q_idx + q_off, kv_idx + kv_off)
    return score_mod_at_global_positions


@functools.lru_cache(maxsize=None)
def _shifted_mask_mod(mask_mod, q_off, kv_off):
    @_tz_jit
    def mask_mod_at_global_positions(b, h, q_idx, kv_idx):
        return mask_mod(b, h, q_idx + q_off, kv_idx + kv_off)
    return mask_mod_at_global_positions


# --- the local attention that each step runs ----------------------------------------


class FlashLocal:
    """Flash attention (tz.ops.flash_attention) as the per-step attention."""

    name = "ring_attention"

    def __init__(self, scale, score_mod, mask_mod):
        self.scale, self.score_mod, self.mask_mod = scale, score_mod, mask_mod

    @property
    def needs_positions(self):
        return self.score_mod is not None or self.mask_mod is not None

    def _mods(self, task):
        score_mod, mask_mod = self.score_mod, self.mask_mod
        if task.q_start or task.k_start:
            if score_mod is not None:
                score_mod = _shifted_score_mod(score_mod, task.q_start, task.k_start)
            if mask_mod is not None:
                mask_mod = _shifted_mask_mod(mask_mod, task.q_start, task.k_start)
        return score_mod, mask_mod

    def forward(self, q, k, v, task):
        score_mod, mask_mod = self._mods(task)
        return _ops_module.flash_attention(q, k, v, causal=task.causal, scale=self.scale, score_mod=score_mod,
                                           mask_mod=mask_mod, return_lse=True)

    def backward(self, q, k, v, out, lse, dout, task):
        score_mod, mask_mod = self._mods(task)
        return _ops_module.flash_attention_backward(q, k, v, out, lse, dout, causal=task.causal, scale=self.scale,
                                                    score_mod=score_mod, mask_mod=mask_mod)


class CosineSimLocal:
    """Cosine-similarity attention (tz.ops.cosine_sim_attention) as the
    per-step attention: q and k rows are normalised inside each call, so a
    block's scores do not depend on the other blocks."""

    name = "ring_cosine_sim_attention"
    needs_positions = False

    def __init__(self, scale, groups, eps):
        self.scale, self.groups, self.eps = scale, groups, eps

    def forward(self, q, k, v, task):
        return _ops_module.cosine_sim_attention(q, k, v, scale=self.scale, causal=task.causal, groups=self.groups,
                                                eps=self.eps, return_lse=True)

    def backward(self, q, k, v, out, lse, dout, task):
        dq, dk, dv, _ = _ops_module.cosine_sim_attention_backward(
            q, k, v, out, lse, dout, scale=self.scale, causal=task.causal, groups=self.groups, eps=self.eps,
            need_dbias=False)
        return dq, dk, dv


# --- timeline marks (bench/ring_attention_bench.py) --------------------------------

_timeline = None


@contextlib.contextmanager
def record_timeline():
    """Within the block, ring calls append (label, mark) pairs to the list
    yielded: a CUDA event recorded on the compute or the communication
    stream (time it with elapsed_time after a synchronize), or on the CPU a
    perf_counter() reading. Labels: "<fwd|bwd><step>:<what>", what one of
    compute_start, compute_end, kernels_end (backward: the step's attention
    kernels, before it waits for the dK/dV message), <message>_issued (the
    side stream may start it), <message>_done (received)."""
    global _timeline
    marks, previous = [], _timeline
    _timeline = marks
    try:
        yield marks
    finally:
        _timeline = previous


def _mark(ring, label, side=False):
    if _timeline is None:
        return
    if ring.cuda:
        import torch
        event = torch.cuda.Event(enable_timing=True)
        event.record(ring.side if side else ring.compute)
        _timeline.append((label, event))
    else:
        _timeline.append((label, time.perf_counter()))


# --- the ring: point-to-point exchange with the neighbours --------------------------


class _Ring:
    """This rank's place in the group and the exchange with its neighbours:
    send to rank + 1, receive from rank - 1. On CUDA the messages are issued
    on a side stream, so they run beside the attention kernels queued on the
    current stream; on the CPU (gloo) they run on gloo's threads. CUDA
    tensors over a gloo group (e.g. several ranks sharing one GPU, where NCCL
    cannot run) are staged through host memory: copied out before the send,
    and into place after the receive."""

    def __init__(self, group, device):
        import torch
        import torch.distributed as dist
        self.dist, self.group = dist, group
        self.world = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.next = self._global((self.rank + 1) % self.world)
        self.prev = self._global((self.rank - 1) % self.world)
        self.staged = device.type == "cuda" and dist.get_backend(group) == "gloo"
        self.cuda = device.type == "cuda" and not self.staged
        self.message_device = device if self.cuda else torch.device("cpu")
        self.compute = torch.cuda.current_stream(device) if self.cuda else None
        self.side = _comm_stream(device) if self.cuda else None

    def use_current_stream(self):
        """Takes the current stream as the compute stream (the backward may
        run on another stream than the forward did)."""
        if self.cuda:
            import torch
            self.compute = torch.cuda.current_stream(self.message_device)

    def _global(self, group_rank):
        if self.group is None:
            return group_rank
        return self.dist.get_global_rank(self.group, group_rank)

    def all_lengths(self, device, *lengths):
        """Every rank's ``lengths`` (a list per rank)."""
        import torch
        mine = torch.tensor(lengths, dtype=torch.int64, device=self.message_device)
        gathered = [torch.empty_like(mine) for _ in range(self.world)]
        self.dist.all_gather(gathered, mine, group=self.group)
        return [g.tolist() for g in gathered]

    def exchange(self, sends, recvs, tag, label=""):
        """Starts sending each tensor of ``sends`` to the next rank and
        receiving each of ``recvs`` (same count, shapes of what the previous
        rank sends) from the previous one. Returns what wait() takes."""
        dist = self.dist
        targets = recvs
        if self.staged:
            sends = [s.cpu() for s in sends]  # waits for the kernels that wrote them
            recvs = [r.new_empty(r.shape, device="cpu") for r in recvs]
        ops = []
        for i, (s, r) in enumerate(zip(sends, recvs)):
            ops.append(dist.P2POp(dist.isend, s, self.next, self.group, tag + i))
            ops.append(dist.P2POp(dist.irecv, r, self.prev, self.group, tag + i))
        if not self.cuda:
            _mark(self, label + "_issued")
            # The host copies stay referenced until wait(): gloo reads and
            # writes them on its threads.
            return label, dist.batch_isend_irecv(ops), (sends, recvs, targets) if self.staged else None
        # The side stream starts after what the compute stream queued so far
        # (the tensors sent and the buffers received into are ready).
        self.side.wait_stream(self.compute)
        _mark(self, label + "_issued", side=True)
        import torch
        with torch.cuda.stream(self.side):
            return label, dist.batch_isend_irecv(ops), None

    def wait(self, handle):
        """Blocks (CPU) or orders the compute stream after the messages (CUDA)."""
        label, requests, staged = handle
        if not self.cuda:
            for r in requests:
                r.wait()
            if staged is not None:
                for host, target in zip(staged[1], staged[2]):
                    target.copy_(host)
            _mark(self, label + "_done")
            return
        import torch
        with torch.cuda.stream(self.side):
            for r in requests:
                r.wait()
        _mark(self, label + "_done", side=True)
        self.compute.wait_stream(self.side)


_comm_streams = {}


def _comm_stream(device):
    import torch
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index not in _comm_streams:
        _comm_streams[index] = torch.cuda.Stream(device=index)
    return _comm_streams[index]


# --- forward and backward ----------------------------------------------------------


class _Plan:
    """Lengths, segments and tasks of one call, shared by its backward."""

    def __init__(self, ring, q, k, causal, layout, local):
        lengths = ring.all_lengths(q.device, q.shape[2], k.shape[2])
        self.nq = [n[0] for n in lengths]
        self.nk = [n[1] for n in lengths]
        check_lengths(self.nq, layout, "q")
        check_lengths(self.nk, layout, "k")
        if causal and self.nq != self.nk:
            raise ValueError("argument 'causal': causal ring attention needs q and k sliced alike on every rank, "
                             f"got query lengths {self.nq} and key lengths {self.nk}")
        self.q_segments = layout_segments(self.nq, layout)
        self.kv_segments = layout_segments(self.nk, layout)
        r, W = ring.rank, ring.world
        self.sources = [(r - t) % W for t in range(W)]  # whose block step t holds
        self.tasks = [plan_step(self.q_segments[r], self.kv_segments[s], causal, s == r, local.needs_positions)
                      for s in self.sources]


def _rows(x, start, length):
    return x.narrow(2, start, length)


def ring_forward(ring, plan, local, q, k, v):
    """(out like q, float32 lse (B, H, N_Q)) of this rank's queries over the
    whole sequence."""
    import torch
    B, H, Nq, D = q.shape
    acc = torch.empty(q.shape, dtype=torch.float32, device=q.device)
    lse = torch.full((B, H, Nq), -float("inf"), dtype=torch.float32, device=q.device)
    kv = (k.contiguous(), v.contiguous())
    W = ring.world
    for t in range(W):
        pending = None
        if t + 1 < W:
            n_next = plan.nk[plan.sources[t + 1]]
            bufs = tuple(torch.empty((B, x.shape[1], n_next, x.shape[3]), dtype=x.dtype, device=x.device)
                         for x in kv)
            pending = (ring.exchange(kv, bufs, tag=0, label=f"fwd{t}:kv"), bufs)
        _mark(ring, f"fwd{t}:compute_start")
        for task in plan.tasks[t]:
            out_p, lse_p = local.forward(_rows(q, task.q0, task.nq), _rows(kv[0], task.k0, task.nk),
                                         _rows(kv[1], task.k0, task.nk), task)
            attention_merge(_rows(acc, task.q0, task.nq), _rows(lse, task.q0, task.nq), out_p, lse_p)
        _mark(ring, f"fwd{t}:compute_end")
        if pending is not None:
            ring.wait(pending[0])
            kv = pending[1]
    return acc.to(q.dtype), lse


def ring_backward(ring, plan, local, q, k, v, out, lse, dout):
    """(dq, dk, dv) of this rank's slices: dq summed over the blocks, dK/dV
    accumulated (float32) as they travel round the ring back to their owner."""
    import torch
    W = ring.world
    kv = (k.contiguous(), v.contiguous())
    dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
    dkv = tuple(torch.zeros(x.shape, dtype=torch.float32, device=x.device) for x in kv)
    incoming = None  # dK/dV of this step's block, on their way from the previous rank
    for t in range(W):
        pending = None
        if t + 1 < W:
            n_next = plan.nk[plan.sources[t + 1]]
            bufs = tuple(torch.empty((x.shape[0], x.shape[1], n_next, x.shape[3]), dtype=x.dtype, device=x.device)
                         for x in kv)
            pending = (ring.exchange(kv, bufs, tag=0, label=f"bwd{t}:kv"), bufs)
        _mark(ring, f"bwd{t}:compute_start")
        grads = []
        for task in plan.tasks[t]:
            qs, os_, dos = (_rows(x, task.q0, task.nq) for x in (q, out, dout))
            lse_s = _rows(lse, task.q0, task.nq).contiguous()
            dq_p, dk_p, dv_p = local.backward(qs, _rows(kv[0], task.k0, task.nk), _rows(kv[1], task.k0, task.nk),
                                              os_, lse_s, dos, task)
            _rows(dq, task.q0, task.nq).add_(dq_p)
            grads.append((task, dk_p, dv_p))
        _mark(ring, f"bwd{t}:kernels_end")  # before waiting for the dK/dV message
        if incoming is not None:
            ring.wait(incoming[0])
            dkv = incoming[1]
        for task, dk_p, dv_p in grads:
            _rows(dkv[0], task.k0, task.nk).add_(dk_p)
            _rows(dkv[1], task.k0, task.nk).add_(dv_p)
        _mark(ring, f"bwd{t}:compute_end")
        if W > 1:
            # Pass the block's dK/dV on with the block; after the last step
            # they reach the block's owner.
            n_in = plan.nk[plan.sources[(t + 1) % W]]
            bufs = tuple(torch.empty((x.shape[0], x.shape[1], n_in, x.shape[3]), dtype=torch.float32,
                                     device=x.device) for x in kv)
            incoming = (ring.exchange(dkv, bufs, tag=2, label=f"bwd{t}:dkv"), bufs)
        if pending is not None:
            ring.wait(pending[0])
            kv = pending[1]
    if incoming is not None:
        ring.wait(incoming[0])
        dkv = incoming[1]
    return dq.to(q.dtype), dkv[0].to(k.dtype), dkv[1].to(v.dtype)


_function = None


def _ring_function():
    """torch.autograd.Function over ring_forward / ring_backward, defined on
    first use (importing terrazzo does not import torch)."""
    global _function
    if _function is None:
        import torch

        class RingAttention(torch.autograd.Function):
            @staticmethod
            def forward(ctx, q, k, v, group, causal, layout, local):
                ring = _Ring(group, q.device)
                plan = _Plan(ring, q, k, causal, layout, local)
                out, lse = ring_forward(ring, plan, local, q, k, v)
                ctx.save_for_backward(q, k, v, out, lse)
                ctx.ring, ctx.plan, ctx.local = ring, plan, local
                ctx.mark_non_differentiable(lse)
                return out, lse

            @staticmethod
            def backward(ctx, dout, dlse):
                q, k, v, out, lse = ctx.saved_tensors
                ctx.ring.use_current_stream()
                dq, dk, dv = ring_backward(ctx.ring, ctx.plan, ctx.local, q, k, v, out, lse, dout.contiguous())
                return dq, dk, dv, None, None, None, None

        _function = RingAttention
    return _function


def _check(q, k, v, layout, name):
    import torch
    for x, n in ((q, "q"), (k, "k"), (v, "v")):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: argument '{n}': expected a torch tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{name}: argument '{n}': expected 4 dimensions (B, H, S, D), got shape "
                             f"{tuple(x.shape)}")
        if x.device != q.device:
            raise ValueError(f"{name}: argument '{n}': on {x.device}, but q is on {q.device}")
    if layout not in LAYOUTS:
        raise ValueError(f"{name}: argument 'layout': expected one of {LAYOUTS}, got {layout!r}")
    import torch.distributed as dist
    if not dist.is_initialized():
        raise RuntimeError(f"{name}: torch.distributed is not initialised (call init_process_group first)")


def ring_attention(q, k, v, *, group=None, causal=False, scale=None, score_mod=None, mask_mod=None,
                   layout="contiguous", return_lse=False):
    """Softmax attention over a sequence split across the ranks of
    ``group`` (default: the world). q (B, H, N_Q, D), k and v (B, H_KV, N_K,
    D) are this rank's slices under ``layout``; the result is this rank's
    slice of the output (like q), equal to tz.ops.flash_attention over the
    whole sequence. ``causal``, ``scale``, ``score_mod`` and ``mask_mod`` as
    for flash_attention, on global positions. With ``return_lse`` also the
    float32 (B, H, N_Q) global log-sum-exp. Differentiable; every rank must
    run the backward (it exchanges messages). See docs/ring-attention.md."""
    _check(q, k, v, layout, "ring_attention")
    local = FlashLocal(scale, score_mod, mask_mod)
    out, lse = _ring_function().apply(q, k, v, group, causal, layout, local)
    return (out, lse) if return_lse else out


def ring_cosine_sim_attention(q, k, v, *, group=None, causal=False, scale=10.0, groups=1, eps=1e-6,
                              layout="contiguous", return_lse=False):
    """Cosine-similarity attention (tz.ops.cosine_sim_attention) over a
    sequence split across the ranks of ``group``, as ring_attention. The
    bias, key_mask and key_lens of the single-device op are not supported
    here."""
    _check(q, k, v, layout, "ring_cosine_sim_attention")
    local = CosineSimLocal(scale, groups, eps)
    out, lse = _ring_function().apply(q, k, v, group, causal, layout, local)
    return (out, lse) if return_lse else out
