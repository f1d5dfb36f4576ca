"""The @jit decorator and kernel launches. Every decision (argument binding,
specialization, caching, code generation, execution) is taken in C++; this
module only hands over the function's source. ``kernel[grid](...)`` is
_terrazzo.Launcher's: a C++ callable that launches a cached specialization
without running any Python (python/src/FastLaunch.h)."""

import inspect
import textwrap

from . import _terrazzo


def resolve_grid(grid, param_names, args, kwargs, extra=None):
    """The launch grid as a tuple: `grid` itself, or `grid(meta)` when it is
    callable, meta mapping parameter names (and `extra`) to the arguments."""
    if type(grid) is tuple:
        return grid
    if callable(grid):
        meta = dict(zip(param_names, args))
        meta.update(kwargs)
        meta.update(extra or {})
        grid = grid(meta)
    return grid if isinstance(grid, tuple) else (grid,)


class JITFunction(_terrazzo.Launcher):
    """A kernel-language function. ``f[grid](*args, **kwargs)`` launches it;
    ``f.ir(*args, **kwargs)`` returns the tz-dialect IR of that specialization.
    Other kernels can call it, or receive it as a ``tz.constexpr`` argument."""

    __terrazzo_kind__ = "jit"

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        lines, first_line = inspect.getsourcelines(fn)
        # Decorators are Python's business (they may hold dicts and lambdas,
        # as triton.heuristics does): the compiler gets the source from `def`.
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("def ")), 0)
        lines, first_line = lines[start:], first_line + start
        source = "".join(lines)
        filename = inspect.getsourcefile(fn) or "<unknown>"
        self._kernel = _terrazzo.Kernel(source, filename, first_line - 1, fn.__name__, self._lookup)
        self._param_names = list(self._kernel.param_names)
        self._bind_kernel(self._kernel, resolve_grid)

    def _lookup(self, name):
        """Resolves a module-level name the kernel uses: closure variables,
        then the function's globals, then builtins are left to the compiler.
        Returns a 1-tuple, or None when the name is not defined here."""
        code = self.fn.__code__
        if self.fn.__closure__ and name in code.co_freevars:
            cell = self.fn.__closure__[code.co_freevars.index(name)]
            try:
                return (cell.cell_contents,)
            except ValueError:
                return None
        g = self.fn.__globals__
        if name in g:
            return (g[name],)
        return None

    def _locate(self, name):
        """Where `name` lives for _lookup, so a cached launch can check that
        it still holds the same object: (closure cell, None), (globals dict,
        name), or None."""
        code = self.fn.__code__
        if self.fn.__closure__ and name in code.co_freevars:
            return (self.fn.__closure__[code.co_freevars.index(name)], None)
        g = self.fn.__globals__
        if name in g:
            return (g, name)
        return None

    @property
    def param_names(self):
        return self._param_names

    def ir(self, *args, **kwargs):
        return self._kernel.ir(args, kwargs)

    def launch_with(self, grid, args, kwargs):
        """Launches with `grid` (a tuple, or a callable of the meta-parameters);
        the autotuner and heuristics launch through this."""
        self[grid](*args, **kwargs)

    def run(self, *args, grid, warmup=False, **kwargs):
        """Triton's kernel.run(*args, grid=..., warmup=False): a launch, or with
        warmup=True a compilation only (see warmup)."""
        if warmup:
            return self.warmup(*args, grid=grid, **kwargs)
        self.launch_with(grid, args, kwargs)

    def compile_for_gpu(self, *args, **kwargs):
        """Compiles this specialization for the GPU without launching it (no GPU
        needed). Keywords num_warps, num_stages and arch (e.g. "sm_90a") choose
        the target. Returns a dict with every stage (tzgpu, llvm_mlir, llvm,
        ptx) and the assembler's statistics (registers, spills, shared_bytes)."""
        return self._kernel.compile_for_gpu(args, kwargs)

    def warmup(self, *args, grid=None, **kwargs):
        """Compiles this specialization for the GPU without launching it
        (Triton's warmup): the result has n_regs, n_spills and
        metadata.shared / metadata.num_warps of the compiled kernel."""
        info = self.compile_for_gpu(*args, **kwargs)
        return CompiledKernel(info, kwargs.get("num_warps", 4))

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            f"{self.__name__} is a terrazzo kernel: launch it with {self.__name__}[grid](...), "
            "or call it from another kernel")

    def __repr__(self):
        return f"<terrazzo.JITFunction {self.__name__}>"


class CompiledKernel:
    """What JITFunction.warmup returns: the statistics of one compilation."""

    class _Metadata:
        def __init__(self, shared, num_warps):
            self.shared, self.num_warps = shared, num_warps

    def __init__(self, info, num_warps):
        self.info = info
        self.n_regs = info["registers"]
        self.n_spills = info["spill_store_bytes"] + info["spill_load_bytes"]
        self.metadata = CompiledKernel._Metadata(info["shared_bytes"], num_warps)
        self.asm = {"ptx": info["ptx"], "llir": info["llvm"]}

    def _init_handles(self):
        """Nothing to do: the module is loaded on the first launch."""


def jit(fn=None, *, noinline=None, do_not_specialize=None, do_not_specialize_on_alignment=None, debug=None,
        repr=None, launch_metadata=None, version=None):
    """Decorator turning a Python-syntax function into a terrazzo kernel.

    The keywords are Triton's and are accepted so Triton source runs as it is;
    none changes what the kernel computes. Every call is inlined, so
    `noinline` has no effect; `do_not_specialize*`, `debug`, `repr`,
    `launch_metadata` and `version` are recorded in `options` and not used."""
    options = {k: v for k, v in dict(noinline=noinline, do_not_specialize=do_not_specialize,
                                     do_not_specialize_on_alignment=do_not_specialize_on_alignment, debug=debug,
                                     repr=repr, launch_metadata=launch_metadata, version=version).items()
               if v is not None}

    def make(f):
        kernel = JITFunction(f)
        kernel.options = options
        return kernel
    if fn is None:
        return make
    return make(fn)
