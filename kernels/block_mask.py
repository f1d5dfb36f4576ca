"""Block masks for block-sparse attention, built from a mask_mod by kernels
in the Terrazzo kernel language (host side: kernels/lib/BlockMask.cpp).

The (Q_LEN, KV_LEN) attention matrix of each (batch, head) is cut into
BLOCK x BLOCK tiles. block_mask_classify evaluates MASK_MOD(b, h, q_idx,
kv_idx, *captures) (captures: the kernel's mask_mod_arg0..3 that are not
None) over each tile and stores its class in an int32 (B, H, n_q_blocks,
n_kv_blocks) tensor:

    0  empty:   no in-range element is kept (the attention kernels skip it)
    1  partial: some are kept (the kernels evaluate MASK_MOD there)
    2  full:    every element is kept and the tile lies inside KV_LEN (the
                kernels run it without a mask, not even a bounds check)

Query rows past Q_LEN do not count (their outputs are never stored); keys
past KV_LEN count as hidden, so a tile that reaches past KV_LEN is never
full. B or H may be 1 (the mask broadcasts over that dimension and MASK_MOD
sees index 0).

block_mask_compact turns one line of classes (a row of key blocks, or with
the transposed strides a column of query blocks) into the lists the kernels
walk: counts (n_partial, n_full) and, per line, n_entries partial indices
then n_entries full indices, ascending; unused slots keep what the host
filled them with.
"""

import terrazzo as tz


@tz.jit
def _mask_mod_keeps(MASK_MOD: tz.constexpr, b, h, q_idx, kv_idx, a0, a1, a2, a3):
    # MASK_MOD(b, h, q_idx, kv_idx, *captures), the captures being the
    # leading a0..a3 that are not None (as flash_attention.py passes its
    # mask_mod_arg0..3).
    if a0 is None:
        return MASK_MOD(b, h, q_idx, kv_idx)
    if a1 is None:
        return MASK_MOD(b, h, q_idx, kv_idx, a0)
    if a2 is None:
        return MASK_MOD(b, h, q_idx, kv_idx, a0, a1)
    if a3 is None:
        return MASK_MOD(b, h, q_idx, kv_idx, a0, a1, a2)
    return MASK_MOD(b, h, q_idx, kv_idx, a0, a1, a2, a3)


@tz.jit
def block_mask_classify(classes_ptr, H, Q_LEN, KV_LEN, n_q_blocks, n_kv_blocks,
                        MASK_MOD: tz.constexpr, BLOCK: tz.constexpr,
                        mask_mod_arg0=None, mask_mod_arg1=None, mask_mod_arg2=None, mask_mod_arg3=None):
    q_block = tz.program_id(0)
    kv_block = tz.program_id(1)
    bh = tz.program_id(2)
    b = bh // H
    h = bh % H
    q_idx = q_block * BLOCK + tz.arange(0, BLOCK)
    kv_idx = kv_block * BLOCK + tz.arange(0, BLOCK)
    in_range = (q_idx[:, None] < Q_LEN) & (kv_idx[None, :] < KV_LEN)
    kept = _mask_mod_keeps(MASK_MOD, b, h, q_idx[:, None], kv_idx[None, :], mask_mod_arg0, mask_mod_arg1,
                           mask_mod_arg2, mask_mod_arg3).to(tz.int1) & in_range
    n_kept = tz.sum(tz.sum(kept.to(tz.int32), axis=1), axis=0)
    n_rows = tz.minimum(Q_LEN - q_block * BLOCK, BLOCK)
    full = (n_kept == n_rows * BLOCK) & (kv_block * BLOCK + BLOCK <= KV_LEN)
    cls = tz.where(n_kept == 0, 0, tz.where(full, 2, 1))
    tz.store(classes_ptr + (bh.to(tz.int64) * n_q_blocks + q_block) * n_kv_blocks + kv_block, cls)


@tz.jit
def block_mask_compact(classes_ptr, counts_ptr, indices_ptr, n_lines, n_entries, stride_bh, stride_line,
                       stride_entry, ENTRIES: tz.constexpr):
    # Grid (n_lines, B * H). ENTRIES: a power of two >= n_entries.
    line = tz.program_id(0)
    bh = tz.program_id(1)
    entry = tz.arange(0, ENTRIES)
    cls = tz.load(classes_ptr + bh.to(tz.int64) * stride_bh + line * stride_line + entry * stride_entry,
                  mask=entry < n_entries, other=0)
    out_line = bh.to(tz.int64) * n_lines + line
    for kind in tz.static_range(2):
        # kind 0: partial (class 1), kind 1: full (class 2). Each selected
        # entry's slot is the number of selected entries before it.
        selected = cls == kind + 1
        slot = tz.cumsum(selected.to(tz.int32), axis=0) - 1
        tz.store(indices_ptr + (out_line * 2 + kind) * n_entries + slot, entry, mask=selected)
        tz.store(counts_ptr + out_line * 2 + kind, tz.sum(selected.to(tz.int32), axis=0))
