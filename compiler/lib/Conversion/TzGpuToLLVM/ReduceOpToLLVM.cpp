//===- ReduceOpToLLVM.cpp - tz.reduce ------------------------------------===//
//
// Three steps, each read off the layout's bases along the reduced axis:
// registers of a thread that differ only along the axis are combined in
// place; lane bits along the axis are combined with butterfly shuffles
// (every lane ends with the warp's result); warp bits along the axis go
// through shared memory. The partial results then form the source layout
// with the axis dropped, which remapTile moves into the result's layout.
#include "Combine.h"
#include "Patterns.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <map>

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

using D = LinearLayout::InDim;

bool alongAxis(const Coord &basis, int axis) { return basis[axis] != 0; }

struct ReduceOpLowering : OpConversionPattern<tz::ReduceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(tz::ReduceOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto srcType = cast<RankedTensorType>(op.getSrc().getType());
    LinearLayout layout = layoutOf(srcType);
    if (!layout.basesAreAxisAligned())
      return rewriter.notifyMatchFailure(op, "reduction over a layout whose bases mix dimensions");
    int axis = op.getAxis();
    tz::ReduceKind kind = op.getKind();
    bool isArg = isArgKind(kind);
    ValueRange src = adaptor.getSrc();

    ThreadIds ids = threadIds(rewriter, loc);
    ThreadCoords tc;
    if (isArg)
      tc = threadCoords(rewriter, loc, layout, ids);

    // 1. Registers: group by the coordinate without the axis.
    Coord noAxis;
    std::map<SmallVector<int32_t>, int> groupOf;
    SmallVector<int> regGroup(layout.numRegisters());
    SmallVector<Partial> partials;
    for (int r = 0; r < layout.numRegisters(); ++r) {
      Coord c = layout.applyPart(D::Register, r);
      c[axis] = 0;
      SmallVector<int32_t> key(c.begin(), c.end());
      // A register selected by a zero basis holds a copy of an element an
      // earlier register holds (a layout sliced from another one): it joins
      // that register's group without being combined again.
      if (!isCanonicalRegister(layout, r)) {
        regGroup[r] = groupOf.at(key);
        continue;
      }
      Partial p{src[r], isArg ? registerCoord(rewriter, loc, tc, r)[axis] : Value()};
      auto [it, inserted] = groupOf.try_emplace(key, (int)partials.size());
      regGroup[r] = it->second;
      if (inserted)
        partials.push_back(p);
      else
        partials[it->second] = combine(rewriter, loc, kind, partials[it->second], p);
    }

    // 2. Lanes: butterfly over the lane bits along the axis.
    const auto &laneBases = layout.bases(D::Lane);
    for (int bit = 0; bit < (int)laneBases.size(); ++bit) {
      if (!alongAxis(laneBases[bit], axis))
        continue;
      for (Partial &p : partials) {
        Partial other{shuffleXor(rewriter, loc, p.value, 1 << bit),
                      isArg ? shuffleXor(rewriter, loc, p.index, 1 << bit) : Value()};
        p = combine(rewriter, loc, kind, p, other);
      }
    }

    // 3. Warps: each warp slot along the axis writes its partials, then every
    // thread combines the slots of the outputs it holds.
    SmallVector<int> warpBits;
    const auto &warpBases = layout.bases(D::Warp);
    for (int bit = 0; bit < (int)warpBases.size(); ++bit)
      if (alongAxis(warpBases[bit], axis))
        warpBits.push_back(bit);
    if (!warpBits.empty())
      combineAcrossWarps(rewriter, loc, op, kind, layout, axis, ids, warpBits, regGroup, partials);

    // The result: the source layout without the axis.
    if (srcType.getRank() == 1) {
      rewriter.replaceOp(op, isArg ? partials[0].index : partials[0].value);
      return success();
    }
    LinearLayout sliced = layout.dropDim(axis);
    SmallVector<Value> slicedValues;
    for (int r = 0; r < layout.numRegisters(); ++r)
      slicedValues.push_back(isArg ? partials[regGroup[r]].index : partials[regGroup[r]].value);
    auto resultType = cast<RankedTensorType>(op.getType());
    SmallVector<Value> values = remapTile(rewriter, loc, op, slicedValues, sliced, layoutOf(resultType),
                                          [](const Coord &c) { return c; });
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }

  static void combineAcrossWarps(OpBuilder &b, Location loc, Operation *op, tz::ReduceKind kind,
                                 const LinearLayout &layout, int axis, const ThreadIds &ids, ArrayRef<int> warpBits,
                                 ArrayRef<int> regGroup, SmallVector<Partial> &partials) {
    bool isArg = isArgKind(kind);
    int slots = 1 << warpBits.size();
    LinearLayout sliced = layout.dropDim(axis);
    int64_t outputs = std::max<int64_t>(1, sliced.numElements());
    Type valueType = partials[0].value.getType();
    int64_t valueBytes = slots * outputs * sharedStorageBytes(valueType);
    int64_t indexOffset = (valueBytes + 3) / 4; // in i32 units, after the values
    requireSharedBytes(op, valueBytes + (isArg ? 4 * slots * outputs + 4 : 0));
    Value base = sharedBase(b, loc, op);

    // This warp's slot: its warp-id bits along the axis, packed.
    Value slot = i32Const(b, loc, 0);
    for (size_t k = 0; k < warpBits.size(); ++k) {
      Value bit = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, ids.warp, i32Const(b, loc, warpBits[k])),
                                        i32Const(b, loc, 1));
      slot = arith::OrIOp::create(b, loc, slot, arith::ShLIOp::create(b, loc, bit, i32Const(b, loc, k)));
    }
    // The output index of each group, from one of its registers.
    ThreadCoords tc = threadCoords(b, loc, sliced, ids);
    SmallVector<Value> outIndex(partials.size());
    for (int r = 0; r < (int)regGroup.size(); ++r)
      if (!outIndex[regGroup[r]])
        outIndex[regGroup[r]] = sliced.rank() ? linearIndex(b, loc, sliced.shape(), registerCoord(b, loc, tc, r))
                                              : i32Const(b, loc, 0);
    Value indexBase;
    if (isArg) {
      auto ptrType = LLVM::LLVMPointerType::get(b.getContext(), kSharedAddressSpace);
      indexBase = LLVM::GEPOp::create(b, loc, ptrType, b.getI32Type(), base, ValueRange{i32Const(b, loc, indexOffset)});
    }
    auto at = [&](Value slotIndex, Value out) {
      return arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, slotIndex, i32Const(b, loc, outputs)), out);
    };
    for (size_t g = 0; g < partials.size(); ++g) {
      storeShared(b, loc, base, at(slot, outIndex[g]), partials[g].value);
      if (isArg)
        storeShared(b, loc, indexBase, at(slot, outIndex[g]), partials[g].index);
    }
    barrier(b, loc);
    for (size_t g = 0; g < partials.size(); ++g) {
      Partial acc;
      for (int s = 0; s < slots; ++s) {
        Value idx = at(i32Const(b, loc, s), outIndex[g]);
        Partial p{loadShared(b, loc, base, idx, valueType),
                  isArg ? loadShared(b, loc, indexBase, idx, b.getI32Type()) : Value()};
        acc = s == 0 ? p : combine(b, loc, kind, acc, p);
      }
      partials[g] = acc;
    }
    barrier(b, loc);
  }
};

} // namespace

void populateReducePatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<ReduceOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
