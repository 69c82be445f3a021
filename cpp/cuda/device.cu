// CUDA runtime queries; a missing driver or device reports "no device".
#include <cuda_runtime.h>

#include "keatingcore/device.hpp"

namespace kc {

bool cuda_compiled() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

std::string cuda_status() {
  const int count = cuda_device_count();
  if (count == 0) return "no device";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "no device";
  return std::to_string(count) + " x " + prop.name;
}

}  // namespace kc
