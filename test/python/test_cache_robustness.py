"""The on-disk cache as processes see it (through the module's
disk_cache_put / disk_cache_get, the path the autotuner's records and the GPU
kernels take): a relative TZ_CACHE_DIR survives chdir, an unusable cache
directory warns once and the process carries on, and eight processes filling
one fresh directory at once all read back exactly what was written."""

import os
import subprocess
import sys
import textwrap

import terrazzo as tz

BUILD_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(tz.__file__)))


def run_python(code, cwd, cache_dir):
    env = dict(os.environ, TZ_CACHE_DIR=str(cache_dir), PYTHONPATH=BUILD_PYTHON)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_relative_cache_dir_is_anchored_where_the_library_loaded(tmp_path):
    (tmp_path / "work").mkdir()
    (tmp_path / "elsewhere").mkdir()
    done = run_python("""
        import os
        import terrazzo as tz
        os.chdir("../elsewhere")
        tz._terrazzo.disk_cache_put("some key", b"some payload")
        assert tz._terrazzo.disk_cache_get("some key") == b"some payload"
    """, cwd=tmp_path / "work", cache_dir="rel-cache")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    entries = [f for _, _, files in os.walk(tmp_path / "work" / "rel-cache") for f in files]
    assert len(entries) == 1 and entries[0].endswith(".tzc"), entries
    assert not (tmp_path / "elsewhere" / "rel-cache").exists()


def test_cache_path_that_is_a_file_warns_once_and_keeps_working(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    done = run_python("""
        import terrazzo as tz
        for i in range(5):
            tz._terrazzo.disk_cache_put(f"key {i}", b"payload")
            assert tz._terrazzo.disk_cache_get(f"key {i}") is None
        print("still running")
    """, cwd=tmp_path, cache_dir=blocker)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "still running"
    assert done.stderr.count("terrazzo: warning: cannot write the kernel cache in " + str(blocker)) == 1, done.stderr
    assert done.stderr.count("warning") == 1, done.stderr


def test_eight_processes_fill_one_fresh_cache(tmp_path):
    cache = tmp_path / "shared-cache"
    code = """
        import sys
        import terrazzo as tz
        me = int(sys.argv[1])
        bad = 0
        for round in range(3):
            for k in range(10):
                key = f"kernel {(k + me) % 10}"
                want = (key.encode() * (5000 + 997 * ((k + me) % 10)))
                got = tz._terrazzo.disk_cache_get(key)
                if got is None:
                    tz._terrazzo.disk_cache_put(key, want)
                    got = tz._terrazzo.disk_cache_get(key)
                bad += got != want
        sys.exit(bad)
    """
    env = dict(os.environ, TZ_CACHE_DIR=str(cache), PYTHONPATH=BUILD_PYTHON)
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(p)], env=env,
                              stderr=subprocess.PIPE, text=True) for p in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, f"{p.returncode} bad loads: {err}"
        assert "warning" not in err, err
    files = [f for _, _, names in os.walk(cache) for f in names]
    assert len(files) == 10 and all(f.endswith(".tzc") for f in files), files
