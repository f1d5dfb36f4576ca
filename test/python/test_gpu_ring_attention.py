"""Ring attention on one GPU: two and three gloo processes share the GPU
(NCCL cannot put two ranks on one device), each running the library's CUDA
kernels on its slices, the messages staged through host memory. Output, lse
and every rank's dq, dk, dv against float64 attention over the whole
sequence from the definition (test_ring_attention.reference), at sizes the
interpreter tests cannot afford: head dims 64 and 128, a thousand tokens.
Skipped without a GPU. The multi-GPU (NCCL) run is bench/ring_attention_bench.py."""

import numpy as np
import pytest

from test_ring_attention import check_against_reference, make_case, run_ring

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")

CASES = {
    2: [dict(kind="flash", layout="zigzag", lengths=[512, 512], causal=True, H=4, Hkv=2, D=128),
        dict(kind="flash", layout="contiguous", lengths=[300, 700], causal=False, D=64, dtype="bfloat16"),
        dict(kind="flash", layout="contiguous", lengths=[384, 640], causal=True, D=64, score_mod="absolute_bias",
             mask_mod="window_and_pattern"),
        dict(kind="cosine_sim", layout="zigzag", lengths=[256, 256], causal=True, D=64, scale=10.0)],
    3: [dict(kind="flash", layout="zigzag", lengths=[256, 384, 128], causal=True, D=128)],
}


@pytest.mark.parametrize("world", [2, 3])
def test_gpu_ring_matches_whole_sequence_attention(tmp_path, world):
    rng = np.random.default_rng(1919 + world)
    cases = [dict(make_case(rng, **spec), device="cuda") for spec in CASES[world]]
    for case, got in zip(cases, run_ring(tmp_path, cases, world)):
        check_against_reference(got, case)
