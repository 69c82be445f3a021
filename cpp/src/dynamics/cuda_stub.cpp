// Host fallback of the CUDA integrator when the CUDA sources are not compiled.
#include <stdexcept>

#include "keatingcore/dynamics/integrate.hpp"

#if !KC_HAVE_CUDA
namespace kc::dynamics {

void integrate_batch_cuda(const Model&, Method, const Options&, const Batch&) {
  throw std::runtime_error(
      "device='cuda' needs a build with CUDA: reinstall with "
      "-C cmake.define.KEATINGCORE_CUDA=ON");
}

}  // namespace kc::dynamics
#endif
