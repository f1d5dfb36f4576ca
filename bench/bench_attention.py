"""bf16 attention, forward and forward + backward TFLOP/s: our
tz.ops.flash_attention vs PyTorch SDPA with the flash backend, SDPA with the
cuDNN backend and FlexAttention (torch.compile); and our
tz.ops.cosine_sim_attention(q, k, v, scale=10) vs F.normalize(q),
F.normalize(k) then SDPA flash with scale=10.

Shapes: 16384 tokens per batch and hidden 2048 = H * D: D = 64 (H = 32) and
D = 128 (H = 16), S in 1024, 4096, 16384 (B = 16384 / S), causal and not;
plus a vision shape, D = 32, H = 8, S = 400 (a multiple of no tile size),
B = 256, not causal. q, k, v and dout are contiguous (B, H, S, D) bf16,
standard normal, seeded per shape. Shapes run smallest S first, so a cut-off
run still has every (head dim, mask).

FLOPs: forward 4 * B * H * S^2 * D (the two matmuls, 2 * S^2 * D each per
head), halved for causal; forward + backward = 3.5 * forward (the backward
counted as 2.5 forwards: five matmuls, one of them the recomputed scores;
the FlashAttention papers' convention). Cosine-sim attention is counted the
same (its normalisation is not counted).

Checks: each implementation's first call is compared with SDPA flash on the
same inputs (normwise ||x - ref|| / ||ref||: the output for the forward; the
output and dq, dk, dv for forward + backward); the cosine-sim kernel is
compared with the normalise + SDPA flash reference. A result over the
tolerance is recorded as a failure and not timed. The peak memory
(torch.cuda.max_memory_allocated after reset_peak_memory_stats, and its
increase over what was allocated before) of that first forward + backward
call is recorded for every implementation and shape.

Time: our kernels may be far slower than SDPA. Each measurement predicts its
single call from the same implementation's previous (smaller) shape, scaled
by the FLOPs, and from one call: a call predicted over CAP_S, or too long for
what the time box has left, is not run ("skipped: over budget"); a timed call
over CAP_S is reported alone. The box is split in three phases: ours + SDPA
flash + cuDNN first (PHASE1_SHARE of it), then FlexAttention (its compiles
are the slow part; each first call runs under a SIGALRM limit of
FLEX_COMPILE_LIMIT_S, and a compile that fails or runs over it is recorded
and ends Flex for the run), then cosine-sim. Every case is in its own
try/except; errors are recorded with their message."""

import contextlib
import math
import signal
import threading
import time

import common

TOKENS = 16384
HIDDEN = 2048
SEQS = [1024, 4096, 16384]
HEAD_DIMS = [64, 128]
VISION = {"B": 256, "H": 8, "S": 400, "D": 32}
COS_SCALE = 10.0
FWD_BWD_FACTOR = 3.5

CAP_S = 3.0                               # one call predicted or measured over this is not repeated
BUDGET_S = {"ours": 0.8, "baseline": 0.25}  # repetitions per measurement
REPS = {"ours": 30, "baseline": 50}
PHASE1_SHARE = 0.5                        # of the box, for ours + SDPA flash + cuDNN
COS_RESERVE_S = (70.0, 10.0)              # kept for the cosine phase: with / without our kernel
FLEX_COMPILE_LIMIT_S = 60.0
FLEX_DYNAMIC = True                       # one compile per (head dim, mask, grad mode), not per shape
# normwise relative error vs the reference: (output, gradients)
TOL = {"attention": (2e-2, 5e-2), "cosine": (5e-2, 1e-1)}

MODES = [("fwd", "forward"), ("fwdbwd", "forward + backward")]
LABELS = {"ours": "ours", "flash": "SDPA flash", "cudnn": "SDPA cuDNN", "flex": "FlexAttention",
          "cos_ours": "ours (cosine-sim)", "cos_ref": "normalize + SDPA flash"}
