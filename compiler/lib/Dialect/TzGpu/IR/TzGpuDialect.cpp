//===- TzGpuDialect.cpp - tzgpu registration, encoding, convert_layout ---===//
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace terrazzo::tzgpu;

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuAttrs.cpp.inc"
#define GET_TYPEDEF_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuTypes.cpp.inc"
#define GET_OP_CLASSES
#include "terrazzo/Dialect/TzGpu/IR/TzGpuOps.cpp.inc"

void TzGpuDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "terrazzo/Dialect/TzGpu/IR/TzGpuOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "terrazzo/Dialect/TzGpu/IR/TzGpuAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "terrazzo/Dialect/TzGpu/IR/TzGpuTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// #tzgpu.linear
//===----------------------------------------------------------------------===//

namespace {
// [[a, b], [c, d]] into `flat`, checking every basis has `rank` entries
// (rank < 0: taken from the first basis).
ParseResult parseBases(AsmParser &parser, int &rank, SmallVector<int32_t> &flat) {
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() -> ParseResult {
    int count = 0;
    if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() -> ParseResult {
          int32_t v;
          if (parser.parseInteger(v))
            return failure();
          flat.push_back(v);
          ++count;
          return success();
        }))
      return failure();
    if (rank < 0)
      rank = count;
    if (count != rank)
      return parser.emitError(parser.getCurrentLocation(), "every basis needs ") << rank << " coordinates";
    return success();
  });
}

void printBases(AsmPrinter &printer, unsigned rank, ArrayRef<int32_t> flat) {
  printer << "[";
  for (size_t i = 0; i < flat.size(); i += rank) {
    if (i)
      printer << ", ";
    printer << "[";
    llvm::interleaveComma(flat.slice(i, rank), printer);
    printer << "]";
  }
  printer << "]";
}

SmallVector<Coord> unflatten(ArrayRef<int32_t> flat, unsigned rank) {
  SmallVector<Coord> out;
  for (size_t i = 0; i + rank <= flat.size() && rank > 0; i += rank)
    out.push_back(Coord(flat.slice(i, rank).begin(), flat.slice(i, rank).end()));
  return out;
}

SmallVector<int32_t> flatten(const SmallVector<Coord> &bases) {
  SmallVector<int32_t> flat;
  for (const Coord &c : bases)
    flat.append(c.begin(), c.end());
  return flat;
}
} // namespace

Attribute LinearEncodingAttr::parse(AsmParser &parser, Type) {
  // Lanes always have 5 bases, so the rank is read from them; reg and warp
  // lists may be empty.
  SmallVector<int32_t> reg, lane, warp;
  int regRank = -1, laneRank = -1, warpRank = -1;
  if (parser.parseLess() || parser.parseKeyword("reg") || parser.parseEqual() ||
      parseBases(parser, regRank, reg) || parser.parseComma() || parser.parseKeyword("lane") ||
      parser.parseEqual() || parseBases(parser, laneRank, lane) || parser.parseComma() ||
      parser.parseKeyword("warp") || parser.parseEqual() || parseBases(parser, warpRank, warp) ||
      parser.parseGreater())
    return {};
  if (laneRank < 0 || (regRank >= 0 && regRank != laneRank) || (warpRank >= 0 && warpRank != laneRank)) {
    parser.emitError(parser.getNameLoc(), "reg, lane and warp bases must have the same rank");
    return {};
  }
  return parser.getChecked<LinearEncodingAttr>(parser.getContext(), (unsigned)laneRank, reg, lane, warp);
}

void LinearEncodingAttr::print(AsmPrinter &printer) const {
  printer << "<reg = ";
  printBases(printer, getRank(), getReg());
  printer << ", lane = ";
  printBases(printer, getRank(), getLane());
  printer << ", warp = ";
  printBases(printer, getRank(), getWarp());
  printer << ">";
}

LogicalResult LinearEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned rank,
                                         ArrayRef<int32_t> reg, ArrayRef<int32_t> lane, ArrayRef<int32_t> warp) {
  if (rank == 0)
    return emitError() << "a linear encoding needs rank >= 1";
  if (lane.size() != rank * LinearLayout::kLaneBits)
    return emitError() << "a linear encoding needs " << LinearLayout::kLaneBits << " lane bases";
  for (auto list : {reg, lane, warp})
    for (int32_t v : list)
      if (v < 0)
        return emitError() << "basis coordinates must be non-negative";
  return success();
}

