"""The terrazzo language namespace (``tz.load``, ``tz.dot``, ...).

These functions only exist inside kernels: the C++ frontend compiles calls to
them. Calling one from ordinary Python raises an error. Their signatures and
docstrings are here so editors, ``help()`` and readers see what each does;
docs/language.md is the full reference.
"""


class dtype:
    """A scalar element type, e.g. ``tz.float32``."""

    __terrazzo_kind__ = "dtype"

    def __init__(self, name, bits, is_float):
        self.name = name
        self.primitive_bitwidth = bits
        self._is_float = is_float

    def is_floating(self):
        return self._is_float

    def __repr__(self):
        return f"tz.{self.name}"

    def __eq__(self, other):
        return isinstance(other, dtype) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


int1 = dtype("int1", 1, False)
int8 = dtype("int8", 8, False)
int16 = dtype("int16", 16, False)
int32 = dtype("int32", 32, False)
int64 = dtype("int64", 64, False)
float16 = dtype("float16", 16, True)
bfloat16 = dtype("bfloat16", 16, True)
float32 = dtype("float32", 32, True)
float64 = dtype("float64", 64, True)
fp16, bf16, fp32, fp64 = float16, bfloat16, float32, float64


class constexpr:
    """Marks a parameter as a compile-time constant (``BLOCK: tz.constexpr``);
    ``tz.constexpr(128)`` wraps a module-level constant."""

    __terrazzo_kind__ = "constexpr"

    def __init__(self, value):
        self.value = value.value if isinstance(value, constexpr) else value

    def __repr__(self):
        return f"tz.constexpr({self.value!r})"


def cdiv(x, div):
    """Ceiling division ``(x + div - 1) // div``; usable in kernels and on the host."""
    return (x + div - 1) // div


def _kernel_only(name, signature, doc):
    def stub(*args, **kwargs):
        raise RuntimeError(f"tz.{name} can only be used inside a @tz.jit kernel")
    stub.__name__ = name
    stub.__qualname__ = name
    stub.__doc__ = f"tz.{name}{signature}\n\n{doc}"
    return stub


