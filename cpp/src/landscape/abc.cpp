// Closed forms of digest section 3 (exact results of Auffinger, Ben Arous and Cerny).
#include "keatingcore/landscape/abc.hpp"

#include <cmath>
#include <limits>

#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

double e_inf(double p) {
  return 2.0 * std::sqrt((p - 1.0) / p);
}

double edge_core(double y) {
  if (std::isinf(y)) return kInf;
  if (y < 0.25) {
    // f(y) = int_0^y 2 z^2 / sqrt(1 + z^2) dz = 2 sum_n (-1)^n a_n y^(2n+3) / (2n+3),
    // a_n = binom(2n, n) / 4^n.
    const double y2 = y * y;
    double a = 1.0, power = y * y2, sum = 0.0;
    for (int n = 0; n < 60; ++n) {
      const double term = a * power / (2.0 * n + 3.0);
      sum += (n % 2 == 0) ? term : -term;
      if (term < 1e-18 * sum) break;
      a *= (2.0 * n + 1.0) / (2.0 * n + 2.0);
      power *= y2;
    }
    return 2.0 * sum;
  }
  return y * std::sqrt(1.0 + y * y) - std::asinh(y);
}

double goe_edge_rate(double x) {
  const double t = std::abs(x);
  if (!(t > kSqrt2)) return 0.0;
  // sqrt(x^2 - 2) as sqrt((t - sqrt2)(t + sqrt2)) keeps precision at the edge.
  return edge_core(std::sqrt((t - kSqrt2) * (t + kSqrt2)) / kSqrt2);
}

double edge_rate(double u, double p) {
  const double e = e_inf(p);
  if (!(u < -e)) return 0.0;
  const double t = -u;
  return edge_core(std::sqrt((t - e) * (t + e)) / e);
}

double complexity_total(double u, double p) {
  const double c = 0.5 * std::log(p - 1.0);
  if (u >= 0.0) return c;
  const double q = (p - 2.0) / (4.0 * (p - 1.0));
  if (std::isinf(u)) return -kInf;
  return c - q * u * u - edge_rate(u, p);
}

double complexity_index(double u, double p, int k) {
  const double c = 0.5 * std::log(p - 1.0);
  const double e = e_inf(p);
  if (!(u < -e)) return c - (p - 2.0) / p;
  if (std::isinf(u)) return -kInf;
  const double q = (p - 2.0) / (4.0 * (p - 1.0));
  return c - q * u * u - (k + 1.0) * edge_rate(u, p);
}

void complexity_many(const double* u, const double* p, const int* k, double* out,
                     long n, int num_threads) {
  const int threads = resolve_threads(num_threads);
  (void)threads;
  // Each i writes only out[i]; no shared mutable state.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(threads) if (n > 4096)
#endif
  for (long i = 0; i < n; ++i)
    out[i] =
        k[i] < 0 ? complexity_total(u[i], p[i]) : complexity_index(u[i], p[i], k[i]);
}

}  // namespace kc::landscape
