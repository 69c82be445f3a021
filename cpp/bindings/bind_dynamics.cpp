#include <stdexcept>
#include <string>

#include "keatingcore/dynamics/integrate.hpp"
#include "pybind.hpp"

namespace dyn = kc::dynamics;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

// A model over a (B, depth, K-1) state; `margin` must outlive its use.
dyn::Model make_model(const Array& y, const Array& margin, int classes, double n,
                      bool log_time) {
  if (y.ndim() != 3)
    throw std::invalid_argument("sigma must have shape (B, depth, K-1)");
  const auto depth = static_cast<int>(y.shape(1)), modes = static_cast<int>(y.shape(2));
  if (classes < 2 || modes != classes - 1)
    throw std::invalid_argument("sigma must have K-1 modes in its last axis");
  if (depth < 2) throw std::invalid_argument("depth must be >= 2");
  if (margin.ndim() != 2 || margin.shape(0) != modes || margin.shape(1) != modes)
    throw std::invalid_argument("margin must have shape (K-1, K-1)");
  if (!(n > 0)) throw std::invalid_argument("n must be > 0");
  return {depth,         modes,         classes, 1.0 / (n * classes),
          1.0 / classes, margin.data(), log_time};
}

py::dict integrate(const Array& y0, const Array& margin, int classes, double n,
                   const Array& x_out, double x0, int method, double rtol, double atol,
                   long max_steps, double first_step, double max_step, bool log_time,
                   int num_threads, bool cuda) {
  const dyn::Model md = make_model(y0, margin, classes, n, log_time);
  if (x_out.ndim() != 1) throw std::invalid_argument("t must be 1-D");
  if (method != 0 && method != 1) throw std::invalid_argument("unknown method");
  const py::ssize_t B = y0.shape(0), T = x_out.shape(0);
  const py::ssize_t L = md.depth, m = md.modes;
  Array y({B, T, L, m}), loss({B, T});
  py::array_t<long long> steps(B), rejected(B), evals(B);
  py::array_t<int> status(B);
  Array reached(B);
  std::vector<dyn::Stats> stats(static_cast<std::size_t>(B));
  const dyn::Options o{rtol, atol, max_steps, first_step, max_step};
  const dyn::Batch batch{y0.data(),
                         B,
                         x0,
                         x_out.data(),
                         static_cast<int>(T),
                         y.mutable_data(),
                         loss.mutable_data(),
                         stats.data()};
  {
    // Inputs are converted and outputs allocated above; the integrator touches
    // only these buffers, so Python may run meanwhile.
    py::gil_scoped_release release;
    if (cuda)
      dyn::integrate_batch_cuda(md, static_cast<dyn::Method>(method), o, batch);
    else
      dyn::integrate_batch(md, static_cast<dyn::Method>(method), o, batch, num_threads);
  }
  for (py::ssize_t b = 0; b < B; ++b) {
    const auto& s = stats[static_cast<std::size_t>(b)];
    steps.mutable_at(b) = s.steps;
    rejected.mutable_at(b) = s.rejected;
    evals.mutable_at(b) = s.evals;
    status.mutable_at(b) = s.status;
    reached.mutable_at(b) = s.x_reached;
  }
  py::dict out;
  out["y"] = y;
  out["loss"] = loss;
  out["steps"] = steps;
  out["rejected"] = rejected;
  out["evals"] = evals;
  out["status"] = status;
  out["x_reached"] = reached;
  return out;
}

py::tuple rhs(const Array& y, const Array& margin, int classes, double n) {
  const dyn::Model md = make_model(y, margin, classes, n, false);
  const py::ssize_t B = y.shape(0), L = md.depth, m = md.modes;
  Array dy({B, L, m}), loss(B), e({B, m});
  dyn::evaluate_rhs(md, y.data(), B, dy.mutable_data(), loss.mutable_data(),
                    e.mutable_data());
  return py::make_tuple(dy, loss, e);
}

py::dict tableau(int method) {
  const dyn::Tableau& t = dyn::tableau(static_cast<dyn::Method>(method));
  const py::ssize_t s = t.dense_stages;
  Array c(s), a({s, s}), b(s), e5(s), e3(s), d({py::ssize_t{4}, s});
  for (py::ssize_t i = 0; i < s; ++i) {
    c.mutable_at(i) = t.c[i];
    b.mutable_at(i) = t.b[i];
    e5.mutable_at(i) = t.e5[i];
    e3.mutable_at(i) = t.e3[i];
    for (py::ssize_t j = 0; j < s; ++j) a.mutable_at(i, j) = t.a[i][j];
    for (py::ssize_t r = 0; r < 4; ++r) d.mutable_at(r, i) = t.d[r][i];
  }
  py::dict out;
  out["stages"] = t.stages;
  out["error_order"] = t.error_order;
  out["c"] = c;
  out["a"] = a;
  out["b"] = b;
  out["e5"] = e5;
  out["e3"] = e3;
  out["d"] = d;
  return out;
}

}  // namespace

void bind_dynamics(py::module_& m) {
  m.def("integrate", &integrate, py::arg("sigma0"), py::arg("margin"), py::arg("K"),
        py::arg("n"), py::arg("x_out"), py::arg("x0"), py::arg("method"),
        py::arg("rtol"), py::arg("atol"), py::arg("max_steps"), py::arg("first_step"),
        py::arg("max_step"), py::arg("log_time"), py::arg("num_threads") = 0,
        py::arg("cuda") = false,
        "Integrate B trajectories of the reduced ODE; x is t or log(1 + t).");
  m.def("rhs", &rhs, py::arg("sigma"), py::arg("margin"), py::arg("K"), py::arg("n"),
        "d sigma/dt, loss and error factors at B states.");
  m.def("tableau", &tableau, py::arg("method"),
        "Coefficients of method 0 (DOPRI5) or 1 (DOP853), for tests.");
  m.def("workspace_doubles", [](int depth, int classes, int method) {
    dyn::Model md{depth, classes - 1, classes, 0.0, 0.0, nullptr, false};
    return dyn::workspace_size(md, dyn::tableau(static_cast<dyn::Method>(method)));
  });
}
