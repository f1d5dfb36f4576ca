// Operator semantics of the kernel language: type promotion, broadcasting,
// casts, and arithmetic/comparison on run-time and compile-time values. The
// rules follow Triton's: Python numbers adopt the type of the tile they meet,
// integer / is true division, integer // and % truncate as in C.
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <sstream>

using namespace mlir;

namespace terrazzo::dsl {

namespace {
ArrayRef<int64_t> shapeOf(Type type) {
  if (auto tile = dyn_cast<RankedTensorType>(type))
    return tile.getShape();
  return {};
}
Type elementOf(Type type) { return tz::getElementTypeOrSelf(type); }
bool isFloat(Type t) { return isa<FloatType>(t); }
bool isInt(Type t) { return isa<IntegerType>(t); }
bool isPtr(Type t) { return isa<tz::PointerType>(t); }

// Python's floor division and modulo on compile-time integers.
int64_t pyFloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}
int64_t pyMod(int64_t a, int64_t b) { return a - pyFloorDiv(a, b) * b; }
} // namespace

bool CgValue::isConstexpr() const {
  switch (kind) {
  case Kind::Ir:
  case Kind::Undefined:
  case Kind::Method:
    return false;
  case Kind::Tuple:
  case Kind::BlockPtr:
  case Kind::TensorDesc:
    for (auto &e : elems)
      if (!e.isConstexpr())
        return false;
    return true;
  default:
    return true;
  }
}

