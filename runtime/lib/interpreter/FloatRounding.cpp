//===- FloatRounding.cpp - rounding to f16/bf16/f32 -----------------------===//
#include "FloatRounding.h"

#include <cstring>

namespace terrazzo::interp {

double roundToKind(double x, ElemKind kind) {
  switch (kind) {
  case ElemKind::F16:
    return roundToHalf(x);
  case ElemKind::BF16:
    return roundToBFloat16(x);
  case ElemKind::F32:
    return roundToFloat32(x);
  default:
    return x;
  }
}

void roundAllToKind(llvm::MutableArrayRef<double> values, ElemKind kind) {
  withRounding(kind, [&](auto round) {
    for (double &v : values)
      v = decltype(round)::apply(v);
  });
}

uint64_t floatToBits(double x, ElemKind kind) {
  switch (kind) {
  case ElemKind::F16:
    return encodeFormat(x, kHalf);
  case ElemKind::BF16:
    return encodeFormat(x, kBFloat16);
  case ElemKind::F32: {
    float narrow = static_cast<float>(x);
    uint32_t bits;
    std::memcpy(&bits, &narrow, sizeof bits);
    return bits;
  }
  default:
    return llvm::bit_cast<uint64_t>(x);
  }
}

double floatFromBits(uint64_t bits, ElemKind kind) {
  switch (kind) {
  case ElemKind::F16:
    return decodeFormat(bits & 0xFFFF, kHalf);
  case ElemKind::BF16:
    return decodeFormat(bits & 0xFFFF, kBFloat16);
  case ElemKind::F32: {
    uint32_t narrowBits = static_cast<uint32_t>(bits);
    float narrow;
    std::memcpy(&narrow, &narrowBits, sizeof narrow);
    return narrow;
  }
  default:
    return llvm::bit_cast<double>(bits);
  }
}

} // namespace terrazzo::interp
