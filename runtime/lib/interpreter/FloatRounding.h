// Rounding doubles to the narrower IEEE formats the kernels compute in.
//
// The interpreter holds every float as a double and, after each op, rounds it
// to the op's element type with round-to-nearest-even, as the GPU would. The
// routines here work on the bits of the double directly (no APFloat, no
// conversion through float, which would round twice for f16/bf16), handle
// overflow to infinity, gradual underflow to subnormals, and NaN.
#pragma once

#include "Tile.h"

#include "llvm/ADT/bit.h"

#include <cstdint>

namespace terrazzo::interp {

// An IEEE binary format narrower than double.
struct FloatFormat {
  int mantissaBits; // explicit fraction bits
  int exponentBits;

  constexpr int bias() const { return (1 << (exponentBits - 1)) - 1; }
  constexpr int minExponent() const { return 1 - bias(); }
  constexpr int maxExponent() const { return bias(); }
};

inline constexpr FloatFormat kHalf{10, 5};
inline constexpr FloatFormat kBFloat16{7, 8};
inline constexpr FloatFormat kFloat32{23, 8};

namespace detail {
constexpr uint64_t kSignBit = uint64_t(1) << 63;
constexpr uint64_t kExponentMask = uint64_t(0x7FF) << 52;
constexpr uint64_t kFractionMask = (uint64_t(1) << 52) - 1;

// 2^k as a double, for k in the normal double range.
inline double powerOfTwo(int k) {
  return llvm::bit_cast<double>(static_cast<uint64_t>(k + 1023) << 52);
}
} // namespace detail

// The value of `x` rounded to the nearest value of `format` (ties to even),
// as a double. Infinities and NaN pass through; too-large values become inf.
inline double roundToFormat(double x, FloatFormat format) {
  using namespace detail;
  uint64_t bits = llvm::bit_cast<uint64_t>(x);
  uint64_t sign = bits & kSignBit;
  uint64_t magnitude = bits & ~kSignBit;
  if (magnitude >= kExponentMask) // inf or NaN
    return x;
  // Doubles that are zero or subnormal are far below every format's range.
  if ((magnitude & kExponentMask) == 0)
    return llvm::bit_cast<double>(sign);
  int exponent = static_cast<int>(magnitude >> 52) - 1023;
  if (exponent >= format.minExponent()) {
    // A normal number of the target: round the 52-bit fraction to
    // mantissaBits. A carry out of the fraction correctly bumps the exponent.
    int drop = 52 - format.mantissaBits;
    uint64_t keptLsb = (magnitude >> drop) & 1;
    magnitude += (uint64_t(1) << (drop - 1)) - 1 + keptLsb;
    magnitude &= ~((uint64_t(1) << drop) - 1);
    if (static_cast<int>(magnitude >> 52) - 1023 > format.maxExponent())
      magnitude = kExponentMask; // overflow: infinity
    return llvm::bit_cast<double>(sign | magnitude);
  }
  // A subnormal of the target: a multiple of the smallest subnormal, 2^(minExp
  // - mantissaBits). Round the full 53-bit significand at that quantum.
  uint64_t significand = (magnitude & kFractionMask) | (uint64_t(1) << 52);
  int drop = 52 - format.mantissaBits + (format.minExponent() - exponent);
  if (drop >= 54) // below half the smallest subnormal
    return llvm::bit_cast<double>(sign);
  uint64_t kept = significand >> drop;
  uint64_t rest = significand & ((uint64_t(1) << drop) - 1);
  uint64_t half = uint64_t(1) << (drop - 1);
  if (rest > half || (rest == half && (kept & 1)))
    ++kept;
  // Exact: an integer of at most mantissaBits+1 bits times a power of two.
  double rounded =
      static_cast<double>(kept) * powerOfTwo(format.minExponent() - format.mantissaBits);
  return sign ? -rounded : rounded;
}

// The bit pattern of `x` in `format` (x is rounded first). NaN keeps its sign
// and the top bits of its payload and is made quiet.
inline uint64_t encodeFormat(double x, FloatFormat format) {
  using namespace detail;
  x = roundToFormat(x, format);
  uint64_t bits = llvm::bit_cast<uint64_t>(x);
  int m = format.mantissaBits, e = format.exponentBits;
  uint64_t sign = (bits >> 63) << (m + e);
  uint64_t magnitude = bits & ~kSignBit;
  uint64_t allOnesExponent = ((uint64_t(1) << e) - 1) << m;
  if (magnitude > kExponentMask) { // NaN
    uint64_t payload = (magnitude & kFractionMask) >> (52 - m);
    return sign | allOnesExponent | (uint64_t(1) << (m - 1)) | payload;
  }
  if (magnitude == kExponentMask)
    return sign | allOnesExponent;
  if (magnitude == 0)
    return sign;
  int exponent = static_cast<int>(magnitude >> 52) - 1023;
  if (exponent >= format.minExponent()) {
    uint64_t biased = static_cast<uint64_t>(exponent + format.bias());
    return sign | (biased << m) | ((magnitude & kFractionMask) >> (52 - m));
  }
  // Subnormal: the value is an exact multiple of the quantum.
  uint64_t significand = (magnitude & kFractionMask) | (uint64_t(1) << 52);
  int drop = 52 - m + (format.minExponent() - exponent);
  return sign | (significand >> drop);
}

// The value of the `format` bit pattern `bits` as a double (exact).
inline double decodeFormat(uint64_t bits, FloatFormat format) {
  using namespace detail;
  int m = format.mantissaBits, e = format.exponentBits;
  uint64_t sign = ((bits >> (m + e)) & 1) << 63;
  uint64_t exponentField = (bits >> m) & ((uint64_t(1) << e) - 1);
  uint64_t fraction = bits & ((uint64_t(1) << m) - 1);
  if (exponentField == (uint64_t(1) << e) - 1) // inf or NaN (payload kept)
    return llvm::bit_cast<double>(sign | kExponentMask | (fraction << (52 - m)));
  if (exponentField == 0) {
    double value =
        static_cast<double>(fraction) * powerOfTwo(format.minExponent() - m);
    return sign ? -value : value;
  }
  uint64_t exponent = exponentField - format.bias() + 1023;
  return llvm::bit_cast<double>(sign | (exponent << 52) | (fraction << (52 - m)));
}

inline double roundToHalf(double x) { return roundToFormat(x, kHalf); }
inline double roundToBFloat16(double x) { return roundToFormat(x, kBFloat16); }
// The hardware conversion to float rounds to nearest even, handles
// subnormals and overflows to inf (IEEE behaviour, which GCC and Clang give on
// every target we build for); it is the fast path for the most common type.
// The FloatRoundingTest checks it against roundToFormat(x, kFloat32).
inline double roundToFloat32(double x) { return static_cast<double>(static_cast<float>(x)); }

// Rounding policies, as types so loops over tiles are instantiated per format
// and the rounding inlines into them.
struct RoundF64 {
  static double apply(double x) { return x; }
};
struct RoundF32 {
  static double apply(double x) { return roundToFloat32(x); }
};
struct RoundF16 {
  static double apply(double x) { return roundToHalf(x); }
};
struct RoundBF16 {
  static double apply(double x) { return roundToBFloat16(x); }
};

// Calls body(RoundXX{}) with the policy of the float kind `kind`.
template <typename Body>
void withRounding(ElemKind kind, Body &&body) {
  switch (kind) {
  case ElemKind::F16:
    body(RoundF16{});
    break;
  case ElemKind::BF16:
    body(RoundBF16{});
    break;
  case ElemKind::F32:
    body(RoundF32{});
    break;
  default:
    body(RoundF64{});
    break;
  }
}

// Rounds one value to the float kind `kind`.
double roundToKind(double x, ElemKind kind);

// Rounds every value in place to the float kind `kind`.
void roundAllToKind(llvm::MutableArrayRef<double> values, ElemKind kind);

// The bit pattern of a float value in its kind's format (f16/bf16: 16 bits,
// f32: 32, f64: 64), and back.
uint64_t floatToBits(double x, ElemKind kind);
double floatFromBits(uint64_t bits, ElemKind kind);

} // namespace terrazzo::interp
