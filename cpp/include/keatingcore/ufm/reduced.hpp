// Reduced (scalar) problems of the deep linear unconstrained-feature model.
//
// MSE (Garrod & Keating, arXiv 2404.06106): with M = L + 1 factors the optimum
// maps every sample of class c to gamma e_c, where the gain gamma is the largest
// root of (1 - gamma)^(L+1) gamma^(L-1) = R, R = K^(L+1) n lam_H prod_l lam_W_l.
//
// Cross-entropy (Garrod & Keating, arXiv 2410.23169): a collapsed frame Zbar (K x K,
// column c = mean logits of class c) at scale t costs
//   phi(t) = (1/K) sum_c log(1 + sum_{k != c} exp(-t m[c][k]))
//          + (lam M / 2) sum_i (t sqrt(n) s_i)^(2/M),
// with margins m[c][k] = Zbar[c][c] - Zbar[k][c], singular values s_i of Zbar and
// lam the geometric mean of the factor strengths. Both formulas are the project
// digest's reconstructions (shared/papers/deep-ufm.md, A.2 and B.2-B.3).
#pragma once

#include <vector>

namespace kc::ufm {

// u = 1 - gamma for the largest root gamma of the gain equation, given L >= 1
// weight matrices and log_rhs = log R; NaN when there is none (R above the peak of
// the left side). Returning the complement keeps 1 - gamma exact when gamma -> 1.
double mse_gain_complement(int L, double log_rhs);

// Batched mse_gain_complement, OpenMP over the points (independent, so the
// result does not depend on the thread count).
std::vector<double> mse_gain_complements(const std::vector<int>& L,
                              const std::vector<double>& log_rhs, int num_threads);

// One frame problem. margins: K x K row-major, row c = class c (diagonal ignored;
// +inf entries contribute nothing); svals: K singular values (zeros allowed).
struct FrameProblem {
  int K;
  const double* margins;
  const double* svals;
  double n;      // samples per class
  int depth;     // factors M = L + 1 >= 2
  double lam;    // geometric mean of the factor strengths, > 0
};

struct ScaleMinimum {
  double scale;           // global minimiser t* (0 when the zero solution wins)
  double loss, fit, reg;  // at t*
  double inner_scale;     // best strictly positive local minimiser (NaN if none)
  double inner_loss;      // its loss
  int n_local;            // positive local minima found on the grid
};

// Reduced loss and its two parts at scale t.
void frame_loss(const FrameProblem& p, double t, double* loss, double* fit,
                double* reg);

// Throws std::invalid_argument for K < 2, depth < 2, lam <= 0, n <= 0, grid < 3
// or tol <= 0.
void check_problem(const FrameProblem& p, int grid, double tol);

// Global minimum over t >= 0: the minimiser lies in [0, t_max] with
// reg(t_max) = log K = phi(0); a log-spaced grid of `grid` points there, then a
// Brent refinement around every grid local minimum (relative tolerance `tol`).
ScaleMinimum minimise_scale(const FrameProblem& p, int grid, double tol);

// Batched minimise_scale, OpenMP over the problems.
std::vector<ScaleMinimum> minimise_scales(const std::vector<FrameProblem>& problems,
                                          int grid, double tol, int num_threads);

}  // namespace kc::ufm
