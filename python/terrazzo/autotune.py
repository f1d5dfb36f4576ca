"""tz.autotune: pick the fastest of several launch configurations of a kernel
on the real arguments, once per (key values, device), and remember the choice
in the on-disk cache so later processes skip the timing.

    @tz.autotune(configs=[tz.Config({"BM": 128, "BN": 128}, num_warps=8), ...], key=["M", "N", "K"])
    @tz.jit
    def matmul(a, b, c, M, N, K, BM: tz.constexpr, BN: tz.constexpr): ...

    matmul[lambda meta: (tz.cdiv(M, meta["BM"]), tz.cdiv(N, meta["BN"]))](a, b, c, M, N, K)

Timing uses CUDA events around each launch on the current torch stream
(median of `rep` launches after `warmup`). Tensors named in `restore_value`
are saved before timing and restored afterwards, so a kernel that updates
its arguments in place sees them as the caller left them. A configuration
that fails to compile or launch is skipped (its error is kept in
`timings`). Tensors named in `reset_to_zero` are zeroed before each timed
launch; `prune_configs_by={"early_config_prune": fn}` narrows the configs
(fn(configs, named_args) -> configs) before timing, and `{"perf_model": est,
"top_k": k}` keeps the k configs with the smallest est(**args, **config). On the CPU interpreter
(host arrays) nothing is timed: the first remaining configuration runs.

Before timing on the GPU, every remaining configuration is compiled for the
device (the launch that follows reuses that compilation) and pruned when it
cannot run or is clearly worse: it does not compile (shared memory above the
target's limit), needs more shared memory than the device lets one block opt
in to, uses more than 255 registers per thread or more than a
multiprocessor has for its block, or spills registers while another
configuration spills none (a configuration with min_blocks_per_sm asks to
spill if it must and is kept). Pruned configurations are never launched;
`pruned` maps each tuned key to {repr(config): reason}, and TZ_AUTOTUNE_LOG=1
prints them and the timings to stderr. When every configuration is pruned
the launch raises AutotuneError naming each one's reason.
`prune_by_resources` applies the same rules for any target without a GPU.

Once a choice is made, `kernel[grid](...)` with arguments of the same kinds
and the same key values launches through the C++ cached path
(_terrazzo.Launcher, the base class): no Python runs per launch, unless the
grid is a function of the meta-parameters (it is called with a dict) or the
chosen config has a pre_hook (every such launch takes the Python path).
"""

import hashlib
import inspect
import json
import os
import sys

from . import _terrazzo
from .jit import resolve_grid


class AutotuneError(RuntimeError):
    """No configuration of an autotuned kernel could run."""


class Config:
    """Constexpr values plus launch options of one candidate.
    min_blocks_per_sm > 0 bounds registers so that many blocks fit on one
    multiprocessor (more warps to hide latency, at the risk of spills).
    tma=True / False copies pipelined tiles with TMA on sm_90a or not (None:
    the TZ_TMA default), so configs can weigh both. warp_specialize=True /
    False gives TMA loops a producer warpgroup on sm_90a or not (None: the
    TZ_WARP_SPECIALIZE default); the block then has num_warps + 4 warps.
    persistent=True launches the kernel persistent (one program per resident
    block, each walking several tiles of the grid), False one program per
    tile (None: the TZ_PERSISTENT default), so configs can weigh that too."""

    def __init__(self, kwargs, num_warps=4, num_stages=2, min_blocks_per_sm=0, pre_hook=None, tma=None,
                 warp_specialize=None, persistent=None):
        self.kwargs = dict(kwargs)
        self.num_warps = num_warps
        self.num_stages = num_stages
        self.min_blocks_per_sm = min_blocks_per_sm
        if tma is not None and not isinstance(tma, bool):
            raise TypeError(f"Config tma must be True, False or None, got {tma!r}")
        self.tma = tma
        if warp_specialize is not None and not isinstance(warp_specialize, bool):
            raise TypeError(f"Config warp_specialize must be True, False or None, got {warp_specialize!r}")
        self.warp_specialize = warp_specialize
        if persistent is not None and not isinstance(persistent, bool):
            raise TypeError(f"Config persistent must be True, False or None, got {persistent!r}")
        self.persistent = persistent
        self.pre_hook = pre_hook  # called with the named arguments before each launch of this config

    def launch_options(self):
        options = {"num_warps": self.num_warps, "num_stages": self.num_stages}
        if self.min_blocks_per_sm:  # left out at 0, so older stored choices keep their identity
            options["min_blocks_per_sm"] = self.min_blocks_per_sm
        if self.tma is not None:  # likewise left out when not given
            options["tma"] = self.tma
        if self.warp_specialize is not None:
            options["warp_specialize"] = self.warp_specialize
        if self.persistent is not None:  # likewise left out when not given
            options["persistent"] = self.persistent
        return options

    def describe(self):
        return {"kwargs": self.kwargs, **self.launch_options()}

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in self.kwargs.items()]
        parts += [f"{k}={v}" for k, v in self.launch_options().items()]
        return f"Config({', '.join(parts)})"