BASELINES = {"flash", "cudnn", "flex", "cos_ref"}
PAIRS = [("ours", "flash"), ("ours", "cudnn"), ("ours", "flex"), ("cos_ours", "cos_ref")]


class TimeLimitExceeded(BaseException):
    """Raised by SIGALRM inside a call that ran past its limit (a
    BaseException, so that library code catching Exception lets it pass)."""


class _Broken(Exception):
    """The CUDA context no longer works: stop measuring."""


@contextlib.contextmanager
def _time_limit(seconds):
    if (seconds is None or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def on_alarm(signum, frame):
        raise TimeLimitExceeded(f"did not finish within {seconds:.0f} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Phase:
    """A deadline inside the benchmark's time box."""

    def __init__(self, box, seconds):
        self.box = box
        self.end = time.monotonic() + max(0.0, seconds)

    def left(self):
        return min(self.end - time.monotonic(), self.box.left())


def _shape(B, H, S, D, causal, vision=False):
    fwd = 4.0 * B * H * S * S * D * (0.5 if causal else 1.0)
    mask = " causal" if causal else ""
    return {"name": f"{'vision ' if vision else ''}d{D} h{H} S{S} B{B}{mask}", "B": B, "H": H, "S": S, "D": D,
            "causal": causal, "group": f"d{D}{mask}", "tokens": B * S,
            "flops": {"fwd": fwd, "fwdbwd": FWD_BWD_FACTOR * fwd}, "impls": {}}


def shapes():
    out = []
    for s in SEQS:
        for d in HEAD_DIMS:
            for causal in (False, True):
                out.append(_shape(TOKENS // s, HIDDEN // d, s, d, causal))
        if s == SEQS[0]:
            out.append(_shape(VISION["B"], VISION["H"], VISION["S"], VISION["D"], False, vision=True))
    return out


class _Bench:
    def __init__(self, ctx, res):
        self.torch = ctx.torch
        self.box = ctx.box
        self.res = res
        self.impls = {}        # name -> call(q, k, v, causal) returning the output
        self.unavailable = {}  # name -> why
        self.last = {}         # (impl, mode, group) -> (flops, seconds of one call)
        self.flex_disabled = None
        self.flex_succeeded = False

    # -- implementations -------------------------------------------------

    def setup(self):
        torch = self.torch
        F = torch.nn.functional
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel

            def sdpa(backend):
                def call(q, k, v, causal):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                return call

            def cos_ref(q, k, v, causal):
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return F.scaled_dot_product_attention(F.normalize(q, dim=-1), F.normalize(k, dim=-1), v,
                                                          is_causal=causal, scale=COS_SCALE)

            self.impls.update(flash=sdpa(SDPBackend.FLASH_ATTENTION), cudnn=sdpa(SDPBackend.CUDNN_ATTENTION),
                              cos_ref=cos_ref)
        except Exception as e:
            for name in ("flash", "cudnn", "cos_ref"):
                self.unavailable[name] = f"not available: {common.describe(e)}"
        try:
            import terrazzo as tz
            fa = tz.ops.flash_attention
            self.impls["ours"] = lambda q, k, v, causal: fa(q, k, v, causal=causal)
            cs = getattr(tz.ops, "cosine_sim_attention", None)
            if cs is None:
                self.unavailable["cos_ours"] = "not available: tz.ops has no cosine_sim_attention in this build"
            else:
                self.impls["cos_ours"] = lambda q, k, v, causal: cs(q, k, v, scale=COS_SCALE, causal=causal)
        except Exception as e:
            for name in ("ours", "cos_ours"):
                self.unavailable[name] = f"not available: terrazzo: {common.describe(e)}"
        self.res["cosine_available"] = "cos_ours" in self.impls

    def setup_flex(self):
        torch = self.torch
        info = self.res["flex"]
        try:
            from torch.nn.attention.flex_attention import create_block_mask, flex_attention
            dyn = torch._dynamo.config
            # every (head dim, mask, grad mode) is a compile: never fall back to eager silently
            for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit",
                         "accumulated_cache_size_limit"):
                if isinstance(getattr(dyn, name, None), int):
                    setattr(dyn, name, max(getattr(dyn, name), 256))
            if hasattr(dyn, "fail_on_recompile_limit_hit"):
                dyn.fail_on_recompile_limit_hit = True
            compiled = torch.compile(flex_attention, dynamic=FLEX_DYNAMIC)
        except Exception as e:
            self.unavailable["flex"] = f"not available: {common.describe(e)}"
            info["error"] = self.unavailable["flex"]
            return
        masks = {}

        def causal_mask(b, h, q_idx, kv_idx):
            return q_idx >= kv_idx

        def call(q, k, v, causal):
            block_mask = None
            if causal:
                s = q.shape[-2]
                if s not in masks:
                    masks[s] = create_block_mask(causal_mask, None, None, s, s, device=q.device)
                block_mask = masks[s]
            return compiled(q, k, v, block_mask=block_mask)

        self.impls["flex"] = call

    # -- one measurement -----------------------------------------------

    def inputs(self, shape, index):
        torch = self.torch
        g = torch.Generator(device="cuda")
        g.manual_seed(1000 + index)
        dims = (shape["B"], shape["H"], shape["S"], shape["D"])
        q, k, v, dout = (torch.randn(dims, generator=g, device="cuda", dtype=torch.bfloat16) for _ in range(4))
        for t in (q, k, v):
            t.requires_grad_(True)
        return q, k, v, dout

    def fns(self, impl, shape, inputs):
        torch = self.torch
        call = self.impls[impl]
        q, k, v, dout = inputs
        causal = shape["causal"]

        qd, kd, vd = q.detach(), k.detach(), v.detach()

        def fwd():
            with torch.no_grad():
                return call(qd, kd, vd, causal)

        def fwdbwd():
            with torch.enable_grad():
                out = call(q, k, v, causal)
                return out, torch.autograd.grad(out, (q, k, v), dout)

        return {"fwd": fwd, "fwdbwd": fwdbwd}

    def predict(self, impl, mode, shape, fwd_s):
        preds = []
        prev = self.last.get((impl, mode, shape["group"]))
        if prev:
            preds.append(prev[1] * shape["flops"][mode] / prev[0])
        if mode == "fwdbwd" and fwd_s:
            preds.append(FWD_BWD_FACTOR * fwd_s)
        return max(preds) if preds else None

    @staticmethod
    def over_budget(pred, phase):
        left = phase.left()
        if left < 1.0:
            return "skipped: over budget (time box spent)"
        if pred is None:
            return None
        if pred > CAP_S:
            return f"skipped: over budget (one call predicted {pred:.3g} s, over the {CAP_S:g} s cap)"
        if 3 * pred + 1.0 > left:
            return f"skipped: over budget (one call predicted {pred:.3g} s, {left:.0f} s left)"
        return None

    def check(self, got, ref, mode, kind):
        tol_out, tol_grad = TOL[kind]
        if mode == "fwd":
            errs = {"out": common.rel_err(got, ref)}
        else:
            errs = {"out": common.rel_err(got[0], ref[0])}
            errs.update({n: common.rel_err(g, r) for n, g, r in zip(("dq", "dk", "dv"), got[1], ref[1])})
        bad = [f"{n} {e:.3g}" for n, e in errs.items() if not e <= (tol_out if n == "out" else tol_grad)]
        return {"rel_err": errs, "tolerance": {"out": tol_out, "grads": tol_grad}, "ok": not bad}, bad

    def timed(self, fn, flops, kind, phase):
        t = common.time_once_ms(fn) / 1e3
        if t > CAP_S or phase.left() < 2 * t + 0.5:
            ms = t * 1e3
            r = {"median_ms": ms, "min_ms": ms, "max_ms": ms, "reps": 1,
                 "note": f"one call ({t:.3g} s), " + ("over the cap" if t > CAP_S else "time box nearly spent")}
        else:
            budget = max(0.0, min(BUDGET_S[kind], phase.left() - 2 * t - 0.5))
            r = common.cuda_time(fn, reps=REPS[kind], warmup=3, min_reps=1, first_ms=t * 1e3, budget_s=budget)
        r["single_call_s"] = t
        r["tflops"] = common.tflops(flops, r["median_ms"])
        return r

    def one(self, shape, impl, mode, fn, phase, r, ref, ref_kind, keep_ref):
        torch = self.torch
        kind = "baseline" if impl in BASELINES else "ours"
        limit = max(1.0, min(FLEX_COMPILE_LIMIT_S, phase.left())) if impl == "flex" else None
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            with _time_limit(limit):
                got = fn()
                torch.cuda.synchronize()
        except TimeLimitExceeded as e:
            why = (f"over the {FLEX_COMPILE_LIMIT_S:g} s compile limit" if limit >= FLEX_COMPILE_LIMIT_S
                   else "over what the time box had left")
            raise TimeLimitExceeded(f"first call (compile + run) {e}: {why}") from None
        r["first_call_s"] = time.perf_counter() - t0
        if mode == "fwdbwd":
            peak = torch.cuda.max_memory_allocated()
            r["memory"] = {"peak_bytes": peak, "before_bytes": before, "extra_bytes": peak - before}
        if keep_ref is not None:
            keep_ref[mode] = got
        elif ref is not None and ref.get(mode) is not None:
            r["check"], bad = self.check(got, ref[mode], mode, ref_kind)
            if bad:
                r["error"] = (f"wrong result vs {LABELS['cos_ref' if ref_kind == 'cosine' else 'flash']}: "
                              f"rel err {', '.join(bad)} (tolerance {r['check']['tolerance']})")
                return
        else:
            r["check"] = {"note": "no reference (it failed or was skipped on this shape)"}
        del got
        r.update(self.timed(fn, shape["flops"][mode], kind, phase))
        self.last[(impl, mode, shape["group"])] = (shape["flops"][mode], r["single_call_s"])

    def case(self, shape, impl, phase, inputs, ref=None, ref_kind="attention", keep_ref=None):
        """Forward, then forward + backward, of one implementation on one shape."""
        entry = shape["impls"].setdefault(impl, {})
        if impl in self.unavailable:
            for mode, _ in MODES:
                entry[mode] = {"error": self.unavailable[impl]}
            return entry
        fns = None
        fwd_s = None
        for mode, _ in MODES:
            r = entry[mode] = {}
            if mode == "fwdbwd" and entry["fwd"].get("error", "").startswith("wrong result"):
                r["error"] = "not run: the forward result is wrong"
                continue
            if impl == "flex" and self.flex_disabled:
                r["skipped"] = f"FlexAttention stopped earlier: {self.flex_disabled}"
                continue
            pred = self.predict(impl, mode, shape, fwd_s)
            why = self.over_budget(pred, phase)
            if why:
                r["skipped"] = why
                if pred is not None:  # later (larger) shapes predict from this
                    r["predicted_s"] = pred
                    self.last[(impl, mode, shape["group"])] = (shape["flops"][mode], pred)
                    if mode == "fwd":
                        fwd_s = pred
                continue
            if pred is not None:
                r["predicted_s"] = pred
            try:
                fns = fns or self.fns(impl, shape, inputs)
                self.one(shape, impl, mode, fns[mode], phase, r, ref, ref_kind, keep_ref)
                if impl == "flex" and "tflops" in r:
                    self.flex_succeeded = True
            except (Exception, TimeLimitExceeded) as e:
                r["error"] = common.describe(e)
                if impl == "flex" and (isinstance(e, TimeLimitExceeded) or not self.flex_succeeded):
                    self.flex_disabled = f"{shape['name']} {mode}: {r['error'][:300]}"
                self.after_error(impl)
            if mode == "fwd":
                fwd_s = r.get("single_call_s")
        self.log(shape, impl, entry)
        return entry

    def after_error(self, impl):
        torch = self.torch
        try:
            torch.cuda.synchronize()
        except Exception as e:
            raise _Broken(f"the CUDA context is unusable after {impl}: {common.describe(e)}") from None
        torch.cuda.empty_cache()

    @staticmethod
    def log(shape, impl, entry):
        parts = []
        for mode, label in MODES:
            r = entry.get(mode, {})
            if r.get("tflops") is not None:
                parts.append(f"{label} {r['tflops']:.1f} TFLOP/s ({r['median_ms']:.3g} ms)")
            else:
                parts.append(f"{label} {(r.get('error') or r.get('skipped') or '-')[:160]}")
        print(f"    {shape['name']}, {LABELS[impl]}: " + "; ".join(parts), flush=True)

    # -- phases ------------------------------------------------------

    def reference(self, shape, inputs, impl):
        """Outputs of a reference implementation (untimed), or None."""
        if impl in self.unavailable or impl not in self.impls:
            return None
        try:
            fns = self.fns(impl, shape, inputs)
            ref = {mode: fns[mode]() for mode, _ in MODES}
            self.torch.cuda.synchronize()
            return ref
        except Exception:
            self.after_error(impl)
            return None

    def phase_core(self, all_shapes, phase):
        for i, shape in enumerate(all_shapes):
            inputs = self.inputs(shape, i)
            ref = {}
            self.case(shape, "flash", phase, inputs, keep_ref=ref)
            self.case(shape, "ours", phase, inputs, ref=ref)
            self.case(shape, "cudnn", phase, inputs, ref=ref)
            del inputs, ref

    def phase_flex(self, all_shapes, phase):
        self.setup_flex()
        for i, shape in enumerate(all_shapes):
            if self.flex_disabled or "flex" in self.unavailable or phase.left() < 1.0:
                self.case(shape, "flex", phase, None)  # records why without running
                continue
            inputs = self.inputs(shape, i)
            ref = self.reference(shape, inputs, "flash")
            self.case(shape, "flex", phase, inputs, ref=ref)
            del inputs, ref
        self.res["flex"]["disabled"] = self.flex_disabled

    def phase_cosine(self, all_shapes, phase):
        for i, shape in enumerate(all_shapes):
            if phase.left() < 1.0:
                for impl in ("cos_ref", "cos_ours"):
                    self.case(shape, impl, phase, None)
                continue
            inputs = self.inputs(shape, i)
            ref = {}
            self.case(shape, "cos_ref", phase, inputs, keep_ref=ref)
            self.case(shape, "cos_ours", phase, inputs, ref=ref, ref_kind="cosine")
            del inputs, ref


def _tflops(shape, impl, mode):
    r = shape["impls"].get(impl, {}).get(mode, {})
    return None if r.get("error") else r.get("tflops")


def _finish(res):
    for shape in res["shapes"]:
        shape["ratios"] = {mode: {f"{a}/{b}": common.ratio(_tflops(shape, a, mode), _tflops(shape, b, mode))
                                  for a, b in PAIRS} for mode, _ in MODES}
    res["geomean"] = {}
    for mode, _ in MODES:
        res["geomean"][mode] = {}
        for a, b in PAIRS:
            vals = [s["ratios"][mode][f"{a}/{b}"] for s in res["shapes"]]
            vals = [v for v in vals if v]
            res["geomean"][mode][f"{a}/{b}"] = {
                "value": math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None, "n": len(vals)}


def run(ctx):
    all_shapes = shapes()
    res = {"dtype": "bfloat16", "tokens": TOKENS, "hidden": HIDDEN, "cos_scale": COS_SCALE,
           "fwd_bwd_factor": FWD_BWD_FACTOR, "cap_s": CAP_S, "tolerance": TOL,
           "flops": "forward 4*B*H*S^2*D, halved for causal; forward+backward 3.5 * forward",
           "shapes": all_shapes, "flex": {"dynamic": FLEX_DYNAMIC, "compile_limit_s": FLEX_COMPILE_LIMIT_S},
           "phases": {}, "errors": []}
    bench = _Bench(ctx, res)
    bench.setup()
    box = ctx.box
    plan = [("core", lambda: PHASE1_SHARE * box.left(), bench.phase_core),
            ("flex", lambda: box.left() - min(COS_RESERVE_S[0 if res["cosine_available"] else 1],
                                              0.5 * box.left()), bench.phase_flex),
            ("cosine", lambda: box.left(), bench.phase_cosine)]
    broken = None
    for name, seconds, phase_fn in plan:
        t0 = time.monotonic()
        phase = _Phase(box, seconds())
        res["phases"][name] = {"allotted_s": phase.left()}
        if broken:
            res["phases"][name]["skipped"] = broken
            continue
        print(f"    -- {name} phase ({phase.left():.0f} s)", flush=True)
        try:
            phase_fn(all_shapes, phase)
        except _Broken as e:
            broken = str(e)
            res["errors"].append(f"{name}: {broken}")
        except Exception as e:
            res["errors"].append(f"{name}: {common.describe(e)}")
        res["phases"][name]["seconds"] = time.monotonic() - t0
    res["unavailable"] = dict(bench.unavailable)
    _finish(res)  # a broken CUDA context is seen by run_all too, which skips what follows
    return res


# -- markdown ------------------------------------------------------------

def _val(shape, impl, mode):
    r = shape["impls"].get(impl, {}).get(mode)
    if not r:
        return "-"
    if r.get("error"):
        if r["error"].startswith("not available"):
            return "n/a"
        return "**wrong**" if r["error"].startswith("wrong result") else "error"
    if r.get("skipped"):
        return "skipped"
    return common.fmt(r.get("tflops"))


def _notes(shape, impls, mode):
    notes = []
    for impl in impls:
        r = shape["impls"].get(impl, {}).get(mode, {})
        text = r.get("error") or r.get("skipped") or r.get("note")
        if text and not text.startswith("not available"):  # said once above the tables
            notes.append(f"{LABELS[impl]}: {text}")
    return "; ".join(notes)


def _mib(x):
    return "-" if x is None else common.fmt(x / 2 ** 20)


def _err(x):
    return "-" if x is None else f"{x:.2g}"


def markdown(res):
    lines = [f"bf16, (B, H, S, D) contiguous, {res['tokens']} tokens per batch (B = {res['tokens']} / S), "
             f"hidden {res['hidden']} = H * D, plus a vision shape (S = 400, not a multiple of any tile). "
             f"TFLOP/s count {res['flops']} (the backward as 2.5 forwards). Ratios are ours / baseline on "
             "TFLOP/s: above 1 ours is faster. **wrong** = the result differs from SDPA flash beyond the "
             "tolerance (not timed).", ""]
    for impl, why in res.get("unavailable", {}).items():
        lines += [f"{LABELS.get(impl, impl)}: {why}", ""]
    for e in res.get("errors", []):
        lines += [f"**Phase failed:** {e}", ""]
    shapes_ = res["shapes"]
    for mode, label in MODES:
        lines += [f"**{label.capitalize()}**, TFLOP/s:", ""]
        rows = []
        for s in shapes_:
            ratios = s.get("ratios", {}).get(mode, {})
            ours = s["impls"].get("ours", {}).get(mode, {})
            rows.append([s["name"], _val(s, "ours", mode), _val(s, "flash", mode), _val(s, "cudnn", mode),
                         _val(s, "flex", mode), common.fmt(ratios.get("ours/flash")),
                         common.fmt(ratios.get("ours/cudnn")), common.fmt(ratios.get("ours/flex")),
                         common.fmt(ours.get("median_ms")) if not ours.get("error") else "-",
                         ours.get("reps", "-"), _notes(s, ("ours", "flash", "cudnn", "flex"), mode)])
        lines += common.table(["shape", "ours", "SDPA flash", "SDPA cuDNN", "Flex", "ours / flash",
                               "ours / cuDNN", "ours / Flex", "ours median ms", "ours reps", "notes"], rows)
        g = res.get("geomean", {}).get(mode, {})
        lines += ["", "Geometric mean of ours / baseline over the shapes where both ran: " + ", ".join(
            f"{LABELS[k.split('/')[1]]} {common.fmt(v['value'])} (n = {v['n']})"
            for k, v in g.items() if k.startswith("ours/")) + ".", ""]

    tol = res["tolerance"]["attention"]
    lines += [f"**Correctness** of the first call vs SDPA flash on the same inputs, ||x - ref|| / ||ref|| "
              f"(tolerance {tol[0]:g} for the output, {tol[1]:g} for dq, dk, dv):", ""]
    rows = []
    for s in shapes_:
        row = [s["name"]]
        status = []
        for impl in ("ours", "cudnn", "flex"):
            f = s["impls"].get(impl, {}).get("fwd", {}).get("check", {}).get("rel_err", {})
            b = s["impls"].get(impl, {}).get("fwdbwd", {}).get("check", {}).get("rel_err", {})
            row.append(_err(f.get("out")))
            row.append(" / ".join(_err(b.get(n)) for n in ("out", "dq", "dk", "dv")) if b else "-")
            for mode, _ in MODES:
                err = s["impls"].get(impl, {}).get(mode, {}).get("error", "")
                if err.startswith("wrong result"):
                    status.append(f"{LABELS[impl]} {mode}: WRONG")
        rows.append(row + ["; ".join(status) or "ok"])
    lines += common.table(["shape", "ours fwd out", "ours fwd+bwd out / dq / dk / dv", "cuDNN fwd out",
                           "cuDNN fwd+bwd", "Flex fwd out", "Flex fwd+bwd", "status"], rows)

    lines += ["", "**Memory** of the first forward + backward call: torch.cuda.max_memory_allocated after "
              "reset_peak_memory_stats, and its increase over what was allocated before the call (inputs, "
              "dout and the reference results excluded). Every shape holds the same number of tokens, so a "
              "memory linear in S gives a flat column along S; memory quadratic in S (an S x S score matrix "
              "per head) would grow 4x per step (16 heads x 16384^2 x 2 bytes = 8 GiB at S = 16384, D = 128). "
              "The floor is the output and dq, dk, dv (4 * B*H*S*D * 2 bytes).", ""]
    rows = []
    for s in shapes_:
        mem = {impl: s["impls"].get(impl, {}).get("fwdbwd", {}).get("memory") or {}
               for impl in ("ours", "flash", "cudnn", "flex")}
        floor = 4 * s["B"] * s["H"] * s["S"] * s["D"] * 2
        rows.append([s["name"], _mib(mem["ours"].get("peak_bytes")), _mib(mem["ours"].get("extra_bytes")),
                     _mib(mem["flash"].get("extra_bytes")), _mib(mem["cudnn"].get("extra_bytes")),
                     _mib(mem["flex"].get("extra_bytes")), _mib(floor)])
    lines += common.table(["shape", "ours peak MiB", "ours increase MiB", "SDPA flash increase MiB",
                           "cuDNN increase MiB", "Flex increase MiB", "floor MiB"], rows)

    fl = res.get("flex", {})
    lines += ["", f"**First calls** (wall clock, compile or cache load + run). FlexAttention is "
              f"`torch.compile(flex_attention, dynamic={fl.get('dynamic')})`, made once: a compile per "
              f"(head dim, mask, grad mode), each under a {common.fmt(fl.get('compile_limit_s'))} s limit."
              + (f" Flex stopped: {fl['disabled']}" if fl.get("disabled") else "")
              + (f" Flex error: {fl['error']}" if fl.get("error") else ""), ""]
    rows = []
    for s in shapes_:
        rows.append([s["name"]] + [common.fmt(s["impls"].get(impl, {}).get(mode, {}).get("first_call_s"))
                                   for impl in ("ours", "flex", "cos_ours") for mode, _ in MODES])
    lines += common.table(["shape", "ours fwd s", "ours fwd+bwd s", "Flex fwd s", "Flex fwd+bwd s",
                           "ours cosine fwd s", "ours cosine fwd+bwd s"], rows)

    ctol = res["tolerance"]["cosine"]
    lines += ["", f"**Cosine-sim attention**, scale {common.fmt(res['cos_scale'])}: ours "
              "`tz.ops.cosine_sim_attention(q, k, v, scale=10, causal=...)` vs `F.normalize(q, dim=-1)`, "
              "`F.normalize(k, dim=-1)` then SDPA flash with scale=10 (its normalisation and the backward "
              "through it timed too, not counted in the FLOPs). Rel err of ours vs that reference "
              f"(tolerance {ctol[0]:g} output, {ctol[1]:g} gradients)."
              + ("" if res.get("cosine_available") else " **Ours is not available in this build.**"), ""]
    rows = []
    for s in shapes_:
        for mode, label in MODES:
            chk = s["impls"].get("cos_ours", {}).get(mode, {}).get("check", {}).get("rel_err", {})
            errs = " / ".join(_err(chk.get(n)) for n in ("out", "dq", "dk", "dv") if n in chk) or "-"
            rows.append([s["name"], label, _val(s, "cos_ours", mode), _val(s, "cos_ref", mode),
                         common.fmt(s.get("ratios", {}).get(mode, {}).get("cos_ours/cos_ref")), errs,
                         _notes(s, ("cos_ours", "cos_ref"), mode)])
    lines += common.table(["shape", "pass", "ours TFLOP/s", "normalize + SDPA flash TFLOP/s", "ours / ref",
                           "rel err out / dq / dk / dv", "notes"], rows)
    g = res.get("geomean", {})
    lines += ["", "Geometric mean of ours / ref: " + ", ".join(
        f"{label} {common.fmt(g.get(mode, {}).get('cos_ours/cos_ref', {}).get('value'))} "
        f"(n = {g.get(mode, {}).get('cos_ours/cos_ref', {}).get('n', 0)})" for mode, label in MODES) + "."]
    phases = res.get("phases", {})
    lines += ["", "Phases (s used / allotted): " + ", ".join(
        f"{k} {common.fmt(v.get('seconds'))} / {common.fmt(v.get('allotted_s'))}" for k, v in phases.items())]
    return lines


SUMMARY_SHAPES = ["d128 h16 S4096 B4", "vision d32 h8 S400 B256"]


def summary(res):
    rows = []
    by_name = {s["name"]: s for s in res["shapes"]}
    for name in SUMMARY_SHAPES:
        s = by_name.get(name)
        if not s:
            continue
        for mode, label in MODES:
            rows.append([f"attention {label} bf16 {name}, TFLOP/s", _val(s, "ours", mode), _val(s, "flash", mode),
                         common.fmt(s.get("ratios", {}).get(mode, {}).get("ours/flash")), "SDPA flash"])
    g = res.get("geomean", {})
    for mode, label in MODES:
        for pair in ("ours/flash", "ours/cudnn", "ours/flex"):
            v = g.get(mode, {}).get(pair, {})
            base = LABELS[pair.split("/")[1]]
            rows.append([f"attention {label}, geomean of ours / {base} over {v.get('n', 0)} shapes", "-", "-",
                         common.fmt(v.get("value")), base])
    for mode, label in MODES:
        v = g.get(mode, {}).get("cos_ours/cos_ref", {})
        rows.append([f"cosine-sim attention {label}, geomean of ours / ref over {v.get('n', 0)} shapes",
                     "-" if res.get("cosine_available") else "not available", "-", common.fmt(v.get("value")),
                     "normalize + SDPA flash"])
    return rows
