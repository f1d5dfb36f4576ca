"""Block-sparse and packed-sequence attention on the GPU (issue 16's
must-shows), bf16, head dim 128, H = 16:

1. Sliding window of 1024 at S = 32768, causal (B = 1): our
   tz.ops.flash_attention with a BlockMask (tz.ops.create_block_mask,
   block_size 128) vs our full causal attention at the same S and vs
   FlexAttention with its BlockMask (torch.compile(flex_attention,
   dynamic=False)); forward and forward + backward.
2. Causal document masking over packed documents (S = 32768, B = 1, lengths
   drawn from 64..4096, seeded): ours with a BlockMask of a mask_mod reading
   a document-id tensor (mask_mod_args) and our flash_attention_varlen on
   the same documents, vs Flex with a document mask reading the same ids.
3. Varlen forward + backward on 16384 packed tokens of mixed lengths (64 ..
   4096, seeded), causal: our flash_attention_varlen vs SDPA on nested
   (jagged) tensors (torch.nested, layout=torch.jagged) and vs Flex with a
   document mask over the packed tokens.

Checks before timing: every implementation's output (and dq, dk, dv for
forward + backward) against ours (the block-sparse call) or, for varlen,
against SDPA on nested tensors: normwise max |x - ref| / max |ref|; a result
over TOL is recorded as a mismatch (and still timed). Ours is itself checked
against float64 math in the GPU tests (test_gpu_block_sparse_varlen.py).

Timing: bench/common.cuda_time: an untimed first call (compiles, and our
tile autotuning where TZ_LIBRARY_AUTOTUNE is not 0), warm-up calls, then each
call between its own CUDA events with the L2 flushed before it (outside the
events); the median. Forward under torch.no_grad(); forward + backward is
the output and torch.autograd.grad(out, (q, k, v), dout) in one pair of
events. Block masks are built once, outside the timing (as in training:
built once per step and reused by every layer); their build time is
reported on its own.

Usage: python3 bench/block_sparse_varlen_bench.py [--out DIR] [--only window,documents,varlen]
Writes DIR/block_sparse_varlen.json and DIR/block_sparse_varlen.md."""

import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402
import terrazzo as tz  # noqa: E402

H, D = 16, 128
WINDOW, WINDOW_S = 1024, 32768
DOC_S = 32768
VARLEN_TOKENS = 16384
LENGTHS = (64, 4096)
BLOCK = 128
REPS, BUDGET_S = 30, 1.5
TOL = (2e-2, 5e-2)  # normwise: output, gradients (bf16)


@tz.jit
def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)


def lengths(total, seed):
    """Document lengths drawn uniformly from LENGTHS until they fill `total`
    (the last one cut to fit, kept at least LENGTHS[0] by merging)."""
    rng = random.Random(seed)
    out = []
    while sum(out) < total:
        out.append(rng.randint(*LENGTHS))
    out[-1] -= sum(out) - total
    if out[-1] < LENGTHS[0] and len(out) > 1:
        out[-2] += out.pop()
    return out


@tz.jit
def document_causal(b, h, q_idx, kv_idx, doc_ptr):
    # doc_ptr: one int32 document id per packed token (mask_mod_args).
    return (tz.load(doc_ptr + q_idx) == tz.load(doc_ptr + kv_idx)) & (q_idx >= kv_idx)


