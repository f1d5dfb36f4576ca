// GPU tensors as kernel arguments: torch CUDA tensors (the launch hot path:
// three attribute reads) and any object with __cuda_array_interface__.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <pybind11/pybind11.h>

#include <optional>

namespace terrazzo::python {

// A device pointer for `obj` when it is a tensor in GPU memory; nullopt
// when it is not a GPU tensor at all.
// A torch.Tensor (false until the caller has imported torch).
bool isTorchTensor(const pybind11::handle &obj);

std::optional<HostValue> fromDeviceTensor(const pybind11::handle &obj);

// torch's current CUDA stream on `device` (null when torch is not loaded),
// so that kernels order with the caller's torch work.
void *currentTorchStream(int device);

} // namespace terrazzo::python
