// Block pointers (make_block_ptr/advance) and tensor descriptors
// (make_tensor_descriptor, desc.load/desc.store). Both describe a 2-D or N-D
// window into a strided tensor. At the tz level they are expanded into a tile
// of pointers plus a bounds mask, so the interpreter and every later pass see
// ordinary loads and stores; their fields travel through control flow as
// structured values (StructuredValues.cpp).
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace terrazzo::dsl {

namespace {
std::vector<CgValue> tupleItems(KernelBuilder &kb, const CgValue &v, SourceLoc loc, const std::string &what) {
  if (v.kind == CgValue::Kind::Tuple)
    return v.elems;
  if (v.isIr() || v.isNumber())
    return {v};
  kb.fail(loc, what + " must be a tuple, not " + kb.describe(v));
}
} // namespace

// Fields shared by both kinds: base, shape[r], strides[r] as i64 scalars.
static void appendWindowFields(KernelBuilder &kb, CgValue &out, const CgValue &base, const CgValue &shape,
                               const CgValue &strides, size_t rank, SourceLoc loc, const char *fn) {
  Value basePtr = kb.requireIr(base, loc, std::string("argument 'base' of tz.") + fn);
  if (!isa<tz::PointerType>(basePtr.getType()))
    kb.fail(loc, std::string("argument 'base' of tz.") + fn + " must be a scalar pointer, not " +
                     kb.typeName(basePtr.getType()));
  out.elems.push_back(CgValue::fromIr(basePtr));
  Type i64 = kb.builder().getI64Type();
  for (const auto *list : {&shape, &strides}) {
    auto items = tupleItems(kb, *list, loc, list == &shape ? "shape" : "strides");
    if (items.size() != rank)
      kb.fail(loc, std::string("tz.") + fn + ": shape, strides and block_shape must have " +
                       std::to_string(rank) + " entries each");
    for (auto &item : items)
      out.elems.push_back(CgValue::fromIr(kb.materializeAs(item, i64, loc)));
  }
}

CgValue KernelBuilder::makeBlockPtr(const CgValue &base, const CgValue &shape, const CgValue &strides,
                                    const CgValue &offsets, const CgValue &blockShape, const CgValue &order,
                                    SourceLoc loc) {
  CgValue bp;
  bp.kind = CgValue::Kind::BlockPtr;
  bp.blockShape = requireShape(blockShape, loc, "block_shape of tz.make_block_ptr");
  size_t rank = bp.blockShape.size();
  appendWindowFields(*this, bp, base, shape, strides, rank, loc, "make_block_ptr");
  auto offs = tupleItems(*this, offsets, loc, "offsets");
  if (offs.size() != rank)
    fail(loc, "tz.make_block_ptr: offsets must have " + std::to_string(rank) + " entries");
  for (auto &o : offs)
    bp.elems.push_back(CgValue::fromIr(materializeAs(o, builder_.getI64Type(), loc)));
  for (auto &o : tupleItems(*this, order, loc, "order"))
    bp.order.push_back(requireInt(o, loc, "order of tz.make_block_ptr"));
  return bp;
}

CgValue KernelBuilder::advanceBlockPtr(const CgValue &ptr, const CgValue &offsets, SourceLoc loc) {
  if (ptr.kind != CgValue::Kind::BlockPtr)
    fail(loc, "tz.advance needs a block pointer, not " + describe(ptr));
  size_t rank = ptr.blockShape.size();
  auto deltas = tupleItems(*this, offsets, loc, "offsets");
  if (deltas.size() != rank)
    fail(loc, "tz.advance: offsets must have " + std::to_string(rank) + " entries");
  CgValue out = ptr;
  for (size_t d = 0; d < rank; ++d) {
    CgValue &off = out.elems[1 + 2 * rank + d];
    off = CgValue::fromIr(materializeAs(binaryOp(BinOpKind::Add, off, deltas[d], loc), builder_.getI64Type(), loc));
  }
  return out;
}

CgValue KernelBuilder::makeTensorDesc(const CgValue &base, const CgValue &shape, const CgValue &strides,
                                      const CgValue &blockShape, SourceLoc loc) {
  CgValue desc;
  desc.kind = CgValue::Kind::TensorDesc;
  desc.blockShape = requireShape(blockShape, loc, "block_shape of tz.make_tensor_descriptor");
  appendWindowFields(*this, desc, base, shape, strides, desc.blockShape.size(), loc, "make_tensor_descriptor");
  return desc;
}

KernelBuilder::Window KernelBuilder::windowOf(const CgValue &v, const CgValue *offsets,
                                              const std::vector<int64_t> &checkedDims, SourceLoc loc) {
  size_t rank = v.blockShape.size();
  std::vector<CgValue> offs;
  if (v.kind == CgValue::Kind::BlockPtr) {
    offs.assign(v.elems.begin() + 1 + 2 * rank, v.elems.end());
  } else {
    offs = tupleItems(*this, *offsets, loc, "offsets");
    if (offs.size() != rank)
      fail(loc, "the descriptor is " + std::to_string(rank) + "-D but " + std::to_string(offs.size()) +
                    " offsets were given");
  }
  Location l = location(loc);
  Type i64 = builder_.getI64Type();
  std::vector<int64_t> shape(v.blockShape);
  Window w;
  w.ptr = broadcastTo(v.elems[0].ir, shape, loc);
  for (size_t d = 0; d < rank; ++d) {
    // Index along dimension d: offset + [0, B_d), laid out along axis d.
    Value range = builder_.create<tz::MakeRangeOp>(l, RankedTensorType::get({shape[d]}, builder_.getI32Type()), 0,
                                                   (int32_t)shape[d]);
    Value index = builder_.create<arith::AddIOp>(
        l, castTo(range, i64, loc), broadcastTo(materializeAs(offs[d], i64, loc), {shape[d]}, loc));
    SmallVector<int64_t> axisShape(rank, 1);
    axisShape[d] = shape[d];
    Value indexNd = builder_.create<tz::ReshapeOp>(l, RankedTensorType::get(axisShape, i64), index);
    Value stride = v.elems[1 + rank + d].ir;
    Value step = builder_.create<arith::MulIOp>(l, indexNd, broadcastTo(stride, axisShape, loc));
    w.ptr = builder_.create<tz::AddPtrOp>(l, w.ptr.getType(), w.ptr, broadcastTo(step, shape, loc));
    if (std::find(checkedDims.begin(), checkedDims.end(), (int64_t)d) == checkedDims.end())
      continue;
    Value extent = broadcastTo(v.elems[1 + d].ir, axisShape, loc);
    Value zero = constantLike(indexNd.getType(), 0, loc);
    Value inside = builder_.create<arith::AndIOp>(
        l, builder_.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, indexNd, zero),
        builder_.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, indexNd, extent));
    Value insideNd = broadcastTo(inside, shape, loc);
    w.mask = w.mask ? Value(builder_.create<arith::AndIOp>(l, w.mask, insideNd)) : insideNd;
  }
  return w;
}

std::vector<int64_t> KernelBuilder::boundaryCheckDims(const CgValue &v, size_t rank, SourceLoc loc) {
  std::vector<int64_t> dims;
  if (v.kind == CgValue::Kind::None)
    return dims;
  for (auto &d : tupleItems(*this, v, loc, "boundary_check")) {
    int64_t dim = requireInt(d, loc, "boundary_check entry");
    if (dim < 0 || dim >= (int64_t)rank)
      fail(loc, "boundary_check dimension " + std::to_string(dim) + " is out of range for a " +
                    std::to_string(rank) + "-D block");
    dims.push_back(dim);
  }
  return dims;
}

} // namespace terrazzo::dsl
