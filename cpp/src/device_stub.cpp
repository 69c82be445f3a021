// Host-side fallbacks used when the CUDA sources are not compiled.
#include "keatingcore/device.hpp"

#if !KC_HAVE_CUDA
namespace kc {

bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_status() { return "not compiled"; }

}  // namespace kc
#endif