bool CgValue::sameAs(const CgValue &o) const {
  if (kind != o.kind)
    return false;
  switch (kind) {
  case Kind::Ir: return ir == o.ir;
  case Kind::Int: return intValue == o.intValue;
  case Kind::Float: return floatValue == o.floatValue || (std::isnan(floatValue) && std::isnan(o.floatValue));
  case Kind::Bool: return boolValue == o.boolValue;
  case Kind::None: return true;
  case Kind::String: case Kind::Builtin: case Kind::Undefined: return text == o.text;
  case Kind::Dtype: return type == o.type;
  case Kind::Function: return function == o.function;
  case Kind::Derivative: return function == o.function && intValue == o.intValue;
  case Kind::Module: case Kind::ConstexprClass: return true;
  case Kind::Method:
  case Kind::Tuple:
  case Kind::BlockPtr:
  case Kind::TensorDesc:
    if (elems.size() != o.elems.size() || text != o.text || blockShape != o.blockShape)
      return false;
    for (size_t i = 0; i < elems.size(); ++i)
      if (!elems[i].sameAs(o.elems[i]))
        return false;
    return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Types and names
//===----------------------------------------------------------------------===//

Type KernelBuilder::dtypeFromName(const std::string &name) const {
  MLIRContext *ctx = &context_;
  if (name == "float16" || name == "fp16" || name == "half") return Float16Type::get(ctx);
  if (name == "bfloat16" || name == "bf16") return BFloat16Type::get(ctx);
  if (name == "float32" || name == "fp32" || name == "float") return Float32Type::get(ctx);
  if (name == "float64" || name == "fp64" || name == "double") return Float64Type::get(ctx);
  if (name == "int1" || name == "bool") return IntegerType::get(ctx, 1);
  if (name == "int8") return IntegerType::get(ctx, 8);
  if (name == "int16") return IntegerType::get(ctx, 16);
  if (name == "int32") return IntegerType::get(ctx, 32);
  if (name == "int64") return IntegerType::get(ctx, 64);
  return {};
}

std::string KernelBuilder::typeName(Type type) const {
  if (auto tile = dyn_cast<RankedTensorType>(type)) {
    std::string s = "tile<";
    for (int64_t d : tile.getShape())
      s += std::to_string(d) + "x";
    return s + typeName(tile.getElementType()) + ">";
  }
  if (auto ptr = dyn_cast<tz::PointerType>(type))
    return "pointer<" + typeName(ptr.getPointeeType()) + ">";
  if (type.isF16()) return "float16";
  if (type.isBF16()) return "bfloat16";
  if (type.isF32()) return "float32";
  if (type.isF64()) return "float64";
  if (type.isInteger(1)) return "int1";
  if (auto i = dyn_cast<IntegerType>(type)) return "int" + std::to_string(i.getWidth());
  std::string s;
  llvm::raw_string_ostream os(s);
  type.print(os);
  return s;
}

std::string KernelBuilder::describe(const CgValue &v) const {
  using K = CgValue::Kind;
  switch (v.kind) {
  case K::Ir: return typeName(v.ir.getType());
  case K::Int: return "int constexpr " + std::to_string(v.intValue);
  case K::Float: { std::ostringstream os; os << "float constexpr " << v.floatValue; return os.str(); }
  case K::Bool: return v.boolValue ? "bool constexpr True" : "bool constexpr False";
  case K::None: return "None";
  case K::String: return "string '" + v.text + "'";
  case K::Dtype: return "dtype " + typeName(v.type);
  case K::Function: return "jit function '" + v.function->name() + "'";
  case K::Derivative:
    return "tz.derivative of '" + v.function->name() + "' with respect to argument " + std::to_string(v.intValue);
  case K::Module: return "the terrazzo module";
  case K::Builtin: return "builtin '" + v.text + "'";
  case K::Method: return "method '" + v.text + "'";
  case K::ConstexprClass: return "tz.constexpr";
  case K::Tuple: return "tuple of " + std::to_string(v.elems.size());
  case K::BlockPtr: return "block pointer";
  case K::TensorDesc: return "tensor descriptor";
  case K::Undefined: return "undefined";
  }
  return "value";
}

//===----------------------------------------------------------------------===//
// Constants and casts
//===----------------------------------------------------------------------===//

Value KernelBuilder::constantScalar(Type type, double value, SourceLoc loc) {
  Location l = location(loc);
  if (auto f = dyn_cast<FloatType>(type))
    return builder_.create<arith::ConstantOp>(l, builder_.getFloatAttr(f, value));
  if (auto i = dyn_cast<IntegerType>(type))
    return builder_.create<arith::ConstantOp>(l, builder_.getIntegerAttr(i, (int64_t)value));
  fail(loc, "cannot make a constant of type " + typeName(type));
}

Value KernelBuilder::constantLike(Type type, double value, SourceLoc loc) {
  if (isPtr(tz::getElementTypeOrSelf(type)))
    fail(loc, "cannot make a constant " + typeName(type));
  auto tile = dyn_cast<RankedTensorType>(type);
  if (!tile)
    return constantScalar(type, value, loc);
  Type elem = tile.getElementType();
  Attribute attr = isa<FloatType>(elem) ? Attribute(builder_.getFloatAttr(elem, value))
                                        : Attribute(builder_.getIntegerAttr(elem, (int64_t)value));
  return builder_.create<arith::ConstantOp>(location(loc), DenseElementsAttr::get(tile, attr));
}

Value KernelBuilder::materialize(const CgValue &v, SourceLoc loc) {
  using K = CgValue::Kind;
  switch (v.kind) {
  case K::Ir:
    return v.ir;
  case K::Int: {
    bool fits32 = v.intValue >= INT32_MIN && v.intValue <= INT32_MAX;
    return constantScalar(builder_.getIntegerType(fits32 ? 32 : 64), (double)v.intValue, loc);
  }
  case K::Float:
    return constantScalar(builder_.getF32Type(), v.floatValue, loc);
  case K::Bool:
    return constantScalar(builder_.getI1Type(), v.boolValue ? 1 : 0, loc);
  case K::Undefined:
    fail(loc, v.text);
  default:
    fail(loc, "expected a number or a tile, found " + describe(v));
  }
}

Value KernelBuilder::materializeAs(const CgValue &v, Type type, SourceLoc loc) {
  Type elem = elementOf(type);
  Value value;
  if (v.isNumber()) {
    double d = v.kind == CgValue::Kind::Float ? v.floatValue
               : v.kind == CgValue::Kind::Bool ? (v.boolValue ? 1 : 0)
                                               : (double)v.intValue;
    if (v.kind == CgValue::Kind::Int && isInt(elem) && (v.intValue > (1LL << 53) || v.intValue < -(1LL << 53)))
      value = builder_.create<arith::ConstantOp>(location(loc), builder_.getIntegerAttr(elem, v.intValue));
    else if (isPtr(elem))
      fail(loc, "cannot convert " + describe(v) + " to " + typeName(type));
    else
      value = constantScalar(elem, d, loc);
  } else {
    value = castTo(materialize(v, loc), elem, loc);
  }
  return broadcastTo(value, shapeOf(type), loc);
}

Value KernelBuilder::castTo(Value v, Type to, SourceLoc loc, bool bitcast) {
  Type from = elementOf(v.getType());
  if (from == to)
    return v;
  Location l = location(loc);
  Type resultType = tz::replaceElementType(v.getType(), to);
  if (bitcast) {
    if (isPtr(from) || isPtr(to) || from.getIntOrFloatBitWidth() != to.getIntOrFloatBitWidth())
      fail(loc, "bitcast needs types of the same width, not " + typeName(from) + " and " + typeName(to));
    return builder_.create<arith::BitcastOp>(l, resultType, v);
  }
  if (isPtr(from) || isPtr(to))
    fail(loc, "cannot cast " + typeName(from) + " to " + typeName(to));
  if (isFloat(from) && isFloat(to)) {
    if (to.getIntOrFloatBitWidth() > from.getIntOrFloatBitWidth())
      return builder_.create<arith::ExtFOp>(l, resultType, v);
    if (to.getIntOrFloatBitWidth() < from.getIntOrFloatBitWidth())
      return builder_.create<arith::TruncFOp>(l, resultType, v);
    // f16 <-> bf16: through f32.
    Value wide = builder_.create<arith::ExtFOp>(l, tz::replaceElementType(v.getType(), builder_.getF32Type()), v);
    return builder_.create<arith::TruncFOp>(l, resultType, wide);
  }
  if (isInt(from) && isInt(to)) {
    if (to.isInteger(1))
      return builder_.create<arith::CmpIOp>(l, arith::CmpIPredicate::ne, v, constantLike(v.getType(), 0, loc));
    if (to.getIntOrFloatBitWidth() > from.getIntOrFloatBitWidth()) {
      if (from.isInteger(1))
        return builder_.create<arith::ExtUIOp>(l, resultType, v);
      return builder_.create<arith::ExtSIOp>(l, resultType, v);
    }
    return builder_.create<arith::TruncIOp>(l, resultType, v);
  }
  if (isInt(from) && isFloat(to)) {
    if (from.isInteger(1))
      return builder_.create<arith::UIToFPOp>(l, resultType, v);
    return builder_.create<arith::SIToFPOp>(l, resultType, v);
  }
  // float -> int
  if (to.isInteger(1))
    return builder_.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNE, v, constantLike(v.getType(), 0, loc));
  return builder_.create<arith::FPToSIOp>(l, resultType, v);
}

Value KernelBuilder::toCondition(const CgValue &v, SourceLoc loc) {
  Value value = materialize(v, loc);
  if (isa<RankedTensorType>(value.getType()))
    fail(loc, "a condition must be a scalar, not " + typeName(value.getType()));
  return castTo(value, builder_.getI1Type(), loc);
}

//===----------------------------------------------------------------------===//
// Broadcasting
//===----------------------------------------------------------------------===//

std::vector<int64_t> KernelBuilder::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                                                    SourceLoc loc, const char *what) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      auto fmt = [](ArrayRef<int64_t> s) {
        std::string r = "[";
        for (size_t k = 0; k < s.size(); ++k)
          r += (k ? ", " : "") + std::to_string(s[k]);
        return r + "]";
      };
      fail(loc, std::string("shape mismatch in ") + what + ": " + fmt(a) + " and " + fmt(b) +
                    " cannot be broadcast together");
    }
    out[i] = std::max(da, db);
  }
  checkTileSize(out, loc);
  return out;
}

