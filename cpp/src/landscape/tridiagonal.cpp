// Symmetric tridiagonal eigenvalues and Householder tridiagonalisation.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "keatingcore/landscape/spectrum.hpp"

namespace kc::landscape {

namespace {

// One implicit QR step with a Wilkinson shift on the unreduced block [l, m]; the
// bulge created by the first Givens rotation is chased down to the end of the block.
void qr_step(std::vector<double>& d, std::vector<double>& e, int l, int m) {
  const double t = 0.5 * (d[m - 1] - d[m]);
  const double b2 = e[m - 1] * e[m - 1];
  const double shift = d[m] - b2 / (t + std::copysign(std::hypot(t, e[m - 1]), t));
  double x = d[l] - shift, z = e[l];
  for (int k = l; k < m; ++k) {
    const double r = std::sqrt(x * x + z * z);  // entries are O(1): no overflow
    const double c = r == 0.0 ? 1.0 : x / r, s = r == 0.0 ? 0.0 : z / r;
    if (k > l) e[k - 1] = r;
    const double dk = d[k], dk1 = d[k + 1], ek = e[k];
    d[k] = c * c * dk + 2.0 * c * s * ek + s * s * dk1;
    d[k + 1] = s * s * dk - 2.0 * c * s * ek + c * c * dk1;
    e[k] = c * s * (dk1 - dk) + (c * c - s * s) * ek;
    if (k + 1 < m) {
      x = e[k];
      z = s * e[k + 1];  // the bulge at (k + 2, k)
      e[k + 1] *= c;
    }
  }
}

}  // namespace

void tridiagonal_eigenvalues(std::vector<double>& d, std::vector<double>& e) {
  const int n = static_cast<int>(d.size());
  const double eps = std::numeric_limits<double>::epsilon();
  int m = n - 1, budget = 60 * std::max(n, 1);
  while (m > 0) {
    if (std::abs(e[m - 1]) <= eps * (std::abs(d[m - 1]) + std::abs(d[m]))) {
      e[m - 1] = 0.0;
      --m;
      continue;
    }
    int l = m - 1;
    while (l > 0 && std::abs(e[l - 1]) > eps * (std::abs(d[l - 1]) + std::abs(d[l])))
      --l;
    if (--budget < 0) throw std::runtime_error("tridiagonal QR did not converge");
    qr_step(d, e, l, m);
  }
  std::sort(d.begin(), d.end());
}

int sturm_count(const std::vector<double>& d, const std::vector<double>& e, double x) {
  const std::size_t n = d.size();
  int count = 0;
  double q = d[0] - x;
  for (std::size_t i = 0;; ++i) {
    if (q == 0.0) q = -1e-300;  // a zero pivot counts as negative, consistently
    if (q < 0) ++count;
    if (i + 1 == n) break;
    q = d[i + 1] - x - e[i] * e[i] / q;
  }
  return count;
}

void tridiagonalize(std::vector<double>& a, int n, std::vector<double>& d,
                    std::vector<double>& e) {
  auto at = [&](int i, int j) -> double& {
    return a[static_cast<std::size_t>(i) * n + j];
  };
  std::vector<double> v(n), w(n);
  for (int k = 0; k + 2 < n; ++k) {
    // Reflect column k below the diagonal onto e_{k+1}: H = I - 2 v v^T / (v^T v).
    double norm = 0.0;
    for (int i = k + 1; i < n; ++i) norm += at(i, k) * at(i, k);
    norm = std::sqrt(norm);
    if (norm == 0.0) continue;
    const double alpha = at(k + 1, k) > 0 ? -norm : norm;
    for (int i = 0; i < n; ++i) v[i] = i > k ? at(i, k) : 0.0;
    v[k + 1] -= alpha;
    double vv = 0.0;
    for (int i = k + 1; i < n; ++i) vv += v[i] * v[i];
    if (vv == 0.0) continue;
    // A <- H A H = A - v w^T - w v^T with w = p - (v^T p / vv) v, p = 2 A v / vv.
    double vp = 0.0;
    for (int i = k; i < n; ++i) {
      double s = 0.0;
      for (int j = k + 1; j < n; ++j) s += at(i, j) * v[j];
      w[i] = 2.0 * s / vv;
      vp += v[i] * w[i];
    }
    for (int i = k; i < n; ++i) w[i] -= vp / vv * v[i];
    for (int i = k; i < n; ++i)
      for (int j = k; j < n; ++j) at(i, j) -= v[i] * w[j] + w[i] * v[j];
  }
  d.assign(n, 0.0);
  e.assign(n > 0 ? n - 1 : 0, 0.0);
  for (int i = 0; i < n; ++i) d[i] = at(i, i);
  for (int i = 0; i + 1 < n; ++i) e[i] = at(i + 1, i);
}

std::vector<double> symmetric_eigenvalues(std::vector<double> a, int n) {
  std::vector<double> d, e;
  tridiagonalize(a, n, d, e);
  tridiagonal_eigenvalues(d, e);
  return d;
}

}  // namespace kc::landscape
