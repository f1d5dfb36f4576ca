"""Runs every kernel of the library once per case on the GPU, for
compute-sanitizer (memcheck, racecheck, synccheck) to watch: flash attention
and cosine-sim attention, forward and backward, at ragged shapes (lengths
that are not multiples of any block), causal and not, GQA, key lengths, key
masks, biases, a score_mod and a mask_mod, a (B, S, H, D) transposed layout
and bfloat16; and ring attention's log-sum-exp merge on strided slices.

Shapes are small on purpose: under the sanitizer every access is checked
(hundreds of times slower), and the bugs it finds (an unmasked tail, a
missing barrier) show at the first ragged block as well as at the thousandth.
Each case also checks its output is finite, so a run that is clean only
because nothing ran is caught.

    compute-sanitizer --tool memcheck --error-exitcode 1 python3 scripts/sanitize_library_kernels.py
"""

import sys

import torch

import terrazzo as tz


@tz.jit
def distance_bias(score, b, h, q_idx, kv_idx):
    return score - 0.01 * (h + 1) * tz.abs(q_idx - kv_idx)


@tz.jit
def window(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx < 32) & (kv_idx - q_idx < 32)


def make(shape, dtype, layout="bhsd"):
    if layout == "bshd":
        b, h, s, d = shape
        return torch.randn((b, s, h, d), device="cuda", dtype=dtype).transpose(1, 2).requires_grad_()
    return torch.randn(shape, device="cuda", dtype=dtype).requires_grad_()


def flash_cases():
    for dtype in (torch.float16, torch.bfloat16):
        for causal in (False, True):
            yield dict(B=2, H=4, H_KV=2, NQ=77, NK=93, D=64, dtype=dtype, causal=causal, layout="bhsd", lens=False)
    yield dict(B=2, H=2, H_KV=2, NQ=45, NK=45, D=128, dtype=torch.float16, causal=True, layout="bshd", lens=False)
    yield dict(B=3, H=2, H_KV=1, NQ=33, NK=70, D=32, dtype=torch.float16, causal=False, layout="bhsd", lens=True)
    yield dict(B=2, H=4, H_KV=2, NQ=45, NK=70, D=64, dtype=torch.float16, causal=False, layout="bhsd", lens=False,
               mods=True)


