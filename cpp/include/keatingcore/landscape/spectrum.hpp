// Symmetric eigenvalue routines and GOE samplers (no LAPACK dependency).
#pragma once

#include <cstdint>
#include <vector>

#include "keatingcore/landscape/random.hpp"

namespace kc::landscape {

// All eigenvalues of the symmetric tridiagonal matrix (diagonal d, off-diagonal e of
// length n - 1), ascending, by implicit QR steps with Wilkinson shifts. d and e are
// overwritten.
void tridiagonal_eigenvalues(std::vector<double>& d, std::vector<double>& e);

// Number of eigenvalues of the tridiagonal matrix below x (Sturm sequence).
int sturm_count(const std::vector<double>& d, const std::vector<double>& e, double x);

// Householder reduction of a dense symmetric n x n matrix (row-major, overwritten)
// to tridiagonal form (d, e) with the same eigenvalues.
void tridiagonalize(std::vector<double>& a, int n, std::vector<double>& d,
                    std::vector<double>& e);

// Ascending eigenvalues of a dense symmetric matrix (row-major, overwritten).
std::vector<double> symmetric_eigenvalues(std::vector<double> a, int n);

// A GOE_N matrix in ABC's normalisation (E M_ij^2 = (1 + delta_ij) / (2N), semicircle
// on [-sqrt 2, sqrt 2]) plus theta e_1 e_1^T, in the Dumitriu-Edelman tridiagonal
// form: diagonal N(0, 1/N) (+ theta on the first entry), off-diagonal
// chi_{N-i} / sqrt(2N). Its eigenvalues have the law of GOE_N + theta v v^T for any
// unit v (orthogonal invariance; Householder from e_1 fixes e_1).
void sample_goe_tridiagonal(int n, double theta, Rng& rng, std::vector<double>& d,
                            std::vector<double>& e);

// n_samples x N ascending eigenvalues of GOE_N + theta e_1 e_1^T, sample i drawn from
// stream i of `seed`.
std::vector<double> goe_eigenvalues(int n, long n_samples, double theta,
                                    std::uint64_t seed, int num_threads);

// Largest (top = true) or smallest eigenvalue of GOE_N + theta e_1 e_1^T per sample,
// by bisection on Sturm counts (O(N) per step), to absolute tolerance tol.
std::vector<double> goe_extreme_eigenvalue(int n, long n_samples, double theta,
                                           bool top, double tol, std::uint64_t seed,
                                           int num_threads);

}  // namespace kc::landscape
