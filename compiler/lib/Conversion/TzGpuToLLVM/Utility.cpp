//===- Utility.cpp - helpers shared by the tzgpu-to-LLVM patterns --------===//
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

namespace {
constexpr const char *kSharedSymbol = "tz_shared_memory";

// Coordinates contributed by the set bits of `id`, given each bit's basis
// (already mapped to the output coordinates): one i32 per output dimension.
SmallVector<Value> bitsToCoord(OpBuilder &b, Location loc, Value id, ArrayRef<Coord> bases, int rank) {
  SmallVector<Value> out(rank, i32Const(b, loc, 0));
  for (size_t bit = 0; bit < bases.size(); ++bit) {
    for (int d = 0; d < rank; ++d) {
      int32_t v = bases[bit][d];
      if (v == 0)
        continue;
      Value set = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, id, i32Const(b, loc, bit)),
                                        i32Const(b, loc, 1));
      Value term = arith::MulIOp::create(b, loc, set, i32Const(b, loc, v));
      out[d] = arith::XOrIOp::create(b, loc, out[d], term);
    }
  }
  return out;
}

SmallVector<Value> threadPartOf(OpBuilder &b, Location loc, ArrayRef<Coord> laneBases, ArrayRef<Coord> warpBases,
                                int rank, const ThreadIds &ids) {
  SmallVector<Value> lane = bitsToCoord(b, loc, ids.lane, laneBases, rank);
  SmallVector<Value> warp = bitsToCoord(b, loc, ids.warp, warpBases, rank);
  for (int d = 0; d < rank; ++d)
    lane[d] = arith::XOrIOp::create(b, loc, lane[d], warp[d]);
  return lane;
}

SmallVector<Coord> mapBases(ArrayRef<Coord> bases, const CoordMap &map) {
  SmallVector<Coord> out;
  for (const Coord &c : bases)
    out.push_back(map(c));
  return out;
}
} // namespace

LinearLayout layoutOf(Type tileType) { return getLayout(cast<RankedTensorType>(tileType)); }

Value i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 32);
}
Value i64Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 64);
}
Value boolConst(OpBuilder &b, Location loc, bool v) { return arith::ConstantIntOp::create(b, loc, v, 1); }

ThreadIds threadIds(OpBuilder &b, Location loc) {
  Value tid = NVVM::ThreadIdXOp::create(b, loc, b.getI32Type());
  ThreadIds ids;
  ids.lane = arith::AndIOp::create(b, loc, tid, i32Const(b, loc, 31));
  ids.warp = arith::ShRUIOp::create(b, loc, tid, i32Const(b, loc, 5));
  return ids;
}

ThreadCoords threadCoords(OpBuilder &b, Location loc, const LinearLayout &layout, const ThreadIds &ids) {
  using D = LinearLayout::InDim;
  ThreadCoords tc{layout, threadPartOf(b, loc, layout.bases(D::Lane), layout.bases(D::Warp), layout.rank(), ids)};
  return tc;
}

SmallVector<Value> registerCoord(OpBuilder &b, Location loc, const ThreadCoords &tc, int reg) {
  Coord part = tc.layout.applyPart(LinearLayout::InDim::Register, reg);
  SmallVector<Value> out;
  for (int d = 0; d < tc.layout.rank(); ++d)
    out.push_back(part[d] ? arith::XOrIOp::create(b, loc, tc.threadPart[d], i32Const(b, loc, part[d])).getResult()
                          : tc.threadPart[d]);
  return out;
}

Value isCanonicalThread(OpBuilder &b, Location loc, const LinearLayout &layout, const ThreadIds &ids) {
  using D = LinearLayout::InDim;
  Value ok = boolConst(b, loc, true);
  auto require = [&](Value id, D dim) {
    int mask = 0;
    for (int bit : layout.zeroBits(dim))
      mask |= 1 << bit;
    if (!mask)
      return;
    Value bits = arith::AndIOp::create(b, loc, id, i32Const(b, loc, mask));
    ok = arith::AndIOp::create(
        b, loc, ok, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, bits, i32Const(b, loc, 0)));
  };
  require(ids.lane, D::Lane);
  require(ids.warp, D::Warp);
  return ok;
}

bool isCanonicalRegister(const LinearLayout &layout, int reg) {
  for (int bit : layout.zeroBits(LinearLayout::InDim::Register))
    if (reg & (1 << bit))
      return false;
  return true;
}

std::optional<Partition> enclosingPartition(OpBuilder &b) {
  for (Operation *op = b.getInsertionBlock() ? b.getInsertionBlock()->getParentOp() : nullptr; op;
       op = op->getParentOp())
    if (auto ws = dyn_cast<WarpSpecializeOp>(op)) {
      bool producer = ws.getProducer().isAncestor(b.getInsertionBlock()->getParent());
      int64_t first = producer ? ws.producerFirstThread() : 0;
      int64_t threads = 32 * int64_t(producer ? ws.getProducerWarps() : ws.getConsumerWarps());
      return Partition{producer, first, threads};
    }
  return std::nullopt;
}

