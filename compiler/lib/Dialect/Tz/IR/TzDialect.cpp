//===- TzDialect.cpp - tz dialect registration and types -----------------===//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace terrazzo::tz;

#include "terrazzo/Dialect/Tz/IR/TzDialect.cpp.inc"
#include "terrazzo/Dialect/Tz/IR/TzEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzAttrs.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzTypes.cpp.inc"

void TzDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "terrazzo/Dialect/Tz/IR/TzOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "terrazzo/Dialect/Tz/IR/TzTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "terrazzo/Dialect/Tz/IR/TzAttrs.cpp.inc"
      >();
}

Operation *TzDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

namespace terrazzo::tz {

Type getElementTypeOrSelf(Type type) {
  if (auto tile = dyn_cast<RankedTensorType>(type))
    return tile.getElementType();
  return type;
}

Type replaceElementType(Type like, Type element) {
  if (auto tile = dyn_cast<RankedTensorType>(like))
    return RankedTensorType::get(tile.getShape(), element);
  return element;
}

} // namespace terrazzo::tz
