"""Fuzzing the C++ frontend: valid kernels, mutated a few thousand times
(characters and tokens deleted, duplicated, swapped; identifiers, numbers and
operators replaced; lines truncated or re-indented), are compiled through
tz._terrazzo.Kernel(...).ir(...). Every outcome must be either success or a
tz.CompilationError with a well-formed 'fuzz.py:line:col: error:' diagnostic;
no other exception, no internal compiler error, and no crash.

The cases run in a child process so that a crash (a signal, an abort) is
reported with the mutated source that caused it instead of killing pytest.
The mutations are deterministic: a failure names a case that reproduces with

    python3 test/python/test_fuzz_frontend.py show <case>

Hand-written edge cases (int64 limits in constant folding, unrolling near the
limits, very deep or very long constructs) go through the same harness.
"""

import json
import os
import subprocess
import sys
import time

import pytest

NUM_CASES = 6000
CHILD_TIMEOUT_S = 240

# the seeds and mutators live next to the long campaign (test/fuzz/)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
from frontend_mutations import (FILENAME, SEEDS, _make_args, _python_accepts, check_diagnostic,  # noqa: E402
                                make_case, mutate_once)


# Hand-written sources at the limits: constant folding at the edges of
# int64, unrolling near the int64 limits, very deep or very long constructs.
# Each must compile or be diagnosed, quickly, without a crash.
_EDGE_HEADER = "def k(x_ptr, n, B: tz.constexpr):\n"
EDGE_BODIES = [
    "    c = (-9223372036854775807 - 1) // -1\n",
    "    c = (-9223372036854775807 - 1) % -1\n",
    "    c = 2 ** 1000000000000\n",
    "    c = 1 ** 1000000000000000\n",
    "    c = (-1) ** 999999999999999999\n",
    "    c = 3 ** 40\n",
    "    c = 1 << 70\n",
    "    c = 2 ** 63 * 2\n",
    "    c = 1 // 0\n",
    "    c = n // 0\n",
    "    c = 1e999 * 0\n",
    "    c = " + "9" * 400 + "\n",
    "    for i in tz.static_range(-9223372036854775807, 9223372036854775807, 1):\n        pass\n",
    "    for i in tz.static_range(9223372036854775800, 9223372036854775807, 4):\n        c = i\n",
    "    for i in tz.static_range(9223372036854775807, -9223372036854775807 - 1, -1):\n        pass\n",
    "    for i in tz.static_range(0, 10, -1):\n        pass\n",
    "    for i in range(0, n, 0):\n        pass\n",
    "    c = tz.arange(0, 2 ** 40)\n",
    "    c = tz.arange(2147483640, 2147483656)\n",
    "    c = tz.zeros((1 << 62, 4))\n",
    "    c = tz.reshape(tz.arange(0, 16), ())\n",
    "    c = tz.arange(0, 16) << 99\n",
    "    c = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "    c = n" + " + 1" * 50000 + "\n",
    "    c = 1" + " * 1" * 50000 + "\n",
    "    c = " + "-" * 50000 + "n\n",
    "    c = " + "not " * 50000 + "n\n",
    "    c = n" + " < n" * 20000 + "\n",
    "    c = n" + " and n" * 20000 + "\n",
    "    c = n" + "[None]" * 3000 + "\n",
    "    c = x_ptr" + ".dtype" * 3000 + "\n",
    "    c = " + "tz.abs(" * 3000 + "n" + ")" * 3000 + "\n",
    "    c = (" + "n, " * 30000 + ")\n",
    "    if n > 0:\n        c = 0\n" + "".join("    elif n > %d:\n        c = %d\n" % (d, d) for d in range(1, 20000))
    + "    else:\n        c = 1\n    tz.store(x_ptr, c)\n",
    "".join("    " + "    " * d + "if n > %d:\n" % d for d in range(150)) + "    " + "    " * 150 + "c = 1\n",
    "    c = 0\n" + "".join("    for i%d in range(n):\n        c += 1\n" % d for d in range(300))
    + "    tz.store(x_ptr, c)\n",
    "".join("    c%d = n + %d\n" % (d, d) for d in range(20000)),
    "    \u00e9 = 1\n",
    "\tc = 1\n        d = 2\n",
    "    c = 'abc\\\n",
    "    c = \"\"\"never closed\n",
    "    c = 1 if n else\n",
]