Value isFirstThread(OpBuilder &b, Location loc) {
  Value tid = NVVM::ThreadIdXOp::create(b, loc, b.getI32Type());
  std::optional<Partition> p = enclosingPartition(b);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, i32Const(b, loc, p ? p->firstThread : 0));
}

Value sharedMemoryBase(OpBuilder &b, Location loc, Operation *user) {
  auto module = user->getParentOfType<ModuleOp>();
  auto global = module.lookupSymbol<LLVM::GlobalOp>(kSharedSymbol);
  if (!global) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    // Dynamic shared memory: an external array of no size, sized at launch,
    // aligned for the 1024-byte period of wgmma's swizzle.
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), 0);
    global = LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/false, LLVM::Linkage::External, kSharedSymbol,
                                    Attribute(), /*alignment=*/1024, kSharedAddressSpace);
  }
  return LLVM::AddressOfOp::create(b, loc, global);
}

namespace {
// An op the lowering cannot complete marks the module, so the pass fails
// after the conversion (a pattern cannot fail once it has rewritten).
void markLoweringError(Operation *user) {
  user->getParentOfType<ModuleOp>()->setAttr(kLoweringErrorAttrName, UnitAttr::get(user->getContext()));
}
} // namespace

Value sharedBase(OpBuilder &b, Location loc, Operation *user) {
  Value base = sharedMemoryBase(b, loc, user);
  auto offset = user->getAttrOfType<IntegerAttr>(kScratchOffsetAttrName);
  if (!offset) {
    user->emitError("needs scratch space in shared memory, but tzgpu-allocate-shared-memory gave it none");
    markLoweringError(user);
    return base;
  }
  return offset.getInt() ? sharedByteAddress(b, loc, base, i32Const(b, loc, offset.getInt())) : base;
}

void requireSharedBytes(Operation *user, int64_t bytes) {
  auto given = user->getAttrOfType<IntegerAttr>(kScratchBytesAttrName);
  if (given && given.getInt() >= bytes)
    return;
  user->emitError("needs ") << bytes << " bytes of scratch space, but was given "
                            << (given ? given.getInt() : 0)
                            << " (Analysis/Scratch.cpp and this lowering disagree)";
  markLoweringError(user);
}

void barrier(OpBuilder &b, Location loc) {
  // In a partition, only its own warps arrive: a named barrier with their
  // count (1 for the consumers, 2 for the producer; 0 is the block's).
  if (std::optional<Partition> p = enclosingPartition(b)) {
    NVVM::BarrierOp::create(b, loc, Type(), i32Const(b, loc, p->producer ? 2 : 1), i32Const(b, loc, p->threads),
                            NVVM::BarrierReductionAttr(), Value());
    return;
  }
  NVVM::Barrier0Op::create(b, loc);
}

void fenceProxyAsync(OpBuilder &b, Location loc) {
  NVVM::FenceProxyOp::create(b, loc, NVVM::ProxyKind::async_shared,
                            NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}

Type sharedStorageType(Type type) {
  if (type.isInteger(1))
    return IntegerType::get(type.getContext(), 8);
  if (isa<LLVM::LLVMPointerType>(type))
    return IntegerType::get(type.getContext(), 64);
  return type;
}

int64_t sharedStorageBytes(Type type) {
  Type t = sharedStorageType(type);
  return std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8);
}

void storeShared(OpBuilder &b, Location loc, Value base, Value index, Value v) {
  Type storage = sharedStorageType(v.getType());
  if (v.getType().isInteger(1))
    v = arith::ExtUIOp::create(b, loc, storage, v);
  else if (isa<LLVM::LLVMPointerType>(v.getType()))
    v = LLVM::PtrToIntOp::create(b, loc, storage, v);
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
  Value addr = LLVM::GEPOp::create(b, loc, ptrType, storage, base, ValueRange{index});
  LLVM::StoreOp::create(b, loc, v, addr);
}

Value loadShared(OpBuilder &b, Location loc, Value base, Value index, Type type) {
  Type storage = sharedStorageType(type);
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
  Value addr = LLVM::GEPOp::create(b, loc, ptrType, storage, base, ValueRange{index});
  Value v = LLVM::LoadOp::create(b, loc, storage, addr);
  if (type.isInteger(1))
    return arith::TruncIOp::create(b, loc, type, v);
  if (isa<LLVM::LLVMPointerType>(type))
    return LLVM::IntToPtrOp::create(b, loc, type, v);
  return v;
}