Value KernelBuilder::broadcastTo(Value v, ArrayRef<int64_t> shape, SourceLoc loc) {
  ArrayRef<int64_t> have = shapeOf(v.getType());
  if (have == shape)
    return v;
  Location l = location(loc);
  Type elem = elementOf(v.getType());
  if (shape.empty())
    fail(loc, "cannot turn a " + typeName(v.getType()) + " into a scalar");
  if (have.empty())
    return builder_.create<tz::SplatOp>(l, RankedTensorType::get(shape, elem), v);
  if (have.size() > shape.size())
    fail(loc, "cannot broadcast " + typeName(v.getType()) + " to a lower rank");
  // Leading size-1 dimensions first, then repeat size-1 dimensions.
  while (shapeOf(v.getType()).size() < shape.size()) {
    SmallVector<int64_t> s(shapeOf(v.getType()));
    s.insert(s.begin(), 1);
    v = builder_.create<tz::ExpandDimsOp>(l, RankedTensorType::get(s, elem), v, 0);
  }
  ArrayRef<int64_t> now = shapeOf(v.getType());
  for (size_t i = 0; i < shape.size(); ++i)
    if (now[i] != shape[i] && now[i] != 1)
      fail(loc, "cannot broadcast " + typeName(v.getType()) + " to shape " +
                    typeName(RankedTensorType::get(shape, elem)));
  if (now == shape)
    return v;
  return builder_.create<tz::BroadcastOp>(l, RankedTensorType::get(shape, elem), v);
}

