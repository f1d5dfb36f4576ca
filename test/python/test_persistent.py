"""Persistent launches (persistent=True) on the CPU interpreter: the kernel
made persistent by tz-make-persistent runs on a few programs
(TZ_INTERPRET_PERSISTENT_PROGRAMS, 3 by default), each walking several
tiles of the launch grid, and must compute what the plain launch computes:
every tile once, with program_id / num_programs those of the launch grid.
Float64 references from the definitions, outputs poisoned first."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import assert_close, assert_equal, poisoned, random_nonzero, FLOAT_DTYPES, FLOAT_IDS
from matmul_kernels import masked_matmul


@tz.jit
def tile_scale(x, out, visits, where, M, N, BM: tz.constexpr, BN: tz.constexpr):
    # out = 3 x + row index of the tile's grid coordinates, for the tile
    # (program_id(1), program_id(0)) of an M x N matrix; each tile counts
    # its visits and records the grid it saw.
    pn = tz.program_id(0)
    pm = tz.program_id(1)
    gn = tz.num_programs(0)
    gm = tz.num_programs(1)
    rm = pm * BM + tz.arange(0, BM)
    rn = pn * BN + tz.arange(0, BN)
    mask = (rm[:, None] < M) & (rn[None, :] < N)
    v = tz.load(x + rm[:, None] * N + rn[None, :], mask=mask, other=0.0)
    tz.store(out + rm[:, None] * N + rn[None, :], v * 3.0 + pm.to(tz.float32), mask=mask)
    tile = pm * gn + pn
    tz.atomic_add(visits + tile, 1)
    tz.store(where + tile * 2, gn)
    tz.store(where + tile * 2 + 1, gm)


def _run_tile_scale(rng, monkeypatch, programs, M, N, BM, BN):
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", str(programs))
    x = random_nonzero(rng, (M, N), np.float32)
    out = poisoned((M, N), np.float32)
    grid = (tz.cdiv(N, BN), tz.cdiv(M, BM))
    visits = np.zeros(grid[0] * grid[1], np.int32)
    where = poisoned((grid[0] * grid[1], 2), np.int32)
    before = tz._terrazzo.persistent_launch_stats()
    tile_scale[grid](x, out, visits, where, M, N, BM=BM, BN=BN, persistent=True)
    after = tz._terrazzo.persistent_launch_stats()
    tiles = grid[0] * grid[1]
    # The launch really ran the persistent kernel on min(tiles, programs).
    assert after["interpreted_launches"] - before["interpreted_launches"] == 1
    assert after["interpreted_programs"] - before["interpreted_programs"] == min(tiles, programs)
    assert after["interpreted_tiles"] - before["interpreted_tiles"] == tiles
    rows = np.arange(M)[:, None] // BM
    # Two f32 roundings (the product, the sum), relative to the summands.
    x64 = x.astype(np.float64)
    assert_close(out, 3.0 * x64 + rows, 2 * 2.0**-24, scale=3.0 * np.abs(x64) + rows, what="out")
    assert_equal(visits, np.ones_like(visits), what="visits per tile")
    assert_equal(where, np.tile(np.array(grid, np.int32), (grid[0] * grid[1], 1)), what="num_programs")


@pytest.mark.parametrize("programs", [2, 3, 4])
def test_2d_grid_of_5x3_tiles_on_few_programs(rng, monkeypatch, programs):
    # 5 x 3 tiles, ragged on both axes: 15 tiles walked by 2, 3 or 4
    # programs (uneven shares: 8+7, 5+5+5, 4+4+4+3).
    _run_tile_scale(rng, monkeypatch, programs, M=3 * 8 - 5, N=5 * 4 - 1, BM=8, BN=4)


def test_2d_grid_of_4x6_tiles(rng, monkeypatch):
    # Grid sides with a common factor: a wrong decomposition of the tile
    # index cannot stay a permutation of the tiles by luck.
    _run_tile_scale(rng, monkeypatch, 3, M=6 * 8 - 3, N=4 * 4, BM=8, BN=4)


def test_fewer_tiles_than_programs(rng, monkeypatch):
    # 2 x 1 tiles on up to 5 programs: one program per tile, none idle
    # walking past the end.
    _run_tile_scale(rng, monkeypatch, 5, M=8, N=7, BM=8, BN=4)


def test_one_tile(rng, monkeypatch):
    _run_tile_scale(rng, monkeypatch, 3, M=3, N=2, BM=8, BN=4)


@tz.jit
def grid_coordinates(out):
    # Each tile of a 3-D grid writes its coordinates where its linear index
    # (axis 0 fastest) says.
    x = tz.program_id(0)
    y = tz.program_id(1)
    z = tz.program_id(2)
    i = (z * tz.num_programs(1) + y) * tz.num_programs(0) + x
    tz.store(out + i * 3, x)
    tz.store(out + i * 3 + 1, y)
    tz.store(out + i * 3 + 2, z)


@pytest.mark.parametrize("grid", [(3, 2, 4), (1, 5, 2), (7, 1, 1)])
def test_3d_grid_coordinates(monkeypatch, grid):
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", "4")
    out = poisoned((grid[0] * grid[1] * grid[2], 3), np.int32)
    grid_coordinates[grid](out, persistent=True)
    expected = np.array([(x, y, z) for z in range(grid[2]) for y in range(grid[1]) for x in range(grid[0])],
                        np.int32)
    assert_equal(out, expected, what="tile coordinates")


@tz.jit
def walk_order(tickets, counter):
    # Each tile takes the next ticket when it runs and stores it at its
    # row-major index (axis 0 fastest).
    i = (tz.program_id(2) * tz.num_programs(1) + tz.program_id(1)) * tz.num_programs(0) + tz.program_id(0)
    tz.store(tickets + i, tz.atomic_add(counter, 1))


@pytest.mark.parametrize("grid,programs", [((4, 2, 3), 5), ((6, 4, 1), 4), ((2, 2, 2), 3)])
def test_programs_walk_tiles_in_row_major_order(monkeypatch, grid, programs):
    # The interpreter runs its programs one after another, so the tickets
    # say the walk: program p takes tiles p, p + P, p + 2P, ... of the grid
    # in row-major order.
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", str(programs))
    tiles = grid[0] * grid[1] * grid[2]
    tickets = poisoned(tiles, np.int32)
    counter = np.zeros(1, np.int32)
    walk_order[grid](tickets, counter, persistent=True)
    share = [len(range(p, tiles, programs)) for p in range(programs)]
    expected = [sum(share[:t % programs]) + t // programs for t in range(tiles)]
    assert_equal(tickets, np.array(expected, np.int32), what="ticket of each tile")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_IDS)
@pytest.mark.parametrize("programs", [2, 3])
def test_masked_matmul_persistent(rng, monkeypatch, dtype, programs):
    # 5 x 4 tiles (ragged M, N and K) on a few programs.
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", str(programs))
    M, N, K, BM, BN, BK = 70, 50, 40, 16, 16, 16
    a = random_nonzero(rng, (M, K), dtype)
    b = random_nonzero(rng, (K, N), dtype)
    c = poisoned((M, N), np.float32)
    before = tz._terrazzo.persistent_launch_stats()["interpreted_programs"]
    masked_matmul[(tz.cdiv(M, BM), tz.cdiv(N, BN))](a, b, c, M, N, K, BM=BM, BN=BN, BK=BK, persistent=True)
    assert tz._terrazzo.persistent_launch_stats()["interpreted_programs"] - before == programs
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    expected = np.einsum("mk,kn->mn", a64, b64)
    assert_close(c, expected, K * 2.0**-24 + 1e-6, scale=np.abs(a64) @ np.abs(b64), what="C")


def test_persistent_option_must_be_a_bool():
    x = np.zeros(4, np.int32)
    with pytest.raises(TypeError, match="persistent must be True, False or None"):
        grid_coordinates[(1,)](x, persistent=1)


def test_plain_launch_is_not_persistent(monkeypatch):
    before = tz._terrazzo.persistent_launch_stats()["interpreted_launches"]
    out = poisoned((6, 3), np.int32)
    grid_coordinates[(3, 2)](out, persistent=False)
    grid_coordinates[(3, 2)](out)
    assert tz._terrazzo.persistent_launch_stats()["interpreted_launches"] == before
    assert_equal(out, np.array([(x, y, 0) for y in range(2) for x in range(3)], np.int32))


def test_tile_count_beyond_the_i32_loop_is_refused():
    x = np.zeros(4, np.int32)
    with pytest.raises(ValueError, match="persistent launch counts its tiles in 32 bits"):
        grid_coordinates[(2**16, 2**15, 1)](x, persistent=True)


def test_bad_program_count_setting(monkeypatch):
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", "zero")
    x = np.zeros(4, np.int32)
    with pytest.raises(ValueError, match="TZ_INTERPRET_PERSISTENT_PROGRAMS"):
        grid_coordinates[(1,)](x, persistent=True)


def test_ir_shows_the_tile_loop():
    out = np.zeros(4, np.int32)
    plain = grid_coordinates.ir(out)
    persistent = grid_coordinates.ir(out, persistent=True)
    assert "scf.for" not in plain and "tz.persistent_grid = 1 : i32" not in plain
    assert "tz.persistent_grid = 1 : i32" in persistent
    assert "scf.for" in persistent and persistent.count("tz.program_id 0") == 1
    assert "tz.num_programs 1" not in persistent


def test_autotune_config_carries_persistent(monkeypatch):
    # Left out of the launch options when False (stored choices of older
    # configs keep their identity); a tuned launch on the interpreter runs
    # the first config, persistent here.
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", "2")
    assert "persistent" not in tz.Config({"BM": 8}).launch_options()
    assert tz.Config({"BM": 8}, persistent=True).launch_options()["persistent"] is True
    assert "persistent=True" in repr(tz.Config({"BM": 8}, persistent=True))
    with pytest.raises(TypeError, match="persistent"):
        tz.Config({"BM": 8}, persistent=1)
    tuned = tz.autotune(configs=[tz.Config({}, persistent=True), tz.Config({})], key=[])(grid_coordinates)
    out = poisoned((6, 3), np.int32)
    before = tz._terrazzo.persistent_launch_stats()["interpreted_launches"]
    tuned[(3, 2)](out)
    assert tz._terrazzo.persistent_launch_stats()["interpreted_launches"] == before + 1
    assert_equal(out, np.array([(x, y, 0) for y in range(2) for x in range(3)], np.int32))


def _strides(x):
    return tuple(s // x.itemsize for s in x.strides)


@pytest.mark.parametrize("causal", [False, True])
def test_flash_attention_forward_persistent(rng, monkeypatch, causal):
    # The library's forward, launched persistent: 3 x 4 tiles (query blocks
    # x batch-heads, the last query block ragged) on 5 programs.
    from attention_reference import masked_attention, normwise_error
    monkeypatch.setenv("TZ_INTERPRET_PERSISTENT_PROGRAMS", "5")
    B, H, N, D, BLOCK_M, BLOCK_N = 2, 2, 40, 16, 16, 16
    q, k, v = (rng.standard_normal((B, H, N, D)).astype(np.float16) for _ in range(3))
    o = poisoned((B, H, N, D), np.float16)
    lse = poisoned((B, H, N), np.float32)
    scale = D**-0.5
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    before = tz._terrazzo.persistent_launch_stats()["interpreted_programs"]
    fwd.run((tz.cdiv(N, BLOCK_M), B * H),
            (q, k, v, o, lse, None) + _strides(q) + _strides(k) + _strides(v) + _strides(o) + (H, H, N, N, scale),
            dict(HEAD_DIM=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, CAUSAL=causal, STORE_LSE=True, persistent=True))
    assert tz._terrazzo.persistent_launch_stats()["interpreted_programs"] - before == 5
    keep = np.tril(np.ones((N, N), bool)) if causal else np.ones((N, N), bool)
    for b in range(B):
        ref = masked_attention(q[b], k[b], v[b], np.zeros_like(q[b]), keep[None], scale)
        assert normwise_error(o[b], ref["o"]) <= 2e-3
        assert normwise_error(lse[b], ref["lse"]) <= 1e-5


def test_tz_persistent_is_the_default():
    # TZ_PERSISTENT=1 (read once per process) makes launches without the
    # option persistent; persistent=False still runs one program per tile.
    import os
    import subprocess
    import sys
    code = """
import numpy as np, terrazzo as tz
from test_persistent import grid_coordinates
stats = tz._terrazzo.persistent_launch_stats
out = np.zeros((6, 3), np.int32)
grid_coordinates[(3, 2)](out)
assert stats()["interpreted_launches"] == 1 and stats()["interpreted_programs"] == 3, stats()
grid_coordinates[(3, 2)](out, persistent=False)
assert stats()["interpreted_launches"] == 1, stats()
assert "tz.persistent_grid" in grid_coordinates.ir(out)
print("ok")
"""
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(os.path.dirname(os.path.abspath(tz.__file__)))
    env = dict(os.environ, TZ_PERSISTENT="1", TZ_INTERPRET_PERSISTENT_PROGRAMS="3",
               PYTHONPATH=os.pathsep.join([package, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr
