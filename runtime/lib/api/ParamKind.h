// How one run-time argument is passed to a GPU kernel.
#pragma once

namespace terrazzo {

enum class ParamKind : char { Pointer, I1, I32, I64, F32, F64 };

} // namespace terrazzo