Type KernelBuilder::commonElementType(const CgValue &a, const CgValue &b, SourceLoc loc) {
  auto typeOf = [&](const CgValue &v) -> Type {
    return v.isIr() ? elementOf(v.ir.getType()) : Type();
  };
  Type ta = typeOf(a), tb = typeOf(b);
  auto weak = [&](const CgValue &v) -> Type {
    switch (v.kind) {
    case CgValue::Kind::Int: {
      bool fits32 = v.intValue >= INT32_MIN && v.intValue <= INT32_MAX;
      return builder_.getIntegerType(fits32 ? 32 : 64);
    }
    case CgValue::Kind::Float: return builder_.getF32Type();
    case CgValue::Kind::Bool: return builder_.getI1Type();
    default: return materialize(v, loc).getType(); // fails with a diagnostic
    }
  };
  if (!ta && !tb) {
    // Two Python numbers: float wins, then int, and bool only with bool.
    if (a.kind == CgValue::Kind::Float || b.kind == CgValue::Kind::Float)
      return builder_.getF32Type();
    if (a.kind == CgValue::Kind::Bool && b.kind == CgValue::Kind::Bool)
      return builder_.getI1Type();
    Type wa = weak(a.kind == CgValue::Kind::Bool ? CgValue::integer(a.boolValue) : a);
    Type wb = weak(b.kind == CgValue::Kind::Bool ? CgValue::integer(b.boolValue) : b);
    return wa.getIntOrFloatBitWidth() >= wb.getIntOrFloatBitWidth() ? wa : wb;
  }
  if (!ta || !tb) {
    // A Python number adopts the type of the tile it meets when it is of the
    // same kind; an int tile meeting a float becomes float32.
    const CgValue &num = ta ? b : a;
    Type typed = ta ? ta : tb;
    if (isPtr(typed))
      return typed;
    if (num.kind == CgValue::Kind::Float && isInt(typed))
      return builder_.getF32Type();
    if (num.kind == CgValue::Kind::Int && typed.isInteger(1))
      return builder_.getI32Type();
    if (num.kind == CgValue::Kind::Int && isInt(typed) && !(num.intValue >= INT32_MIN && num.intValue <= INT32_MAX))
      return builder_.getI64Type();
    return typed;
  }
  if (ta == tb)
    return ta;
  if (isFloat(ta) && isFloat(tb)) {
    unsigned wa = ta.getIntOrFloatBitWidth(), wb = tb.getIntOrFloatBitWidth();
    if (wa == wb) // float16 with bfloat16
      return builder_.getF32Type();
    return wa > wb ? ta : tb;
  }
  if (isFloat(ta) != isFloat(tb))
    return isFloat(ta) ? ta : tb;
  if (isInt(ta) && isInt(tb))
    return ta.getIntOrFloatBitWidth() >= tb.getIntOrFloatBitWidth() ? ta : tb;
  fail(loc, "incompatible operand types " + typeName(ta) + " and " + typeName(tb));
}

std::pair<Value, Value> KernelBuilder::unify(const CgValue &a, const CgValue &b, SourceLoc loc,
                                             const char *what) {
  Type elem = commonElementType(a, b, loc);
  Value va = a.isIr() ? castTo(a.ir, elem, loc) : materializeAs(a, elem, loc);
  Value vb = b.isIr() ? castTo(b.ir, elem, loc) : materializeAs(b, elem, loc);
  auto shape = broadcastShapes(shapeOf(va.getType()), shapeOf(vb.getType()), loc, what);
  return {broadcastTo(va, shape, loc), broadcastTo(vb, shape, loc)};
}

//===----------------------------------------------------------------------===//
// Operators
//===----------------------------------------------------------------------===//

