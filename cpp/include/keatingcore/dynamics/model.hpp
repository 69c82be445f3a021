// Reduced cross-entropy dynamics of the (deep) unconstrained-feature model under
// spectral initialisation: the right-hand side for the per-layer singular values.
//
// Equations are the project digest's derivations (shared/papers/ce-dynamics.md,
// sections 3.1 and 3.2), for the model of Garrod, Keating & Thrampoulidis
// (arXiv 2512.04006, depth 2; arXiv 2605.23087, any depth). With products
// s_k = prod_l sigma_{l,k} and the non-negative margin matrix A[g,k] = 1 - chi_k(g)
// (Walsh: 2 N[g,k]; real Fourier: 2 sin^2(pi f_k g / K)):
//   margins       m_g = (1/K) sum_k A[g,k] s_k,                g = 1..K-1
//   softmax       q_g = exp(-m_g) / (1 + sum_h exp(-m_h))
//   error factor  e_k = sum_g A[g,k] q_g        (1 - lambda_k without cancellation)
//   loss          L = log1p(sum_g exp(-m_g))
//   ODE           d sigma_{l,k}/dt = c_l e_k prod_{j != l} sigma_{j,k},
//                 c_0 = 1/(nK) (features), c_l = 1/K (weights).
#pragma once

#include <math.h>

#include "keatingcore/dynamics/hd.hpp"

namespace kc::dynamics {

struct Model {
  int depth;             // trainable factors, features included (L >= 2)
  int modes;             // K - 1
  int classes;           // K
  double c_feat;         // 1 / (n K)
  double c_layer;        // 1 / K
  const double* margin;  // (K-1) x (K-1), row g-1, column k-1
  bool log_time;         // the independent variable is tau = log(1 + t)

  KC_HD int dim() const { return depth * modes; }
};

// Fills w[0..m) = s, w[m..2m) = q_1..q_{K-1}, w[2m..3m) = e and returns the loss.
// y holds sigma layer-major: y[l * m + k].
template <class V, class W>
KC_HD double softmax_factors(const Model& md, const V& y, const W& w) {
  const int m = md.modes;
  for (int k = 0; k < m; ++k) {
    double s = 1.0;
    for (int l = 0; l < md.depth; ++l) s *= y[l * m + k];
    w[k] = s;
  }
  // Margins, and the largest wrong-class lead M >= 0 for a stable softmax.
  const double inv_k = 1.0 / md.classes;
  double lead = 0.0;
  for (int g = 0; g < m; ++g) {
    const double* row = md.margin + g * m;
    double mg = 0.0;
    for (int k = 0; k < m; ++k) mg += row[k] * w[k];
    mg *= inv_k;
    w[m + g] = mg;
    if (-mg > lead) lead = -mg;
  }
  double sum = 0.0;  // sum_g exp(-m_g - M)
  for (int g = 0; g < m; ++g) {
    const double p = exp(-w[m + g] - lead);
    w[m + g] = p;
    sum += p;
  }
  const double z = exp(-lead) + sum;
  // Late in training sum ~ 1e-20: log1p keeps the loss, and e below never forms
  // 1 - lambda, so neither cancels (digest 6.1).
  const double loss = lead == 0.0 ? log1p(sum) : lead + log(z);
  const double inv_z = 1.0 / z;
  for (int g = 0; g < m; ++g) w[m + g] *= inv_z;
  for (int k = 0; k < m; ++k) w[2 * m + k] = 0.0;
  for (int g = 0; g < m; ++g) {
    const double* row = md.margin + g * m;
    const double q = w[m + g];
    for (int k = 0; k < m; ++k) w[2 * m + k] += row[k] * q;
  }
  return loss;
}

// dy = d sigma / dx at (x, y), with x = t or tau = log(1 + t); returns the loss.
// The products over the other layers use prefix and suffix products, never a
// division, so the ODE stays valid through zeros and sign changes (digest 6.4).
template <class V, class D, class W>
KC_HD double rhs(const Model& md, double x, const V& y, const D& dy, const W& w) {
  const double loss = softmax_factors(md, y, w);
  const int m = md.modes;
  const double scale = md.log_time ? exp(x) : 1.0;  // dt/dtau = 1 + t
  for (int k = 0; k < m; ++k) {
    double pre = 1.0;
    for (int l = 0; l < md.depth; ++l) {
      dy[l * m + k] = pre;
      pre *= y[l * m + k];
    }
    double suf = scale * w[2 * m + k];
    for (int l = md.depth - 1; l >= 0; --l) {
      const double c = l == 0 ? md.c_feat : md.c_layer;
      dy[l * m + k] *= c * suf;
      suf *= y[l * m + k];
    }
  }
  return loss;
}

}  // namespace kc::dynamics
