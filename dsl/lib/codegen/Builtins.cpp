// The terrazzo builtins (`tz.load`, `tz.dot`, `tz.sum`, ...), with Triton's
// argument names, and the attributes of the module, of tiles and of dtypes.
#include "BuiltinBinder.h"
#include "CompositeBuiltins.h"
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <functional>
#include <unordered_map>

using namespace mlir;

namespace terrazzo::dsl {

namespace {

ArrayRef<int64_t> shapeOf(Type t) {
  if (auto tile = dyn_cast<RankedTensorType>(t))
    return tile.getShape();
  return {};
}
Type elementOf(Type t) { return tz::getElementTypeOrSelf(t); }

Type dtypeArg(KernelBuilder &kb, const CgValue &v, SourceLoc loc, const std::string &what) {
  if (v.kind != CgValue::Kind::Dtype)
    kb.fail(loc, what + " must be a dtype such as tz.float32, not " + kb.describe(v));
  return v.type;
}

// Normalizes a possibly negative axis.
int64_t axisArg(KernelBuilder &kb, int64_t axis, int64_t rank, SourceLoc loc) {
  if (axis < -rank || axis >= rank)
    kb.fail(loc, "axis " + std::to_string(axis) + " is out of range for a tile of rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

// Applies a float math op elementwise; integer inputs become float32.
template <typename OpT>
BuiltinFn unaryMath(const char *name) {
  return [name](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, name, args, loc, {"x"});
    Value x = b.ir("x");
    if (!isa<FloatType>(elementOf(x.getType())))
      x = kb.castTo(x, kb.builder().getF32Type(), loc);
    return CgValue::fromIr(kb.builder().create<OpT>(kb.location(loc), x));
  };
}

// A two-operand float math op (pow, atan2, copysign): operands promoted
// together; integer operands become float32.
template <typename OpT>
BuiltinFn binaryMath(const char *name) {
  return [name](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, name, args, loc, {"arg0", "arg1"});
    auto [x, y] = kb.unify(b.get("arg0"), b.get("arg1"), loc, name);
    if (!isa<FloatType>(elementOf(x.getType()))) {
      x = kb.castTo(x, kb.builder().getF32Type(), loc);
      y = kb.castTo(y, kb.builder().getF32Type(), loc);
    }
    return CgValue::fromIr(kb.builder().create<OpT>(kb.location(loc), x, y));
  };
}

CgValue reduce(KernelBuilder &kb, CallArgs &args, SourceLoc loc, const char *name, tz::ReduceKind kind) {
  bool isMinMax = kind == tz::ReduceKind::Max || kind == tz::ReduceKind::Min;
  std::vector<std::string> params = {"input", "axis=", "keep_dims="};
  if (isMinMax)
    params = {"input", "axis=", "return_indices=", "return_indices_tie_break_left=", "keep_dims="};
  Binder b(kb, name, args, loc, params);
  Value x = b.ir("input");
  auto tile = dyn_cast<RankedTensorType>(x.getType());
  if (!tile)
    kb.fail(loc, std::string("tz.") + name + " needs a tile, not a scalar");
  bool keepDims = b.has("keep_dims") && b.integer("keep_dims");
  Location l = kb.location(loc);
  auto &builder = kb.builder();
  Type elem = tile.getElementType();
  if (isa<tz::PointerType>(elem))
    kb.fail(loc, std::string("tz.") + name + " cannot reduce a tile of pointers");
  if (kind == tz::ReduceKind::Xor && !isa<IntegerType>(elem))
    kb.fail(loc, "tz.xor_sum needs integer elements, not " + kb.typeName(elem));
  // Sums of narrow integers accumulate in int32, as in Triton.
  if (kind == tz::ReduceKind::Sum && isa<IntegerType>(elem) && elem.getIntOrFloatBitWidth() < 32) {
    x = kb.castTo(x, builder.getI32Type(), loc);
    tile = cast<RankedTensorType>(x.getType());
    elem = tile.getElementType();
  }
  int64_t axis;
  if (!b.has("axis")) {
    // Reduce every axis: flatten first.
    if (tile.getRank() > 1) {
      x = builder.create<tz::ReshapeOp>(l, RankedTensorType::get({tile.getNumElements()}, elem), x);
      tile = cast<RankedTensorType>(x.getType());
    }
    axis = 0;
  } else {
    axis = axisArg(kb, b.integer("axis"), tile.getRank(), loc);
  }
  auto reduceAs = [&](tz::ReduceKind k, Type resultElem) -> Value {
    SmallVector<int64_t> shape(tile.getShape());
    shape.erase(shape.begin() + axis);
    Type rt = shape.empty() ? resultElem : Type(RankedTensorType::get(shape, resultElem));
    Value r = builder.create<tz::ReduceOp>(l, rt, tz::ReduceKindAttr::get(&kb.context(), k), x,
                                           builder.getI32IntegerAttr(axis));
    if (keepDims) {
      if (!b.has("axis"))
        kb.fail(loc, "keep_dims needs an axis");
      SmallVector<int64_t> kept(tile.getShape());
      kept[axis] = 1;
      if (shape.empty())
        r = kb.broadcastTo(r, kept, loc);
      else
        r = builder.create<tz::ExpandDimsOp>(l, RankedTensorType::get(kept, resultElem), r, axis);
    }
    return r;
  };
  Value result = reduceAs(kind, elem);
  if (isMinMax && b.has("return_indices") && b.integer("return_indices")) {
    auto argKind = kind == tz::ReduceKind::Max ? tz::ReduceKind::Argmax : tz::ReduceKind::Argmin;
    return CgValue::tuple({CgValue::fromIr(result), CgValue::fromIr(reduceAs(argKind, builder.getI32Type()))});
  }
  return CgValue::fromIr(result);
}

CgValue argReduce(KernelBuilder &kb, CallArgs &args, SourceLoc loc, const char *name, tz::ReduceKind kind) {
  Binder b(kb, name, args, loc, {"input", "axis", "tie_break_left=", "keep_dims="});
  Value x = b.ir("input");
  auto tile = dyn_cast<RankedTensorType>(x.getType());
  if (!tile)
    kb.fail(loc, std::string("tz.") + name + " needs a tile, not a scalar");
  if (isa<tz::PointerType>(tile.getElementType()))
    kb.fail(loc, std::string("tz.") + name + " cannot reduce a tile of pointers");
  int64_t axis = axisArg(kb, b.integer("axis"), tile.getRank(), loc);
  SmallVector<int64_t> shape(tile.getShape());
  shape.erase(shape.begin() + axis);
  Type i32 = kb.builder().getI32Type();
  Type rt = shape.empty() ? i32 : Type(RankedTensorType::get(shape, i32));
  Location l = kb.location(loc);
  Value r = kb.builder().create<tz::ReduceOp>(l, rt, tz::ReduceKindAttr::get(&kb.context(), kind), x,
                                              kb.builder().getI32IntegerAttr(axis));
  if (b.has("keep_dims") && b.integer("keep_dims")) {
    SmallVector<int64_t> kept(tile.getShape());
    kept[axis] = 1;
    r = shape.empty() ? kb.broadcastTo(r, kept, loc)
                      : Value(kb.builder().create<tz::ExpandDimsOp>(l, RankedTensorType::get(kept, i32), r, axis));
  }
  return CgValue::fromIr(r);
}

CgValue scan(KernelBuilder &kb, CallArgs &args, SourceLoc loc, const char *name, tz::ReduceKind kind) {
  Binder b(kb, name, args, loc, {"input", "axis=", "reverse=", "dtype="});
  Value x = b.ir("input");
  auto tile = dyn_cast<RankedTensorType>(x.getType());
  if (!tile)
    kb.fail(loc, std::string("tz.") + name + " needs a tile, not a scalar");
  if (isa<tz::PointerType>(tile.getElementType()))
    kb.fail(loc, std::string("tz.") + name + " cannot scan a tile of pointers");
  if (b.has("dtype"))
    x = kb.castTo(x, dtypeArg(kb, b.get("dtype"), loc, "dtype"), loc);
  else if (isa<IntegerType>(tile.getElementType()) && tile.getElementType().getIntOrFloatBitWidth() < 32)
    x = kb.castTo(x, kb.builder().getI32Type(), loc);
  int64_t axis = axisArg(kb, b.has("axis") ? b.integer("axis") : 0, tile.getRank(), loc);
  bool reverse = b.has("reverse") && b.integer("reverse");
  auto op = kb.builder().create<tz::ScanOp>(kb.location(loc), x.getType(),
                                            tz::ReduceKindAttr::get(&kb.context(), kind), x,
                                            kb.builder().getI32IntegerAttr(axis),
                                            reverse ? kb.builder().getUnitAttr() : UnitAttr());
  return CgValue::fromIr(op);
}

// Broadcasts pointer, mask and other values of a memory op to one shape.
struct MemoryOperands {
  Value ptr, value, mask;
};
MemoryOperands memoryOperands(KernelBuilder &kb, Binder &b, const char *valueName, SourceLoc loc,
                              bool valueIsOther) {
  Value ptr = b.ir("pointer");
  auto ptrType = dyn_cast<tz::PointerType>(elementOf(ptr.getType()));
  if (!ptrType)
    kb.fail(loc, "argument 'pointer' must be a pointer or a tile of pointers, not " + kb.typeName(ptr.getType()));
  std::vector<int64_t> shape(shapeOf(ptr.getType()).begin(), shapeOf(ptr.getType()).end());
  Value mask;
  if (b.has("mask")) {
    mask = kb.castTo(b.ir("mask"), kb.builder().getI1Type(), loc);
    shape = kb.broadcastShapes(shape, shapeOf(mask.getType()), loc, "mask");
  }
  Value value;
  // A store's or an atomic's value is required; `None` there (mask and
  // `other` may be None) used to reach the op builder as a null Value.
  if (valueName && !valueIsOther && !b.has(valueName))
    kb.fail(loc, std::string("argument '") + valueName + "' must be a number or a tile, not " +
                     kb.describe(b.get(valueName)));
  if (valueName && b.has(valueName)) {
    CgValue v = b.get(valueName);
    Type target = ptrType.getPointeeType();
    value = v.isIr() ? kb.castTo(v.ir, target, loc) : kb.materializeAs(v, target, loc);
    if (!valueIsOther)
      shape = kb.broadcastShapes(shape, shapeOf(value.getType()), loc, valueName);
  }
  MemoryOperands ops;
  ops.ptr = kb.broadcastTo(ptr, shape, loc);
  if (mask)
    ops.mask = kb.broadcastTo(mask, shape, loc);
  if (value)
    ops.value = kb.broadcastTo(value, shape, loc);
  return ops;
}

CgValue atomicRmw(KernelBuilder &kb, CallArgs &args, SourceLoc loc, const char *name, tz::AtomicKind kind) {
  Binder b(kb, name, args, loc, {"pointer", "val", "mask=", "sem=", "scope="});
  MemoryOperands m = memoryOperands(kb, b, "val", loc, false);
  if (elementOf(m.value.getType()).isInteger(1))
    kb.fail(loc, std::string("tz.") + name + " does not work on bool (int1) memory; use an int32 pointer");
  bool bitwise = kind == tz::AtomicKind::And || kind == tz::AtomicKind::Or || kind == tz::AtomicKind::Xor;
  if (bitwise && !isa<IntegerType>(elementOf(m.value.getType())))
    kb.fail(loc, std::string("tz.") + name + " needs an integer tensor, not " +
                     kb.typeName(elementOf(m.value.getType())));
  auto op = kb.builder().create<tz::AtomicRMWOp>(kb.location(loc), m.value.getType(),
                                                 tz::AtomicKindAttr::get(&kb.context(), kind), m.ptr,
                                                 m.value, m.mask);
  return CgValue::fromIr(op);
}

CgValue elementwiseBinary(KernelBuilder &kb, CallArgs &args, SourceLoc loc, const char *name, bool isMax) {
  Binder b(kb, name, args, loc, {"x", "y", "propagate_nan="});
  auto [x, y] = kb.unify(b.get("x"), b.get("y"), loc, name);
  Location l = kb.location(loc);
  auto &builder = kb.builder();
  if (isa<FloatType>(elementOf(x.getType())))
    return CgValue::fromIr(isMax ? Value(builder.create<arith::MaximumFOp>(l, x, y))
                                 : Value(builder.create<arith::MinimumFOp>(l, x, y)));
  return CgValue::fromIr(isMax ? Value(builder.create<arith::MaxSIOp>(l, x, y))
                               : Value(builder.create<arith::MinSIOp>(l, x, y)));
}

// Python's min()/max(): folded on compile-time numbers; once a run-time value
// takes part, the remaining arguments fold through tz.minimum/tz.maximum (as
// Triton does, so `min(num_pid_m - first_pid_m, GROUP_SIZE_M)` works). Like
// Python, ties keep the earlier argument.
CgValue pythonMinMax(KernelBuilder &kb, CallArgs &args, SourceLoc loc, bool isMax) {
  std::vector<CgValue> items = args.positional;
  if (items.size() == 1 && items[0].kind == CgValue::Kind::Tuple)
    items = items[0].elems;
  if (items.empty() || !args.keywords.empty())
    kb.fail(loc, std::string(isMax ? "max" : "min") + "() needs at least one argument");
  if (items.size() == 1 && items[0].isIr())
    kb.fail(loc, std::string(isMax ? "max" : "min") + "() of a single tile: use tz." + (isMax ? "max" : "min") +
                     "(x) to reduce it");
  CgValue best = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    if (best.isNumber() && items[i].isNumber()) {
      bool greater = kb.compareOp(CmpOpKind::Gt, items[i], best, loc).boolValue;
      if (greater == isMax && !kb.compareOp(CmpOpKind::Eq, items[i], best, loc).boolValue)
        best = items[i];
      continue;
    }
    CallArgs pair;
    pair.positional = {best, items[i]};
    pair.positionalLocs = {loc, loc};
    best = kb.callBuiltin(isMax ? "maximum" : "minimum", pair, loc);
  }
  return best;
}

// Loads the window of a block pointer or descriptor; masked-off elements read
// as zero (or NaN with padding_option="nan").
CgValue loadWindow(KernelBuilder &kb, const KernelBuilder::Window &w, const CgValue &padding, SourceLoc loc) {
  Type pointee = cast<tz::PointerType>(elementOf(w.ptr.getType())).getPointeeType();
  Type result = tz::replaceElementType(w.ptr.getType(), pointee);
  Value other;
  if (w.mask) {
    double fill = 0;
    if (padding.kind == CgValue::Kind::String) {
      if (padding.text == "nan") {
        if (!isa<FloatType>(pointee))
          kb.fail(loc, "padding_option='nan' needs a floating-point tensor");
        fill = NAN;
      } else if (padding.text != "zero" && !padding.text.empty()) {
        kb.fail(loc, "padding_option must be 'zero' or 'nan', not '" + padding.text + "'");
      }
    }
    other = kb.constantLike(result, fill, loc);
  }
  return CgValue::fromIr(kb.builder().create<tz::LoadOp>(kb.location(loc), result, w.ptr, w.mask, other));
}

CgValue storeWindow(KernelBuilder &kb, const KernelBuilder::Window &w, const CgValue &value, SourceLoc loc) {
  Type pointee = cast<tz::PointerType>(elementOf(w.ptr.getType())).getPointeeType();
  Value v = value.isIr() ? kb.castTo(value.ir, pointee, loc) : kb.materializeAs(value, pointee, loc);
  auto shape = shapeOf(w.ptr.getType());
  if (shapeOf(v.getType()) != shape && !shapeOf(v.getType()).empty() &&
      shapeOf(v.getType()).size() == shape.size()) {
    bool fits = true;
    for (size_t i = 0; i < shape.size(); ++i)
      fits &= shapeOf(v.getType())[i] == shape[i] || shapeOf(v.getType())[i] == 1;
    if (!fits)
      kb.fail(loc, "the stored " + kb.typeName(v.getType()) + " does not match the block shape of " +
                       kb.typeName(w.ptr.getType()));
  }
  v = kb.broadcastTo(v, shape, loc);
  kb.builder().create<tz::StoreOp>(kb.location(loc), w.ptr, v, w.mask);
  return CgValue::none();
}

std::vector<int64_t> allDims(size_t rank) {
  std::vector<int64_t> dims(rank);
  for (size_t i = 0; i < rank; ++i)
    dims[i] = i;
  return dims;
}

const std::unordered_map<std::string, BuiltinFn> &builtinTable() {
  static const std::unordered_map<std::string, BuiltinFn> table = [] {
    std::unordered_map<std::string, BuiltinFn> t;
    auto programIndex = [](bool count) {
      return [count](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        Binder b(kb, count ? "num_programs" : "program_id", args, loc, {"axis"});
        int64_t axis = b.integer("axis");
        if (axis < 0 || axis > 2)
          kb.fail(loc, "axis must be 0, 1 or 2, not " + std::to_string(axis));
        Location l = kb.location(loc);
        Type i32 = kb.builder().getI32Type();
        Value v = count ? Value(kb.builder().create<tz::NumProgramsOp>(l, i32, (int32_t)axis))
                        : Value(kb.builder().create<tz::ProgramIdOp>(l, i32, (int32_t)axis));
        return CgValue::fromIr(v);
      };
    };
    t["program_id"] = programIndex(false);
    t["num_programs"] = programIndex(true);

    t["arange"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "arange", args, loc, {"start", "end"});
      int64_t start = b.integer("start"), end = b.integer("end");
      if (start < INT32_MIN || start > INT32_MAX || end < INT32_MIN || end > INT32_MAX)
        kb.fail(loc, "tz.arange bounds must fit in int32");
      int64_t n = end - start;
      if (n <= 0 || (n & (n - 1)) != 0)
        kb.fail(loc, "tz.arange(" + std::to_string(start) + ", " + std::to_string(end) + ") has " +
                         std::to_string(n) + " elements; the size of a range must be a power of two");
      kb.checkTileSize({n}, loc);
      auto type = RankedTensorType::get({n}, kb.builder().getI32Type());
      return CgValue::fromIr(kb.builder().create<tz::MakeRangeOp>(kb.location(loc), type, (int32_t)start, (int32_t)end));
    };
    auto fill = [](bool zeros) {
      return [zeros](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        const char *name = zeros ? "zeros" : "full";
        Binder b(kb, name, args, loc, zeros ? std::vector<std::string>{"shape", "dtype="}
                                            : std::vector<std::string>{"shape", "value", "dtype"});
        auto shape = kb.requireShape(b.get("shape"), loc, std::string("tz.") + name + " shape");
        Type dtype = b.has("dtype") ? dtypeArg(kb, b.get("dtype"), loc, "dtype") : kb.builder().getF32Type();
        auto type = RankedTensorType::get(shape, dtype);
        CgValue value = zeros ? CgValue::integer(0) : b.get("value");
        return CgValue::fromIr(kb.materializeAs(value, type, loc));
      };
    };
    t["zeros"] = fill(true);
    t["full"] = fill(false);
    t["zeros_like"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "zeros_like", args, loc, {"input"});
      return CgValue::fromIr(kb.constantLike(b.ir("input").getType(), 0, loc));
    };

