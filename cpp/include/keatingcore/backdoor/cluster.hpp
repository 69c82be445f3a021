// Per-cluster Gaussian expectations of the proximal map (digest section 3).
#pragma once

#include "keatingcore/backdoor/model.hpp"

namespace kc::backdoor {

// For a margin loss l(y h) = l(z), with z' = y omega ~ N(a, Q), prox parameter V and
// g := y (h - omega) / V = -l'(z_hat): returns E[g], E[g^2] and E[(1 - dh/domega) / V].
struct Moments {
  double g = 0, g2 = 0, dh = 0;
};

Moments cluster_moments(Loss loss, double a, double Q, double V, const Options& o);

// Proximal point z of the logistic loss at z' = y omega: z - z' = V sigmoid(-z).
double logistic_prox(double z_in, double V);

}  // namespace kc::backdoor
