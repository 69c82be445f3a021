// Finite-N expected numbers of critical points of the pure spherical p-spin glass
// through GOE order statistics (digest sections 2.2-2.4).
//
// With g(x) = exp(-N (p - 2) / (2p) x^2) and lambda_0 <= ... <= lambda_{N-1} the
// eigenvalues of GOE_N (semicircle on [-sqrt 2, sqrt 2]),
//   E Crt_{N,k}(u) = C_N E[g(lambda_k) 1{lambda_k <= a}],  a = u sqrt(p / (2 (p - 1))),
// C_N = 2 sqrt(2/p) (p - 1)^{N/2}. The functions below return the expectation without
// C_N: rows 0..n_index-1 are the indices k, the last row the sum over all k.
#pragma once

#include <cstdint>
#include <vector>

namespace kc::landscape {

struct CountMoments {
  std::vector<double> sum, sum_sq;  // (n_index + 1) x n_a, row-major
  long n_samples = 0;
};

// Monte Carlo over GOE_N samples (tridiagonal model), optionally deformed: the Hessian
// of digest 2.4 with a rank-r term sum_a theta_a v_a v_a^T (theta_a != 0, directions
// Haar). The deformed expectation is importance-sampled from the GOE_N law: each
// eigenvalue lambda_j in turn plays the energy, the other N - 1 the undeformed
// Hessian, and the weight is |det(I + Theta S_j)| with S_j = V^T (D_j - lambda_j)^-1 V,
// the index j + neg(-Theta^-1 - S_j) - #{theta_a > 0} (Haynsworth inertia). With no
// theta this reduces to g(lambda_k) exactly.
CountMoments kac_rice_monte_carlo(int n, double p, const std::vector<double>& a,
                                  int n_index, const std::vector<double>& theta,
                                  long n_samples, std::uint64_t seed, int num_threads);

// Exact expectations by de Bruijn's Pfaffian formula for GOE_N: the generating
// function E prod_i (1 - xi 1{lambda_i <= b}) is a Pfaffian whose entries are
// one-dimensional integrals (Gauss-Legendre on panels); its Fourier coefficients on a
// circle give P(#{lambda_i <= b} = j). Practical for N up to about 40.
std::vector<double> goe_exact_counts(int n, double p, const std::vector<double>& a,
                                     int n_index, int num_threads);

// P(lambda_k <= b / sqrt N) for k < n_index (first n_index columns) and the mean
// number of eigenvalues below b / sqrt N (last column), for every b in s.
std::vector<double> goe_order_cdf(int n, const std::vector<double>& s, int n_index,
                                  int num_threads);

}  // namespace kc::landscape
