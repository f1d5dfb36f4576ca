"""A fuzzing campaign against the frontend and compiler: mutated kernel
sources go through tz._terrazzo.Kernel(...).ir(...), and a fraction of those
that compile also through the CPU interpreter and compile_for_gpu(arch=sm_90a)
(PTX and cubin, no GPU needed).

Every execution must end in success or in a tz.CompilationError whose message
is a well-formed 'fuzz.py:line:col: error:' diagnostic with the source line
and a caret. Anything else is a finding, saved under OUT/findings/ with the
input that caused it:
  - crash: the worker process died (signal, abort, LLVM fatal error);
  - hang: one execution ran longer than --hang-seconds;
  - leak: another exception type, an 'internal compiler error', an MLIR or
    LLVM message inside the diagnostic, or a malformed diagnostic.

Guidance: the engine keeps every mutant that shows new behaviour, that is a
new error kind (the diagnostic with names and numbers taken out) or, for a
kernel that compiles, a new op in its IR or a new count bucket of an op; it
mutates the seeds and those kept mutants with the mutators of
frontend_mutations plus line splicing between kernels and argument changes.
The compiler is not built with coverage instrumentation, so this stands in
for edge coverage.

Workers are child processes that restart after a crash or a hang; each
writes the input it is running to OUT/worker-N.current before running it.

    python3 test/fuzz/fuzz_frontend.py --runs 1000000 --jobs 2 --out /tmp/fuzz
    python3 test/fuzz/fuzz_frontend.py --seconds 10 --jobs 1 --out build/fuzz-ci
    python3 test/fuzz/fuzz_frontend.py --replay OUT/findings/crash-XXXX.json
"""

import argparse
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from frontend_mutations import (ARRAY_DTYPES, FILENAME, NUMBERS, check_diagnostic,  # noqa: E402
                                _make_args, _python_accepts, mutate_once)

STATS_EVERY_S = 2.0
STARTUP_S = 300.0
INTERP_TIME_LIMIT_S = 2.0
# Text that must never reach a user: it means an internal error leaked
# through instead of a diagnostic about the kernel.
LEAK_MARKERS = ("internal compiler error", "op operand #", "failed to legalize", "LLVM ERROR", "Assertion `",
                "verification failed", "pybind11", "Unable to cast", "std::")
