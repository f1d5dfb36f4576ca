// Builtins composed from other tz operations (see CompositeBuiltins.h): the
// shape combinators (join, split, interleave, cat, flip, ravel, gather),
// histogram, and the small helpers of triton.language's standard library;
// reductions with combine functions, sorting and random numbers have files
// of their own.
#include "CompositeBuiltins.h"
#include "TileShaping.h"

#include <map>

using namespace mlir;

namespace terrazzo::dsl {

using namespace composite;

std::string unsupportedTritonName(const std::string &name) {
  static const std::map<std::string, std::string> reasons = {
      {"dot_scaled", "tl.dot_scaled (microscaled fp8/fp4 dot) is not supported by terrazzo"},
      {"inline_asm_elementwise", "tl.inline_asm_elementwise is not supported by terrazzo (the interpreter cannot run PTX)"},
      {"map_elementwise", "tl.map_elementwise is not supported by terrazzo"},
      {"uint8", "unsigned integer dtype tl.uint8 is not supported by terrazzo"},
      {"uint16", "unsigned integer dtype tl.uint16 is not supported by terrazzo"},
      {"uint32", "unsigned integer dtype tl.uint32 is not supported by terrazzo"},
      {"uint64", "unsigned integer dtype tl.uint64 is not supported by terrazzo"},
      {"float8e4nv", "fp8 dtype tl.float8e4nv is not supported by terrazzo yet"},
      {"float8e5", "fp8 dtype tl.float8e5 is not supported by terrazzo yet"},
      {"float8e4b15", "fp8 dtype tl.float8e4b15 is not supported by terrazzo yet"},
      {"float8e4b8", "fp8 dtype tl.float8e4b8 is not supported by terrazzo yet"},
      {"float8e5b16", "fp8 dtype tl.float8e5b16 is not supported by terrazzo yet"},
      {"slice", "tl.slice is not supported by terrazzo"},
      {"condition", "tl.condition is not supported by terrazzo"},
      {"tensor", "tl.tensor is a type: it is only accepted as an annotation"},
      {"tensor_descriptor", "tl.tensor_descriptor is a type: it is only accepted as an annotation"},
      {"block_type", "tl.block_type is a type: it is only accepted as an annotation"},
      {"pointer_type", "tl.pointer_type is not supported inside terrazzo kernels"},
      {"const", "tl.const is a type: it is only accepted as an annotation"},
      {"void", "tl.void is not supported inside terrazzo kernels"},
      {"constexpr_type", "tl.constexpr_type is not supported inside terrazzo kernels"},
      {"pi32_t", "tl.pi32_t is not supported inside terrazzo kernels"},
      {"target_info", "tl.target_info is not supported by terrazzo"},
      {"PropagateNan", "tl.PropagateNan is not supported inside terrazzo kernels (NaN always propagates)"},
  };
  auto it = reasons.find(name);
  return it == reasons.end() ? std::string() : it->second;
}

void addCompositeBuiltins(BuiltinTable &t) {
  addCombineBuiltins(t);
  addSortBuiltins(t);
  addRandomBuiltins(t);
  addDerivativeBuiltins(t);
  t["join"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "join", args, loc, {"a", "b"});
    return join(kb, b.get("a"), b.get("b"), loc);
  };
  t["gather"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "gather", args, loc, {"src", "index", "axis"});
    return gather(kb, b.get("src"), b.get("index"), b.get("axis"), loc);
  };
  t["tuple"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // tl.tuple(iterable): the same elements as a tuple.
    Binder b(kb, "tuple", args, loc, {"args"});
    CgValue v = b.get("args");
    if (v.kind != CgValue::Kind::Tuple)
      kb.fail(loc, "tz.tuple needs a tuple or list, not " + kb.describe(v));
    return v;
  };
  t["split"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "split", args, loc, {"a"});
    auto tile = tileType(kb, b.get("a"), loc, "the argument of tz.split");
    if (tile.getShape().back() != 2)
      kb.fail(loc, "tz.split needs a tile whose last dimension is 2, not " + kb.typeName(tile));
    int64_t last = tile.getRank() - 1;
    return CgValue::tuple({takeAlong(kb, b.get("a"), last, 0, loc), takeAlong(kb, b.get("a"), last, 1, loc)});
  };
  t["interleave"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "interleave", args, loc, {"a", "b"});
    CgValue c = join(kb, b.get("a"), b.get("b"), loc);
    std::vector<int64_t> shape = shapeOfValue(c);
    if (shape.size() == 1)
      return c;
    shape.pop_back();
    shape.back() *= 2;
    return reshapeTo(kb, c, shape, loc);
  };
  t["cat"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // Triton only promises the elements of both (can_reorder); these are in
    // order, `input` first, along dimension 0.
    Binder b(kb, "cat", args, loc, {"input", "other", "can_reorder="});
    auto ta = tileType(kb, b.get("input"), loc, "argument 'input' of tz.cat");
    auto tb = tileType(kb, b.get("other"), loc, "argument 'other' of tz.cat");
    if (ta.getShape() != tb.getShape())
      kb.fail(loc, "tz.cat needs two tiles of one shape, not " + kb.typeName(ta) + " and " + kb.typeName(tb));
    CgValue c = joinAt(kb, b.get("input"), b.get("other"), 0, loc);
    std::vector<int64_t> shape(ta.getShape());
    shape[0] *= 2;
    return reshapeTo(kb, c, shape, loc);
  };
  t["flip"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "flip", args, loc, {"x", "dim="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.flip");
    int64_t dim = b.has("dim") ? normalizeAxis(kb, b.get("dim"), tile.getRank(), loc) : tile.getRank() - 1;
    return flipAlong(kb, b.get("x"), dim, loc);
  };
  t["ravel"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "ravel", args, loc, {"x", "can_reorder="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.ravel");
    return reshapeTo(kb, b.get("x"), {tile.getNumElements()}, loc);
  };

  t["histogram"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "histogram", args, loc, {"input", "num_bins", "mask="});
    auto tile = tileType(kb, b.get("input"), loc, "argument 'input' of tz.histogram");
    if (tile.getRank() != 1 || !isa<IntegerType>(tile.getElementType()))
      kb.fail(loc, "tz.histogram needs a 1-D integer tile, not " + kb.typeName(tile));
    int64_t bins = b.integer("num_bins");
    // One row per element, one column per bin: count the matches per column.
    CgValue values = call(kb, "expand_dims", {b.get("input"), CgValue::integer(1)}, loc);
    CgValue binIds = call(kb, "expand_dims", {call(kb, "arange", {CgValue::integer(0), CgValue::integer(bins)}, loc),
                                              CgValue::integer(0)},
                          loc);
    CgValue hits = kb.compareOp(CmpOpKind::Eq, values, binIds, loc);
    if (b.has("mask")) {
      CgValue mask = CgValue::fromIr(kb.castTo(b.ir("mask"), kb.builder().getI1Type(), loc));
      hits = kb.binaryOp(BinOpKind::BitAnd, hits, call(kb, "expand_dims", {mask, CgValue::integer(1)}, loc), loc);
    }
    CgValue counts = CgValue::fromIr(kb.castTo(hits.ir, kb.builder().getI32Type(), loc));
    return call(kb, "sum", {counts, CgValue::integer(0)}, loc);
  };

  t["softmax"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // As triton.language.standard.softmax: the max and the sum are taken along
    // dim (0 when None) and broadcast back by the usual rules.
    Binder b(kb, "softmax", args, loc, {"x", "dim=", "keep_dims=", "ieee_rounding="});
    CgValue dim = b.has("dim") ? b.get("dim") : CgValue::integer(0);
    CallArgs maxArgs;
    maxArgs.positional = {b.get("x"), dim};
    maxArgs.positionalLocs = {loc, loc};
    maxArgs.keywords = {{"keep_dims", CgValue::boolean(flag(b, "keep_dims"))}};
    CgValue z = kb.binaryOp(BinOpKind::Sub, b.get("x"), kb.callBuiltin("max", maxArgs, loc), loc);
    CgValue num = call(kb, "exp", {z}, loc);
    CallArgs sumArgs = maxArgs;
    sumArgs.positional[0] = num;
    return kb.binaryOp(BinOpKind::Div, num, kb.callBuiltin("sum", sumArgs, loc), loc);
  };
  t["swizzle2d"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // Row-major (i, j) of a size_i x size_j grid renumbered so that groups of
    // size_g rows are walked column by column.
    Binder b(kb, "swizzle2d", args, loc, {"i", "j", "size_i", "size_j", "size_g"});
    auto op = [&](BinOpKind k, const CgValue &x, const CgValue &y) { return kb.binaryOp(k, x, y, loc); };
    CgValue ij = op(BinOpKind::Add, op(BinOpKind::Mul, b.get("i"), b.get("size_j")), b.get("j"));
    CgValue perGroup = op(BinOpKind::Mul, b.get("size_g"), b.get("size_j"));
    CgValue firstRow = op(BinOpKind::Mul, op(BinOpKind::FloorDiv, ij, perGroup), b.get("size_g"));
    CallArgs m;
    m.positional = {op(BinOpKind::Sub, b.get("size_i"), firstRow), b.get("size_g")};
    m.positionalLocs = {loc, loc};
    CgValue groupRows = kb.callBuiltin("minimum", m, loc);
    CgValue inGroup = op(BinOpKind::Mod, ij, perGroup);
    return CgValue::tuple({op(BinOpKind::Add, firstRow, op(BinOpKind::Mod, inGroup, groupRows)),
                           op(BinOpKind::FloorDiv, inGroup, groupRows)});
  };
  auto arithmetic = [](const char *name, BinOpKind k) {
    return [name, k](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, name, args, loc, {"x", "y", "sanitize_overflow="});
      return kb.binaryOp(k, b.get("x"), b.get("y"), loc);
    };
  };
  t["add"] = arithmetic("add", BinOpKind::Add);
  t["sub"] = arithmetic("sub", BinOpKind::Sub);
  t["mul"] = arithmetic("mul", BinOpKind::Mul);
  t["assume"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // A promise to the optimizer; nothing here uses it.
    Binder b(kb, "assume", args, loc, {"cond"});
    (void)b;
    return CgValue::none();
  };
}

} // namespace terrazzo::dsl