// Runs `body` under `cond` (when given); returns its value, or `otherwise`
// where cond is false.
Value guarded(OpBuilder &b, Location loc, Value cond, Type type, function_ref<Value(OpBuilder &)> body,
              Value otherwise) {
  if (!cond)
    return body(b);
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, loc, body(b));
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, loc, otherwise);
  }
  return ifOp.getResult(0);
}

void guardedEffect(OpBuilder &b, Location loc, Value cond, function_ref<void(OpBuilder &)> body) {
  if (!cond)
    return body(b);
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{}, cond, /*withElse=*/false);
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  body(b);
}

void storeTileShared(OpBuilder &b, Location loc, Value base, const LinearLayout &layout, ValueRange values,
                     const ThreadIds &ids, Value onlyIf) {
  ThreadCoords tc = threadCoords(b, loc, layout, ids);
  for (int r = 0; r < layout.numRegisters(); ++r) {
    if (!isCanonicalRegister(layout, r))
      continue;
    Value index = linearIndex(b, loc, layout.shape(), registerCoord(b, loc, tc, r));
    guardedEffect(b, loc, onlyIf, [&](OpBuilder &ib) { storeShared(ib, loc, base, index, values[r]); });
  }
}

Value buildVector(OpBuilder &b, Location loc, VectorType type, ValueRange elements) {
  Value v = LLVM::UndefOp::create(b, loc, type);
  for (auto [i, e] : llvm::enumerate(elements))
    v = LLVM::InsertElementOp::create(b, loc, v, e, i32Const(b, loc, i));
  return v;
}

Value shuffleXor(OpBuilder &b, Location loc, Value v, int laneMask) {
  Type type = v.getType();
  Type i32 = b.getI32Type();
  auto shfl32 = [&](Value x) -> Value {
    auto kind = NVVM::ShflKindAttr::get(b.getContext(), NVVM::ShflKind::bfly);
    return NVVM::ShflOp::create(b, loc, x.getType(), i32Const(b, loc, -1), x, i32Const(b, loc, laneMask),
                                i32Const(b, loc, 31), kind, UnitAttr());
  };
  if (type.isF32() || type.isInteger(32))
    return shfl32(v);
  if (isa<LLVM::LLVMPointerType>(type) || type.getIntOrFloatBitWidth() == 64) {
    Type i64 = b.getI64Type();
    Value bits = isa<LLVM::LLVMPointerType>(type) ? LLVM::PtrToIntOp::create(b, loc, i64, v).getResult()
                 : type.isInteger(64)             ? v
                                                  : arith::BitcastOp::create(b, loc, i64, v).getResult();
    Value lo = shfl32(arith::TruncIOp::create(b, loc, i32, bits));
    Value hi = shfl32(arith::TruncIOp::create(b, loc, i32, arith::ShRUIOp::create(b, loc, bits, i64Const(b, loc, 32))));
    Value joined = arith::OrIOp::create(
        b, loc, arith::ExtUIOp::create(b, loc, i64, lo),
        arith::ShLIOp::create(b, loc, arith::ExtUIOp::create(b, loc, i64, hi), i64Const(b, loc, 32)));
    if (isa<LLVM::LLVMPointerType>(type))
      return LLVM::IntToPtrOp::create(b, loc, type, joined);
    return type.isInteger(64) ? joined : arith::BitcastOp::create(b, loc, type, joined).getResult();
  }
  // Narrow types travel in the low bits of an i32.
  unsigned width = type.getIntOrFloatBitWidth();
  Type narrowInt = b.getIntegerType(width);
  Value bits = type.isInteger() ? v : arith::BitcastOp::create(b, loc, narrowInt, v).getResult();
  Value wide = shfl32(arith::ExtUIOp::create(b, loc, i32, bits));
  Value back = arith::TruncIOp::create(b, loc, narrowInt, wide);
  return type.isInteger() ? back : arith::BitcastOp::create(b, loc, type, back).getResult();
}

Value linearIndex(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<Value> coord) {
  Value index = i32Const(b, loc, 0);
  for (size_t d = 0; d < shape.size(); ++d) {
    index = arith::MulIOp::create(b, loc, index, i32Const(b, loc, shape[d]));
    index = arith::AddIOp::create(b, loc, index, coord[d]);
  }
  return index;
}

