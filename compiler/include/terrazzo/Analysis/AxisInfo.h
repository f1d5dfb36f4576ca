//===- AxisInfo.h - contiguity, divisibility and constancy of tiles -*- C++ -*-===//
//
// What the vectorised memory lowering needs to know about an integer or
// pointer tile, per dimension:
//   contiguity   runs of this many elements increase by one (pointers: by one
//                element) along the dimension;
//   divisibility the first element of each run along the dimension is a
//                multiple of this (for pointers, in bytes: the alignment);
//   constancy    runs of this many elements are equal along the dimension.
// All three are powers of two. Divisibility is per dimension because the
// run starts differ: in rows[:, None] * 139 + cols[None, :] the runs along
// the columns start at every row (multiples of 139, so alignment 1), while
// rows[:, None] alone has one run along the rows, starting at 0. Scalars
// have rank 0 and carry one divisibility. A forward pass over the kernel
// (no fixpoint: loop-carried values are taken as unknown, induction
// variables from their bounds and step).
#pragma once

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace terrazzo {

struct AxisInfo {
  llvm::SmallVector<int64_t, 2> contiguity, constancy;
  // One entry per dimension; one entry for a scalar.
  llvm::SmallVector<int64_t, 2> divisibility;
  static AxisInfo unknown(int rank);
  int rank() const { return contiguity.size(); }
  // Divisibility along dimension d; a scalar's along any dimension (it is
  // the same value everywhere once splat).
  int64_t div(int d) const { return divisibility[rank() ? d : 0]; }
};

class AxisInfoAnalysis {
public:
  // Analyses every function in `root`.
  explicit AxisInfoAnalysis(mlir::Operation *root);
  // The facts about `v` (unknown for values the analysis did not see).
  AxisInfo get(mlir::Value v) const;

private:
  void visit(mlir::Operation *op);
  llvm::DenseMap<mlir::Value, AxisInfo> info_;
};

} // namespace terrazzo
