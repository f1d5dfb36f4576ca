"""triton.Config, triton.autotune and triton.heuristics with Triton's
arguments, on top of terrazzo's autotuner."""

from ..autotune import Autotuner as _Autotuner, Config as _TzConfig


class Config(_TzConfig):
    """Triton's Config(kwargs, num_warps=4, num_stages=3, num_ctas=1,
    maxnreg=None, pre_hook=None). Thread-block clusters do not exist here, so
    num_ctas must be 1; maxnreg is kept and not used."""

    def __init__(self, kwargs, num_warps=4, num_stages=3, num_ctas=1, maxnreg=None, pre_hook=None,
                 ir_override=None):
        if num_ctas != 1:
            raise ValueError(f"Config(num_ctas={num_ctas}): terrazzo launches one CTA per program (num_ctas=1)")
        super().__init__(kwargs, num_warps=num_warps, num_stages=num_stages, pre_hook=pre_hook)
        self.num_ctas = num_ctas
        self.maxnreg = maxnreg
        self.ir_override = ir_override

    def all_kwargs(self):
        return dict(self.kwargs, num_warps=self.num_warps, num_stages=self.num_stages, num_ctas=self.num_ctas)


def autotune(configs, key, prune_configs_by=None, reset_to_zero=None, restore_value=None, pre_hook=None,
             post_hook=None, warmup=None, rep=None, use_cuda_graph=False, do_bench=None, cache_results=False):
    """triton.autotune: times each config on the first launch per key (CUDA
    events; on the interpreter the first config runs), after compiling each
    for the device and pruning those that cannot run or spill next to one
    that does not (terrazzo.autotune's module docstring). warmup/rep (Triton's
    milliseconds), pre_hook/post_hook, use_cuda_graph, do_bench and
    cache_results are accepted; the choice is always cached on disk."""
    def decorate(fn):
        return _Autotuner(fn, configs, key, 3, 10, restore_value, reset_to_zero, prune_configs_by)
    return decorate


class Heuristics:
    """Computes constexpr arguments from the others before each launch."""

    def __init__(self, fn, values):
        self.fn_wrapped = fn
        self.values = dict(values)
        self.__name__ = fn.__name__
        # The Python function, for tools (the autotuner) that read its source.
        self.fn = fn.fn

    @property
    def param_names(self):
        return self.fn_wrapped.param_names

    def run(self, *args, grid, warmup=False, **kwargs):
        """Triton's Heuristics.run(*args, grid=...)."""
        self.launch_with(grid, args, kwargs)

    def _with_values(self, args, kwargs):
        named = dict(zip(self.param_names, args))
        named.update(kwargs)
        extra = {}
        for name, rule in self.values.items():
            extra[name] = rule({**named, **extra})
        return dict(kwargs, **extra)

    def launch_with(self, grid, args, kwargs):
        self.fn_wrapped.launch_with(grid, args, self._with_values(args, kwargs))

    def prepare_launch(self, args, kwargs):
        """Compiles what launch_with would launch, without launching (the
        autotuner prunes configurations by the report)."""
        full = self._with_values(args, kwargs)
        inner = self.fn_wrapped
        if hasattr(inner, "prepare_launch"):
            return inner.prepare_launch(args, full)
        return inner._kernel.prepare_launch(args, full)

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.launch_with(grid, args, kwargs)


def heuristics(values):
    """triton.heuristics({"NAME": lambda args: ...}): each value is computed from
    the launch's named arguments (and the values before it) at every launch."""
    def decorate(fn):
        return Heuristics(fn, values)
    return decorate
