// Closed-form complexity of the pure spherical p-spin glass (Auffinger, Ben Arous and
// Cerny, CPAM 2013; digest section 3). Energies u are per site, H_N / N.
#pragma once

#include <vector>

namespace kc::landscape {

// E_inf(p) = 2 sqrt((p - 1) / p): the energy of the bulk edge.
double e_inf(double p);

// y sqrt(1 + y^2) - asinh(y) for y >= 0: the edge rate in its natural variable.
// Both J(x) and I_1(u) reduce to it; a series below y = 0.1 avoids cancellation.
double edge_core(double y);

// GOE large-deviation rate of an eigenvalue at x outside the semicircle on
// [-sqrt 2, sqrt 2]: J(x) = int_sqrt2^|x| sqrt(z^2 - 2) dz, zero inside.
double goe_edge_rate(double x);

// I_1(u) = J(u sqrt(p / (2 (p - 1)))): zero for u >= -E_inf.
double edge_rate(double u, double p);

// Theta_p(u), the total complexity.
double complexity_total(double u, double p);

// Theta_{k,p}(u), the complexity of index-k critical points.
double complexity_index(double u, double p, int k);

// Element-wise over equal-length arrays; k < 0 means the total complexity.
void complexity_many(const double* u, const double* p, const int* k, double* out,
                     long n, int num_threads);

// One threshold E_k(p): the root of Theta_{k,p}(-E) = 0 below -E_inf, by Newton
// steps kept inside a bisection bracket in the variable y (E = E_inf sqrt(1 + y^2)).
struct Root {
  double value = 0;     // E_k
  double residual = 0;  // |Theta_{k,p}(-E_k)|
  int n_iter = 0;
  bool converged = false;
};

Root threshold(double p, int k, double tol, int max_iter);

// Thresholds E_0..E_{k_max} for every p; out has n_p * (k_max + 1) entries, p-major.
std::vector<Root> thresholds(const std::vector<double>& p, int k_max, double tol,
                             int max_iter, int num_threads);

// Omega(x) = int log|x - y| rho_sc(y) dy for the semicircle on [-sqrt 2, sqrt 2], by
// graded Gauss-Legendre quadrature split at the (near-)singular point. This is the
// independent route of the digest: it uses no closed form of J.
double log_potential(double x);

// Theta_p(u) (k < 0) or Theta_{k,p}(u) as a numerical supremum over v <= u of the
// Kac-Rice exponent built from log_potential; golden-section search (the exponent is
// concave in v).
double complexity_by_potential(double u, double p, int k);

void complexity_by_potential_many(const double* u, const double* p, const int* k,
                                  double* out, long n, int num_threads);

}  // namespace kc::landscape
