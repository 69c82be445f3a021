#include "keatingcore/device.hpp"
#include "keatingcore/parallel.hpp"
#include "pybind.hpp"

namespace {

py::dict build_info() {
  py::dict info;
  info["version"] = KC_VERSION;
  info["compiler"] = KC_COMPILER;
  info["cxx_flags"] = KC_CXX_FLAGS;
  info["build_type"] = KC_BUILD_TYPE;
  info["cxx_standard"] = static_cast<long>(__cplusplus);
  info["openmp"] = kc::openmp_enabled();
  info["cuda_compiled"] = kc::cuda_compiled();
  return info;
}

}  // namespace

void bind_config(py::module_& m) {
  m.def("build_info", &build_info, "Compile-time facts of this build.");
  m.def("openmp_enabled", &kc::openmp_enabled);
  m.def("max_threads", &kc::max_threads);
  m.def("default_threads", &kc::default_threads);
  m.def("set_default_threads", &kc::set_default_threads, py::arg("n"));
  m.def("resolve_threads", &kc::resolve_threads, py::arg("requested"));
  m.def("cuda_device_count", &kc::cuda_device_count);
  m.def("cuda_status", &kc::cuda_status);
}
