// Gauss-Legendre rules shared by the landscape integrals.
#pragma once

#include <vector>

namespace kc::landscape {

struct Rule {
  std::vector<double> x, w;  // nodes and weights on [-1, 1]
};

// The n-point Gauss-Legendre rule (Newton on the three-term recurrence), cached.
const Rule& gauss_legendre(int n);

}  // namespace kc::landscape