def run_flash(c):
    q = make((c["B"], c["H"], c["NQ"], c["D"]), c["dtype"], c["layout"])
    k = make((c["B"], c["H_KV"], c["NK"], c["D"]), c["dtype"], c["layout"])
    v = make((c["B"], c["H_KV"], c["NK"], c["D"]), c["dtype"], c["layout"])
    lens = None
    if c["lens"]:
        lens = torch.tensor([c["NK"], c["NK"] // 2 + 1, 1][: c["B"]], device="cuda", dtype=torch.int32)
    mods = dict(score_mod=distance_bias, mask_mod=window) if c.get("mods") else {}
    out = tz.ops.flash_attention(q, k, v, causal=c["causal"], seqlens_k=lens, **mods)
    out.backward(torch.randn_like(out))
    torch.cuda.synchronize()
    for name, t in (("out", out), ("dq", q.grad), ("dk", k.grad), ("dv", v.grad)):
        assert torch.isfinite(t).all(), f"flash {c}: {name} has non-finite values"


def run_block_sparse_and_varlen():
    """A block mask built on the GPU (ragged last block, blocks of 32 walked
    in the kernels' tiles) and packed sequences of ragged lengths (1 and 0
    included), forward and backward."""
    bm = tz.ops.create_block_mask(window, None, None, 77, 77, block_size=32, device="cuda")
    q, k, v = (make((2, 4, 77, 64), torch.float16) for _ in range(3))
    out = tz.ops.flash_attention(q, k[:, :2].detach().requires_grad_(), v[:, :2].detach().requires_grad_(),
                                 block_mask=bm)
    out.backward(torch.randn_like(out))
    lens = [1, 40, 0, 77, 9]
    cu = torch.tensor([0] + [sum(lens[:i + 1]) for i in range(len(lens))], device="cuda", dtype=torch.int32)
    q = torch.randn((sum(lens), 4, 64), device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k, v = (torch.randn((sum(lens), 2, 64), device="cuda", dtype=torch.bfloat16, requires_grad=True)
            for _ in range(2))
    packed = tz.ops.flash_attention_varlen(q, k, v, cu, cu, max(lens), max(lens), causal=True)
    packed.backward(torch.randn_like(packed))
    torch.cuda.synchronize()
    for name, t in (("block-sparse out", out), ("varlen out", packed), ("varlen dq", q.grad),
                    ("varlen dk", k.grad), ("varlen dv", v.grad)):
        assert torch.isfinite(t).all(), f"{name} has non-finite values"


def cosine_cases():
    for dtype in (torch.float16, torch.bfloat16):
        yield dict(B=2, H=4, H_KV=2, NQ=50, NK=81, D=64, dtype=dtype, causal=True, bias=False, mask=False, lens=False)
    yield dict(B=2, H=2, H_KV=2, NQ=37, NK=37, D=32, dtype=torch.float16, causal=False, bias=True, mask=True,
               lens=True)


def run_cosine(c):
    q = make((c["B"], c["H"], c["NQ"], c["D"]), c["dtype"])
    k = make((c["B"], c["H_KV"], c["NK"], c["D"]), c["dtype"])
    v = make((c["B"], c["H_KV"], c["NK"], c["D"]), c["dtype"])
    kw = {}
    if c["bias"]:
        kw["bias"] = torch.randn((1, c["H"], c["NQ"], c["NK"]), device="cuda", dtype=torch.float32,
                                 requires_grad=True)
    if c["mask"]:
        mask = torch.rand((c["B"], c["NK"]), device="cuda") > 0.3
        mask[:, 0] = True
        kw["key_mask"] = mask
    if c["lens"]:
        kw["key_lens"] = torch.tensor([c["NK"], c["NK"] // 3 + 1][: c["B"]], device="cuda", dtype=torch.int32)
    out = tz.ops.cosine_sim_attention(q, k, v, causal=c["causal"], **kw)
    out.backward(torch.randn_like(out))
    torch.cuda.synchronize()
    for name, t in (("out", out), ("dq", q.grad), ("dk", k.grad), ("dv", v.grad)):
        assert torch.isfinite(t).all(), f"cosine {c}: {name} has non-finite values"


def run_merge(D, acc_dtype, part_dtype):
    # The LSE merge of ring attention (kernels/attention_merge.py) into row
    # slices of larger buffers (strided), a ragged N and, for D = 96, a
    # padded head dim; some rows empty on one side.
    B, H, N = 2, 3, 45
    acc = torch.randn((B, N + 7, H, D), device="cuda", dtype=acc_dtype).transpose(1, 2)[:, :, 3:3 + N]
    lse = torch.randn((B, H, N + 2), device="cuda")[:, :, 1:1 + N]
    lse[:, :, :4] = -float("inf")
    part = torch.randn((B, H, N, D), device="cuda", dtype=part_dtype)
    part_lse = torch.randn((B, H, N), device="cuda")
    part_lse[:, :, 2:6] = -float("inf")
    tz.ops.attention_merge(acc, lse, part, part_lse)
    torch.cuda.synchronize()
    assert torch.isfinite(acc).all() and not torch.isnan(lse).any(), f"attention_merge D={D}: non-finite values"


def main():
    torch.manual_seed(0)
    n = 0
    for c in flash_cases():
        run_flash(c)
        n += 1
        print("flash_attention fwd+bwd", {k: str(v) for k, v in c.items()}, flush=True)
    run_block_sparse_and_varlen()
    n += 1
    print("block-sparse and varlen flash attention fwd+bwd", flush=True)
    for c in cosine_cases():
        run_cosine(c)
        n += 1
        print("cosine_sim_attention fwd+bwd", {k: str(v) for k, v in c.items()}, flush=True)
    for D, acc_dtype, part_dtype in ((64, torch.float32, torch.float16), (96, torch.float32, torch.bfloat16),
                                     (128, torch.float16, torch.float16)):
        run_merge(D, acc_dtype, part_dtype)
        n += 1
        print("attention_merge", D, acc_dtype, part_dtype, flush=True)
    print(f"{n} cases ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
