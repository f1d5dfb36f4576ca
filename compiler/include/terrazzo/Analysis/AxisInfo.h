//===- AxisInfo.h - contiguity, divisibility and constancy of tiles -*- C++ -*-===//
//
// What the vectorised memory lowering needs to know about an integer or
// pointer tile, per dimension:
//   contiguity  runs of this many elements increase by one (pointers: by one
//               element) along the dimension;
//   divisibility the first element of each run is a multiple of this (for
//               pointers, in bytes: the alignment);
//   constancy   runs of this many elements are equal along the dimension.
// All three are powers of two. Scalars have rank 0 and carry divisibility
// only. A forward pass over the kernel (no fixpoint: loop-carried values are
// taken as unknown, induction variables from their bounds and step).
#pragma once

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace terrazzo {

struct AxisInfo {
  llvm::SmallVector<int64_t, 2> contiguity, constancy;
  int64_t divisibility = 1;
  // Divisibility is kept for the whole tile (the weakest run start), which
  // is what alignment questions ask.
  static AxisInfo unknown(int rank);
  int rank() const { return contiguity.size(); }
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