class Bench:
    def __init__(self):
        import torch
        self.torch, self.tz = torch, tz
        self.results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "cases": {}}
        self.flex = None
        try:
            from torch.nn.attention.flex_attention import create_block_mask, flex_attention
            # Compiled mask evaluation (_compile=True) where this torch has
            # it: the eager one materialises every (q, kv) pair at 32k.
            def flex_block_mask(*args, **kwargs):
                try:
                    return create_block_mask(*args, _compile=True, **kwargs)
                except TypeError:
                    return create_block_mask(*args, **kwargs)
            self.flex_block_mask = flex_block_mask
            self.flex = torch.compile(flex_attention, dynamic=False)
        except Exception as e:  # recorded, the rest still runs
            self.results["flex_error"] = common.describe(e)

    # --- helpers -----------------------------------------------------------------------

    def inputs(self, shape_q, shape_kv, seed):
        torch = self.torch
        g = torch.Generator(device="cuda").manual_seed(seed)
        make = lambda s: torch.randn(s, generator=g, device="cuda", dtype=torch.bfloat16)
        return make(shape_q), make(shape_kv), make(shape_kv), make(shape_q)

    def measure(self, name, fn, q, k, v, dout, ref=None):
        """Forward and forward + backward of fn(q, k, v) -> out: the check
        against `ref` (outputs and gradients of the reference), then timing.
        Returns the entry and (out, dq, dk, dv) for later checks."""
        torch = self.torch
        entry = {}
        try:
            t0 = time.perf_counter()
            qg, kg, vg = (x.detach().requires_grad_() for x in (q, k, v))
            out = fn(qg, kg, vg)
            grads = torch.autograd.grad(out, (qg, kg, vg), dout)
            torch.cuda.synchronize()
            entry["first_call_s"] = time.perf_counter() - t0
            got = (out.detach(),) + tuple(grads)
            if ref is not None:
                errs = [common.rel_err(a.float(), b.float()) for a, b in zip(got, ref)]
                entry["err_out"], entry["err_grads"] = errs[0], max(errs[1:])
                entry["match"] = errs[0] <= TOL[0] and max(errs[1:]) <= TOL[1]

            def fwd():
                with torch.no_grad():
                    fn(q, k, v)

            def fwdbwd():
                o = fn(qg, kg, vg)
                torch.autograd.grad(o, (qg, kg, vg), dout)

            entry["fwd"] = common.cuda_time(fwd, reps=REPS, warmup=5, budget_s=BUDGET_S)
            entry["fwdbwd"] = common.cuda_time(fwdbwd, reps=REPS, warmup=5, budget_s=BUDGET_S)
            print(f"  {name}: fwd {entry['fwd']['median_ms']:.3f} ms, fwd+bwd {entry['fwdbwd']['median_ms']:.3f} ms"
                  + (f", err {entry['err_out']:.2e}/{entry['err_grads']:.2e}" if ref is not None else ""), flush=True)
            return entry, got
        except Exception as e:
            entry["error"] = common.describe(e)
            print(f"  {name}: error {entry['error']}", flush=True)
            return entry, None

    def timed_build(self, build):
        torch = self.torch
        build()  # compiles
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        mask = build()
        torch.cuda.synchronize()
        return mask, (time.perf_counter() - t0) * 1e3

    def flex_doc_call(self, doc_ids, S, causal=True):
        torch = self.torch

        def mask_mod(b, h, q_idx, kv_idx):
            same = doc_ids[q_idx] == doc_ids[kv_idx]
            return same & (q_idx >= kv_idx) if causal else same

        fbm = self.flex_block_mask(mask_mod, None, None, S, S, device="cuda", BLOCK_SIZE=BLOCK)
        return lambda q, k, v: self.flex(q, k, v, block_mask=fbm)

    # --- cases -------------------------------------------------------------------------

    def window(self):
        tz, torch = self.tz, self.torch
        print(f"sliding window {WINDOW}, S = {WINDOW_S}, causal", flush=True)
        case = self.results["cases"].setdefault("window", {"S": WINDOW_S, "window": WINDOW, "H": H, "D": D})
        q, k, v, dout = self.inputs((1, H, WINDOW_S, D), (1, H, WINDOW_S, D), 1)
        bm, case["block_mask_build_ms"] = self.timed_build(
            lambda: tz.ops.create_block_mask(sliding_window, None, None, WINDOW_S, WINDOW_S, block_size=BLOCK,
                                             device="cuda"))
        case["density"] = bm.density()
        case["ours"], ref = self.measure("ours (block mask)", lambda q, k, v: tz.ops.flash_attention(
            q, k, v, block_mask=bm), q, k, v, dout)
        case["ours_full_causal"], _ = self.measure("ours full causal", lambda q, k, v: tz.ops.flash_attention(
            q, k, v, causal=True), q, k, v, dout)
        if self.flex is not None:
            def mask_mod(b, h, q_idx, kv_idx):
                return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)
            fbm = self.flex_block_mask(mask_mod, None, None, WINDOW_S, WINDOW_S, device="cuda", BLOCK_SIZE=BLOCK)
            case["flex"], _ = self.measure("FlexAttention", lambda q, k, v: self.flex(q, k, v, block_mask=fbm),
                                           q, k, v, dout, ref)
        self.ratios(case, [("ours", "ours_full_causal"), ("ours", "flex")])

    def documents(self):
        tz, torch = self.tz, self.torch
        lens = lengths(DOC_S, 2)
        print(f"documents, S = {DOC_S}, {len(lens)} documents of {min(lens)}..{max(lens)} tokens, causal",
              flush=True)
        case = self.results["cases"].setdefault("documents", {"S": DOC_S, "lengths": lens, "H": H, "D": D})
        q, k, v, dout = self.inputs((1, H, DOC_S, D), (1, H, DOC_S, D), 2)
        doc_ids = torch.repeat_interleave(torch.arange(len(lens), device="cuda"),
                                          torch.tensor(lens, device="cuda"))
        # The block mask keeps the ids: flash_attention passes them on to its mask_mod.
        tz_doc_ids = doc_ids.to(torch.int32)
        bm, case["block_mask_build_ms"] = self.timed_build(
            lambda: tz.ops.create_block_mask(document_causal, None, None, DOC_S, DOC_S, block_size=BLOCK,
                                             device="cuda", mask_mod_args=(tz_doc_ids,)))
        case["density"] = bm.density()
        case["ours"], ref = self.measure("ours (block mask)", lambda q, k, v: tz.ops.flash_attention(
            q, k, v, block_mask=bm), q, k, v, dout)
        cu = torch.tensor([0] + list(_cumsum(lens)), dtype=torch.int32, device="cuda")
        # The same documents as packed sequences: (1, H, S, D) viewed as (S, H, D).
        packed = lambda x: x[0].transpose(0, 1)
        case["ours_varlen"], _ = self.measure("ours varlen", lambda q, k, v: tz.ops.flash_attention_varlen(
            packed(q), packed(k), packed(v), cu, cu, max(lens), max(lens), causal=True).transpose(0, 1)[None],
            q, k, v, dout, ref)
        if self.flex is not None:
            case["flex"], _ = self.measure("FlexAttention", self.flex_doc_call(doc_ids, DOC_S), q, k, v, dout, ref)
        self.ratios(case, [("ours", "flex"), ("ours_varlen", "flex")])

    def varlen(self, causal=True):
        tz, torch = self.tz, self.torch
        lens = lengths(VARLEN_TOKENS, 3)
        print(f"varlen, {VARLEN_TOKENS} tokens, {len(lens)} sequences of {min(lens)}..{max(lens)}, "
              f"causal={causal}", flush=True)
        case = self.results["cases"].setdefault("varlen" if causal else "varlen_full", {
            "tokens": VARLEN_TOKENS, "lengths": lens, "H": H, "D": D, "causal": causal})
        q, k, v, dout = self.inputs((VARLEN_TOKENS, H, D), (VARLEN_TOKENS, H, D), 3)
        cu = torch.tensor([0] + list(_cumsum(lens)), dtype=torch.int32, device="cuda")
        offsets = cu.long()

        def nested_sdpa(q, k, v):
            nt = lambda x: torch.nested.nested_tensor_from_jagged(x, offsets).transpose(1, 2)
            out = torch.nn.functional.scaled_dot_product_attention(nt(q), nt(k), nt(v), is_causal=causal)
            return out.transpose(1, 2).values()

        case["sdpa_nested"], ref = self.measure("SDPA nested (jagged)", nested_sdpa, q, k, v, dout)
        case["ours"], _ = self.measure("ours varlen", lambda q, k, v: tz.ops.flash_attention_varlen(
            q, k, v, cu, cu, max(lens), max(lens), causal=causal), q, k, v, dout, ref)
        if self.flex is not None:
            doc_ids = torch.repeat_interleave(torch.arange(len(lens), device="cuda"),
                                              torch.tensor(lens, device="cuda"))
            flex = self.flex_doc_call(doc_ids, VARLEN_TOKENS, causal)
            bhsd = lambda x: x.transpose(0, 1)[None]
            case["flex"], _ = self.measure("FlexAttention (document mask)", lambda q, k, v: flex(
                bhsd(q), bhsd(k), bhsd(v))[0].transpose(0, 1), q, k, v, dout, ref)
        self.ratios(case, [("ours", "sdpa_nested"), ("ours", "flex")])
        if causal and "error" in case["sdpa_nested"]:
            # SDPA on jagged tensors without causal support here: compare
            # all three without the causal mask too.
            self.varlen(causal=False)

    def ratios(self, case, pairs):
        """Speedups: other's time / ours, per mode."""
        out = case.setdefault("speedup", {})
        for ours, other in pairs:
            for mode in ("fwd", "fwdbwd"):
                a, b = case.get(ours, {}).get(mode), case.get(other, {}).get(mode)
                if a and b:
                    out[f"{ours} vs {other} {mode}"] = b["median_ms"] / a["median_ms"]


