// GOE samples through the Dumitriu-Edelman tridiagonal model (beta = 1).
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "keatingcore/landscape/spectrum.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

void sample_goe_tridiagonal(int n, double theta, Rng& rng, std::vector<double>& d,
                            std::vector<double>& e) {
  d.resize(static_cast<std::size_t>(n));
  e.resize(static_cast<std::size_t>(n > 0 ? n - 1 : 0));
  const double sd = 1.0 / std::sqrt(static_cast<double>(n));
  const double so = 1.0 / std::sqrt(2.0 * n);
  for (int i = 0; i < n; ++i) d[i] = sd * rng.normal();
  for (int i = 0; i + 1 < n; ++i) e[i] = so * rng.chi(n - 1 - i);
  if (n > 0) d[0] += theta;
}

namespace {

// Runs fn(s, d, e) on the tridiagonal GOE sample s of every s < n_samples, in
// parallel. Sample s uses random stream s, so results do not depend on threads; fn
// must write only its own slot of the output.
template <class Fn>
void for_each_sample(int n, long n_samples, double theta, std::uint64_t seed,
                     int num_threads, Fn fn) {
  if (n < 1) throw std::invalid_argument("N must be >= 1");
  const int threads = resolve_threads(num_threads);
  (void)threads;
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (long s = 0; s < n_samples; ++s) {
    Rng rng(seed, static_cast<std::uint64_t>(s));
    std::vector<double> d, e;
    sample_goe_tridiagonal(n, theta, rng, d, e);
    fn(s, d, e);
  }
}

// Largest (top) or smallest eigenvalue of a tridiagonal matrix to `tol`: Gershgorin
// bounds, then bisection on the Sturm count.
double extreme_eigenvalue(const std::vector<double>& d, const std::vector<double>& e,
                          bool top, double tol) {
  const int n = static_cast<int>(d.size());
  double lo = d[0], hi = d[0];
  for (int i = 0; i < n; ++i) {
    const double r =
        (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
    lo = std::min(lo, d[i] - r);
    hi = std::max(hi, d[i] + r);
  }
  while (hi - lo > tol) {
    const double mid = 0.5 * (lo + hi);
    const int below = sturm_count(d, e, mid);
    if (top ? below == n : below >= 1)
      hi = mid;
    else
      lo = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

std::vector<double> goe_eigenvalues(int n, long n_samples, double theta,
                                    std::uint64_t seed, int num_threads) {
  std::vector<double> out(static_cast<std::size_t>(std::max(n, 0)) * n_samples);
  for_each_sample(n, n_samples, theta, seed, num_threads,
                  [&](long s, std::vector<double>& d, std::vector<double>& e) {
                    tridiagonal_eigenvalues(d, e);
                    std::copy(d.begin(), d.end(), out.begin() + s * n);
                  });
  return out;
}

std::vector<double> goe_extreme_eigenvalue(int n, long n_samples, double theta,
                                           bool top, double tol, std::uint64_t seed,
                                           int num_threads) {
  std::vector<double> out(static_cast<std::size_t>(n_samples));
  for_each_sample(n, n_samples, theta, seed, num_threads,
                  [&](long s, std::vector<double>& d, std::vector<double>& e) {
                    out[static_cast<std::size_t>(s)] =
                        extreme_eigenvalue(d, e, top, tol);
                  });
  return out;
}

}  // namespace kc::landscape
