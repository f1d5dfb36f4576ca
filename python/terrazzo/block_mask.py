"""Block masks for block-sparse flash attention (``terrazzo.ops.create_block_mask``).

A BlockMask records, for a mask_mod and sequence lengths, which
(block_size x block_size) tiles of the attention matrix are empty (skipped),
partial (masked with mask_mod) or full (run without any mask), as per-block
lists; the kernels and their classification are in kernels/block_mask.py and
kernels/flash_attention.py, the checks in kernels/lib/BlockMask.cpp."""

from ._terrazzo import ops as _ops

EMPTY, PARTIAL, FULL = 0, 1, 2


def _cdiv(a, b):
    return (a + b - 1) // b


class BlockMask:
    """The lists flash attention walks, built once per (mask_mod, lengths)
    and reused across layers and steps. All tensors are int32 on the device
    the mask was built on (numpy arrays for the interpreter), with MB and MH
    the batch and head counts it was built for (1 broadcasts):

    - ``kv_counts`` (MB, MH, n_q_blocks, 2): per query block, the number of
      partial and of full key blocks; ``kv_indices`` (MB, MH, n_q_blocks, 2,
      n_kv_blocks): their indices, ascending (slots past the count are 0);
    - ``q_counts`` / ``q_indices``: the same per key block over query blocks
      (the transpose, for the backward's dK/dV);
    - ``classes`` (MB, MH, n_q_blocks, n_kv_blocks): each tile's class,
      EMPTY (0), PARTIAL (1) or FULL (2).

    ``kv_num_blocks``, ``full_kv_num_blocks``, ``kv_block_indices`` ... are
    views of the partial / full halves."""

    def __init__(self, mask_mod, q_len, kv_len, block_size, classes, kv_counts, kv_indices, q_counts, q_indices,
                 mask_mod_args=()):
        self.mask_mod = mask_mod
        self.mask_mod_args = tuple(mask_mod_args)
        self.q_len, self.kv_len, self.block_size = q_len, kv_len, block_size
        self.classes = classes
        self.kv_counts, self.kv_indices = kv_counts, kv_indices
        self.q_counts, self.q_indices = q_counts, q_indices

    @property
    def shape(self):
        """(MB, MH, Q_LEN, KV_LEN)."""
        return tuple(self.kv_counts.shape[:2]) + (self.q_len, self.kv_len)

    kv_num_blocks = property(lambda self: self.kv_counts[..., 0])
    full_kv_num_blocks = property(lambda self: self.kv_counts[..., 1])
    kv_block_indices = property(lambda self: self.kv_indices[..., 0, :])
    full_kv_block_indices = property(lambda self: self.kv_indices[..., 1, :])
    q_num_blocks = property(lambda self: self.q_counts[..., 0])
    full_q_num_blocks = property(lambda self: self.q_counts[..., 1])
    q_block_indices = property(lambda self: self.q_indices[..., 0, :])
    full_q_block_indices = property(lambda self: self.q_indices[..., 1, :])

    def density(self):
        """The fraction of tiles that are not empty (what the kernels visit)."""
        tiles = self.classes.numel() if hasattr(self.classes, "numel") else self.classes.size
        return float((self.classes != EMPTY).sum()) / float(tiles)

    def __repr__(self):
        return (f"BlockMask(shape={self.shape}, block_size={self.block_size}, "
                f"density={self.density():.3f})")


def create_block_mask(mask_mod, B, H, Q_LEN, KV_LEN, *, block_size=128, device=None, mask_mod_args=()):
    """Evaluates ``mask_mod(b, h, q_idx, kv_idx, *mask_mod_args)`` (a
    ``@tz.jit`` function returning a bool tile; ``mask_mod_args`` up to 4
    tensors it reads, on ``device``, kept with the mask so that
    flash_attention passes them on when it takes the mask's mask_mod) over
    every block_size x block_size tile, with a
    DSL kernel on ``device`` (a torch device or its name, e.g. "cuda"; None:
    numpy arrays on the CPU interpreter), and returns its BlockMask. ``B`` or
    ``H`` may be 1 or None: the mask is then the same for every batch / head
    (mask_mod sees index 0) and broadcasts. ``block_size``: a power of two,
    at least 16; flash attention walks each listed block in tiles of at
    most block_size (docs/attention-variants.md, "Block masks")."""
    for name, value in (("B", B), ("H", H)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"argument '{name}': must be a positive int or None, got {value!r}")
    for name, value in (("Q_LEN", Q_LEN), ("KV_LEN", KV_LEN), ("block_size", block_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"argument '{name}': must be a positive int, got {value!r}")
    B, H = B or 1, H or 1
    nq, nkv = _cdiv(Q_LEN, block_size), _cdiv(KV_LEN, block_size)
    shapes = dict(classes=(B, H, nq, nkv), kv_counts=(B, H, nq, 2), kv_indices=(B, H, nq, 2, nkv),
                  q_counts=(B, H, nkv, 2), q_indices=(B, H, nkv, 2, nq))
    if device is None:
        import numpy as np
        tensors = {name: np.zeros(shape, np.int32) for name, shape in shapes.items()}
    else:
        import torch
        tensors = {name: torch.zeros(shape, dtype=torch.int32, device=device) for name, shape in shapes.items()}
    if len(tuple(mask_mod_args or ())) > 4:
        raise ValueError(f"argument 'mask_mod_args': at most 4 tensors, got {len(tuple(mask_mod_args))}")
    mask = BlockMask(mask_mod, Q_LEN, KV_LEN, block_size, mask_mod_args=tuple(mask_mod_args or ()), **tensors)
    _ops.create_block_mask(mask_mod, mask.classes, mask, mask_mod_args=mask.mask_mod_args)
    return mask
