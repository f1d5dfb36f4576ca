// Argument validation shared by the library's host wrappers: every failure
// names the argument and what was expected, before anything is launched.
#pragma once

#include "terrazzo/ops/TensorArg.h"

#include <initializer_list>
#include <string>

namespace terrazzo::ops::checks {

[[noreturn]] void fail(const std::string &arg, const std::string &message);

void requireRank(const TensorArg &t, const std::string &arg, size_t rank, const char *layout);
void requireDtype(const TensorArg &t, const std::string &arg, std::initializer_list<const char *> allowed);
void requireSameDtype(const TensorArg &t, const std::string &arg, const TensorArg &ref, const std::string &refArg);
void requireShape(const TensorArg &t, const std::string &arg, const std::vector<int64_t> &shape);
void requireData(const TensorArg &t, const std::string &arg);
// `t` lives where `ref` does (host, or the same CUDA device).
void requireSameDevice(const TensorArg &t, const std::string &arg, const TensorArg &ref, const std::string &refArg);
// Strides are non-negative and the inner dimension is contiguous when `innerContiguous`.
void requireStrides(const TensorArg &t, const std::string &arg, bool innerContiguous);

std::string shapeString(const std::vector<int64_t> &shape);

// Problem dimensions of attention, read off the checked q, k, v.
struct AttentionDims {
  int64_t B, H, HKV, NQ, NK, D;
};
// q (B, H, N_Q, D), k and v (B, H_KV, N_K, D): fp16/bf16 alike, H_KV divides
// H, one device, non-negative strides. The head dim must pass `headDimOk`;
// `headDims` describes the allowed ones for the message.
AttentionDims checkAttentionInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                   bool (*headDimOk)(int64_t), const char *headDims);

// Problem dimensions of linear attention, read off the checked q, k, v.
struct LinearAttentionDims {
  int64_t B, H, N, DK, DV;
};
// q and k (B, H, N, Dk), v (B, H, N, Dv): fp16/bf16 alike, Dk and Dv powers
// of two from 16 to maxHeadDim, one device, non-negative strides.
LinearAttentionDims checkLinearAttentionInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                               int64_t maxHeadDim);
// An output or gradient: exactly `like`'s shape, its dtype (or float32 when
// `allowFloat32`), its device, non-negative strides.
void requireLike(const TensorArg &t, const std::string &arg, const TensorArg &like, const std::string &likeArg,
                 bool allowFloat32);

} // namespace terrazzo::ops::checks
