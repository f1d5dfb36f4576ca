"""GPU runtime: launches on torch CUDA tensors, the on-disk kernel cache
across processes (hit, and a truncated entry rebuilt), argument checks.
Skipped where there is no GPU or no torch with CUDA."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")


@tz.jit
def scale_add(x_ptr, y_ptr, out_ptr, n, alpha, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, alpha * x + y, mask=mask)


def test_launch_on_torch_tensors_and_stream():
    n = 100_003
    x = torch.randn(n, device="cuda") + 3.0
    y = torch.randn(n, device="cuda")
    out = torch.full((n + 64,), float("nan"), device="cuda")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        scale_add[(tz.cdiv(n, 512),)](x, y, out, n, 0.5, BLOCK=512, num_warps=4)
    stream.synchronize()
    ref = 0.5 * x.double() + y.double()
    assert torch.allclose(out[:n].double(), ref, rtol=1e-6, atol=1e-6)
    assert torch.isnan(out[n:]).all(), "elements past n were written"


def test_host_memory_is_rejected():
    x = torch.randn(16, device="cuda")
    host = np.zeros(16, np.float32)
    with pytest.raises(Exception, match="out_ptr"):
        scale_add[(1,)](x, x, host, 16, 1.0, BLOCK=16)


CHILD = textwrap.dedent("""
    import json, sys, torch, terrazzo as tz

    @tz.jit
    def add_one(x_ptr, n, BLOCK: tz.constexpr):
        offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
        mask = offs < n
        tz.store(x_ptr + offs, tz.load(x_ptr + offs, mask=mask) + 1.0, mask=mask)

    x = torch.arange(1000, device="cuda", dtype=torch.float32)
    add_one[(tz.cdiv(1000, 128),)](x, 1000, BLOCK=128)
    torch.cuda.synchronize()
    ok = bool(torch.equal(x.cpu(), torch.arange(1000, dtype=torch.float32) + 1))
    print(json.dumps(dict(tz._terrazzo.gpu_cache_stats(), ok=ok)))
""")


def run_child(cache_dir):
    env = dict(os.environ, TZ_CACHE_DIR=str(cache_dir))
    # A file, not -c: @tz.jit reads the kernel's source from it.
    script = os.path.join(os.path.dirname(str(cache_dir)), "child.py")
    with open(script, "w") as f:
        f.write(CHILD)
    r = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import json
    return json.loads(r.stdout.strip().splitlines()[-1])


def cache_files(cache_dir):
    return [os.path.join(d, f) for d, _, fs in os.walk(cache_dir) for f in fs if f.endswith(".tzc")]


def test_disk_cache_hit_in_second_process_and_truncated_entry_rebuilt(tmp_path):
    tmp_path = tmp_path / "cache"
    first = run_child(tmp_path)
    assert first == {"compiled": 1, "disk_hits": 0, "memory_hits": 0, "ok": True}
    files = cache_files(tmp_path)
    assert len(files) == 1
    size = os.path.getsize(files[0])

    second = run_child(tmp_path)
    assert second == {"compiled": 0, "disk_hits": 1, "memory_hits": 0, "ok": True}

    with open(files[0], "r+b") as f:
        f.truncate(size // 2)
    third = run_child(tmp_path)
    assert third == {"compiled": 1, "disk_hits": 0, "memory_hits": 0, "ok": True}
    assert os.path.getsize(files[0]) > size // 2, "the truncated entry was not rebuilt"

    fourth = run_child(tmp_path)
    assert fourth["disk_hits"] == 1 and fourth["ok"]


DEBUG_CHILD = textwrap.dedent("""
    import sys, torch, terrazzo as tz

    @tz.jit
    def printer(x_ptr, BLOCK: tz.constexpr):
        pid = tz.program_id(0)
        x = tz.load(x_ptr + pid * BLOCK + tz.arange(0, BLOCK))
        tz.device_print("vals", x)
        tz.device_print("pid", pid)
        tz.device_assert(x >= 0, "negative value")

    x = torch.arange(8, device="cuda", dtype=torch.int32)
    if sys.argv[1] == "fail":
        x[5] = -1
    printer[(2,)](x, BLOCK=4)
    torch.cuda.synchronize()
""")


def run_debug_child(tmp_path, mode):
    script = tmp_path / "debug_child.py"
    script.write_text(DEBUG_CHILD)
    return subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TZ_CACHE_DIR=str(tmp_path / "cache")))


def test_device_print_and_assert_on_the_gpu(tmp_path):
    ok = run_debug_child(tmp_path, "pass")
    assert ok.returncode == 0, ok.stderr
    lines = sorted(ln for ln in ok.stdout.splitlines() if ln.startswith("pid"))
    expected = sorted([f"pid ({p}, 0, 0) idx ({i}) vals {4 * p + i}" for p in range(2) for i in range(4)]
                      + ["pid (0, 0, 0) pid 0", "pid (1, 0, 0) pid 1"])
    assert lines == expected, ok.stdout
    bad = run_debug_child(tmp_path, "fail")
    assert bad.returncode != 0
    assert "negative value" in bad.stdout + bad.stderr or "assert" in (bad.stdout + bad.stderr).lower()