namespace {
CgValue foldNumbers(KernelBuilder &kb, BinOpKind op, const CgValue &a, const CgValue &b, SourceLoc loc) {
  bool anyFloat = a.kind == CgValue::Kind::Float || b.kind == CgValue::Kind::Float;
  auto asDouble = [](const CgValue &v) {
    return v.kind == CgValue::Kind::Float ? v.floatValue
           : v.kind == CgValue::Kind::Bool ? (double)v.boolValue
                                           : (double)v.intValue;
  };
  auto asInt = [](const CgValue &v) {
    return v.kind == CgValue::Kind::Bool ? (int64_t)v.boolValue : v.intValue;
  };
  double x = asDouble(a), y = asDouble(b);
  int64_t i = asInt(a), j = asInt(b);
  bool bothBool = a.kind == CgValue::Kind::Bool && b.kind == CgValue::Kind::Bool;
  switch (op) {
  case BinOpKind::Add: return anyFloat ? CgValue::floating(x + y) : CgValue::integer(i + j);
  case BinOpKind::Sub: return anyFloat ? CgValue::floating(x - y) : CgValue::integer(i - j);
  case BinOpKind::Mul: return anyFloat ? CgValue::floating(x * y) : CgValue::integer(i * j);
  case BinOpKind::Div:
    if (y == 0) kb.fail(loc, "division by zero in a constant expression");
    return CgValue::floating(x / y);
  case BinOpKind::FloorDiv:
    if (y == 0) kb.fail(loc, "division by zero in a constant expression");
    if (!anyFloat && i == INT64_MIN && j == -1) // the one quotient that traps
      kb.fail(loc, "integer overflow in a constant expression");
    return anyFloat ? CgValue::floating(std::floor(x / y)) : CgValue::integer(pyFloorDiv(i, j));
  case BinOpKind::Mod:
    if (y == 0) kb.fail(loc, "modulo by zero in a constant expression");
    if (!anyFloat && j == -1)
      return CgValue::integer(0); // INT64_MIN % -1 would trap
    return anyFloat ? CgValue::floating(x - std::floor(x / y) * y) : CgValue::integer(pyMod(i, j));
  case BinOpKind::Pow:
    if (!anyFloat && j >= 0) {
      // By squaring: a huge exponent must not loop for ever.
      int64_t r = 1, base = i;
      bool overflow = false;
      for (uint64_t e = j; e; e >>= 1) {
        if (e & 1)
          overflow |= __builtin_mul_overflow(r, base, &r);
        if (e > 1)
          overflow |= __builtin_mul_overflow(base, base, &base);
      }
      if (overflow)
        kb.fail(loc, "integer overflow in a constant expression");
      return CgValue::integer(r);
    }
    return CgValue::floating(std::pow(x, y));
  default:
    break;
  }
  if (anyFloat)
    kb.fail(loc, std::string("operator '") + spelling(op) + "' needs integer operands");
  switch (op) {
  case BinOpKind::LShift: return CgValue::integer(i << j);
  case BinOpKind::RShift: return CgValue::integer(i >> j);
  case BinOpKind::BitAnd: return bothBool ? CgValue::boolean(i & j) : CgValue::integer(i & j);
  case BinOpKind::BitOr: return bothBool ? CgValue::boolean(i | j) : CgValue::integer(i | j);
  case BinOpKind::BitXor: return bothBool ? CgValue::boolean(i ^ j) : CgValue::integer(i ^ j);
  default: kb.fail(loc, std::string("operator '") + spelling(op) + "' is not supported here");
  }
}
} // namespace

