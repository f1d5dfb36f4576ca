// Tile-shaping helpers the composite builtins are built from: reshapes along
// one axis, taking one index of an axis (bit-exact, through the integer image
// of the elements), joining two tiles along a new axis, pairing neighbours,
// flipping and gathering. Internal to dsl/lib/codegen.
#pragma once

#include "BuiltinBinder.h"

#include "llvm/ADT/ArrayRef.h"

#include <utility>
#include <vector>

namespace terrazzo::dsl::composite {

using Values = std::vector<CgValue>;

// A builtin called with positional arguments.
CgValue call(KernelBuilder &kb, const char *name, Values positional, SourceLoc loc);

// A shape as a compile-time tuple of ints.
CgValue shapeTuple(llvm::ArrayRef<int64_t> shape);

// The tile type of `v`, or an error naming `what`.
mlir::RankedTensorType tileType(KernelBuilder &kb, const CgValue &v, SourceLoc loc, const std::string &what);

// The shape of a run-time value (empty for a scalar).
std::vector<int64_t> shapeOfValue(const CgValue &v);

// tz.reshape to `shape`.
CgValue reshapeTo(KernelBuilder &kb, const CgValue &x, llvm::ArrayRef<int64_t> shape, SourceLoc loc);

// 0..n-1 laid along `axis` of a rank-`rank` tile (size 1 elsewhere).
CgValue indexAlong(KernelBuilder &kb, int64_t n, int64_t axis, int64_t rank, SourceLoc loc);

// A compile-time axis, negative ones counted from the end, range-checked.
int64_t normalizeAxis(KernelBuilder &kb, const CgValue &axis, int64_t rank, SourceLoc loc);

// Elements as integers of at least 32 bits carrying their exact bits (floats
// bitcast, narrow integers widened), so a select against zero followed by a
// sum moves any value, NaN payloads and -0.0 included, unchanged.
mlir::Value toIntImage(KernelBuilder &kb, mlir::Value v, const char *what, SourceLoc loc);

// The inverse of toIntImage for elements of type `elem`.
mlir::Value fromIntImage(KernelBuilder &kb, mlir::Value v, mlir::Type elem, SourceLoc loc);

// Sum over `axis` of an integer image, removing that axis.
mlir::Value sumAlong(KernelBuilder &kb, mlir::Value w, int64_t axis, SourceLoc loc);

// The element at `index` of `axis` of tile `x`, that axis removed.
CgValue takeAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, int64_t index, SourceLoc loc);

// gather: out[..., i, ...] = src[..., index[..., i, ...], ...] along `axis`,
// as a one-hot selection over a new source axis next to it.
CgValue gather(KernelBuilder &kb, const CgValue &src, const CgValue &index, const CgValue &axisArg, SourceLoc loc);

// a and b (broadcast together) stacked along a new dimension of 2 inserted at
// `pos` (their rank: a new minor dimension, as tz.join). Built with
// expand_dims and a select, so no transpose is needed wherever it goes.
CgValue joinAt(KernelBuilder &kb, const CgValue &a, const CgValue &b, int64_t pos, SourceLoc loc);

// tz.join: a new minor dimension.
CgValue join(KernelBuilder &kb, const CgValue &a, const CgValue &b, SourceLoc loc);

// Tiles e and o of one shape interleaved along `axis`: result[2i] = e[i],
// result[2i+1] = o[i].
CgValue interleaveAlong(KernelBuilder &kb, const CgValue &e, const CgValue &o, int64_t axis, SourceLoc loc);

// Neighbouring pairs along `axis`: (x[2i], x[2i+1]) as two tiles.
std::pair<CgValue, CgValue> pairsAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, SourceLoc loc);

// `x` reversed along `axis` (a power of two): the index bits as dimensions
// of 2, each one swapped.
CgValue flipAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, SourceLoc loc);

// A compile-time flag argument (keep_dims=, reverse=, descending=).
bool flag(Binder &b, const std::string &name);

// The high 32 bits of the unsigned 64-bit product of two int32 values.
CgValue umulhi32(KernelBuilder &kb, const CgValue &a, const CgValue &b, SourceLoc loc);

} // namespace terrazzo::dsl::composite
