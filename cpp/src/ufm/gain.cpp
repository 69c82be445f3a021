// Gain equation of the MSE deep linear UFM, solved for u = 1 - gamma in log space so
// that tiny regularisation (gamma -> 1, R ~ 1e-60) keeps full relative precision.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "keatingcore/parallel.hpp"
#include "keatingcore/ufm/reduced.hpp"

namespace kc::ufm {

namespace {

// F(x) = (L+1) x + (L-1) log(1 - e^x) - log R, increasing on x < log u_peak.
double gain_residual(int L, double x, double log_rhs) {
  return (L + 1) * x + (L - 1) * std::log1p(-std::exp(x)) - log_rhs;
}

}  // namespace

double mse_gain_complement(int L, double log_rhs) {
  if (L < 1) throw std::invalid_argument("L must be >= 1");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(log_rhs)) return nan;
  if (log_rhs == -std::numeric_limits<double>::infinity()) return 0.0;
  // The left side (1-g)^(L+1) g^(L-1) peaks at g = (L-1)/(2L), i.e. u = (L+1)/(2L);
  // for L = 1 it is u^2 on (0, 1].
  const double u_peak = (L + 1) / (2.0 * L);
  double hi = std::log(u_peak);
  if (gain_residual(L, hi, log_rhs) < 0) return nan;
  // At u = R^(1/(L+1)) the (L-1) log(1-u) term makes F <= 0: a lower bracket.
  double lo = std::min(log_rhs / (L + 1), hi);
  double x = 0.5 * (lo + hi);
  for (int it = 0; it < 200; ++it) {
    const double f = gain_residual(L, x, log_rhs);
    if (f == 0) break;
    (f < 0 ? lo : hi) = x;
    const double u = std::exp(x);
    const double df = (L + 1) - (L - 1) * u / (1 - u);
    double next = x - f / df;
    // Newton when it stays inside the bracket, bisection otherwise.
    if (!(df > 0) || !(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::abs(next - x) <= 1e-15 * std::max(1.0, std::abs(x))) {
      x = next;
      break;
    }
    x = next;
  }
  return std::exp(x);
}

std::vector<double> mse_gain_complements(const std::vector<int>& L,
                              const std::vector<double>& log_rhs, int num_threads) {
  if (L.size() != log_rhs.size())
    throw std::invalid_argument("L and log_rhs must have equal length");
  for (int l : L)
    if (l < 1) throw std::invalid_argument("L must be >= 1");
  const long n = static_cast<long>(L.size());
  std::vector<double> out(L.size());
  const int threads = static_cast<int>(
      std::min<long>(resolve_threads(num_threads), std::max<long>(n, 1)));
  (void)threads;  // unused in a serial build
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (long i = 0; i < n; ++i) out[i] = mse_gain_complement(L[i], log_rhs[i]);
  return out;
}

}  // namespace kc::ufm
