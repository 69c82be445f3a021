#include "keatingcore/backdoor/cluster.hpp"

#include <cmath>

#include "keatingcore/gaussian.hpp"

namespace kc::backdoor {

namespace {

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// Square loss: z = (z' + V) / (1 + V), so g = (1 - z') / (1 + V), exactly Gaussian.
Moments square_moments(double a, double Q, double V) {
  const double d = 1.0 + V;
  return {(1.0 - a) / d, ((1.0 - a) * (1.0 - a) + Q) / (d * d), 1.0 / d};
}

// Hinge: g = 1 below z' = 1 - V, (1 - z')/V between, 0 above 1; integrals exact.
Moments hinge_moments(double a, double Q, double V) {
  const double s = std::sqrt(Q);
  const double lo = (1.0 - V - a) / s, hi = (1.0 - a) / s;
  const double p_lo = normal_cdf(lo);
  const double p_mid = normal_cdf(hi) - p_lo;
  const double phi_lo = normal_pdf(lo), phi_hi = normal_pdf(hi);
  const double c = 1.0 - a;  // 1 - z' = c - s xi on the middle piece
  const double e1 = p_mid * c - s * (phi_lo - phi_hi);
  const double e_xi2 = p_mid + lo * phi_lo - hi * phi_hi;
  const double e2 = c * c * p_mid - 2.0 * c * s * (phi_lo - phi_hi) + Q * e_xi2;
  return {p_lo + e1 / V, p_lo + e2 / (V * V), p_mid / V};
}

Moments logistic_moments(double a, double Q, double V, const Options& o) {
  const double s = std::sqrt(Q);
  Moments m;
  const std::size_t n = o.nodes.size();
  for (std::size_t j = 0; j < n; ++j) {
    const double z = logistic_prox(a + s * o.nodes[j], V);
    const double sm = sigmoid(-z);
    const double curv = sm * (1.0 - sm);
    const double w = o.weights[j];
    m.g += w * sm;
    m.g2 += w * sm * sm;
    m.dh += w * curv / (1.0 + V * curv);
  }
  return m;
}

}  // namespace

double logistic_prox(double z_in, double V) {
  // The root lies in [z', z' + V] because 0 < sigmoid < 1; Newton, kept in the bracket.
  double lo = z_in, hi = z_in + V;
  double z = z_in + V * sigmoid(-z_in) / (1.0 + V * 0.25);
  for (int it = 0; it < 100; ++it) {
    const double sm = sigmoid(-z);
    const double f = z - z_in - V * sm;
    if (f > 0) hi = z; else lo = z;
    const double step = f / (1.0 + V * sm * (1.0 - sm));
    if (std::abs(step) <= 1e-15 * (1.0 + std::abs(z))) return z - step;
    const double next = z - step;
    z = (next > lo && next < hi) ? next : 0.5 * (lo + hi);
  }
  return z;
}

Moments cluster_moments(Loss loss, double a, double Q, double V, const Options& o) {
  switch (loss) {
    case Loss::square:
      return square_moments(a, Q, V);
    case Loss::hinge:
      return hinge_moments(a, Q, V);
    case Loss::logistic:
    default:
      return logistic_moments(a, Q, V, o);
  }
}

}  // namespace kc::backdoor