def _cumsum(xs):
    total = 0
    for x in xs:
        total += x
        yield total


def markdown(res):
    lines = [f"# Block-sparse and packed-sequence attention ({res['device']}, torch {res['torch']})", ""]
    if "flex_error" in res:
        lines += [f"FlexAttention unavailable: {res['flex_error']}", ""]
    for name, case in res["cases"].items():
        lines += [f"## {name}", ""]
        meta = {k: v for k, v in case.items() if not isinstance(v, dict) and k != "lengths"}
        lines += [", ".join(f"{k} = {common.fmt(v)}" for k, v in meta.items()), ""]
        rows = []
        for impl, e in case.items():
            if not isinstance(e, dict) or impl == "speedup":
                continue
            rows.append([impl, common.fmt(e.get("fwd", {}).get("median_ms")),
                         common.fmt(e.get("fwdbwd", {}).get("median_ms")), common.fmt(e.get("err_out")),
                         common.fmt(e.get("err_grads")), e.get("match", "-"), common.fmt(e.get("first_call_s")),
                         e.get("error", "")])
        lines += common.table(["impl", "fwd ms", "fwd+bwd ms", "err out", "err grads", "match", "first call s",
                               "error"], rows)
        lines += [""] + [f"- {k}: {v:.2f}x" for k, v in case.get("speedup", {}).items()] + [""]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "results", "block-sparse-varlen"))
    ap.add_argument("--only", default="window,documents,varlen")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    bench = Bench()
    for name in args.only.split(","):
        try:
            getattr(bench, name)()
        except Exception as e:
            bench.results["cases"].setdefault(name, {})["error"] = common.describe(e)
            print(f"{name}: error {common.describe(e)}", flush=True)
        res = common.json_safe(bench.results)
        with open(os.path.join(args.out, "block_sparse_varlen.json"), "w") as f:
            json.dump(res, f, indent=1)
        with open(os.path.join(args.out, "block_sparse_varlen.md"), "w") as f:
            f.write(markdown(res))
    print(markdown(common.json_safe(bench.results)))


if __name__ == "__main__":
    main()
