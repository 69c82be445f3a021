#include <stdexcept>
#include <string>

#include "keatingcore/landscape/abc.hpp"
#include "keatingcore/landscape/kac_rice.hpp"
#include "keatingcore/landscape/pspin.hpp"
#include "keatingcore/landscape/spectrum.hpp"
#include "pybind.hpp"

namespace ls = kc::landscape;

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

std::vector<double> vec(const Array& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be 1-D");
  return {a.data(), a.data() + a.shape(0)};
}

template <class T>
py::array_t<T> out(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

// Element-wise kernel over (u, p, k) arrays of one length.
template <class F>
Array over_upk(const Array& u, const Array& p, const IntArray& k, int num_threads,
               F kernel) {
  const std::vector<double> uu = vec(u, "u"), pp = vec(p, "p");
  if (k.ndim() != 1 || pp.size() != uu.size() ||
      static_cast<std::size_t>(k.shape(0)) != uu.size())
    throw std::invalid_argument("u, p and k must be 1-D of equal length");
  const std::vector<int> kk(k.data(), k.data() + k.shape(0));
  std::vector<double> res(uu.size());
  {
    // Inputs are copied into C++ vectors; the kernel touches no Python object.
    py::gil_scoped_release release;
    kernel(uu.data(), pp.data(), kk.data(), res.data(), static_cast<long>(uu.size()),
           num_threads);
  }
  return out(res);
}

template <class F>
Array map1(const Array& x, F f) {
  std::vector<double> v = vec(x, "x");
  for (double& y : v) y = f(y);
  return out(v);
}

py::dict thresholds(const Array& p, int k_max, double tol, int max_iter,
                    int num_threads) {
  const std::vector<double> pp = vec(p, "p");
  std::vector<ls::Root> roots;
  {
    py::gil_scoped_release release;  // pure C++ from here on
    roots = ls::thresholds(pp, k_max, tol, max_iter, num_threads);
  }
  std::vector<double> value, residual;
  std::vector<int> n_iter, converged;
  for (const auto& r : roots) {
    value.push_back(r.value);
    residual.push_back(r.residual);
    n_iter.push_back(r.n_iter);
    converged.push_back(r.converged);
  }
  py::dict d;
  d["value"] = out(value);
  d["residual"] = out(residual);
  d["n_iter"] = out(n_iter);
  d["converged"] = out(converged);
  return d;
}

py::dict monte_carlo(int n, double p, const Array& a, int n_index, const Array& theta,
                     long n_samples, std::uint64_t seed, int num_threads) {
  const std::vector<double> aa = vec(a, "a"), th = vec(theta, "theta");
  ls::CountMoments m;
  {
    py::gil_scoped_release release;  // pure C++ from here on
    m = ls::kac_rice_monte_carlo(n, p, aa, n_index, th, n_samples, seed, num_threads);
  }
  py::dict d;
  d["sum"] = out(m.sum);
  d["sum_sq"] = out(m.sum_sq);
  return d;
}

template <class F>
Array released(F f) {
  std::vector<double> res;
  {
    py::gil_scoped_release release;  // f captures only C++ values
    res = f();
  }
  return out(res);
}

py::dict critical_points(int n, int p, long n_samples, long min_starts, long max_starts,
                         long patience, double tol, int max_iter, std::uint64_t seed,
                         int num_threads) {
  ls::CriticalPoints c;
  {
    py::gil_scoped_release release;  // pure C++ from here on
    c = ls::find_critical_points(n, p, n_samples, min_starts, max_starts, patience, tol,
                                 max_iter, seed, num_threads);
  }
  py::dict d;
  d["sample"] = out(c.sample);
  d["energy"] = out(c.energy);
  d["index"] = out(c.index);
  d["n_starts"] = out(c.n_starts);
  d["euler_ok"] = out(c.euler_ok);
  d["max_gradient"] = c.max_gradient;
  return d;
}

py::dict descent(int n, int p, long n_runs, double step, double tol, long max_iter,
                 bool compute_index, std::uint64_t seed, int num_threads) {
  ls::Descent r;
  {
    py::gil_scoped_release release;  // pure C++ from here on
    r = ls::gradient_descent(n, p, n_runs, step, tol, max_iter, compute_index, seed,
                             num_threads);
  }
  py::dict d;
  d["energy"] = out(r.energy);
  d["gradient"] = out(r.gradient);
  d["index"] = out(r.index);
  d["n_iter"] = out(r.n_iter);
  d["converged"] = out(r.converged);
  return d;
}

}  // namespace

void bind_landscape(py::module_& m) {
  m.def("complexity", [](const Array& u, const Array& p, const IntArray& k, int nt) {
    return over_upk(u, p, k, nt, ls::complexity_many);
  });
  m.def("complexity_by_potential",
        [](const Array& u, const Array& p, const IntArray& k, int nt) {
          return over_upk(u, p, k, nt, ls::complexity_by_potential_many);
        });
  m.def("goe_edge_rate", [](const Array& x) { return map1(x, ls::goe_edge_rate); });
  m.def("log_potential", [](const Array& x) { return map1(x, ls::log_potential); });
  m.def("edge_core", [](const Array& x) { return map1(x, ls::edge_core); });
  m.def("thresholds", &thresholds, py::arg("p"), py::arg("k_max"), py::arg("tol"),
        py::arg("max_iter"), py::arg("num_threads"));
  m.def("kac_rice_monte_carlo", &monte_carlo, py::arg("n"), py::arg("p"), py::arg("a"),
        py::arg("n_index"), py::arg("theta"), py::arg("n_samples"), py::arg("seed"),
        py::arg("num_threads"));
  m.def("goe_exact_counts", [](int n, double p, const Array& a, int n_index, int nt) {
    const std::vector<double> aa = vec(a, "a");
    return released([&] { return ls::goe_exact_counts(n, p, aa, n_index, nt); });
  });
  m.def("goe_order_cdf", [](int n, const Array& s, int n_index, int nt) {
    const std::vector<double> ss = vec(s, "s");
    return released([&] { return ls::goe_order_cdf(n, ss, n_index, nt); });
  });
  m.def("goe_eigenvalues", [](int n, long n_samples, double theta, std::uint64_t seed,
                              int nt) {
    return released([&] { return ls::goe_eigenvalues(n, n_samples, theta, seed, nt); });
  });
  m.def("goe_extreme_eigenvalue", [](int n, long n_samples, double theta, bool top,
                                     double tol, std::uint64_t seed, int nt) {
    return released([&] {
      return ls::goe_extreme_eigenvalue(n, n_samples, theta, top, tol, seed, nt);
    });
  });
  m.def("find_critical_points", &critical_points);
  m.def("gradient_descent", &descent);
}
