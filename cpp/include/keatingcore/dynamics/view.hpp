// Array views shared by the CPU and CUDA paths: a raw pointer on the CPU (one
// trajectory's workspace is contiguous), a strided view on the GPU (the workspace
// of B trajectories is interleaved, so neighbouring threads read neighbouring
// addresses).
#pragma once

#include "keatingcore/dynamics/hd.hpp"

namespace kc::dynamics {

struct Strided {
  double* p;
  long stride;
  KC_HD double& operator[](long i) const { return p[i * stride]; }
};

KC_HD inline double* offset(double* p, long i) {
  return p + i;
}
KC_HD inline Strided offset(const Strided& v, long i) {
  return Strided{v.p + i * v.stride, v.stride};
}

}  // namespace kc::dynamics
