// Thresholds E_k(p) (digest section 3 and section 6, "Thresholds").
#include <algorithm>
#include <cmath>

#include "keatingcore/landscape/abc.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {

// Theta_{k,p}(-E) with E = E_inf sqrt(1 + y^2), since u^2 = E_inf^2 (1 + y^2) and
// I_1 = edge_core(y); c0 = Theta_{k,p}(-E_inf) > 0 for p > 2.
struct ThetaOfY {
  double c0, a, kp1;
  double value(double y) const { return c0 - a * y * y - kp1 * edge_core(y); }
  double slope(double y) const {
    return -2.0 * a * y - kp1 * 2.0 * y * y / std::sqrt(1.0 + y * y);
  }
};

}  // namespace

Root threshold(double p, int k, double tol, int max_iter) {
  const double a = (p - 2.0) / p;
  const ThetaOfY h{0.5 * std::log(p - 1.0) - a, a, k + 1.0};
  Root r;
  // h(0) = c0 > 0 and h(y) <= c0 - a y^2, so [0, sqrt(c0 / a)] brackets the root.
  double lo = 0.0, hi = std::sqrt(h.c0 / a) * (1.0 + 1e-12);
  // Start from the small-y form (k + 1) (2/3) y^3 = c0, the large-k behaviour.
  double y = std::min(std::cbrt(1.5 * h.c0 / h.kp1), 0.5 * (lo + hi));
  for (r.n_iter = 1; r.n_iter <= max_iter; ++r.n_iter) {
    const double v = h.value(y);
    if (v > 0) lo = y;
    if (v < 0) hi = y;
    double next = y - v / h.slope(y);
    if (!(next >= lo && next <= hi)) next = 0.5 * (lo + hi);  // keep to the bracket
    const double step = std::abs(next - y);
    y = next;
    if (v == 0.0 || step <= tol * std::max(1.0, y) || hi - lo <= tol) {
      r.converged = true;
      break;
    }
  }
  r.n_iter = std::min(r.n_iter, max_iter);
  r.value = e_inf(p) * std::sqrt(1.0 + y * y);
  r.residual = std::abs(h.value(y));
  return r;
}

std::vector<Root> thresholds(const std::vector<double>& p, int k_max, double tol,
                             int max_iter, int num_threads) {
  const long n_k = k_max + 1;
  const long n = static_cast<long>(p.size()) * n_k;
  std::vector<Root> out(static_cast<std::size_t>(n));
  const int threads = resolve_threads(num_threads);
  (void)threads;
  // Each (p, k) root is independent and writes its own slot.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads) if (n > 64)
#endif
  for (long i = 0; i < n; ++i)
    out[static_cast<std::size_t>(i)] = threshold(
        p[static_cast<std::size_t>(i / n_k)], static_cast<int>(i % n_k), tol, max_iter);
  return out;
}

}  // namespace kc::landscape