CgValue KernelBuilder::binaryOp(BinOpKind op, const CgValue &a, const CgValue &b, SourceLoc loc) {
  if (a.isNumber() && b.isNumber())
    return foldNumbers(*this, op, a, b, loc);
  if (a.kind == CgValue::Kind::Tuple && b.kind == CgValue::Kind::Tuple && op == BinOpKind::Add) {
    std::vector<CgValue> all = a.elems;
    all.insert(all.end(), b.elems.begin(), b.elems.end());
    return CgValue::tuple(std::move(all));
  }
  if (op == BinOpKind::MatMul)
    fail(loc, "use tz.dot for matrix products");
  Location l = location(loc);
  // Pointer arithmetic: pointer +/- integer offsets.
  auto isPtrValue = [](const CgValue &v) { return v.isIr() && isPtr(elementOf(v.ir.getType())); };
  if (isPtrValue(a) || isPtrValue(b)) {
    bool ptrFirst = isPtrValue(a);
    const CgValue &ptr = ptrFirst ? a : b, &off = ptrFirst ? b : a;
    if (isPtrValue(off) || !(op == BinOpKind::Add || (op == BinOpKind::Sub && ptrFirst)))
      fail(loc, std::string("operator '") + spelling(op) + "' is not defined for pointers");
    Value offset = materialize(off, loc);
    if (!isInt(elementOf(offset.getType())) || elementOf(offset.getType()).isInteger(1))
      fail(loc, "pointer offsets must be integers, not " + typeName(offset.getType()));
    if (op == BinOpKind::Sub)
      offset = builder_.create<arith::SubIOp>(l, constantLike(offset.getType(), 0, loc), offset);
    auto shape = broadcastShapes(shapeOf(ptr.ir.getType()), shapeOf(offset.getType()), loc, "pointer arithmetic");
    Value p = broadcastTo(ptr.ir, shape, loc);
    Value o = broadcastTo(offset, shape, loc);
    return CgValue::fromIr(builder_.create<tz::AddPtrOp>(l, p.getType(), p, o));
  }
  std::string what = std::string("operator '") + spelling(op) + "'";
  auto [x, y] = unify(a, b, loc, what.c_str());
  Type elem = elementOf(x.getType());
  bool flt = isFloat(elem);
  Value r;
  switch (op) {
  case BinOpKind::Add:
    r = flt ? Value(builder_.create<arith::AddFOp>(l, x, y)) : Value(builder_.create<arith::AddIOp>(l, x, y));
    break;
  case BinOpKind::Sub:
    r = flt ? Value(builder_.create<arith::SubFOp>(l, x, y)) : Value(builder_.create<arith::SubIOp>(l, x, y));
    break;
  case BinOpKind::Mul:
    r = flt ? Value(builder_.create<arith::MulFOp>(l, x, y)) : Value(builder_.create<arith::MulIOp>(l, x, y));
    break;
  case BinOpKind::Div:
    if (!flt) {
      x = castTo(x, builder_.getF32Type(), loc);
      y = castTo(y, builder_.getF32Type(), loc);
    }
    r = builder_.create<arith::DivFOp>(l, x, y);
    break;
  case BinOpKind::FloorDiv:
    r = flt ? Value(builder_.create<math::FloorOp>(l, builder_.create<arith::DivFOp>(l, x, y)))
            : Value(builder_.create<arith::DivSIOp>(l, x, y));
    break;
  case BinOpKind::Mod:
    r = flt ? Value(builder_.create<arith::RemFOp>(l, x, y)) : Value(builder_.create<arith::RemSIOp>(l, x, y));
    break;
  case BinOpKind::Pow:
    if (!flt) {
      x = castTo(x, builder_.getF32Type(), loc);
      y = castTo(y, builder_.getF32Type(), loc);
    }
    r = builder_.create<math::PowFOp>(l, x, y);
    break;
  case BinOpKind::LShift: case BinOpKind::RShift: case BinOpKind::BitAnd:
  case BinOpKind::BitOr: case BinOpKind::BitXor:
    if (flt)
      fail(loc, what + " needs integer operands, not " + typeName(elem));
    if (op == BinOpKind::LShift) r = builder_.create<arith::ShLIOp>(l, x, y);
    else if (op == BinOpKind::RShift) r = builder_.create<arith::ShRSIOp>(l, x, y);
    else if (op == BinOpKind::BitAnd) r = builder_.create<arith::AndIOp>(l, x, y);
    else if (op == BinOpKind::BitOr) r = builder_.create<arith::OrIOp>(l, x, y);
    else r = builder_.create<arith::XOrIOp>(l, x, y);
    break;
  case BinOpKind::MatMul:
    break;
  }
  return CgValue::fromIr(r);
}

