//===- TmaCopyPlan.h - which tile loads may be TMA copies -------*- C++ -*-===//
//
// A TMA copy moves a box [rows x cols] of a global tensor described by a
// tensor map, which the host encodes from the kernel's arguments before the
// launch. A tile load in a loop may become one when its addresses are
//
//   base + extra + (r0 + i) * row_stride + (c0 + j),   i < rows, j < cols
//
// with `base` a 16-byte aligned pointer argument, `row_stride` a positive
// constant or an integer argument whose elements make whole 16 bytes,
// and `extra` a sum of terms x * s with s such an argument (each becomes
// one more dimension of the map: batch and head offsets), and when its mask
// is absent or only bounds the row and column indices by values the host
// knows (a constant or an argument): those become the map's extents, and
// TMA reads what lies past them as zeros, as the masked load does. r0, c0
// and the x of extra terms may be any pure function of the loop index and
// loop-invariant values: they are the copy's coordinates, computed for the
// iteration the copy is issued for.
//
// Coordinates that are negative read as zeros too, where the load would
// have read before `base`, outside any tensor: kernels do not do that.
// Tiles are 16-bit, at most 256 rows (a multiple of 8, so that each
// 128-byte column block starts where the swizzle pattern does), columns a
// multiple of 64; `other` is absent or +0.
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace terrazzo::tzgpu {

// An integer polynomial over atoms: SSA values the analysis does not look
// into, and (`iterationAtom`) the number of iterations a loop has run.
class IndexPolynomial {
public:
  using Monomial = std::vector<const void *>; // sorted atoms, repeated for powers
  IndexPolynomial() = default;
  static IndexPolynomial constant(int64_t c);
  static IndexPolynomial atom(const void *a);

  IndexPolynomial operator+(const IndexPolynomial &o) const;
  IndexPolynomial operator-(const IndexPolynomial &o) const;
  IndexPolynomial operator*(const IndexPolynomial &o) const;
  bool operator==(const IndexPolynomial &o) const { return terms == o.terms; }

  std::optional<int64_t> asConstant() const;
  // The atom when this is exactly that atom (coefficient one).
  const void *asAtom() const;
  // Every atom `a` of this polynomial replaced by `to(a)`.
  IndexPolynomial substitute(const std::function<IndexPolynomial(const void *)> &to) const;

  std::map<Monomial, int64_t> terms; // no zero coefficients
};

struct TmaCopyPlan {
  // How the host encodes the tensor map (base, extents and strides as
  // kernel argument indices or constants).
  TensorMapSpecAttr spec;
  // Where the tile starts, dimension 0 (columns) first, over atoms that are
  // values of the loop body or before it, or iterationAtom(loop).
  std::vector<IndexPolynomial> coords;
};

// The atom that stands for the number of iterations `loop` ran before the
// current one ((index - lower bound) / step).
const void *iterationAtom(mlir::scf::ForOp loop);

// How `load`, a 2-D load of 16-bit elements in `loop`'s body whose tile is
// stored in the 128-byte swizzle, can be a TMA copy; nullopt if it cannot
// be one exactly.
std::optional<TmaCopyPlan> planTmaCopy(tz::LoadOp load, mlir::scf::ForOp loop);

// Emits `p` as i32 arithmetic at `b`, each atom given by `atomValue` (an
// integer value).
mlir::Value materialize(mlir::OpBuilder &b, mlir::Location loc, const IndexPolynomial &p,
                        const std::function<mlir::Value(const void *)> &atomValue);

} // namespace terrazzo::tzgpu