    t["load"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "load", args, loc, {"pointer", "mask=", "other=", "boundary_check=", "padding_option=",
                                       "cache_modifier=", "eviction_policy=", "volatile="});
      CgValue ptrArg = b.get("pointer");
      if (ptrArg.kind == CgValue::Kind::BlockPtr) {
        if (b.has("mask") || b.has("other"))
          kb.fail(loc, "loads through a block pointer take boundary_check and padding_option, not mask/other");
        auto dims = kb.boundaryCheckDims(b.get("boundary_check"), ptrArg.blockShape.size(), loc);
        return loadWindow(kb, kb.windowOf(ptrArg, nullptr, dims, loc), b.get("padding_option"), loc);
      }
      if (b.has("boundary_check"))
        kb.fail(loc, "boundary_check needs a block pointer (tz.make_block_ptr)");
      MemoryOperands m = memoryOperands(kb, b, "other", loc, true);
      Type pointee = cast<tz::PointerType>(elementOf(m.ptr.getType())).getPointeeType();
      Type result = tz::replaceElementType(m.ptr.getType(), pointee);
      Value other = m.value ? kb.broadcastTo(m.value, shapeOf(result), loc) : Value();
      if (other && !m.mask)
        other = Value(); // nothing is masked off, so `other` is never used
      auto op = kb.builder().create<tz::LoadOp>(kb.location(loc), result, m.ptr, m.mask, other);
      return CgValue::fromIr(op);
    };
    t["store"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "store", args, loc, {"pointer", "value", "mask=", "boundary_check=", "cache_modifier=",
                                        "eviction_policy="});
      CgValue ptrArg = b.get("pointer");
      if (ptrArg.kind == CgValue::Kind::BlockPtr) {
        if (b.has("mask"))
          kb.fail(loc, "stores through a block pointer take boundary_check, not mask");
        auto dims = kb.boundaryCheckDims(b.get("boundary_check"), ptrArg.blockShape.size(), loc);
        return storeWindow(kb, kb.windowOf(ptrArg, nullptr, dims, loc), b.get("value"), loc);
      }
      if (b.has("boundary_check"))
        kb.fail(loc, "boundary_check needs a block pointer (tz.make_block_ptr)");
      MemoryOperands m = memoryOperands(kb, b, "value", loc, false);
      if (shapeOf(m.value.getType()) != shapeOf(m.ptr.getType()))
        m.ptr = kb.broadcastTo(m.ptr, shapeOf(m.value.getType()), loc);
      kb.builder().create<tz::StoreOp>(kb.location(loc), m.ptr, m.value, m.mask);
      return CgValue::none();
    };

    t["make_block_ptr"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "make_block_ptr", args, loc, {"base", "shape", "strides", "offsets", "block_shape", "order"});
      return kb.makeBlockPtr(b.get("base"), b.get("shape"), b.get("strides"), b.get("offsets"),
                             b.get("block_shape"), b.get("order"), loc);
    };
    t["advance"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "advance", args, loc, {"base", "offsets"});
      return kb.advanceBlockPtr(b.get("base"), b.get("offsets"), loc);
    };
    t["make_tensor_descriptor"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "make_tensor_descriptor", args, loc, {"base", "shape", "strides", "block_shape"});
      return kb.makeTensorDesc(b.get("base"), b.get("shape"), b.get("strides"), b.get("block_shape"), loc);
    };
    auto requireDesc = [](KernelBuilder &kb, const CgValue &d, SourceLoc loc) {
      if (d.kind != CgValue::Kind::TensorDesc)
        kb.fail(loc, "expected a tensor descriptor (tz.make_tensor_descriptor), not " + kb.describe(d));
    };
    t["load_tensor_descriptor"] = [requireDesc](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "load_tensor_descriptor", args, loc, {"desc", "offsets"});
      CgValue desc = b.get("desc"), offsets = b.get("offsets");
      requireDesc(kb, desc, loc);
      // Like TMA: elements outside the tensor read as zero.
      return loadWindow(kb, kb.windowOf(desc, &offsets, allDims(desc.blockShape.size()), loc), CgValue::none(), loc);
    };
    t["store_tensor_descriptor"] = [requireDesc](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "store_tensor_descriptor", args, loc, {"desc", "offsets", "value"});
      CgValue desc = b.get("desc"), offsets = b.get("offsets");
      requireDesc(kb, desc, loc);
      // Like TMA: elements outside the tensor are not written.
      return storeWindow(kb, kb.windowOf(desc, &offsets, allDims(desc.blockShape.size()), loc), b.get("value"), loc);
    };

    t["dot"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "dot", args, loc, {"input", "other", "acc=", "input_precision=", "allow_tf32=",
                                      "max_num_imprecise_acc=", "out_dtype="});
      Value a = b.ir("input"), bm = b.ir("other");
      auto ta = dyn_cast<RankedTensorType>(a.getType()), tb = dyn_cast<RankedTensorType>(bm.getType());
      if (!ta || !tb || ta.getRank() != 2 || tb.getRank() != 2)
        kb.fail(loc, "tz.dot needs two 2-D tiles, got " + kb.typeName(a.getType()) + " and " + kb.typeName(bm.getType()));
      if (ta.getDimSize(1) != tb.getDimSize(0))
        kb.fail(loc, "shape mismatch in tz.dot: " + kb.typeName(ta) + " @ " + kb.typeName(tb) +
                         " (inner dimensions " + std::to_string(ta.getDimSize(1)) + " and " +
                         std::to_string(tb.getDimSize(0)) + " differ)");
      if (!isa<FloatType>(ta.getElementType()) || !isa<FloatType>(tb.getElementType()))
        kb.fail(loc, "tz.dot supports floating-point tiles only");
      if (ta.getElementType() != tb.getElementType()) {
        Type common = kb.commonElementType(CgValue::fromIr(a), CgValue::fromIr(bm), loc);
        a = kb.castTo(a, common, loc);
        bm = kb.castTo(bm, common, loc);
      }
      Type outElem = b.has("out_dtype") ? dtypeArg(kb, b.get("out_dtype"), loc, "out_dtype") : kb.builder().getF32Type();
      if (!isa<FloatType>(outElem))
        kb.fail(loc, "tz.dot out_dtype must be a floating-point type (float16, bfloat16, float32 or float64), not " +
                         kb.typeName(outElem));
      if (cast<RankedTensorType>(a.getType()).getElementType().isF64())
        outElem = kb.builder().getF64Type();
      auto accType = RankedTensorType::get({ta.getDimSize(0), tb.getDimSize(1)}, outElem);
      Value acc;
      if (b.has("acc")) {
        acc = b.ir("acc");
        if (shapeOf(acc.getType()) != accType.getShape())
          kb.fail(loc, "tz.dot accumulator is " + kb.typeName(acc.getType()) + " but the product is " +
                           std::to_string(ta.getDimSize(0)) + "x" + std::to_string(tb.getDimSize(1)));
        accType = cast<RankedTensorType>(acc.getType());
        if (!isa<FloatType>(accType.getElementType()))
          kb.fail(loc, "tz.dot accumulator must be a floating-point tile");
      } else {
        acc = kb.constantLike(accType, 0, loc);
      }
      Type inElem = cast<RankedTensorType>(a.getType()).getElementType();
      if (inElem.getIntOrFloatBitWidth() > accType.getElementType().getIntOrFloatBitWidth())
        kb.fail(loc, "tz.dot accumulator " + kb.typeName(accType) + " is narrower than its inputs");
      // A 16-bit accumulator holds products of its own type only (f16 into
      // f16); an f16 product into bf16, or the reverse, has no instruction.
      if (accType.getElementType().getIntOrFloatBitWidth() == 16 && accType.getElementType() != inElem)
        kb.fail(loc, "tz.dot of " + kb.typeName(inElem) + " tiles cannot accumulate into " +
                         kb.typeName(accType) + "; use a float32 accumulator or inputs of its type");
      return CgValue::fromIr(kb.builder().create<tz::DotOp>(kb.location(loc), accType, a, bm, acc));
    };

    t["where"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "where", args, loc, {"condition", "x", "y"});
      Value c = kb.castTo(b.ir("condition"), kb.builder().getI1Type(), loc);
      CgValue x = b.get("x"), y = b.get("y");
      auto isPtrVal = [](const CgValue &v) { return v.isIr() && isa<tz::PointerType>(elementOf(v.ir.getType())); };
      Value vx, vy;
      if (isPtrVal(x) || isPtrVal(y)) {
        vx = kb.requireIr(x, loc, "x");
        vy = kb.requireIr(y, loc, "y");
        if (elementOf(vx.getType()) != elementOf(vy.getType()))
          kb.fail(loc, "tz.where needs pointers of one type");
        auto s = kb.broadcastShapes(shapeOf(vx.getType()), shapeOf(vy.getType()), loc, "tz.where");
        vx = kb.broadcastTo(vx, s, loc);
        vy = kb.broadcastTo(vy, s, loc);
      } else {
        std::tie(vx, vy) = kb.unify(x, y, loc, "tz.where");
      }
      auto shape = kb.broadcastShapes(shapeOf(c.getType()), shapeOf(vx.getType()), loc, "tz.where");
      c = kb.broadcastTo(c, shape, loc);
      vx = kb.broadcastTo(vx, shape, loc);
      vy = kb.broadcastTo(vy, shape, loc);
      return CgValue::fromIr(kb.builder().create<arith::SelectOp>(kb.location(loc), c, vx, vy));
    };
    t["maximum"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return elementwiseBinary(kb, a, l, "maximum", true); };
    t["minimum"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return elementwiseBinary(kb, a, l, "minimum", false); };
    t["clamp"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "clamp", args, loc, {"x", "min", "max", "propagate_nan="});
      CallArgs lo;
      lo.positional = {b.get("x"), b.get("min")};
      CgValue low = elementwiseBinary(kb, lo, loc, "maximum", true);
      CallArgs hi;
      hi.positional = {low, b.get("max")};
      return elementwiseBinary(kb, hi, loc, "minimum", false);
    };

    t["exp"] = unaryMath<math::ExpOp>("exp");
    t["exp2"] = unaryMath<math::Exp2Op>("exp2");
    t["log"] = unaryMath<math::LogOp>("log");
    t["log2"] = unaryMath<math::Log2Op>("log2");
    t["sqrt"] = unaryMath<math::SqrtOp>("sqrt");
    t["sqrt_rn"] = unaryMath<math::SqrtOp>("sqrt_rn");
    t["rsqrt"] = unaryMath<math::RsqrtOp>("rsqrt");
    t["sin"] = unaryMath<math::SinOp>("sin");
    t["cos"] = unaryMath<math::CosOp>("cos");
    t["tanh"] = unaryMath<math::TanhOp>("tanh");
    t["floor"] = unaryMath<math::FloorOp>("floor");
    t["ceil"] = unaryMath<math::CeilOp>("ceil");
    t["erf"] = unaryMath<math::ErfOp>("erf");
    // libdevice functions that have a math-dialect op (the GPU lowering
    // calls libdevice for them; the interpreter evaluates them in double).
    t["tan"] = unaryMath<math::TanOp>("tan");
    t["atan"] = unaryMath<math::AtanOp>("atan");
    t["expm1"] = unaryMath<math::ExpM1Op>("expm1");
    t["log10"] = unaryMath<math::Log10Op>("log10");
    t["log1p"] = unaryMath<math::Log1pOp>("log1p");
    t["trunc"] = unaryMath<math::TruncOp>("trunc");
    t["round"] = unaryMath<math::RoundOp>("round");
    t["rint"] = unaryMath<math::RoundEvenOp>("rint");
    t["nearbyint"] = unaryMath<math::RoundEvenOp>("nearbyint");
    t["pow"] = binaryMath<math::PowFOp>("pow");
    t["atan2"] = binaryMath<math::Atan2Op>("atan2");
    t["copysign"] = binaryMath<math::CopySignOp>("copysign");
    t["sigmoid"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "sigmoid", args, loc, {"x"});
      Value x = b.ir("x");
      if (!isa<FloatType>(elementOf(x.getType())))
        x = kb.castTo(x, kb.builder().getF32Type(), loc);
      Location l = kb.location(loc);
      Value one = kb.constantLike(x.getType(), 1.0, loc);
      Value e = kb.builder().create<math::ExpOp>(l, kb.builder().create<arith::NegFOp>(l, x));
      return CgValue::fromIr(kb.builder().create<arith::DivFOp>(l, one, kb.builder().create<arith::AddFOp>(l, one, e)));
    };
    t["abs"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "abs", args, loc, {"x"});
      CgValue v = b.get("x");
      if (v.kind == CgValue::Kind::Int) return CgValue::integer(v.intValue < 0 ? -v.intValue : v.intValue);
      if (v.kind == CgValue::Kind::Float) return CgValue::floating(std::fabs(v.floatValue));
      Value x = b.ir("x");
      if (isa<FloatType>(elementOf(x.getType())))
        return CgValue::fromIr(kb.builder().create<math::AbsFOp>(kb.location(loc), x));
      if (!isa<IntegerType>(elementOf(x.getType())))
        kb.fail(loc, "tz.abs needs a number or a tile of numbers, not " + kb.typeName(x.getType()));
      return CgValue::fromIr(kb.builder().create<math::AbsIOp>(kb.location(loc), x));
    };
    t["fma"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "fma", args, loc, {"x", "y", "z"});
      auto [x, y] = kb.unify(b.get("x"), b.get("y"), loc, "tz.fma");
      auto [xz, z] = kb.unify(CgValue::fromIr(x), b.get("z"), loc, "tz.fma");
      if (!isa<FloatType>(elementOf(xz.getType())))
        kb.fail(loc, "tz.fma needs floating-point operands, got " + kb.typeName(xz.getType()) +
                         " (write x * y + z for integers)");
      Value yz = kb.broadcastTo(kb.castTo(y, elementOf(xz.getType()), loc), shapeOf(xz.getType()), loc);
      return CgValue::fromIr(kb.builder().create<math::FmaOp>(kb.location(loc), xz, yz, z));
    };
    t["fdiv"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "fdiv", args, loc, {"x", "y", "ieee_rounding="});
      return kb.binaryOp(BinOpKind::Div, b.get("x"), b.get("y"), loc);
    };
    t["div_rn"] = t["fdiv"];
    t["cdiv"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "cdiv", args, loc, {"x", "div"});
      CgValue x = b.get("x"), d = b.get("div");
      // (x + div - 1) // div: exact for the non-negative sizes it is meant for.
      CgValue sum = kb.binaryOp(BinOpKind::Sub, kb.binaryOp(BinOpKind::Add, x, d, loc), CgValue::integer(1), loc);
      return kb.binaryOp(BinOpKind::FloorDiv, sum, d, loc);
    };
    t["cast"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "cast", args, loc, {"input", "dtype", "fp_downcast_rounding=", "bitcast="});
      Type to = dtypeArg(kb, b.get("dtype"), loc, "dtype");
      CgValue in = b.get("input");
      bool bitcast = b.has("bitcast") && b.integer("bitcast");
      if (in.isNumber() && !bitcast)
        return CgValue::fromIr(kb.materializeAs(in, to, loc));
      return CgValue::fromIr(kb.castTo(b.ir("input"), to, loc, bitcast));
    };
    t["to"] = t["cast"];

    t["sum"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return reduce(kb, a, l, "sum", tz::ReduceKind::Sum); };
    t["max"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return reduce(kb, a, l, "max", tz::ReduceKind::Max); };
    t["min"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return reduce(kb, a, l, "min", tz::ReduceKind::Min); };
    t["xor_sum"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return reduce(kb, a, l, "xor_sum", tz::ReduceKind::Xor); };
    t["argmax"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return argReduce(kb, a, l, "argmax", tz::ReduceKind::Argmax); };
    t["argmin"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return argReduce(kb, a, l, "argmin", tz::ReduceKind::Argmin); };
    t["cumsum"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return scan(kb, a, l, "cumsum", tz::ReduceKind::Sum); };
    t["cumprod"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return scan(kb, a, l, "cumprod", tz::ReduceKind::Prod); };

    t["broadcast_to"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "broadcast_to", args, loc, {"input", "*shape"});
      CgValue shapeArg = b.rest().size() == 1 ? b.rest()[0] : CgValue::tuple(b.rest());
      auto shape = kb.requireShape(shapeArg, loc, "tz.broadcast_to shape");
      return CgValue::fromIr(kb.broadcastTo(b.ir("input"), shape, loc));
    };
    t["broadcast"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "broadcast", args, loc, {"input", "other"});
      auto [x, y] = kb.unify(b.get("input"), b.get("other"), loc, "tz.broadcast");
      (void)x;
      Value in = b.ir("input");
      return CgValue::tuple({CgValue::fromIr(kb.broadcastTo(in, shapeOf(y.getType()), loc)),
                             CgValue::fromIr(kb.broadcastTo(b.ir("other"), shapeOf(y.getType()), loc))});
    };
    auto reshape = [](const char *name) {
      return [name](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        Binder b(kb, name, args, loc, {"input", "*shape", "can_reorder="});
        CgValue shapeArg = b.rest().size() == 1 ? b.rest()[0] : CgValue::tuple(b.rest());
        auto shape = kb.requireShape(shapeArg, loc, std::string("tz.") + name + " shape");
        Value x = b.ir("input");
        auto tile = dyn_cast<RankedTensorType>(x.getType());
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        if (!tile || tile.getNumElements() != n)
          kb.fail(loc, std::string("tz.") + name + ": cannot reshape " + kb.typeName(x.getType()) + " to " +
                           std::to_string(n) + " elements");
        return CgValue::fromIr(kb.builder().create<tz::ReshapeOp>(
            kb.location(loc), RankedTensorType::get(shape, tile.getElementType()), x));
      };
    };
    t["reshape"] = reshape("reshape");
    t["view"] = reshape("view");
    auto permute = [](const char *name) {
      return [name](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        Binder b(kb, name, args, loc, {"input", "*dims"});
        Value x = b.ir("input");
        auto tile = dyn_cast<RankedTensorType>(x.getType());
        if (!tile)
          kb.fail(loc, std::string("tz.") + name + " needs a tile");
        std::vector<int64_t> dims;
        CgValue dimsArg = b.rest().size() == 1 ? b.rest()[0] : CgValue::tuple(b.rest());
        if (dimsArg.kind == CgValue::Kind::Tuple)
          for (auto &d : dimsArg.elems) dims.push_back(kb.requireInt(d, loc, "dimension"));
        else
          dims.push_back(kb.requireInt(dimsArg, loc, "dimension"));
        if (dims.empty()) {
          if (tile.getRank() != 2)
            kb.fail(loc, std::string("tz.") + name + " without dims needs a 2-D tile");
          dims = {1, 0};
        }
        if ((int64_t)dims.size() != tile.getRank())
          kb.fail(loc, std::string("tz.") + name + ": the permutation must name each of the " +
                           std::to_string(tile.getRank()) + " dimensions once");
        SmallVector<int32_t> order;
        SmallVector<int64_t> shape;
        std::vector<bool> seen(dims.size(), false);
        for (int64_t d : dims) {
          if (d < 0 || d >= tile.getRank() || seen[d])
            kb.fail(loc, std::string("tz.") + name + ": invalid permutation");
          seen[d] = true;
          order.push_back(d);
          shape.push_back(tile.getDimSize(d));
        }
        return CgValue::fromIr(kb.builder().create<tz::TransOp>(
            kb.location(loc), RankedTensorType::get(shape, tile.getElementType()), x,
            kb.builder().getDenseI32ArrayAttr(order)));
      };
    };
    t["trans"] = permute("trans");
    t["permute"] = permute("permute");
    t["expand_dims"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "expand_dims", args, loc, {"input", "axis"});
      Value x = b.ir("input");
      auto shape = shapeOf(x.getType());
      int64_t axis = axisArg(kb, b.integer("axis"), shape.size() + 1, loc);
      SmallVector<int64_t> s(shape);
      s.insert(s.begin() + axis, 1);
      Type elem = elementOf(x.getType());
      if (shape.empty())
        return CgValue::fromIr(kb.broadcastTo(x, s, loc));
      return CgValue::fromIr(kb.builder().create<tz::ExpandDimsOp>(kb.location(loc), RankedTensorType::get(s, elem), x, axis));
    };

    t["atomic_add"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_add", tz::AtomicKind::Add); };
    t["atomic_max"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_max", tz::AtomicKind::Max); };
    t["atomic_min"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_min", tz::AtomicKind::Min); };
    t["atomic_and"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_and", tz::AtomicKind::And); };
    t["atomic_or"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_or", tz::AtomicKind::Or); };
    t["atomic_xor"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_xor", tz::AtomicKind::Xor); };
    t["atomic_xchg"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return atomicRmw(kb, a, l, "atomic_xchg", tz::AtomicKind::Xchg); };
    t["atomic_cas"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "atomic_cas", args, loc, {"pointer", "cmp", "val", "sem=", "scope="});
      Value ptr = b.ir("pointer");
      auto ptrType = dyn_cast<tz::PointerType>(elementOf(ptr.getType()));
      if (!ptrType)
        kb.fail(loc, "argument 'pointer' of tz.atomic_cas must be a pointer");
      Type pointee = ptrType.getPointeeType();
      if (!pointee.isInteger(32) && !pointee.isInteger(64))
        kb.fail(loc, "tz.atomic_cas works on int32 and int64 memory, not " + kb.typeName(pointee) +
                         " (compare-and-swap a float through an integer pointer of its width)");
      Type vt = tz::replaceElementType(ptr.getType(), pointee);
      Value cmp = kb.materializeAs(b.get("cmp"), vt, loc), val = kb.materializeAs(b.get("val"), vt, loc);
      return CgValue::fromIr(kb.builder().create<tz::AtomicCASOp>(kb.location(loc), vt, ptr, cmp, val));
    };

    t["static_assert"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "static_assert", args, loc, {"cond", "msg="});
      CgValue c = b.get("cond");
      if (!c.isConstexpr())
        kb.fail(loc, "tz.static_assert needs a compile-time condition, not " + kb.describe(c));
      if (kb.unaryOp(UnaryOpKind::Not, c, loc).boolValue)
        kb.fail(loc, "static assertion failed" + (b.has("msg") ? ": " + b.get("msg").text : std::string()));
      return CgValue::none();
    };
    t["device_assert"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "device_assert", args, loc, {"cond", "msg="});
      Value c = kb.castTo(b.ir("cond"), kb.builder().getI1Type(), loc);
      std::string msg = b.has("msg") ? b.get("msg").text : "device assertion failed";
      kb.builder().create<tz::AssertOp>(kb.location(loc), c, kb.builder().getStringAttr(msg));
      return CgValue::none();
    };
    t["device_print"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, "device_print", args, loc, {"prefix", "*args", "hex="});
      SmallVector<Value> values;
      for (auto &v : b.rest())
        values.push_back(kb.requireIr(v, loc, "device_print argument"));
      kb.builder().create<tz::PrintOp>(kb.location(loc), kb.builder().getStringAttr(b.get("prefix").text), values);
      return CgValue::none();
    };
    t["static_print"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      std::string line;
      for (auto &v : args.positional)
        line += (line.empty() ? "" : " ") + (v.kind == CgValue::Kind::String ? v.text : kb.describe(v));
      llvm::errs() << line << "\n";
      return CgValue::none();
    };
    // Hints for the GPU compiler's axis analysis; the value itself is unchanged.
    auto hint = [](const char *name) {
      return [name](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        Binder b(kb, name, args, loc, {"input", "values"});
        CgValue in = b.get("input");
        if (in.isIr())
          if (Operation *def = in.ir.getDefiningOp()) {
            std::vector<int32_t> vals;
            CgValue v = b.get("values");
            if (v.kind == CgValue::Kind::Tuple)
              for (auto &e : v.elems) vals.push_back(kb.requireInt(e, loc, "hint value"));
            else
              vals.push_back(kb.requireInt(v, loc, "hint value"));
            def->setAttr(std::string("tz.") + name, kb.builder().getDenseI32ArrayAttr(vals));
          }
        return in;
      };
    };
    t["multiple_of"] = hint("multiple_of");
    t["max_contiguous"] = hint("max_contiguous");
    t["max_constancy"] = hint("max_constancy");
    t["debug_barrier"] = [](KernelBuilder &, CallArgs &, SourceLoc) { return CgValue::none(); };

    // Python builtins on compile-time values.
    t["py.min"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return pythonMinMax(kb, a, l, false); };
    t["py.max"] = [](KernelBuilder &kb, CallArgs &a, SourceLoc l) { return pythonMinMax(kb, a, l, true); };
    t["py.abs"] = t["abs"];
    t["py.len"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      if (args.positional.size() != 1)
        kb.fail(loc, "len() takes one argument");
      CgValue v = args.positional[0];
      if (v.kind == CgValue::Kind::Tuple)
        return CgValue::integer(v.elems.size());
      if (v.isIr())
        if (auto tile = dyn_cast<RankedTensorType>(v.ir.getType()))
          return CgValue::integer(tile.getDimSize(0));
      kb.fail(loc, "len() of " + kb.describe(v));
    };
    auto convert = [](CgValue::Kind kind) {
      return [kind](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
        if (kind == CgValue::Kind::Float && args.positional.size() == 1 &&
            args.positional[0].kind == CgValue::Kind::String) {
          const std::string &t = args.positional[0].text;
          if (t == "inf" || t == "+inf") return CgValue::floating(HUGE_VAL);
          if (t == "-inf") return CgValue::floating(-HUGE_VAL);
          if (t == "nan") return CgValue::floating(NAN);
        }
        if (args.positional.size() != 1 || !args.positional[0].isNumber())
          kb.fail(loc, "int(), float() and bool() take one compile-time number; use x.to(dtype) on tiles");
        CgValue v = args.positional[0];
        double d = v.kind == CgValue::Kind::Float ? v.floatValue : v.kind == CgValue::Kind::Bool ? v.boolValue : v.intValue;
        if (kind == CgValue::Kind::Int) return CgValue::integer((int64_t)d);
        if (kind == CgValue::Kind::Float) return CgValue::floating(d);
        return CgValue::boolean(d != 0);
      };
    };
    t["py.int"] = convert(CgValue::Kind::Int);
    t["py.float"] = convert(CgValue::Kind::Float);
    t["py.bool"] = convert(CgValue::Kind::Bool);
    t["py.print"] = t["static_print"];
    addCompositeBuiltins(t);
    return t;
  }();
  return table;
}

