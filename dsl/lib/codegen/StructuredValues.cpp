// Values with structure (tuples, block pointers, tensor descriptors) crossing
// control flow. scf ops carry flat lists of SSA values, so a structured value
// is flattened to its run-time leaves (SSA values and numbers) and rebuilt
// from the region arguments or results on the other side; its compile-time
// parts (block shapes, dtypes, functions) must agree on every path.
#include "KernelBuilder.h"

using namespace mlir;

namespace terrazzo::dsl {

namespace {
bool hasChildren(const CgValue &v) {
  return v.kind == CgValue::Kind::Tuple || v.kind == CgValue::Kind::BlockPtr ||
         v.kind == CgValue::Kind::TensorDesc;
}
} // namespace

void flattenLeaves(const CgValue &v, std::vector<CgValue> &leaves) {
  if (v.isIr() || v.isNumber()) {
    leaves.push_back(v);
    return;
  }
  if (hasChildren(v))
    for (auto &e : v.elems)
      flattenLeaves(e, leaves);
}

bool sameStructure(const CgValue &a, const CgValue &b) {
  bool leafA = a.isIr() || a.isNumber(), leafB = b.isIr() || b.isNumber();
  if (leafA || leafB)
    return leafA && leafB;
  if (hasChildren(a)) {
    if (a.kind != b.kind || a.blockShape != b.blockShape || a.elems.size() != b.elems.size())
      return false;
    for (size_t i = 0; i < a.elems.size(); ++i)
      if (!sameStructure(a.elems[i], b.elems[i]))
        return false;
    return true;
  }
  return a.sameAs(b);
}

CgValue rebuildFromLeaves(const CgValue &shape, ArrayRef<Value> leaves, size_t &pos) {
  if (shape.isIr() || shape.isNumber())
    return CgValue::fromIr(leaves[pos++]);
  if (!hasChildren(shape))
    return shape;
  CgValue out = shape;
  for (auto &e : out.elems)
    e = rebuildFromLeaves(e, leaves, pos);
  return out;
}

} // namespace terrazzo::dsl
