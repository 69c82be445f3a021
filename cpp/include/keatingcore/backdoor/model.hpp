// Backdoor-poisoned Gaussian-mixture GLM: the Gaussian-proxy fixed point.
//
// Model and equations: digest of Flynn, Goldhirsh, Keating & Seroussi,
// arXiv 2605.22481, sections 1.2 (three clusters), 2 (ridge) and 3 (convex losses).
// Everything lives in the eigenbasis of the covariance Sigma.
#pragma once

#include <vector>

namespace kc::backdoor {

enum class Loss { square = 0, logistic = 1, hinge = 2 };

// Spectrum sigma_i of Sigma and the unit mean and trigger directions in its eigenbasis.
struct Geometry {
  std::vector<double> sigma;
  std::vector<double> mean;
  std::vector<double> trigger;
};

// One point of parameter space.
struct Params {
  double kappa;       // p / n
  double lam;         // ridge strength in (1/n) sum loss + (lam/2) |w|^2
  double snr;         // |mu|^2
  double eps;         // poisoning fraction
  double alpha;       // training trigger strength
  double alpha_test;  // test trigger strength
};

struct Options {
  Loss loss = Loss::logistic;
  bool additive = true;   // rho_p = eps, rho_+- = (1 - eps)/2; else "replace"
  bool intercept = true;  // unpenalised intercept b; else b = 0
  std::vector<double> nodes, weights;  // probabilists' Gauss-Hermite, weights sum to 1
  double tol = 1e-10;
  int max_iter = 500;
  double damping = 1.0;
  int anderson = 2;
};

// Order parameters: V, Q and hat-V, and the overlaps u1 = w.mu, u2 = w.t, intercept b.
struct State {
  double V = 0, Q = 0, Vhat = 0, u1 = 0, u2 = 0, b = 0;
};

enum class Status { converged = 0, max_iter = 1, diverged = 2 };

struct Solution {
  State state;
  double noise_floor = 0;  // kappa q-hat tau_2: the finite-sample part of Q
  double acc = 0, asr = 0, asr_conditional = 0;
  Status status = Status::max_iter;
  int n_iter = 0;
  double residual = 0;
};

// Solves one point; `warm` (may be null) is a starting state.
Solution solve_point(const Geometry& g, const Params& p, const Options& o,
                     const State* warm);

// Solves consecutive chains of `chain` points each (continuation inside a chain),
// chains in parallel over `num_threads` threads. `warm` holds one state per point or
// is empty.
std::vector<Solution> solve_grid(const Geometry& g, const std::vector<Params>& points,
                                 int chain, const Options& o,
                                 const std::vector<State>& warm, int num_threads);

}  // namespace kc::backdoor