CgValue KernelBuilder::unaryOp(UnaryOpKind op, const CgValue &a, SourceLoc loc) {
  using K = CgValue::Kind;
  if (a.isConstexpr()) {
    if (op == UnaryOpKind::Not) {
      switch (a.kind) {
      case K::Bool: return CgValue::boolean(!a.boolValue);
      case K::Int: return CgValue::boolean(a.intValue == 0);
      case K::Float: return CgValue::boolean(a.floatValue == 0);
      case K::None: return CgValue::boolean(true);
      case K::String: return CgValue::boolean(a.text.empty());
      case K::Tuple: return CgValue::boolean(a.elems.empty());
      default: return CgValue::boolean(false);
      }
    }
    if (!a.isNumber())
      fail(loc, std::string("operator '") + spelling(op) + "' is not defined for " + describe(a));
    if (op == UnaryOpKind::Pos)
      return a;
    if (op == UnaryOpKind::Neg)
      return a.kind == K::Float ? CgValue::floating(-a.floatValue)
                                : CgValue::integer(-(a.kind == K::Bool ? (int64_t)a.boolValue : a.intValue));
    if (a.kind == K::Float)
      fail(loc, "operator '~' needs an integer operand");
    return CgValue::integer(~(a.kind == K::Bool ? (int64_t)a.boolValue : a.intValue));
  }
  Value v = materialize(a, loc);
  Type elem = elementOf(v.getType());
  Location l = location(loc);
  if (isPtr(elem))
    fail(loc, std::string("operator '") + spelling(op) + "' is not defined for pointers");
  switch (op) {
  case UnaryOpKind::Pos:
    return a;
  case UnaryOpKind::Neg:
    if (isFloat(elem))
      return CgValue::fromIr(builder_.create<arith::NegFOp>(l, v));
    return CgValue::fromIr(builder_.create<arith::SubIOp>(l, constantLike(v.getType(), 0, loc), v));
  case UnaryOpKind::Invert:
    if (isFloat(elem))
      fail(loc, "operator '~' needs an integer operand, not " + typeName(elem));
    return CgValue::fromIr(builder_.create<arith::XOrIOp>(l, v, constantLike(v.getType(), -1, loc)));
  case UnaryOpKind::Not: {
    Value b = castTo(v, builder_.getI1Type(), loc);
    return CgValue::fromIr(builder_.create<arith::XOrIOp>(l, b, constantLike(b.getType(), 1, loc)));
  }
  }
  return a;
}