def make_edge_case(i):
    return "k", _EDGE_HEADER + EDGE_BODIES[i], "f32, 5, 16"


# ---------------------------------------------------------------------------
# the child process
# ---------------------------------------------------------------------------

def run_cases(suite, start, stop, progress):
    import terrazzo as tz

    def lookup(n):
        return (tz,) if n == "tz" else None

    problems, outcomes = [], {"ok": 0, "error": 0}
    crash_at = int(os.environ.get("TZ_FUZZ_CRASH_AT", "-1"))  # tests the harness itself
    for i in range(start, stop):
        name, src, spec = (make_case if suite == "fuzz" else make_edge_case)(i)
        progress.write(f"{i}\n")
        progress.flush()
        if i == crash_at:
            os.abort()
        try:
            k = tz._terrazzo.Kernel(src, FILENAME, 0, name, lookup)
            k.ir(_make_args(spec), {})
            outcomes["ok"] += 1
        except tz.CompilationError as e:
            outcomes["error"] += 1
            complaint = check_diagnostic(str(e), src)
            if complaint:
                problems.append({"case": i, "kind": complaint, "message": str(e)[:2000]})
        except BaseException as e:  # noqa: B902 - anything else is a finding
            problems.append({"case": i, "kind": type(e).__name__, "message": str(e)[:2000]})
    return {"problems": problems, "outcomes": outcomes}


def _child_main(argv):
    suite, start, stop, progress_path = argv[0], int(argv[1]), int(argv[2]), argv[3]
    with open(progress_path, "w") as progress:
        result = run_cases(suite, start, stop, progress)
    sys.stdout.write("@@RESULT@@" + json.dumps(result) + "\n")


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------

def _describe(case, suite="fuzz"):
    name, src, spec = (make_case if suite == "fuzz" else make_edge_case)(case)
    if len(src) > 3000:
        src = src[:1500] + "\n[...]\n" + src[-1500:]
    return f"{suite} case {case} (kernel {name!r}, args {spec}):\n{src}"


def run_fuzz(tmp_path, num_cases, extra_env=None, suite="fuzz", timeout=CHILD_TIMEOUT_S):
    """Runs cases [0, num_cases) in child processes, restarting after a crash;
    returns (findings, outcome counts)."""
    progress = tmp_path / "progress.txt"
    env = dict(os.environ)
    env.update(extra_env or {})
    # the child imports terrazzo the same way this process did
    import terrazzo

    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(terrazzo.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    start = 0
    findings = []
    total = {"ok": 0, "error": 0}
    while start < num_cases:
        progress.write_text("")
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "child", suite, str(start),
                                   str(num_cases), str(progress)], env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            done = progress.read_text().split()
            case = int(done[-1]) if done else start
            findings.append({"case": case, "kind": "hang (child timed out)", "message": ""})
            start = case + 1
            continue
        marker = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT@@")]
        if proc.returncode == 0 and marker:
            result = json.loads(marker[-1][len("@@RESULT@@"):])
            findings += result["problems"]
            for k in total:
                total[k] += result["outcomes"][k]
            break
        # the child died: the last case it started is the culprit; go on after it
        done = progress.read_text().split()
        case = int(done[-1]) if done else start
        findings.append({"case": case, "kind": f"crash (exit status {proc.returncode})",
                         "message": proc.stderr[-2000:]})
        total["ok"] += max(case - start, 0)  # not exact: the child's counts died with it
        start = case + 1
    return findings, total


def test_fuzz_frontend(tmp_path):
    t0 = time.time()
    findings, total = run_fuzz(tmp_path, NUM_CASES)
    elapsed = time.time() - t0
    print(f"fuzz: {NUM_CASES} cases, {total['ok']} compiled, {total['error']} diagnosed, "
          f"{len(findings)} findings, {elapsed:.1f}s")
    if findings:
        pytest.fail(_report(findings, "fuzz"))
    # a sanity check on the mutator: both outcomes must be common
    assert total["ok"] > NUM_CASES // 10 and total["error"] > NUM_CASES // 4, total