SmallVector<Value> remapTile(OpBuilder &b, Location loc, Operation *user, ValueRange srcValues,
                             const LinearLayout &src, const LinearLayout &dst, const CoordMap &map) {
  using D = LinearLayout::InDim;
  SmallVector<Value> out;
  if (auto regs = registerOnlyRemap(src, dst, map)) {
    for (int r : *regs)
      out.push_back(srcValues[r]);
    return out;
  }

  // Through shared memory: every thread writes what it holds at the
  // element's row-major position, then reads what it needs.
  Type type = srcValues.front().getType();
  requireSharedBytes(user, src.numElements() * sharedStorageBytes(type));
  Value base = sharedBase(b, loc, user);
  ThreadIds ids = threadIds(b, loc);
  storeTileShared(b, loc, base, src, srcValues, ids);
  barrier(b, loc);
  SmallVector<Value> mappedThread =
      threadPartOf(b, loc, mapBases(dst.bases(D::Lane), map), mapBases(dst.bases(D::Warp), map), src.rank(), ids);
  for (int r = 0; r < dst.numRegisters(); ++r) {
    Coord part = map(dst.applyPart(D::Register, r));
    SmallVector<Value> coord;
    for (int d = 0; d < src.rank(); ++d)
      coord.push_back(part[d] ? arith::XOrIOp::create(b, loc, mappedThread[d], i32Const(b, loc, part[d])).getResult()
                              : mappedThread[d]);
    out.push_back(loadShared(b, loc, base, linearIndex(b, loc, src.shape(), coord), type));
  }
  barrier(b, loc);
  return out;
}

Type pointeeOf(Type ptrLike) {
  return cast<tz::PointerType>(tz::getElementTypeOrSelf(ptrLike)).getPointeeType();
}

// How many consecutive registers of a tile access consecutive, aligned
// addresses under one mask value, so that one vector access (at most 16
// bytes) serves them: the layout's leading register bases must step along
// one dimension by 1, 2, 4, ..., and the axis analysis must find the
// pointers contiguous, aligned and the mask constant that far.
int vectorWidth(Type ptrType, Value ptr, Value mask, const AxisInfoAnalysis &axis) {
  auto tile = dyn_cast<RankedTensorType>(ptrType);
  Type elem = pointeeOf(ptrType);
  if (!tile || elem.isInteger(1))
    return 1;
  LinearLayout layout = layoutOf(tile);
  const auto &regs = layout.bases(LinearLayout::InDim::Register);
  if (regs.empty())
    return 1;
  int dim = -1;
  for (int d = 0; d < layout.rank(); ++d)
    if (regs[0][d] == 1)
      dim = d;
  if (dim < 0)
    return 1;
  int64_t width = runLength(layout, dim, layout.numRegisters());
  int64_t bytes = std::max<unsigned>(1, elem.getIntOrFloatBitWidth() / 8);
  AxisInfo p = axis.get(ptr);
  width = std::min({width, p.contiguity[dim], std::max<int64_t>(1, p.div(dim) / bytes), 16 / bytes});
  if (mask)
    width = std::min(width, axis.get(mask).constancy[dim]);
  return std::max<int64_t>(1, width);
}

SwizzledPlacement::SwizzledPlacement(OpBuilder &b, Location loc, const LinearLayout &layout, const ThreadIds &ids,
                                     bool transposed, int64_t elementBytes)
    : layout(layout), transposed(transposed), elementBytes(elementBytes) {
  using D = LinearLayout::InDim;
  auto toOffset = [&](const Coord &c) { return Coord{(int32_t)offsetOf(c)}; };
  threadPart = threadPartOf(b, loc, mapBases(layout.bases(D::Lane), toOffset),
                            mapBases(layout.bases(D::Warp), toOffset), 1, ids)[0];
}

int64_t SwizzledPlacement::offsetOf(const Coord &c) const {
  int64_t rows = layout.shape()[transposed ? 1 : 0];
  return transposed ? swizzledByteOffset(c[1], c[0], rows, elementBytes)
                    : swizzledByteOffset(c[0], c[1], rows, elementBytes);
}

Value SwizzledPlacement::byteOffset(OpBuilder &b, Location loc, int reg) const {
  int64_t part = offsetOf(layout.applyPart(LinearLayout::InDim::Register, reg));
  return part ? arith::XOrIOp::create(b, loc, threadPart, i32Const(b, loc, part)).getResult() : threadPart;
}

int runLength(const LinearLayout &layout, int dim, int maxRun) {
  const auto &regs = layout.bases(LinearLayout::InDim::Register);
  int width = 1;
  while (2 * width <= maxRun && llvm::Log2_32(width) < (unsigned)regs.size()) {
    Coord step(layout.rank(), 0);
    step[dim] = width;
    if (regs[llvm::Log2_32(width)] != step)
      break;
    width *= 2;
  }
  return width;
}

Value sharedByteAddress(OpBuilder &b, Location loc, Value base, Value bytes) {
  auto ptr3 = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
  return LLVM::GEPOp::create(b, loc, ptr3, b.getI8Type(), base, ValueRange{bytes});
}

} // namespace terrazzo::tzgpu::lowering
