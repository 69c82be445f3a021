#include <optional>
#include <stdexcept>
#include <string>

#include "keatingcore/backdoor/cluster.hpp"
#include "keatingcore/backdoor/model.hpp"
#include "pybind.hpp"

namespace bd = kc::backdoor;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::vector<double> to_vector(const Array& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be 1-D");
  return {a.data(), a.data() + a.shape(0)};
}

const double* rows6(const Array& a, const char* name) {
  if (a.ndim() != 2 || a.shape(1) != 6)
    throw std::invalid_argument(std::string(name) + " must have shape (N, 6)");
  return a.data();
}

py::dict solve_grid(const Array& sigma, const Array& mean, const Array& trigger,
                    const Array& points, int chain, int loss, bool additive,
                    bool intercept, const Array& nodes, const Array& weights,
                    double tol, int max_iter, double damping, int anderson,
                    std::optional<Array> warm, int num_threads) {
  bd::Geometry g{to_vector(sigma, "sigma"), to_vector(mean, "mean"),
                 to_vector(trigger, "trigger")};
  if (g.mean.size() != g.sigma.size() || g.trigger.size() != g.sigma.size())
    throw std::invalid_argument("sigma, mean and trigger must have equal length");
  bd::Options o;
  o.loss = static_cast<bd::Loss>(loss);
  o.additive = additive;
  o.intercept = intercept;
  o.nodes = to_vector(nodes, "nodes");
  o.weights = to_vector(weights, "weights");
  o.tol = tol;
  o.max_iter = max_iter;
  o.damping = damping;
  o.anderson = anderson;

  const double* pp = rows6(points, "points");
  const auto n = static_cast<std::size_t>(points.shape(0));
  std::vector<bd::Params> params(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double* r = pp + 6 * i;
    params[i] = {r[0], r[1], r[2], r[3], r[4], r[5]};
  }
  std::vector<bd::State> starts;
  if (warm) {
    const double* w = rows6(*warm, "warm");
    if (static_cast<std::size_t>(warm->shape(0)) != n)
      throw std::invalid_argument("warm must have one row per point");
    for (std::size_t i = 0; i < n; ++i) {
      const double* r = w + 6 * i;
      starts.push_back({r[0], r[1], r[2], r[3], r[4], r[5]});
    }
  }

  std::vector<bd::Solution> sols;
  {
    // Every Python object has been converted above; the solver touches only C++ data.
    py::gil_scoped_release release;
    sols = bd::solve_grid(g, params, chain, o, starts, num_threads);
  }

  const auto N = static_cast<py::ssize_t>(n);
  Array state({N, py::ssize_t{6}}), metrics({N, py::ssize_t{4}}), residual(N);
  py::array_t<int> status(N), n_iter(N);
  auto st = state.mutable_unchecked<2>();
  auto me = metrics.mutable_unchecked<2>();
  for (py::ssize_t i = 0; i < N; ++i) {
    const auto& s = sols[static_cast<std::size_t>(i)];
    const double vals[6] = {s.state.V, s.state.Q, s.state.Vhat,
                            s.state.u1, s.state.u2, s.state.b};
    for (int j = 0; j < 6; ++j) st(i, j) = vals[j];
    me(i, 0) = s.acc;
    me(i, 1) = s.asr;
    me(i, 2) = s.asr_conditional;
    me(i, 3) = s.noise_floor;
    residual.mutable_at(i) = s.residual;
    status.mutable_at(i) = static_cast<int>(s.status);
    n_iter.mutable_at(i) = s.n_iter;
  }
  py::dict out;
  out["state"] = state;
  out["metrics"] = metrics;
  out["residual"] = residual;
  out["status"] = status;
  out["n_iter"] = n_iter;
  return out;
}

}  // namespace

void bind_backdoor(py::module_& m) {
  m.def("solve_grid", &solve_grid, py::arg("sigma"), py::arg("mean"), py::arg("trigger"),
        py::arg("points"), py::arg("chain"), py::arg("loss"), py::arg("additive"),
        py::arg("intercept"), py::arg("nodes"), py::arg("weights"), py::arg("tol"),
        py::arg("max_iter"), py::arg("damping"), py::arg("anderson"),
        py::arg("warm") = py::none(), py::arg("num_threads") = 0,
        "Fixed points on a grid; columns of points: kappa, lam, snr, eps, alpha, "
        "alpha_test; state columns: V, Q, Vhat, u1, u2, b; metrics: acc, asr, "
        "asr_conditional, noise_floor.");
  m.def("logistic_prox", &bd::logistic_prox, py::arg("z"), py::arg("V"));
}
