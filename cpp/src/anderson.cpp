#include "keatingcore/anderson.hpp"

#include <cmath>

namespace kc {

namespace {

// Solves the small symmetric positive system a x = r in place by Cholesky;
// returns false when a pivot is not positive.
bool cholesky_solve(std::vector<double>& a, std::vector<double>& r, int m) {
  for (int j = 0; j < m; ++j) {
    double d = a[j * m + j];
    for (int k = 0; k < j; ++k) d -= a[j * m + k] * a[j * m + k];
    if (!(d > 0.0)) return false;
    a[j * m + j] = std::sqrt(d);
    for (int i = j + 1; i < m; ++i) {
      double s = a[i * m + j];
      for (int k = 0; k < j; ++k) s -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = s / a[j * m + j];
    }
  }
  for (int i = 0; i < m; ++i) {
    for (int k = 0; k < i; ++k) r[i] -= a[i * m + k] * r[k];
    r[i] /= a[i * m + i];
  }
  for (int i = m - 1; i >= 0; --i) {
    for (int k = i + 1; k < m; ++k) r[i] -= a[k * m + i] * r[k];
    r[i] /= a[i * m + i];
  }
  return true;
}

}  // namespace

AndersonMixer::AndersonMixer(int dim, int memory, double damping)
    : dim_(dim), memory_(memory), damping_(damping) {}

void AndersonMixer::reset() {
  dz_.clear();
  df_.clear();
  has_prev_ = false;
}

std::vector<double> AndersonMixer::step(const std::vector<double>& z,
                                        const std::vector<double>& f) {
  if (has_prev_ && memory_ > 0) {
    std::vector<double> dz(dim_), df(dim_);
    for (int i = 0; i < dim_; ++i) {
      dz[i] = z[i] - z_prev_[i];
      df[i] = f[i] - f_prev_[i];
    }
    dz_.push_back(dz);
    df_.push_back(df);
    if (static_cast<int>(dz_.size()) > memory_) {
      dz_.erase(dz_.begin());
      df_.erase(df_.begin());
    }
  }
  z_prev_ = z;
  f_prev_ = f;
  has_prev_ = true;

  std::vector<double> next(dim_);
  for (int i = 0; i < dim_; ++i) next[i] = z[i] + damping_ * f[i];
  const int m = static_cast<int>(dz_.size());
  if (m == 0) return next;

  // Least squares min |f - DF gamma| through regularised normal equations.
  std::vector<double> a(m * m), r(m);
  double trace = 0.0;
  for (int p = 0; p < m; ++p) {
    for (int q = 0; q < m; ++q) {
      double s = 0.0;
      for (int i = 0; i < dim_; ++i) s += df_[p][i] * df_[q][i];
      a[p * m + q] = s;
    }
    trace += a[p * m + p];
    double s = 0.0;
    for (int i = 0; i < dim_; ++i) s += df_[p][i] * f[i];
    r[p] = s;
  }
  for (int p = 0; p < m; ++p) a[p * m + p] += 1e-12 * trace + 1e-300;
  if (!cholesky_solve(a, r, m)) return next;

  for (int p = 0; p < m; ++p) {
    for (int i = 0; i < dim_; ++i) {
      next[i] -= r[p] * (dz_[p][i] + damping_ * df_[p][i]);
    }
  }
  return next;
}

}  // namespace kc
