// Shared include for every binding file: pybind11 first, then the aliases.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

void bind_config(py::module_& m);
void bind_backdoor(py::module_& m);
void bind_dynamics(py::module_& m);
void bind_landscape(py::module_& m);
void bind_ufm(py::module_& m);
