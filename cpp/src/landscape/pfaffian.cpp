#include "keatingcore/landscape/pfaffian.hpp"

#include <algorithm>
#include <cmath>

#include "keatingcore/gaussian.hpp"
#include "keatingcore/landscape/quadrature.hpp"

namespace kc::landscape {

namespace {

using cplx = std::complex<double>;
constexpr int kNodes = 20;

}  // namespace

cplx pfaffian(std::vector<cplx>& a, int n) {
  if (n % 2) return 0.0;
  auto at = [&](int i, int j) -> cplx& {
    return a[static_cast<std::size_t>(i) * n + j];
  };
  cplx pf = 1.0;
  for (int k = 0; k + 1 < n; k += 2) {
    int piv = k + 1;
    for (int j = k + 2; j < n; ++j)
      if (std::abs(at(k, j)) > std::abs(at(k, piv))) piv = j;
    if (piv != k + 1) {
      for (int j = 0; j < n; ++j) std::swap(at(k + 1, j), at(piv, j));
      for (int i = 0; i < n; ++i) std::swap(at(i, k + 1), at(i, piv));
      pf = -pf;
    }
    const cplx head = at(k, k + 1);
    if (head == 0.0) return 0.0;
    pf *= head;
    // Congruence that clears row k beyond k + 1 (unit determinant).
    for (int i = k + 2; i < n; ++i) {
      const cplx ti = at(k, i) / head, ri = at(k + 1, i);
      for (int j = k + 2; j < n; ++j)
        at(i, j) += at(k, j) / head * ri - ti * at(k + 1, j);
    }
  }
  return pf;
}

void hermite_basis(int n, double t, double* g, double* G) {
  const double e4 = std::exp(-0.25 * t * t);
  const double root = std::pow(2.0 * std::acos(-1.0), 0.25);
  double h_prev = 0.0, h = e4 / root;
  G[0] = root * normal_cdf(t);
  for (int i = 0; i < n; ++i) {
    g[i] = h * e4;
    if (i + 1 < n) G[i + 1] = -h * e4 / std::sqrt(i + 1.0);
    const double next =
        (t * h - std::sqrt(static_cast<double>(i)) * h_prev) / std::sqrt(i + 1.0);
    h_prev = h;
    h = next;
  }
}

LTable::LTable(int n, double half) : n_(n), lo_(-half) {
  const int panels = static_cast<int>(std::ceil(2.0 * half / 0.25));
  width_ = 2.0 * half / panels;
  cum_.assign(static_cast<std::size_t>(panels + 1) * n * n, 0.0);
  std::vector<double> acc(static_cast<std::size_t>(n) * n);
  for (int q = 0; q < panels; ++q) {
    std::fill(acc.begin(), acc.end(), 0.0);
    add(lo_ + q * width_, lo_ + (q + 1) * width_, acc.data());
    for (std::size_t i = 0; i < acc.size(); ++i)
      cum_[(q + 1) * acc.size() + i] = cum_[q * acc.size() + i] + acc[i];
  }
}

void LTable::add(double x0, double x1, double* acc) const {
  const int n = n_;
  const Rule& r = gauss_legendre(kNodes);
  std::vector<double> g(n), G(n);
  const double mid = 0.5 * (x0 + x1), half = 0.5 * (x1 - x0);
  for (int k = 0; k < kNodes; ++k) {
    hermite_basis(n, mid + half * r.x[k], g.data(), G.data());
    const double w = half * r.w[k];
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) {
        const double v = w * (g[j] * G[i] - g[i] * G[j]);
        acc[i * n + j] += v;
        acc[j * n + i] -= v;
      }
  }
}

std::vector<double> LTable::at(double b) const {
  const std::size_t nn = static_cast<std::size_t>(n_) * n_;
  if (b <= lo_) return std::vector<double>(nn, 0.0);
  const int q = std::min(static_cast<int>((b - lo_) / width_), panels());
  std::vector<double> out(cum_.begin() + q * nn, cum_.begin() + (q + 1) * nn);
  if (q < panels()) add(lo_ + q * width_, b, out.data());
  return out;
}

}  // namespace kc::landscape
