#include "pybind.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "keatingcore compiled core (private; use the keatingcore package)";
  bind_config(m);
  auto backdoor = m.def_submodule("backdoor", "Backdoor GLM fixed points");
  bind_backdoor(backdoor);
  auto dynamics = m.def_submodule("dynamics", "Batched singular-value ODE integrators");
  bind_dynamics(dynamics);
  auto landscape = m.def_submodule("landscape", "Spin-glass complexity and Kac-Rice");
  bind_landscape(landscape);
  auto ufm = m.def_submodule("ufm", "Deep unconstrained-feature models");
  bind_ufm(ufm);
}