class Autotuner(_terrazzo.Launcher):
    def __init__(self, fn, configs, key, warmup, rep, restore_value, reset_to_zero=None, prune_configs_by=None):
        self.fn = fn
        # The cached launch path needs the kernel itself (not heuristics
        # over it) and a key of parameter names; without them kernel[grid]
        # calls launch_with.
        if hasattr(fn, "_kernel") and all(k in fn.param_names for k in key):
            self._bind_kernel(fn._kernel, resolve_grid)
            self._bind_tuner([fn.param_names.index(k) for k in key])
        else:
            self._delegate()
        self.configs = list(configs)
        self.key = list(key)
        self.warmup, self.rep = warmup, rep
        self.restore_value = list(restore_value or [])
        self.reset_to_zero = list(reset_to_zero or [])
        self.early_config_prune = (prune_configs_by or {}).get("early_config_prune")
        self.perf_model = (prune_configs_by or {}).get("perf_model")
        self.top_k = (prune_configs_by or {}).get("top_k")
        self.best = {}        # (key values, device) -> Config
        self.timings = {}     # same key -> {repr(config): ms or error}
        self.pruned = {}      # same key -> {repr(config): why it was not timed}
        self.last_source = None  # "memory", "disk" or "timed", for tests
        self.__name__ = fn.__name__
        source = inspect.getsource(fn.fn)
        self._identity = hashlib.sha256(
            (fn.__name__ + "\n" + source + "\n" + json.dumps([c.describe() for c in self.configs], sort_keys=True,
                                                              default=str)).encode()).hexdigest()

    @property
    def param_names(self):
        return self.fn.param_names

    def _key_values(self, args, kwargs):
        named = dict(zip(self.fn.param_names, args))
        named.update(kwargs)
        values = []
        for k in self.key:
            v = named[k]
            values.append(str(v.dtype) if hasattr(v, "data_ptr") else repr(v))
        dtypes = [str(a.dtype) for a in args if hasattr(a, "data_ptr")]
        return tuple(values), tuple(dtypes)

    def _named(self, args, kwargs):
        named = dict(zip(self.fn.param_names, args))
        named.update(kwargs)
        return named

    def _launch(self, grid, config, args, kwargs):
        full = dict(kwargs, **config.kwargs)
        if config.pre_hook is not None:
            config.pre_hook(self._named(args, full))
        g = resolve_grid(grid, self.fn.param_names, args, full)
        self.fn.launch_with(g, args, dict(full, **config.launch_options()))

    def _candidates(self, args, kwargs):
        configs = self.configs
        named = self._named(args, kwargs)
        if self.early_config_prune is not None:
            configs = list(self.early_config_prune(configs, named))
        if self.perf_model is not None and self.top_k is not None:
            # Keep the top_k (a count, or a fraction when a float) by estimated time.
            k = self.top_k if isinstance(self.top_k, int) else int(len(configs) * self.top_k)
            ranked = sorted(configs, key=lambda c: self.perf_model(**named, **c.kwargs, num_warps=c.num_warps,
                                                                   num_stages=c.num_stages))
            configs = ranked[:max(1, k)]
        return configs

    def _prepare(self, config, args, kwargs, arch):
        """Compiles `config` as its launch would (kept for that launch) and
        returns prepare_launch's report, or {"compile_error": message}."""
        full = dict(kwargs, **config.kwargs, **config.launch_options())
        full.pop("stream", None)
        if arch is not None:
            full["arch"] = arch
        try:
            return self.fn.prepare_launch(args, full) if hasattr(self.fn, "prepare_launch") \
                else self.fn._kernel.prepare_launch(args, full)
        except Exception as e:  # the reason it cannot run
            return {"kernel_name": self.fn.__name__, "compile_error": str(e),
                    "num_warps": config.num_warps, "min_blocks_per_sm": config.min_blocks_per_sm}

    def prune_by_resources(self, args, kwargs=None, configs=None, arch=None, shared_limit=None):
        """The configurations (default: those left by prune_configs_by) that
        may be timed for these arguments (a tuple, a dict), and {repr(config): reason} for the
        others, from compiling each for `arch` (default: the current device's,
        sm_90a without a GPU). shared_limit: the most shared memory one block
        may opt in to (default: the current device's; without a GPU, or with
        `arch` given, only the compiler's limit for the target applies).
        Raises AutotuneError, naming each reason, when none is left."""
        args, kwargs = tuple(args), dict(kwargs or {})
        if configs is None:
            configs = self._candidates(args, kwargs)
        if not (hasattr(self.fn, "prepare_launch") or hasattr(self.fn, "_kernel")):
            return list(configs), {}  # nothing to compile it with: time them all
        if shared_limit is None:
            shared_limit = _terrazzo.gpu_shared_memory_limit() if arch is None else 0
        reports = [self._prepare(c, args, kwargs, arch) for c in configs]
        reasons = _terrazzo.resource_prune_reasons([[r] for r in reports], shared_limit)
        kept = [c for c, why in zip(configs, reasons) if not why]
        pruned = {repr(c): why for c, why in zip(configs, reasons) if why}
        if configs and not kept:
            lines = "\n".join(f"  {config}: {why}" for config, why in pruned.items())
            raise AutotuneError(f"autotune of {self.fn.__name__}: every configuration was pruned before timing:\n"
                                f"{lines}")
        return kept, pruned

    def _zero_outputs(self, args, kwargs):
        named = self._named(args, kwargs)
        for n in self.reset_to_zero:
            named[n].zero_()

    def _time(self, grid, config, args, kwargs):
        import torch
        for _ in range(self.warmup):
            self._zero_outputs(args, kwargs)
            self._launch(grid, config, args, kwargs)
        times = []
        for _ in range(self.rep):
            self._zero_outputs(args, kwargs)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            self._launch(grid, config, args, kwargs)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        times.sort()
        return times[len(times) // 2]

    def _choose(self, grid, args, kwargs, cache_key):
        import torch
        named = dict(zip(self.fn.param_names, args))
        named.update(kwargs)
        saved = {n: named[n].clone() for n in self.restore_value}
        results = {}
        memo = json.dumps(cache_key)
        survivors, pruned = self.prune_by_resources(args, kwargs)
        self.pruned[memo] = pruned
        log = os.environ.get("TZ_AUTOTUNE_LOG", "0") not in ("", "0")
        if log:
            for config, why in pruned.items():
                print(f"terrazzo autotune {self.fn.__name__}: pruned {config}: {why}", file=sys.stderr)
        for config in survivors:
            try:
                results[repr(config)] = self._time(grid, config, args, kwargs)
            except Exception as e:  # a config that does not compile or launch is skipped
                results[repr(config)] = f"error: {e}"
            for n, copy in saved.items():
                named[n].copy_(copy)
        torch.cuda.synchronize()
        if log:
            for config, ms in results.items():
                print(f"terrazzo autotune {self.fn.__name__}: {config}: {ms}", file=sys.stderr)
        timed = {k: v for k, v in results.items() if isinstance(v, float)}
        if not timed:
            raise AutotuneError(f"autotune of {self.fn.__name__}: no configuration ran: {results}")
        best_repr = min(timed, key=timed.get)
        index = [repr(c) for c in self.configs].index(best_repr)
        self.timings[memo] = results
        _terrazzo.disk_cache_put(self._disk_key(cache_key), json.dumps({"index": index, "config": best_repr,
                                                                         "timings": results,
                                                                         "pruned": pruned}).encode())
        return self.configs[index]

    def _disk_key(self, cache_key):
        return "autotune\n" + self._identity + "\n" + json.dumps(cache_key)

    @staticmethod
    def _on_host(args, kwargs):
        """True when the launch runs on the CPU interpreter (host arrays)."""
        import os
        if os.environ.get("TZ_INTERPRET", "0") not in ("", "0"):
            return True
        values = list(args) + list(kwargs.values())
        return any(hasattr(v, "__array_interface__") or (hasattr(v, "is_cuda") and not v.is_cuda) for v in values)

    def run(self, *args, grid, warmup=False, **kwargs):
        """Triton's Autotuner.run(*args, grid=...)."""
        self.launch_with(grid, args, kwargs)

    def launch_with(self, grid, args, kwargs):
        if self._on_host(args, kwargs):
            # Timing the interpreter says nothing about the GPU: run the first candidate.
            self.last_source = "interpreter"
            self._launch(grid, self._candidates(args, kwargs)[0], args, kwargs)
            return
        import torch
        key_values, dtypes = self._key_values(args, kwargs)
        cache_key = [list(key_values), list(dtypes), torch.cuda.get_device_name()]
        memo = json.dumps(cache_key)
        config = self.best.get(memo)
        if config is not None:
            self.last_source = "memory"
        else:
            stored = _terrazzo.disk_cache_get(self._disk_key(cache_key))
            if stored is not None:
                record = json.loads(stored.decode())
                if 0 <= record["index"] < len(self.configs) and repr(self.configs[record["index"]]) == record["config"]:
                    config = self.configs[record["index"]]
                    self.timings[memo] = record["timings"]
                    self.pruned[memo] = record.get("pruned", {})
                    self.last_source = "disk"
            if config is None:
                config = self._choose(grid, args, kwargs, cache_key)
                self.last_source = "timed"
            self.best[memo] = config
        self._launch(grid, config, args, kwargs)

    def _fast_choice(self, args, kwargs):
        """For the cached launch path after launch_with: the chosen config's
        constexprs and launch options, or None when launches of these
        arguments must keep going through launch_with."""
        if self.last_source == "interpreter" or self._on_host(args, kwargs):
            return None
        config = self.best_config(*args, **kwargs)
        if config is None or config.pre_hook is not None:
            return None
        return dict(config.kwargs), config.launch_options()

    def best_config(self, *args, **kwargs):
        """The configuration chosen for these arguments (after a launch)."""
        import torch
        key_values, dtypes = self._key_values(args, kwargs)
        return self.best.get(json.dumps([list(key_values), list(dtypes), torch.cuda.get_device_name()]))


def autotune(configs, key, warmup=3, rep=10, restore_value=None, reset_to_zero=None, prune_configs_by=None):
    """Decorator over a @tz.jit kernel: see the module docstring."""
    def decorate(fn):
        return Autotuner(fn, configs, key, warmup, rep, restore_value, reset_to_zero, prune_configs_by)
    return decorate
