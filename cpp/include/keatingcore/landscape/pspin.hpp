// Sampled pure spherical p-spin Hamiltonians and their critical points found directly
// (digest sections 1.1, 2.2 and 6): H(s) = N^{-(p-1)/2} sum J_{i_1..i_p} s_i1 .. s_ip
// on the sphere |s|^2 = N, J iid N(0, 1).
#pragma once

#include <cstdint>
#include <vector>

#include "keatingcore/landscape/random.hpp"

namespace kc::landscape {

class PSpin {
 public:
  // Draws the symmetrised coupling tensor directly: one normal per sorted multi-index,
  // scaled so that the law of H equals that of the iid-J sum.
  PSpin(int n, int p, Rng& rng);

  int n() const { return n_; }
  int p() const { return p_; }
  double energy(const std::vector<double>& s) const;
  // Euclidean gradient; returns H(s).
  double gradient(const std::vector<double>& s, std::vector<double>& grad) const;
  // Euclidean Hessian (row-major n x n) and gradient; returns H(s).
  double hessian(const std::vector<double>& s, std::vector<double>& grad,
                 std::vector<double>& hess) const;
  // Index of the Riemannian Hessian at a critical point s.
  int index_at(const std::vector<double>& s) const;

 private:
  // T contracted with s on its last `times` slots (order p - times result).
  std::vector<double> contract(const std::vector<double>& s, int times) const;
  int n_, p_;
  double scale_;
  std::vector<double> t_;
};

// Critical points of one sample per Hamiltonian, found by multistart Riemannian Newton
// with de-duplication and the antipodal symmetry H(-s) = (-1)^p H(s).
struct CriticalPoints {
  std::vector<long> sample;    // per point
  std::vector<double> energy;  // H / N
  std::vector<int> index;
  std::vector<long> n_starts;  // per sample
  std::vector<int> euler_ok;   // per sample: sum_k (-1)^k Crt_k = 1 + (-1)^(N-1)
  double max_gradient = 0.0;   // largest |Riemannian gradient| / sqrt N accepted
};

CriticalPoints find_critical_points(int n, int p, long n_samples, long min_starts,
                                    long max_starts, long patience, double tol,
                                    int max_iter, std::uint64_t seed, int num_threads);

// Riemannian gradient descent, one run per Hamiltonian sample from a uniform start.
struct Descent {
  std::vector<double> energy;    // H / N at the end
  std::vector<double> gradient;  // final |Riemannian gradient| / sqrt N
  std::vector<int> index;        // Hessian index at the end (-1 if not computed)
  std::vector<long> n_iter;
  std::vector<int> converged;
};

Descent gradient_descent(int n, int p, long n_runs, double step, double tol,
                         long max_iter, bool compute_index, std::uint64_t seed,
                         int num_threads);

}  // namespace kc::landscape
