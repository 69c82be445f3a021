// Optional CUDA runtime queries; every function is safe without a GPU.
#pragma once

#include <string>

namespace kc {

// Whether the CUDA sources were compiled into this build.
bool cuda_compiled();

// Number of visible CUDA devices; 0 when none or when CUDA is not compiled.
int cuda_device_count();

// A short description of the CUDA state ("not compiled", "no device", a name).
std::string cuda_status();

}  // namespace kc
