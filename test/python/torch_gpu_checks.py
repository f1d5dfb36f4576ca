"""Shared by the GPU attention test files (imported after their
pytest.importorskip("torch")): fresh random inputs on the GPU and the
normwise relative error they are judged by."""

import torch

# Normwise relative-error bounds, max |got - ref| / max |ref|, for outputs
# computed in each dtype (gradients are given twice as much).
BOUND = {torch.float16: 3e-3, torch.bfloat16: 2.5e-2}


def rel_err(got, ref):
    assert torch.isfinite(got).all(), "non-finite values"
    return ((got.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()


def make(shape, dtype, requires_grad=True):
    """Fresh standard-normal values (never zeros) on the current GPU."""
    return torch.randn(shape, device="cuda", dtype=dtype).requires_grad_(requires_grad)