// Tile methods that forward to the builtin of the same name.
// (Triton's tensor member functions.)
const char *const kTileMethods[] = {"to", "sum", "max", "min", "argmax", "argmin", "cumsum", "cumprod",
                                    "reshape", "view", "trans", "permute", "broadcast_to", "expand_dims",
                                    "exp", "exp2", "log", "log2", "sqrt", "sqrt_rn", "rsqrt", "abs", "sigmoid",
                                    "xor_sum", "sin", "cos", "floor", "ceil", "erf", "cast", "cdiv", "reduce",
                                    "associative_scan", "histogram", "split", "flip", "ravel", "reduce_or",
                                    "softmax", "gather", "sort", "atomic_add", "atomic_and", "atomic_cas", "atomic_max",
                                    "atomic_min", "atomic_or", "atomic_xchg", "atomic_xor", "store", "advance"};
} // namespace

bool KernelBuilder::isBuiltin(const std::string &name) const { return builtinTable().count(name) > 0; }

CgValue KernelBuilder::callBuiltin(const std::string &name, CallArgs &args, SourceLoc loc) {
  if (name == "py.range" || name == "range" || name == "static_range")
    fail(loc, name.substr(name.find('.') + 1) + "() can only be used as the iterable of a for loop");
  if (name == "py.isinstance")
    fail(loc, "isinstance() is not supported in kernels");
  auto it = builtinTable().find(name);
  if (it == builtinTable().end())
    fail(loc, "tz." + name + " is not implemented");
  return it->second(*this, args, loc);
}

