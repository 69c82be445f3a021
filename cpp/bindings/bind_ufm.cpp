// keatingcore._core.ufm: batched scalar problems of the deep linear UFM.
#include <stdexcept>
#include <string>
#include <vector>

#include "keatingcore/ufm/reduced.hpp"
#include "pybind.hpp"

namespace uf = kc::ufm;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

void check_1d(const py::array& a, py::ssize_t n, const char* name) {
  if (a.ndim() != 1 || a.shape(0) != n)
    throw std::invalid_argument(std::string(name) + " must be 1-D of length " +
                                std::to_string(n));
}

Array gains(const IntArray& L, const Array& log_rhs, int num_threads) {
  const py::ssize_t n = L.ndim() == 1 ? L.shape(0) : -1;
  check_1d(L, n, "L");
  check_1d(log_rhs, n, "log_rhs");
  std::vector<int> l(L.data(), L.data() + n);
  std::vector<double> r(log_rhs.data(), log_rhs.data() + n);
  std::vector<double> g;
  {
    // Inputs were copied into C++ vectors; the solver touches no Python object.
    py::gil_scoped_release release;
    g = uf::mse_gain_complements(l, r, num_threads);
  }
  Array out(n);
  std::copy(g.begin(), g.end(), out.mutable_data());
  return out;
}

py::dict minimise(const Array& margins, const Array& svals, const IntArray& K,
                  const Array& n, const IntArray& depth, const Array& lam, int grid,
                  double tol, int num_threads) {
  if (margins.ndim() != 3 || margins.shape(1) != margins.shape(2))
    throw std::invalid_argument("margins must have shape (B, Kmax, Kmax)");
  const py::ssize_t B = margins.shape(0), Kmax = margins.shape(1);
  if (svals.ndim() != 2 || svals.shape(0) != B || svals.shape(1) != Kmax)
    throw std::invalid_argument("svals must have shape (B, Kmax)");
  check_1d(K, B, "K");
  check_1d(n, B, "n");
  check_1d(depth, B, "depth");
  check_1d(lam, B, "lam");
  // Each problem gets a dense K x K copy of its margins (the input rows have
  // stride Kmax); the copies outlive the released-GIL region below.
  std::vector<std::vector<double>> dense(static_cast<std::size_t>(B));
  std::vector<uf::FrameProblem> problems(static_cast<std::size_t>(B));
  for (py::ssize_t b = 0; b < B; ++b) {
    const int k = K.at(b);
    if (k < 2 || k > Kmax) throw std::invalid_argument("K must lie in [2, Kmax]");
    auto& m = dense[b];
    m.resize(static_cast<std::size_t>(k) * k);
    for (int c = 0; c < k; ++c)
      for (int j = 0; j < k; ++j) m[c * k + j] = margins.at(b, c, j);
    problems[b] = {k, m.data(), svals.data() + b * Kmax, n.at(b), depth.at(b),
                   lam.at(b)};
  }
  std::vector<uf::ScaleMinimum> res;
  {
    // Problems point into the copies above and into svals, which the caller keeps
    // alive; no Python object is touched while the GIL is released.
    py::gil_scoped_release release;
    res = uf::minimise_scales(problems, grid, tol, num_threads);
  }
  Array scale(B), loss(B), fit(B), reg(B), inner_scale(B), inner_loss(B);
  py::array_t<int> n_local(B);
  for (py::ssize_t b = 0; b < B; ++b) {
    const auto& r = res[b];
    scale.mutable_at(b) = r.scale;
    loss.mutable_at(b) = r.loss;
    fit.mutable_at(b) = r.fit;
    reg.mutable_at(b) = r.reg;
    inner_scale.mutable_at(b) = r.inner_scale;
    inner_loss.mutable_at(b) = r.inner_loss;
    n_local.mutable_at(b) = r.n_local;
  }
  py::dict out;
  out["scale"] = scale;
  out["loss"] = loss;
  out["fit"] = fit;
  out["reg"] = reg;
  out["inner_scale"] = inner_scale;
  out["inner_loss"] = inner_loss;
  out["n_local"] = n_local;
  return out;
}

}  // namespace

void bind_ufm(py::module_& m) {
  m.def("mse_gain_complements", &gains, py::arg("L"), py::arg("log_rhs"),
        py::arg("num_threads") = 0,
        "1 - g for the largest roots g of (1-g)^(L+1) g^(L-1) = exp(log_rhs); "
        "NaN where there is none.");
  m.def("minimise_frames", &minimise, py::arg("margins"), py::arg("svals"),
        py::arg("K"), py::arg("n"), py::arg("depth"), py::arg("lam"),
        py::arg("grid") = 600, py::arg("tol") = 1e-12, py::arg("num_threads") = 0,
        "Global minimum over the scale of the reduced CE loss of each frame.");
}