_BUILTINS = {
    "program_id": ("(axis)", "Index of the current program along grid axis 0, 1 or 2 (int32)."),
    "num_programs": ("(axis)", "Number of programs along grid axis 0, 1 or 2 (int32)."),
    "arange": ("(start, end)", "1-D int32 tile [start, end); end - start must be a power of two; constexpr bounds."),
    "zeros": ("(shape, dtype=float32)", "Tile of zeros; shape is a tuple of constexpr powers of two."),
    "zeros_like": ("(input)", "Tile of zeros with the type of input."),
    "full": ("(shape, value, dtype)", "Tile filled with value."),
    "load": ("(pointer, mask=None, other=None, ...)",
             "Load from a pointer or tile of pointers; masked-off lanes read nothing and yield `other`. "
             "Cache and eviction hints are accepted and ignored."),
    "store": ("(pointer, value, mask=None, ...)", "Store value (cast to the pointee type) where mask holds."),
    "dot": ("(input, other, acc=None, input_precision=None, allow_tf32=None, max_num_imprecise_acc=None, out_dtype=float32)",
            "Matrix product of an MxK and a KxN tile, accumulated in acc (MxN, float32 by default)."),
    "where": ("(condition, x, y)", "Elementwise select with broadcasting."),
    "maximum": ("(x, y, propagate_nan=None)", "Elementwise maximum (NaN propagates for floats)."),
    "minimum": ("(x, y, propagate_nan=None)", "Elementwise minimum (NaN propagates for floats)."),
    "clamp": ("(x, min, max, propagate_nan=None)", "minimum(maximum(x, min), max)."),
    "exp": ("(x)", "e**x."), "exp2": ("(x)", "2**x."), "log": ("(x)", "Natural logarithm."),
    "log2": ("(x)", "Base-2 logarithm."), "sqrt": ("(x)", "Square root."), "sqrt_rn": ("(x)", "Square root, rounded to nearest."),
    "rsqrt": ("(x)", "1 / sqrt(x)."), "sigmoid": ("(x)", "1 / (1 + exp(-x))."), "abs": ("(x)", "Absolute value."),
    "sin": ("(x)", "Sine."), "cos": ("(x)", "Cosine."), "tanh": ("(x)", "Hyperbolic tangent."),
    "floor": ("(x)", "Round down."), "ceil": ("(x)", "Round up."), "erf": ("(x)", "Error function."),
    "fma": ("(x, y, z)", "x * y + z."), "fdiv": ("(x, y, ieee_rounding=False)", "Float division."),
    "div_rn": ("(x, y)", "Float division, rounded to nearest."),
    "cast": ("(input, dtype, fp_downcast_rounding=None, bitcast=False)", "Convert to dtype (same as x.to(dtype))."),
    "sum": ("(input, axis=None, keep_dims=False)", "Sum along axis (all axes when None); small ints accumulate in int32."),
    "max": ("(input, axis=None, return_indices=False, return_indices_tie_break_left=True, keep_dims=False)",
            "Maximum along axis; with return_indices also the (first) index."),
    "min": ("(input, axis=None, return_indices=False, return_indices_tie_break_left=True, keep_dims=False)",
            "Minimum along axis; with return_indices also the (first) index."),
    "xor_sum": ("(input, axis=None, keep_dims=False)", "Bitwise xor along axis."),
    "argmax": ("(input, axis, tie_break_left=True, keep_dims=False)", "Index (int32) of the first maximum along axis."),
    "argmin": ("(input, axis, tie_break_left=True, keep_dims=False)", "Index (int32) of the first minimum along axis."),
    "cumsum": ("(input, axis=0, reverse=False, dtype=None)", "Inclusive prefix sum along axis."),
    "cumprod": ("(input, axis=0, reverse=False, dtype=None)", "Inclusive prefix product along axis."),
    "broadcast_to": ("(input, *shape)", "Broadcast to shape."),
    "broadcast": ("(input, other)", "Broadcast two values to their common shape."),
    "reshape": ("(input, *shape, can_reorder=False)", "Same elements, new shape (row-major)."),
    "view": ("(input, *shape)", "Same as reshape."),
    "trans": ("(input, *dims)", "Permute dimensions (transpose a 2-D tile when dims are omitted)."),
    "permute": ("(input, *dims)", "Permute dimensions."),
    "expand_dims": ("(input, axis)", "Insert a size-1 dimension."),
    "atomic_add": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic add; returns the old values."),
    "atomic_max": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic max; returns the old values."),
    "atomic_min": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic min; returns the old values."),
    "atomic_and": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic bitwise and; returns the old values."),
    "atomic_or": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic bitwise or; returns the old values."),
    "atomic_xor": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic bitwise xor; returns the old values."),
    "atomic_xchg": ("(pointer, val, mask=None, sem=None, scope=None)", "Atomic exchange; returns the old values."),
    "atomic_cas": ("(pointer, cmp, val, sem=None, scope=None)", "Atomic compare-and-swap; returns the old values."),
    "static_assert": ("(cond, msg='')", "Compile-time assertion."),
    "static_print": ("(*values)", "Print compile-time values while compiling."),
    "device_assert": ("(cond, msg='')", "Run-time assertion; a failing element stops the kernel."),
    "device_print": ("(prefix, *args)", "Print run-time values from every program."),
    "multiple_of": ("(input, values)", "Promise that input is a multiple of values (a compiler hint)."),
    "max_contiguous": ("(input, values)", "Promise that runs of `values` elements are contiguous (a compiler hint)."),
    "max_constancy": ("(input, values)", "Promise that runs of `values` elements are equal (a compiler hint)."),
    "debug_barrier": ("()", "Synchronize the threads of a program (no effect on the interpreter)."),
    "make_block_ptr": ("(base, shape, strides, offsets, block_shape, order)",
                       "A block pointer: a block_shape window at `offsets` into a strided tensor; "
                       "load/store it with boundary_check=(dims...) and padding_option='zero'|'nan'."),
    "advance": ("(base, offsets)", "The block pointer moved by offsets."),
    "make_tensor_descriptor": ("(base, shape, strides, block_shape)",
                               "A tensor descriptor; desc.load(offsets) / desc.store(offsets, value) move "
                               "block_shape tiles; elements outside the tensor read as zero and are not written."),
    "load_tensor_descriptor": ("(desc, offsets)", "Same as desc.load(offsets)."),
    "store_tensor_descriptor": ("(desc, offsets, value)", "Same as desc.store(offsets, value)."),
    "range": ("(arg1, arg2=None, step=None, num_stages=None, loop_unroll_factor=None, ...)",
              "Loop range whose bounds may be run-time values; the scheduling keywords are accepted and not used."),
    "static_range": ("(arg1, arg2=None, step=None)", "Loop range with constexpr bounds, unrolled at compile time."),
    "join": ("(a, b)", "a and b (broadcast together) joined along a new minor dimension of size 2."),
    "split": ("(a)", "The two halves of a tile whose last dimension is 2 (the inverse of join)."),
    "interleave": ("(a, b)", "a and b interleaved along their last dimension."),
    "cat": ("(input, other, can_reorder=False)", "input then other, concatenated along dimension 0."),
    "flip": ("(x, dim=None)", "x reversed along dim (the last dimension when None)."),
    "ravel": ("(x, can_reorder=False)", "x as a 1-D tile (row-major)."),
    "reduce": ("(input, axis, combine_fn, keep_dims=False)",
               "Reduce a tile, or a tuple of tiles of one shape, along axis with a @jit combine function."),
    "associative_scan": ("(input, axis, combine_fn, reverse=False)",
                         "Inclusive scan of a tile (or tuple of tiles) along axis with a @jit combine function."),
    "reduce_or": ("(input, axis, keep_dims=False)", "Bitwise or along axis."),
    "histogram": ("(input, num_bins, mask=None)", "Counts (int32) of the values 0 .. num_bins-1 in a 1-D tile."),
    "softmax": ("(x, dim=None, keep_dims=False, ieee_rounding=False)", "exp(x - max) / sum(exp(x - max)) along dim."),
    "swizzle2d": ("(i, j, size_i, size_j, size_g)", "Grouped ordering of a 2-D grid of programs."),
    "umulhi": ("(x, y)", "High 32 bits of the unsigned 64-bit product of two int32 values."),
    "add": ("(x, y, sanitize_overflow=True)", "x + y."),
    "sub": ("(x, y, sanitize_overflow=True)", "x - y."),
    "mul": ("(x, y, sanitize_overflow=True)", "x * y."),
    "assume": ("(cond)", "A promise to the optimizer (not used)."),
    "sort": ("(x, dim=None, descending=False)", "x sorted along its last dimension (bitonic network)."),
    "topk": ("(x, k, dim=None)", "The k largest elements along the last dimension, largest first."),
    "bitonic_merge": ("(x, dim=None, descending=False)", "Orders a bitonic sequence along the last dimension."),
    "gather": ("(src, index, axis)", "out[.., i, ..] = src[.., index[.., i, ..], ..] along axis."),
    "randint": ("(seed, offset, n_rounds=10)", "Philox4x32 random bits (int32 holding uint32 bits) per offset."),
    "randint4x": ("(seed, offset, n_rounds=10)", "Four blocks of Philox4x32 random bits per offset."),
    "rand": ("(seed, offset, n_rounds=10)", "Uniform float32 in [0, 1) per offset (Philox)."),
    "rand4x": ("(seed, offset, n_rounds=10)", "Four blocks of uniform float32 in [0, 1)."),
    "randn": ("(seed, offset, n_rounds=10)", "Standard normal float32 per offset (Philox + Box-Muller)."),
    "randn4x": ("(seed, offset, n_rounds=10)", "Four blocks of standard normal float32."),
    "philox": ("(seed, c0, c1, c2, c3, n_rounds=10)", "Philox4x32 of the counter (c0..c3) under the seed."),
    "philox_impl": ("(c0, c1, c2, c3, k0, k1, n_rounds=10)", "Philox4x32 rounds under the key (k0, k1)."),
    "uint_to_uniform_float": ("(x)", "32 random bits to a uniform float32 in [0, 1)."),
    "pair_uniform_to_normal": ("(u1, u2)", "Two uniforms to two standard normals (Box-Muller)."),
    "derivative": ("(fn, argnum=0)",
                   "A function returning d fn / d argument argnum, elementwise (forward-mode differentiation "
                   "of fn's code by the compiler)."),
    "add_load_gradients": ("(fn, args, argnum, grad_ptr, cotangent)",
                           "Atomically add cotangent * d fn(*args) / d value into grad_ptr for every value fn "
                           "loads through its pointer argument argnum, at the offset it was loaded from."),
}

for _name, (_sig, _doc) in _BUILTINS.items():
    globals()[_name] = _kernel_only(_name, _sig, _doc)

__all__ = ["dtype", "constexpr", "cdiv", "int1", "int8", "int16", "int32", "int64", "float16", "bfloat16",
           "float32", "float64", "fp16", "bf16", "fp32", "fp64"] + list(_BUILTINS)