// The tile must have the encoding's rank, and every basis must stay inside
// it (a coordinate beyond a dimension would alias another element).
LogicalResult LinearEncodingAttr::verifyEncoding(ArrayRef<int64_t> shape, Type,
                                                 function_ref<InFlightDiagnostic()> emitError) const {
  if (shape.size() != getRank())
    return emitError() << "a rank-" << getRank() << " #tzgpu.linear encoding on a rank-" << shape.size() << " tile";
  for (int64_t s : shape)
    if (s <= 0 || (s & (s - 1)) != 0)
      return emitError() << "#tzgpu.linear needs power-of-two dimensions";
  for (auto list : {getReg(), getLane(), getWarp()})
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i] >= shape[i % getRank()])
        return emitError() << "basis coordinate " << list[i] << " is outside dimension " << i % getRank()
                           << " of size " << shape[i % getRank()];
  return success();
}

LinearLayout LinearEncodingAttr::toLayout(ArrayRef<int64_t> shape) const {
  unsigned rank = getRank();
  return LinearLayout(shape, unflatten(getReg(), rank), unflatten(getLane(), rank), unflatten(getWarp(), rank));
}

LinearEncodingAttr LinearEncodingAttr::fromLayout(MLIRContext *context, const LinearLayout &layout) {
  using D = LinearLayout::InDim;
  return LinearEncodingAttr::get(context, layout.rank(), flatten(layout.bases(D::Register)),
                                 flatten(layout.bases(D::Lane)), flatten(layout.bases(D::Warp)));
}

namespace terrazzo::tzgpu {
LinearLayout getLayout(RankedTensorType type) {
  auto enc = cast<LinearEncodingAttr>(type.getEncoding());
  return enc.toLayout(type.getShape());
}

RankedTensorType withLayout(RankedTensorType type, const LinearLayout &layout) {
  return RankedTensorType::get(type.getShape(), type.getElementType(),
                               LinearEncodingAttr::fromLayout(type.getContext(), layout));
}
bool inMmaOperandA(mlir::RankedTensorType aType, int numWarps) {
  return aType.getRank() == 2 && aType.getEncoding() && aType.getShape()[0] % 16 == 0 &&
         aType.getShape()[1] % 16 == 0 && getLayout(aType) == LinearLayout::mmaOperandA(aType.getShape(), numWarps);
}

int moduleNumWarps(mlir::Operation *op) {
  auto module = llvm::isa<mlir::ModuleOp>(op) ? llvm::cast<mlir::ModuleOp>(op) : op->getParentOfType<mlir::ModuleOp>();
  if (auto attr = module->getAttrOfType<mlir::IntegerAttr>(kNumWarpsAttrName))
    return attr.getInt();
  return 4;
}

int moduleLaunchWarps(mlir::Operation *op) {
  auto module = llvm::isa<mlir::ModuleOp>(op) ? llvm::cast<mlir::ModuleOp>(op) : op->getParentOfType<mlir::ModuleOp>();
  int producers = 0;
  if (auto attr = module->getAttrOfType<mlir::IntegerAttr>(kProducerWarpsAttrName))
    producers = attr.getInt();
  return moduleNumWarps(module) + producers;
}

} // namespace terrazzo::tzgpu

//===----------------------------------------------------------------------===//
// convert_layout
//===----------------------------------------------------------------------===//

OpFoldResult ConvertLayoutOp::fold(FoldAdaptor) {
  if (getSrc().getType() == getType())
    return getSrc();
  // convert(convert(x)) == convert(x): the middle layout does not matter.
  if (auto inner = getSrc().getDefiningOp<ConvertLayoutOp>())
    if (inner.getSrc().getType() == getType())
      return inner.getSrc();
  return {};
}

namespace {
// A splat (or splat constant) is the same in every layout: build it in the
// new one instead of moving it.
struct ConvertOfSplat : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rewriter) const override {
    Operation *def = op.getSrc().getDefiningOp();
    if (auto splat = dyn_cast_or_null<terrazzo::tz::SplatOp>(def)) {
      rewriter.replaceOpWithNewOp<terrazzo::tz::SplatOp>(op, op.getType(), splat.getSrc());
      return success();
    }
    if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def))
      if (auto dense = dyn_cast<SplatElementsAttr>(constant.getValue())) {
        rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, dense.reshape(op.getType()));
        return success();
      }
    return failure();
  }
};

// convert(convert(x)) == convert(x).
struct ConvertOfConvert : OpRewritePattern<ConvertLayoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvertLayoutOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getSrc().getDefiningOp<ConvertLayoutOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ConvertLayoutOp>(op, op.getType(), inner.getSrc());
    return success();
  }
};
} // namespace

void ConvertLayoutOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ConvertOfSplat, ConvertOfConvert>(context);
}
