// The p-spin Hamiltonian: symmetrised couplings, energy, gradient, Hessian, index.
#include "keatingcore/landscape/pspin.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "keatingcore/landscape/spectrum.hpp"

namespace kc::landscape {

PSpin::PSpin(int n, int p, Rng& rng) : n_(n), p_(p) {
  if (n < 2 || p < 2) throw std::invalid_argument("need N >= 2 and p >= 2");
  scale_ = std::pow(static_cast<double>(n), -0.5 * (p - 1));
  long size = 1;
  for (int q = 0; q < p; ++q) size *= n;
  t_.assign(static_cast<std::size_t>(size), 0.0);
  double p_fact = 1.0;
  for (int q = 2; q <= p; ++q) p_fact *= q;
  std::vector<int> idx(static_cast<std::size_t>(p)), sorted(idx.size());
  // Linear indices ascend, so the sorted tuple (the smallest of its permutations) is
  // always filled before any permutation of it is visited.
  for (long lin = 0; lin < size; ++lin) {
    long rest = lin;
    for (int q = p - 1; q >= 0; --q) idx[q] = static_cast<int>(rest % n), rest /= n;
    sorted = idx;
    std::sort(sorted.begin(), sorted.end());
    if (sorted == idx) {
      // Variance of the symmetrised entry: prod(multiplicity!) / p!.
      double mult = 1.0, run = 1.0;
      for (int q = 1; q < p; ++q) {
        run = sorted[q] == sorted[q - 1] ? run + 1.0 : 1.0;
        mult *= run;
      }
      t_[lin] = std::sqrt(mult / p_fact) * rng.normal();
    } else {
      long canon = 0;
      for (int q = 0; q < p; ++q) canon = canon * n + sorted[q];
      t_[lin] = t_[canon];
    }
  }
}

std::vector<double> PSpin::contract(const std::vector<double>& s, int times) const {
  if (times == 0) return t_;
  // The first contraction reads the tensor in place (no copy of its N^p entries).
  const double* cur = t_.data();
  std::size_t size = t_.size();
  std::vector<double> buf;
  for (int t = 0; t < times; ++t) {
    std::vector<double> next(size / n_);
    for (std::size_t i = 0; i < next.size(); ++i) {
      double acc = 0.0;
      const double* row = cur + i * n_;
      for (int j = 0; j < n_; ++j) acc += row[j] * s[j];
      next[i] = acc;
    }
    buf.swap(next);
    cur = buf.data();
    size = buf.size();
  }
  return buf;
}

double PSpin::energy(const std::vector<double>& s) const {
  return scale_ * contract(s, p_)[0];
}

double PSpin::gradient(const std::vector<double>& s, std::vector<double>& grad) const {
  const std::vector<double> v = contract(s, p_ - 1);
  grad.resize(n_);
  double h = 0.0;
  for (int i = 0; i < n_; ++i) {
    grad[i] = scale_ * p_ * v[i];
    h += v[i] * s[i];
  }
  return scale_ * h;
}

double PSpin::hessian(const std::vector<double>& s, std::vector<double>& grad,
                      std::vector<double>& hess) const {
  const std::vector<double> m = contract(s, p_ - 2);
  hess.resize(static_cast<std::size_t>(n_) * n_);
  grad.assign(n_, 0.0);
  double h = 0.0;
  for (int i = 0; i < n_; ++i) {
    double v = 0.0;
    for (int j = 0; j < n_; ++j) {
      hess[i * n_ + j] = scale_ * p_ * (p_ - 1.0) * m[i * n_ + j];
      v += m[i * n_ + j] * s[j];
    }
    grad[i] = scale_ * p_ * v;
    h += v * s[i];
  }
  return scale_ * h;
}

int PSpin::index_at(const std::vector<double>& s) const {
  std::vector<double> g, h;
  hessian(s, g, h);
  const double nn = n_;
  double mu = 0.0, frob = 0.0;
  for (int i = 0; i < n_; ++i) mu += s[i] * g[i] / nn;
  for (int i = 0; i < n_; ++i) h[i * n_ + i] -= mu;
  // P (Hess - mu) P, plus a large multiple of s s^T / N so that the normal direction
  // shows up as a positive eigenvalue and the negatives are exactly the index.
  std::vector<double> hs(n_, 0.0);
  double shs = 0.0;
  for (int i = 0; i < n_; ++i) {
    for (int j = 0; j < n_; ++j) hs[i] += h[i * n_ + j] * s[j];
    shs += s[i] * hs[i];
  }
  for (double x : h) frob += x * x;
  const double big = 1.0 + 4.0 * std::sqrt(frob);
  std::vector<double> r(h.size());
  for (int i = 0; i < n_; ++i)
    for (int j = 0; j < n_; ++j)
      r[i * n_ + j] = h[i * n_ + j] - (s[i] * hs[j] + hs[i] * s[j]) / nn +
                      s[i] * s[j] * (shs / (nn * nn) + big / nn);
  const std::vector<double> eig = symmetric_eigenvalues(r, n_);
  return static_cast<int>(
      std::count_if(eig.begin(), eig.end(), [](double x) { return x < 0; }));
}

}  // namespace kc::landscape