def _report(findings, suite):
    report = []
    for f in findings[:10]:
        report.append(f"--- {f['kind']} in " + _describe(f["case"], suite) + f"\n>>> {f['message']}")
    return f"{len(findings)} {suite} case(s) failed:\n" + "\n".join(report)


def test_edge_cases(tmp_path):
    findings, total = run_fuzz(tmp_path, len(EDGE_BODIES), suite="edge", timeout=60)
    if findings:
        pytest.fail(_report(findings, "edge"))
    assert total["error"] > len(EDGE_BODIES) // 2, total


def test_fuzz_harness_reports_crashes(tmp_path):
    findings, _ = run_fuzz(tmp_path, 12, {"TZ_FUZZ_CRASH_AT": "5"})
    assert [f["case"] for f in findings] == [5]
    assert findings[0]["kind"].startswith("crash")


def test_mutations_are_deterministic():
    assert [make_case(i)[1] for i in range(50)] == [make_case(i)[1] for i in range(50)]
    # they change the source, and the odd cases are valid Python
    seeds = {name: src for name, src, _ in SEEDS}
    changed = sum(make_case(i)[1] != seeds[make_case(i)[0]] for i in range(200))
    assert changed > 180
    assert sum(_python_accepts(make_case(i)[1]) for i in range(1, 200, 2)) > 90


def test_seed_kernels_compile():
    import terrazzo as tz

    for name, src, spec in SEEDS:
        k = tz._terrazzo.Kernel(src, FILENAME, 0, name, lambda n: (tz,) if n == "tz" else None)
        assert "tz.kernel" in k.ir(_make_args(spec), {})


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child_main(sys.argv[2:])
    elif sys.argv[1:2] == ["show"]:
        print(_describe(int(sys.argv[2])))
    else:
        sys.exit("usage: test_fuzz_frontend.py child fuzz|edge START STOP PROGRESS | show CASE")


def test_campaign_saves_crashes_and_hangs(tmp_path):
    """The long campaign (test/fuzz/fuzz_frontend.py) restarts a worker that
    crashed or hung, saves the input it was running, and fails."""
    import terrazzo

    campaign = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "fuzz_frontend.py")
    env = dict(os.environ, TZ_FUZZ_CRASH_AT="0:10", TZ_FUZZ_HANG_AT="1:5")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(terrazzo.__file__))),
                                         env.get("PYTHONPATH", "")])
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, campaign, "--runs", "60", "--jobs", "2", "--hang-seconds", "2",
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["crashes"], summary["hangs"], summary["leaks"]) == (1, 1, 0), summary
    assert summary["execs"] == 60, summary  # the restarted workers finish the runs
    saved = [json.loads(open(p).read()) for p in summary["crash_inputs"] + summary["hang_inputs"]]
    assert saved[0]["message"].startswith("crash (exit status")
    assert saved[1]["message"].startswith("hang")
    # the saved input replays (here it was not the input's fault: it passes)
    replay = subprocess.run([sys.executable, campaign, "--replay", summary["crash_inputs"][0]], env=env,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0 and "outcome: " in replay.stdout, replay.stdout + replay.stderr


def test_diagnostic_check_accepts_a_message_spanning_lines():
    # a static_assert text may hold a newline; the diagnostic is still the
    # message, the source line and the caret (the campaign once called this a leak)
    import terrazzo as tz

    src = 'def k(x_ptr):\n    tz.static_assert(False, "two\\nlines")\n'
    with pytest.raises(tz.CompilationError) as info:
        tz._terrazzo.Kernel(src, FILENAME, 0, "k", lambda n: (tz,) if n == "tz" else None).ir(_make_args("f32"), {})
    assert check_diagnostic(str(info.value), src) is None, str(info.value)
    assert check_diagnostic(str(info.value).split("\n", 1)[0], src) == "no source line and caret"