CgValue KernelBuilder::compareOp(CmpOpKind op, const CgValue &a, const CgValue &b, SourceLoc loc) {
  using K = CgValue::Kind;
  if (op == CmpOpKind::Is || op == CmpOpKind::IsNot) {
    // `ptr is not None`: a run-time value is never None (Triton's optional
    // pointer idiom), so this is decided at compile time.
    if ((a.kind == K::None && !b.isConstexpr()) || (b.kind == K::None && !a.isConstexpr()))
      return CgValue::boolean(op == CmpOpKind::IsNot);
    if (!a.isConstexpr() || !b.isConstexpr())
      fail(loc, "'is' compares compile-time values only (use == on tiles)");
    bool same = a.sameAs(b);
    return CgValue::boolean(op == CmpOpKind::Is ? same : !same);
  }
  if (op == CmpOpKind::In || op == CmpOpKind::NotIn) {
    if (b.kind != K::Tuple || !a.isConstexpr())
      fail(loc, "'in' needs a compile-time value and a tuple");
    bool found = false;
    for (auto &e : b.elems)
      found |= e.sameAs(a) || (e.isNumber() && a.isNumber() &&
                               compareOp(CmpOpKind::Eq, e, a, loc).boolValue);
    return CgValue::boolean(op == CmpOpKind::In ? found : !found);
  }
  if (a.isConstexpr() && b.isConstexpr()) {
    if (a.isNumber() && b.isNumber()) {
      auto d = [](const CgValue &v) {
        return v.kind == K::Float ? v.floatValue : v.kind == K::Bool ? (double)v.boolValue : (double)v.intValue;
      };
      bool ints = a.kind != K::Float && b.kind != K::Float;
      int64_t i = a.kind == K::Bool ? a.boolValue : a.intValue, j = b.kind == K::Bool ? b.boolValue : b.intValue;
      double x = d(a), y = d(b);
      switch (op) {
      case CmpOpKind::Lt: return CgValue::boolean(ints ? i < j : x < y);
      case CmpOpKind::Le: return CgValue::boolean(ints ? i <= j : x <= y);
      case CmpOpKind::Gt: return CgValue::boolean(ints ? i > j : x > y);
      case CmpOpKind::Ge: return CgValue::boolean(ints ? i >= j : x >= y);
      case CmpOpKind::Eq: return CgValue::boolean(ints ? i == j : x == y);
      case CmpOpKind::Ne: return CgValue::boolean(ints ? i != j : x != y);
      default: break;
      }
    }
    if (op == CmpOpKind::Eq || op == CmpOpKind::Ne) {
      bool same = a.sameAs(b);
      return CgValue::boolean(op == CmpOpKind::Eq ? same : !same);
    }
    fail(loc, std::string("cannot compare ") + describe(a) + " and " + describe(b));
  }
  auto [x, y] = unify(a, b, loc, (std::string("comparison '") + spelling(op) + "'").c_str());
  Type elem = elementOf(x.getType());
  Location l = location(loc);
  if (isPtr(elem))
    fail(loc, "pointers cannot be compared");
  if (isFloat(elem)) {
    arith::CmpFPredicate p;
    switch (op) {
    case CmpOpKind::Lt: p = arith::CmpFPredicate::OLT; break;
    case CmpOpKind::Le: p = arith::CmpFPredicate::OLE; break;
    case CmpOpKind::Gt: p = arith::CmpFPredicate::OGT; break;
    case CmpOpKind::Ge: p = arith::CmpFPredicate::OGE; break;
    case CmpOpKind::Eq: p = arith::CmpFPredicate::OEQ; break;
    default: p = arith::CmpFPredicate::UNE; break; // NaN != NaN, as in Python
    }
    return CgValue::fromIr(builder_.create<arith::CmpFOp>(l, p, x, y));
  }
  arith::CmpIPredicate p;
  switch (op) {
  case CmpOpKind::Lt: p = arith::CmpIPredicate::slt; break;
  case CmpOpKind::Le: p = arith::CmpIPredicate::sle; break;
  case CmpOpKind::Gt: p = arith::CmpIPredicate::sgt; break;
  case CmpOpKind::Ge: p = arith::CmpIPredicate::sge; break;
  case CmpOpKind::Eq: p = arith::CmpIPredicate::eq; break;
  default: p = arith::CmpIPredicate::ne; break;
  }
  return CgValue::fromIr(builder_.create<arith::CmpIOp>(l, p, x, y));
}

//===----------------------------------------------------------------------===//
// Constexpr requirements
//===----------------------------------------------------------------------===//

int64_t KernelBuilder::requireInt(const CgValue &v, SourceLoc loc, const std::string &what) {
  if (v.kind == CgValue::Kind::Int)
    return v.intValue;
  if (v.kind == CgValue::Kind::Bool)
    return v.boolValue;
  if (v.isIr())
    fail(loc, what + " must be a constexpr integer, but it is a run-time " + typeName(v.ir.getType()) +
                  " (annotate the parameter with tz.constexpr)");
  fail(loc, what + " must be a constexpr integer, not " + describe(v));
}

std::vector<int64_t> KernelBuilder::requireShape(const CgValue &v, SourceLoc loc, const std::string &what) {
  std::vector<int64_t> shape;
  if (v.kind == CgValue::Kind::Tuple) {
    for (auto &e : v.elems)
      shape.push_back(requireInt(e, loc, what));
  } else {
    shape.push_back(requireInt(v, loc, what));
  }
  for (int64_t d : shape)
    if (d <= 0 || (d & (d - 1)) != 0)
      fail(loc, what + ": tile dimension " + std::to_string(d) + " is not a power of two");
  checkTileSize(shape, loc);
  return shape;
}

void KernelBuilder::checkTileSize(llvm::ArrayRef<int64_t> shape, SourceLoc loc) {
  // Dimensions are powers of two, so the product stays exact while the
  // running count is below the limit.
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d > kMaxTileElements || elements * d > kMaxTileElements)
      fail(loc, "tiles hold at most " + std::to_string(kMaxTileElements) + " elements; this one would be larger");
    elements *= d;
  }
}

Value KernelBuilder::requireIr(const CgValue &v, SourceLoc loc, const std::string &what) {
  if (v.isIr())
    return v.ir;
  if (v.isNumber())
    return materialize(v, loc);
  if (v.kind == CgValue::Kind::Undefined)
    fail(loc, v.text);
  fail(loc, what + " must be a tile or a number, not " + describe(v));
}

} // namespace terrazzo::dsl
