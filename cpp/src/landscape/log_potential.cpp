// The semicircle log-potential route (digest section 3, "Independent derivation").
#include <algorithm>
#include <cmath>

#include "keatingcore/landscape/abc.hpp"
#include "keatingcore/landscape/quadrature.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kGrade = 0.15;  // ratio of successive panels towards the singularity
constexpr int kLevels = 24;      // 0.15^24 ~ 2e-20: the last panel is negligible
constexpr int kNodes = 16;

// int_a^b F over panels graded geometrically towards one end (a or b); F gets the
// point and its signed offset from that end, exact even below the end's ulp.
template <class F>
double graded(F f, double a, double b, bool towards_a) {
  const Rule& r = gauss_legendre(kNodes);
  const double len = b - a;
  double sum = 0.0, outer = len;
  for (int level = 0; level <= kLevels; ++level) {
    const double inner = level == kLevels ? 0.0 : outer * kGrade;
    // The panel covers distances [inner, outer] from the singular end.
    const double mid = 0.5 * (inner + outer), half = 0.5 * (outer - inner);
    for (int j = 0; j < kNodes; ++j) {
      const double d = mid + half * r.x[static_cast<std::size_t>(j)];
      sum += half * r.w[static_cast<std::size_t>(j)] *
             (towards_a ? f(a + d, d) : f(b - d, -d));
    }
    outer = inner;
  }
  return sum;
}

}  // namespace

double log_potential(double x) {
  const double t = std::abs(x);
  const double pi = std::acos(-1.0);
  // y = sqrt2 cos(phi): rho_sc(y) dy = (2 / pi) sin^2(phi) dphi on [0, pi].
  if (t < kSqrt2) {
    const double phi0 = std::acos(t / kSqrt2);
    // t - sqrt2 cos(phi) = 2 sqrt2 sin((phi + phi0) / 2) sin((phi - phi0) / 2).
    auto f = [phi0](double phi, double offset) {
      const double s = std::sin(phi);
      return s * s *
             std::log(2.0 * kSqrt2 *
                      std::abs(std::sin(0.5 * (phi + phi0)) * std::sin(0.5 * offset)));
    };
    return 2.0 / pi * (graded(f, 0.0, phi0, false) + graded(f, phi0, pi, true));
  }
  // t = sqrt2 cosh(eta): t - sqrt2 cos(phi) = 2 sqrt2 (sinh^2(eta/2) + sin^2(phi/2)).
  const double eta = std::acosh(t / kSqrt2);
  const double sh = std::sinh(0.5 * eta);
  auto f = [sh](double phi, double) {
    const double s = std::sin(phi), h = std::sin(0.5 * phi);
    return s * s * std::log(2.0 * kSqrt2 * (sh * sh + h * h));
  };
  return 2.0 / pi * graded(f, 0.0, pi, true);
}

double complexity_by_potential(double u, double p, int k) {
  if (std::isinf(u)) return u > 0 ? 0.5 * std::log(p - 1.0) : u;
  const double scale = std::sqrt(p / (2.0 * (p - 1.0)));
  const double c = 0.5 + 0.5 * std::log(2.0 * (p - 1.0));
  const double log2 = std::log(2.0);
  auto exponent = [&](double v) {
    const double x = v * scale, omega = log_potential(x);
    double e = c + omega - 0.5 * v * v;
    // Index k: k further eigenvalues below x, each at the rate J = x^2/2 - 1/2 -
    // log(2)/2 - Omega(x) (zero inside the bulk).
    if (k > 0) e -= k * std::max(0.0, 0.5 * x * x - 0.5 - 0.5 * log2 - omega);
    return e;
  };
  double hi = k < 0 ? u : std::min(u, -e_inf(p));
  double lo = hi - 8.0;
  const double g = 0.5 * (std::sqrt(5.0) - 1.0);
  double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
  double f1 = exponent(x1), f2 = exponent(x2);
  const double top = hi;
  while (hi - lo > 1e-9 * std::max(1.0, std::abs(hi))) {
    if (f1 < f2) {
      lo = x1, x1 = x2, f1 = f2;
      x2 = lo + g * (hi - lo), f2 = exponent(x2);
    } else {
      hi = x2, x2 = x1, f2 = f1;
      x1 = hi - g * (hi - lo), f1 = exponent(x1);
    }
  }
  return std::max({f1, f2, exponent(top)});
}

void complexity_by_potential_many(const double* u, const double* p, const int* k,
                                  double* out, long n, int num_threads) {
  const int threads = resolve_threads(num_threads);
  (void)threads;
  // Each i writes only out[i].
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long i = 0; i < n; ++i) out[i] = complexity_by_potential(u[i], p[i], k[i]);
}

}  // namespace kc::landscape