CgValue KernelBuilder::memberOfModule(const std::string &name, SourceLoc loc) {
  if (Type t = dtypeFromName(name); t && name != "float" && name != "double" && name != "half")
    return CgValue::dtype(t);
  if (name == "constexpr") {
    CgValue c;
    c.kind = CgValue::Kind::ConstexprClass;
    return c;
  }
  // Submodules of triton.language that kernels reach builtins through
  // (tl.math.exp, libdevice.tanh after `from triton.language.extra import libdevice`).
  if (name == "language" || name == "tl" || name == "math" || name == "extra" || name == "cuda" ||
      name == "libdevice") {
    CgValue c;
    c.kind = CgValue::Kind::Module;
    return c;
  }
  if (name == "range" || name == "static_range" || isBuiltin(name))
    return CgValue::builtin(name);
  if (name == "TRITON_MAX_TENSOR_NUMEL")
    return CgValue::integer(kMaxTileElements);
  if (std::string why = unsupportedTritonName(name); !why.empty())
    fail(loc, why);
  fail(loc, "module 'terrazzo' has no attribute '" + name +
                "' (docs/language.md section 14 lists the Triton and libdevice names terrazzo supports)");
}

CgValue KernelBuilder::attributeOf(const CgValue &base, const std::string &name, SourceLoc loc) {
  switch (base.kind) {
  case CgValue::Kind::Module:
    return memberOfModule(name, loc);
  case CgValue::Kind::Ir: {
    Type t = base.ir.getType();
    if (name == "dtype" || name == "type")
      return CgValue::dtype(elementOf(t));
    if (name == "shape") {
      std::vector<CgValue> dims;
      for (int64_t d : shapeOf(t))
        dims.push_back(CgValue::integer(d));
      return CgValue::tuple(std::move(dims));
    }
    if (name == "T") {
      CallArgs args;
      args.positional = {base};
      return callBuiltin("trans", args, loc);
    }
    for (const char *m : kTileMethods)
      if (name == m) {
        CgValue method;
        method.kind = CgValue::Kind::Method;
        method.text = name == "to" ? "cast" : name;
        method.elems = {base};
        return method;
      }
    fail(loc, typeName(t) + " has no attribute '" + name + "'");
  }
  case CgValue::Kind::TensorDesc:
    if (name == "load" || name == "store") {
      CgValue method;
      method.kind = CgValue::Kind::Method;
      method.text = name == "load" ? "load_tensor_descriptor" : "store_tensor_descriptor";
      method.elems = {base};
      return method;
    }
    if (name == "block_shape") {
      std::vector<CgValue> dims;
      for (int64_t d : base.blockShape)
        dims.push_back(CgValue::integer(d));
      return CgValue::tuple(std::move(dims));
    }
    fail(loc, "a tensor descriptor has no attribute '" + name + "'");
  case CgValue::Kind::Dtype: {
    Type t = base.type;
    if (name == "element_ty") {
      auto ptr = dyn_cast<tz::PointerType>(t);
      if (!ptr)
        fail(loc, "dtype " + typeName(t) + " is not a pointer type");
      return CgValue::dtype(ptr.getPointeeType());
    }
    if (name == "primitive_bitwidth" && !isa<tz::PointerType>(t))
      return CgValue::integer(t.getIntOrFloatBitWidth());
    fail(loc, "dtype has no attribute '" + name + "'");
  }
  case CgValue::Kind::Int:
  case CgValue::Kind::Float:
  case CgValue::Kind::Bool:
    // A constexpr number converts like a tile: tl.constexpr(3).to(tl.int64).
    if (name == "to") {
      CgValue method;
      method.kind = CgValue::Kind::Method;
      method.text = "cast";
      method.elems = {base};
      return method;
    }
    fail(loc, describe(base) + " has no attribute '" + name + "'");
  default:
    fail(loc, describe(base) + " has no attribute '" + name + "'");
  }
}

} // namespace terrazzo::dsl
