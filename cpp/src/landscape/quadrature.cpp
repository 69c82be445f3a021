#include "keatingcore/landscape/quadrature.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>

namespace kc::landscape {

namespace {

Rule make_rule(int n) {
  Rule r;
  r.x.resize(static_cast<std::size_t>(n));
  r.w.resize(static_cast<std::size_t>(n));
  const double pi = std::acos(-1.0);
  for (int i = 0; i < (n + 1) / 2; ++i) {
    // Chebyshev-like first guess, then Newton on P_n(x) via its recurrence.
    double x = std::cos(pi * (i + 0.75) / (n + 0.5));
    double dp = 1.0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1.0, p1 = x;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = n * (x * p1 - p0) / (x * x - 1.0);
      const double dx = p1 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-16) break;
    }
    const double w = 2.0 / ((1.0 - x * x) * dp * dp);
    const auto a = static_cast<std::size_t>(i);
    const auto b = static_cast<std::size_t>(n - 1 - i);
    r.x[a] = -x;
    r.x[b] = x;
    r.w[a] = w;
    r.w[b] = w;
  }
  return r;
}

}  // namespace

const Rule& gauss_legendre(int n) {
  if (n < 1) throw std::invalid_argument("quadrature order must be >= 1");
  static std::map<int, Rule> cache;
  static std::mutex lock;
  // Entries of a std::map never move, so the returned reference stays valid.
  std::lock_guard<std::mutex> guard(lock);
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, make_rule(n)).first;
  return it->second;
}

}  // namespace kc::landscape