MLIR_OP_ERROR_RE = re.compile(r"'(?:tz|tzgpu|arith|math|scf|cf|func|llvm|nvvm|gpu)\.\w+' op ")
IR_OP_RE = re.compile(r"\b((?:tz|tzgpu|arith|math|scf|cf|func)\.[a-z_]+)")
NORMALIZE_RE = re.compile(r"'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


# ---------------------------------------------------------------------------
# one execution
# ---------------------------------------------------------------------------

def _lookup(tz):
    def lookup(name):
        return (tz,) if name == "tz" else None
    return lookup


def error_kind(msg):
    """The diagnostic's first line without location, names and numbers."""
    first = msg.split("\n", 1)[0]
    first = first.split(": error: ", 1)[-1]
    # an assertion's text is the kernel's own words: each mutant of it would
    # be a "new kind" and flood the corpus
    if "assertion failed" in first:
        first = first[:first.index("assertion failed") + len("assertion failed")]
    return NORMALIZE_RE.sub("_", first)[:120]


def _leak(msg):
    for marker in LEAK_MARKERS:
        if marker in msg:
            return marker
    m = MLIR_OP_ERROR_RE.search(msg)
    return m.group(0) if m else None


def execute(tz, case, interp_limit_s=INTERP_TIME_LIMIT_S):
    """Runs one case {"name", "src", "spec", "mode"}. Returns (outcome,
    detail): outcome is "ok", "error", "interp-timeout" or "finding";
    detail is the IR for "ok", the message otherwise."""
    src, mode = case["src"], case["mode"]
    what = "ir"
    try:
        kernel = tz._terrazzo.Kernel(src, FILENAME, 0, case["name"], _lookup(tz))
        ir = kernel.ir(_make_args(case["spec"]), {})
        if mode == "interp":
            what = "interpreter"
            signal.setitimer(signal.ITIMER_REAL, interp_limit_s)
            try:
                kernel.run(tuple(case.get("grid", (1,))), _make_args(case["spec"]), {})
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        elif mode == "gpu":
            what = "compile_for_gpu"
            info = kernel.compile_for_gpu(_make_args(case["spec"]),
                                          {"arch": "sm_90a", "num_warps": case.get("num_warps", 4)})
            if ".entry" not in info["ptx"]:
                return "finding", "compile_for_gpu returned PTX without an .entry"
        return "ok", ir
    except tz.CompilationError as e:
        msg = str(e)
        complaint = check_diagnostic(msg, src) or (f"internal text {_leak(msg)!r} in the diagnostic"
                                                  if _leak(msg) else None)
        if complaint:
            return "finding", f"{what}: {complaint}\n{msg[:3000]}"
        return "error", msg
    except KeyboardInterrupt:
        if what == "interpreter":
            return "interp-timeout", ""
        raise
    except RecursionError as e:  # a Python-side stack overflow is still a leak
        return "finding", f"{what}: RecursionError: {str(e)[:2000]}"
    except Exception as e:  # noqa: BLE001 - anything else leaked out of the compiler
        return "finding", f"{what}: {type(e).__name__}: {str(e)[:3000]}"


def features(outcome, detail, name):
    """What this execution showed, for the corpus: error kinds, or the ops
    of the IR with a log2 bucket of their counts."""
    if outcome == "error":
        return {("E", error_kind(detail))}
    if outcome != "ok":
        return {(outcome,)}
    counts = {}
    for op in IR_OP_RE.findall(detail):
        counts[op] = counts.get(op, 0) + 1
    return {("O", op, n.bit_length()) for op, n in counts.items()}


# ---------------------------------------------------------------------------
# mutation
# ---------------------------------------------------------------------------

SPEC_VALUES = list(ARRAY_DTYPES) + ["0", "1", "-1", "3", "8", "16", "32", "64", "128", "1000", "2**31",
                                    "1.5", "-2.0", "1e-5", "True", "None"]


def mutate_spec(spec, r):
    parts = [p.strip() for p in spec.split(",")] if spec.strip() else []
    if not parts or r.random() < 0.1:
        parts.append(r.choice(SPEC_VALUES))
    elif r.random() < 0.1:
        parts.pop(r.randrange(len(parts)))
    else:
        i = r.randrange(len(parts))
        if parts[i] in ARRAY_DTYPES:
            parts[i] = r.choice(list(ARRAY_DTYPES))
        else:
            parts[i] = r.choice(SPEC_VALUES)
    parts = [str(eval(p)) if "**" in p else p for p in parts]  # only our own literals
    return ", ".join(parts)


def splice(src, other, r):
    """A line of another kernel's body inserted into this one."""
    lines, extra = src.split("\n"), [ln for ln in other.split("\n")[1:] if ln.strip()]
    if not extra:
        return src
    lines.insert(r.randrange(1, len(lines) + 1), r.choice(extra))
    return "\n".join(lines)


class Corpus:
    MAX = 20000

    def __init__(self, seeds):
        self.seeds = seeds  # (name, src, spec)
        self.kept = []
        self.seen = set()

    def add_if_new(self, case, feats):
        new = feats - self.seen
        if not new:
            return False
        self.seen |= new
        if len(self.kept) < self.MAX:
            self.kept.append((case["name"], case["src"], case["spec"]))
        else:
            self.kept[random.randrange(self.MAX)] = (case["name"], case["src"], case["spec"])
        return True

    def pick(self, r):
        if self.kept and r.random() < 0.6:
            return r.choice(self.kept)
        return r.choice(self.seeds)


def next_case(corpus, r, interp_fraction, gpu_fraction):
    name, src, spec = corpus.pick(r)
    roll = r.random()
    if roll < 0.08:
        spec = mutate_spec(spec, r)
    elif roll < 0.16:
        src = splice(src, corpus.pick(r)[1], r)
    want_valid = r.random() < 0.5
    for _ in range(5 if want_valid else 1):  # a few tries: ast.parse costs as much as a compile
        mutant = src
        for _ in range(r.choice([1, 1, 1, 2, 2, 3, 4, 6])):
            mutant = mutate_once(mutant, r)
        if not want_valid or _python_accepts(mutant):
            break
    mode_roll = r.random()
    mode = "interp" if mode_roll < interp_fraction else "gpu" if mode_roll < interp_fraction + gpu_fraction else "ir"
    case = {"name": name, "src": mutant, "spec": spec, "mode": mode}
    if mode == "interp":
        case["grid"] = [r.choice([1, 1, 2, 3])]
    if mode == "gpu":
        case["num_warps"] = r.choice([1, 2, 4, 4, 8])
    return case


# ---------------------------------------------------------------------------
# the worker process
# ---------------------------------------------------------------------------

def save_finding(out, kind, case, message):
    digest = hashlib.sha1((case["src"] + case["spec"] + case["mode"]).encode("utf-8", "replace")).hexdigest()[:12]
    os.makedirs(os.path.join(out, "findings"), exist_ok=True)
    path = os.path.join(out, "findings", f"{kind}-{digest}.json")
    with open(path, "w") as f:
        json.dump({"kind": kind, "message": message, "case": case}, f, indent=1)
    return path


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def worker_main(args):
    import resource

    import terrazzo as tz

    from seed_corpus import all_seeds

    # a memory-hungry input is a finding (bad_alloc), not a frozen machine
    if args.memory_mb:
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, signal.default_int_handler)
    r = random.Random(args.seed)
    corpus = Corpus(all_seeds(tz))
    current = os.path.join(args.out, f"worker-{args.worker}.current")
    stats_path = os.path.join(args.out, f"worker-{args.worker}.stats")
    fd = os.open(current, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    stats = {"execs": 0, "ok": 0, "error": 0, "interp": 0, "gpu": 0, "interp_timeouts": 0, "findings": 0,
             "slow": 0, "seeds": len(corpus.seeds), "corpus": 0, "error_kinds": [], "max_exec_s": 0.0,
             "leak_inputs": []}
    error_kinds = set()
    deadline = time.time() + args.seconds if args.seconds else None
    _write_atomic(stats_path, json.dumps(stats))  # "started", for the supervisor
    last_stats = time.time()
    # test hooks: the harness's own tests make worker W crash or hang at its
    # N-th execution (TZ_FUZZ_CRASH_AT=W:N)
    def hook(var):
        w, _, n = os.environ.get(var, "-1:-1").partition(":")
        return int(n) if int(w) == args.worker else -1
    crash_at, hang_at = hook("TZ_FUZZ_CRASH_AT"), hook("TZ_FUZZ_HANG_AT")
    while stats["execs"] < args.runs and (deadline is None or time.time() < deadline):
        case = next_case(corpus, r, args.interp_fraction, args.gpu_fraction)
        blob = json.dumps(case).encode()
        os.pwrite(fd, blob, 0)
        os.ftruncate(fd, len(blob))
        if stats["execs"] == crash_at:
            os.abort()
        if stats["execs"] == hang_at:
            time.sleep(3600)
        t0 = time.perf_counter()
        outcome, detail = execute(tz, case)
        dt = time.perf_counter() - t0
        stats["execs"] += 1
        stats["max_exec_s"] = max(stats["max_exec_s"], dt)
        stats["slow"] += dt > 1.0
        if case["mode"] != "ir" and outcome in ("ok", "error", "interp-timeout"):
            stats["interp" if case["mode"] == "interp" else "gpu"] += 1
        if outcome == "finding":
            stats["findings"] += 1
            path = save_finding(args.out, "leak", case, detail)
            if len(stats["leak_inputs"]) < 100:
                stats["leak_inputs"].append(path)
            print(f"worker {args.worker}: finding saved to {path}\n{detail[:500]}", file=sys.stderr, flush=True)
        elif outcome == "interp-timeout":
            stats["interp_timeouts"] += 1
        else:
            stats[outcome] += 1
            if outcome == "error":
                error_kinds.add(error_kind(detail))
            if corpus.add_if_new(case, features(outcome, detail, case["name"])):
                stats["corpus"] = len(corpus.kept)
        now = time.time()
        if now - last_stats > STATS_EVERY_S:
            stats["error_kinds"] = sorted(error_kinds)
            stats["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            _write_atomic(stats_path, json.dumps(stats))
            last_stats = now
    stats["error_kinds"] = sorted(error_kinds)
    stats["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    _write_atomic(stats_path, json.dumps(stats))
    os.close(fd)


# ---------------------------------------------------------------------------
# the supervisor
# ---------------------------------------------------------------------------

class Worker:
    def __init__(self, index, args, runs, seed, env):
        self.index, self.runs = index, runs
        self.stats_path = os.path.join(args.out, f"worker-{index}.stats")
        self.current = os.path.join(args.out, f"worker-{index}.current")
        if os.path.exists(self.stats_path):
            os.remove(self.stats_path)
        self.stderr_path = os.path.join(args.out, f"worker-{index}.stderr")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(index), "--runs", str(runs),
               "--seed", str(seed), "--out", args.out, "--interp-fraction", str(args.interp_fraction),
               "--gpu-fraction", str(args.gpu_fraction), "--memory-mb", str(args.memory_mb)]
        if args.seconds:
            cmd += ["--seconds", str(max(args.end - time.time(), 0.1))]
        # fresh for each incarnation: a crash's message is at its end
        self.stderr = open(self.stderr_path, "w")
        self.started = time.time()
        # kernels print (static_print, device_print): only stderr is kept
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr)

    def stats(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def running_for(self):
        """Seconds the current case has run; loading the seed corpus (before
        the first case opens the file) does not count, up to STARTUP_S."""
        try:
            mtime = os.path.getmtime(self.current)
        except OSError:
            mtime = 0.0
        if mtime >= self.started:
            return time.time() - mtime
        return max(time.time() - self.started - STARTUP_S, 0.0)

    def current_case(self):
        try:
            with open(self.current) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"name": "?", "src": "", "spec": "", "mode": "?"}


def _merge(total, stats):
    for k, v in stats.items():
        if k == "error_kinds":
            total["error_kinds"].update(v)
        elif k == "leak_inputs":
            total[k] += v
        elif k in ("max_exec_s", "max_rss_mb"):
            total[k] = max(total[k], v)
        elif k not in ("seeds", "corpus"):
            total[k] = total.get(k, 0) + v
    total["seeds"] = stats["seeds"]
    total["corpus"] = total.get("corpus", 0) + stats.get("corpus", 0)


def supervise(args):
    os.makedirs(args.out, exist_ok=True)
    args.end = time.time() + args.seconds if args.seconds else None
    env = dict(os.environ)
    import terrazzo

    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(terrazzo.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    per_worker = -(-args.runs // args.jobs)
    seed_counter = [args.seed * 1000]

    def start(i, runs):
        seed_counter[0] += 1
        return Worker(i, args, runs, seed_counter[0], env)

    # the harness's test hooks fire in the first incarnation only
    restart_env = {k: v for k, v in env.items() if not k.startswith("TZ_FUZZ_")}
    startup_failures = 0

    workers = {i: start(i, per_worker) for i in range(args.jobs)}

    def stop(signum, frame):  # the workers go down with the supervisor
        for w in workers.values():
            w.proc.kill()
        sys.exit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    finished = {"execs": 0, "ok": 0, "error": 0, "interp": 0, "gpu": 0, "interp_timeouts": 0, "findings": 0,
                "slow": 0, "max_exec_s": 0.0, "max_rss_mb": 0, "error_kinds": set(), "corpus": 0,
                "leak_inputs": []}
    crashes, hangs = [], []
    t0 = time.time()
    last_report = t0
    while workers:
        time.sleep(0.2)
        for i, w in list(workers.items()):
            rc = w.proc.poll()
            hung = rc is None and w.running_for() > args.hang_seconds
            if rc is None and not hung:
                continue
            if hung:
                w.proc.kill()
                w.proc.wait()
            stats = w.stats()
            if stats:
                _merge(finished, stats)
            done = stats["execs"] if stats else 0
            del workers[i]
            if rc == 0:
                continue
            if not stats and not hung:
                # died before its first report: a worker that cannot start
                # (terrazzo not importable) would otherwise restart forever
                startup_failures += 1
                if startup_failures >= 3:
                    with open(w.stderr_path, errors="replace") as f:
                        sys.exit("fuzz workers do not start:\n" + f.read()[-3000:])
            else:
                startup_failures = 0
            case = w.current_case()
            w.stderr.flush()
            with open(w.stderr_path, "rb") as f:
                f.seek(max(os.path.getsize(w.stderr_path) - 3000, 0))
                tail = f.read().decode("utf-8", "replace")
            kind = "hang" if hung else f"crash (exit status {rc})"
            path = save_finding(args.out, "hang" if hung else "crash", case, f"{kind}\n{tail}")
            (hangs if hung else crashes).append(path)
            print(f"{kind}: input saved to {path}", flush=True)
            finished["execs"] += 1  # the execution that crashed or hung
            remaining = w.runs - done - 1
            if remaining > 0 and (args.end is None or time.time() < args.end):
                env = restart_env
                workers[i] = start(i, remaining)
        if time.time() - last_report > args.report_every:
            last_report = time.time()
            live = [w.stats() or {} for w in workers.values()]
            execs = finished["execs"] + sum(st.get("execs", 0) for st in live)
            leaks = finished["findings"] + sum(st.get("findings", 0) for st in live)
            print(f"[{time.time() - t0:7.0f}s] {execs} execs, {execs / (time.time() - t0):.0f}/s, "
                  f"{len(crashes)} crashes, {len(hangs)} hangs, {leaks} leaks", flush=True)
    elapsed = time.time() - t0
    summary = dict(finished, error_kinds=len(finished["error_kinds"]), crashes=len(crashes), hangs=len(hangs),
                   leaks=finished["findings"], seconds=round(elapsed, 1),
                   execs_per_s=round(finished["execs"] / max(elapsed, 1e-9), 1), jobs=args.jobs, seed=args.seed,
                   crash_inputs=crashes, hang_inputs=hangs)
    del summary["findings"]
    summary["max_exec_s"] = round(summary["max_exec_s"], 2)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(args.out, "error_kinds.txt"), "w") as f:
        f.write("\n".join(sorted(finished["error_kinds"])) + "\n")
    for path in (crashes + hangs + finished["leak_inputs"])[:20]:
        with open(path) as f:
            print(f"--- {path}\n{f.read()[:4000]}")
    print(json.dumps({k: v for k, v in summary.items() if not k.endswith("_inputs")}))
    return summary


def replay(path):
    import terrazzo as tz

    with open(path) as f:
        data = json.load(f)
    case = data.get("case", data)
    print(f"kernel {case['name']!r}, args {case['spec']}, mode {case['mode']}:\n{case['src']}")
    signal.signal(signal.SIGALRM, signal.default_int_handler)
    outcome, detail = execute(tz, case)
    print(f"outcome: {outcome}\n{detail if outcome != 'ok' else ''}")
    return 1 if outcome == "finding" else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10 ** 12, help="executions in all (default: until --seconds)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--seed", type=int, default=1, help="random seed (0: a new one, printed)")
    p.add_argument("--out", default="fuzz-out", help="folder for the summary, worker files and findings")
    p.add_argument("--interp-fraction", type=float, default=0.02,
                   help="share of executions that also run on the interpreter")
    p.add_argument("--gpu-fraction", type=float, default=0.005,
                   help="share of executions that also go through compile_for_gpu(arch='sm_90a')")
    p.add_argument("--hang-seconds", type=float, default=60.0, help="one execution longer than this is a hang")
    p.add_argument("--memory-mb", type=int, default=4096, help="address-space limit of a worker (0: none)")
    p.add_argument("--report-every", type=float, default=30.0)
    p.add_argument("--replay", help="run one saved finding and print its outcome")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    if args.worker is not None:
        worker_main(args)
        return 0
    if args.runs >= 10 ** 12 and not args.seconds:
        p.error("give --runs or --seconds")
    if args.seed == 0:
        args.seed = int.from_bytes(os.urandom(4), "little") | 1
        print(f"seed {args.seed}", flush=True)
    summary = supervise(args)
    return 1 if summary["crashes"] or summary["hangs"] or summary["leaks"] else 0


if __name__ == "__main__":
    sys.exit(main())
