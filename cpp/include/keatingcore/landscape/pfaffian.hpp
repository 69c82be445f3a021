// Building blocks of de Bruijn's Pfaffian formula for GOE_N (the formula and the
// notation g_i, G_i, L_ij are stated in goe_exact.cpp): a complex Pfaffian, the
// Hermite-function basis, and a table of L(b).
#pragma once

#include <complex>
#include <vector>

namespace kc::landscape {

// Pfaffian of a skew n x n matrix (row-major, destroyed) by pivoted Parlett-Reid
// elimination; 0 for odd n.
std::complex<double> pfaffian(std::vector<std::complex<double>>& a, int n);

// Basis values at t, i < n: g_i(t) = h_i(t) e^{-t^2/4} and G_i(t) = int_{-inf}^t g_i
// (h_i orthonormal Hermite functions for the weight e^{-t^2/2}, by their stable
// three-term recurrence).
void hermite_basis(int n, double t, double* g, double* G);

// L_ij(b) = int_{-inf}^b (g_j G_i - g_i G_j), n x n row-major, for b in
// [-half, half]: cumulative Gauss-Legendre sums at the edges of panels of width
// <= 0.25, plus the partial panel up to b. L vanishes below -half and stays at
// L(half) above half.
class LTable {
 public:
  LTable(int n, double half);

  std::vector<double> at(double b) const;

 private:
  int panels() const { return static_cast<int>(cum_.size() / (n_ * n_)) - 1; }

  // acc += int_x0^x1 (g_j G_i - g_i G_j) for all i, j.
  void add(double x0, double x1, double* acc) const;

  int n_;
  double lo_, width_;
  std::vector<double> cum_;  // L at panel edges: (n_panels + 1) x n x n
};

}  // namespace kc::landscape
