// Builtins that the frontend builds out of other tz operations instead of
// giving them an op of their own: join/split/interleave/cat/flip/ravel,
// reduce and associative_scan with a user combine function, histogram, and
// the small helpers of triton.language's standard library (softmax,
// swizzle2d, umulhi, ...). Because they lower to ordinary reshapes, selects
// and reductions, the interpreter and the GPU compiler run them unchanged.
#pragma once

#include "BuiltinBinder.h"

namespace terrazzo::dsl {

void addCompositeBuiltins(BuiltinTable &table);

// The parts addCompositeBuiltins adds, one file each.
void addCombineBuiltins(BuiltinTable &table); // CombineBuiltins.cpp
void addSortBuiltins(BuiltinTable &table);    // SortBuiltins.cpp
void addRandomBuiltins(BuiltinTable &table);  // RandomBuiltins.cpp
void addDerivativeBuiltins(BuiltinTable &table); // DerivativeBuiltins.cpp

// The Triton names terrazzo does not implement, with the reason given in the
// error when a kernel uses one (empty when the name is unknown).
std::string unsupportedTritonName(const std::string &name);

} // namespace terrazzo::dsl
