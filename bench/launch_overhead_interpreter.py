"""Host-side launch overhead without a GPU: a cached launch of a kernel with
four numpy arrays, an int and a constexpr on grid (0,), so the interpreter
runs no program and the time is argument conversion, binding, the
specialization lookup and the Python wrapper — the part of a launch the GPU
path shares. Median of 5 trials of 20000 launches each.

    PYTHONPATH=build/python python bench/launch_overhead_interpreter.py"""

import statistics
import time

import numpy as np

import terrazzo as tz

LAUNCHES, TRIALS = 20000, 5


@tz.jit
def nop(a, b, c, d, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(a + offs, tz.load(b + offs) + tz.load(c + offs) + tz.load(d + offs), mask=offs < n)


def main():
    bufs = [np.zeros(64, np.float32) for _ in range(4)]
    nop[(0,)](*bufs, 0, BLOCK=64)
    trials = []
    for _ in range(TRIALS):
        t0 = time.perf_counter()
        for _ in range(LAUNCHES):
            nop[(0,)](*bufs, 0, BLOCK=64)
        trials.append((time.perf_counter() - t0) / LAUNCHES * 1e6)
    print(f"cached launch on the interpreter, grid (0,): median {statistics.median(trials):.2f} us "
          f"(trials {[round(t, 2) for t in trials]})")


if __name__ == "__main__":
    main()
