// Exact GOE_N order statistics through de Bruijn's Pfaffian formula.
//
// In the variable s = lambda sqrt(N) the joint density is proportional to
// |Delta(s)| prod exp(-s_i^2 / 2). With g_i(t) = He_i(t) exp(-t^2/2) / norm_i and
// G_i(t) = int_{-inf}^t g_i, de Bruijn gives, for f = 1 - xi 1{t <= b},
//   E prod_i f(s_i) = Pf M(xi) / Pf M(0),  M_ij = iint sgn(y - x) g_i(x) g_j(y) f f,
// bordered by M_iN = int g_i f when N is odd. Expanding in xi,
//   M(xi) = A - xi B(b) + xi^2 L(b),  L_ij(b) = int_{-inf}^b (g_j G_i - g_i G_j),
//   A = L(inf),  B_ij = m_j G_i(b) - m_i G_j(b) + 2 L_ij(b),  m_i = G_i(inf).
#include <algorithm>
#include <cmath>
#include <complex>
#include <stdexcept>

#include "keatingcore/landscape/kac_rice.hpp"
#include "keatingcore/landscape/pfaffian.hpp"
#include "keatingcore/landscape/quadrature.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {

using cplx = std::complex<double>;

// The law of the number of eigenvalues below b: probabilities of 0..n and the mean.
struct Law {
  std::vector<double> prob;
  double mean = 0.0;
};

class CountingLaw {
 public:
  CountingLaw(int n, double half) : n_(n), dim_(n + n % 2), table_(n, half) {
    std::vector<double> g(n), G(n);
    hermite_basis(n, 40.0 + half, g.data(), G.data());
    m_.assign(G.begin(), G.end());  // m_0 = (2 pi)^{1/4}, the others vanish
    a_ = table_.at(2.0 * half);
    // Real inverse of M(0) by Gauss-Jordan with partial pivoting.
    const int d = dim_;
    std::vector<double> w = bordered(a_, m_);
    inv_.assign(static_cast<std::size_t>(d) * d, 0.0);
    for (int i = 0; i < d; ++i) inv_[i * d + i] = 1.0;
    for (int c = 0; c < d; ++c) {
      int piv = c;
      for (int i = c + 1; i < d; ++i)
        if (std::abs(w[i * d + c]) > std::abs(w[piv * d + c])) piv = i;
      for (int j = 0; j < d; ++j) {
        std::swap(w[c * d + j], w[piv * d + j]);
        std::swap(inv_[c * d + j], inv_[piv * d + j]);
      }
      const double head = w[c * d + c];
      for (int j = 0; j < d; ++j) w[c * d + j] /= head, inv_[c * d + j] /= head;
      for (int i = 0; i < d; ++i) {
        if (i == c || w[i * d + c] == 0.0) continue;
        const double f = w[i * d + c];
        for (int j = 0; j < d; ++j) {
          w[i * d + j] -= f * w[c * d + j];
          inv_[i * d + j] -= f * inv_[c * d + j];
        }
      }
    }
    std::vector<cplx> z(w.size());
    const std::vector<double> m0 = bordered(a_, m_);
    for (std::size_t i = 0; i < z.size(); ++i) z[i] = m0[i];
    pf0_ = pfaffian(z, d);
  }

  Law operator()(double b) const {
    const int n = n_, d = dim_;
    std::vector<double> g(n), G(n);
    hermite_basis(n, b, g.data(), G.data());
    const std::vector<double> l = table_.at(b);
    std::vector<double> bmat(static_cast<std::size_t>(n) * n);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        bmat[i * n + j] = m_[j] * G[i] - m_[i] * G[j] + 2.0 * l[i * n + j];
    // -dM/dxi at 0 is the bordered matrix of (B, G); mean = tr(M0^-1 D) / 2.
    const std::vector<double> dmat = bordered(bmat, G);
    Law law;
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) law.mean += 0.5 * inv_[i * d + j] * dmat[j * d + i];
    // Fourier coefficients of E s^{count} on |s| = r; r > 1 resolves a rare left tail.
    const double r =
        law.mean < 1.0 ? std::min(1.0 / std::max(law.mean, 1e-300), 1e12) : 1.0;
    const int k = n + 1;
    std::vector<cplx> values(k), z(static_cast<std::size_t>(d) * d);
    const double pi = std::acos(-1.0);
    for (int q = 0; q < k; ++q) {
      const cplx xi = 1.0 - r * std::polar(1.0, 2.0 * pi * q / k);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          z[i * d + j] = a_[i * n + j] - xi * bmat[i * n + j] + xi * xi * l[i * n + j];
      if (d > n)
        for (int i = 0; i < n; ++i) {
          z[i * d + n] = m_[i] - xi * G[i];
          z[n * d + i] = -z[i * d + n];
          z[n * d + n] = 0.0;
        }
      values[q] = pfaffian(z, d) / pf0_;
    }
    law.prob.assign(k, 0.0);
    double rj = 1.0;
    for (int j = 0; j < k; ++j) {
      cplx c = 0.0;
      for (int q = 0; q < k; ++q)
        c += values[q] * std::polar(1.0, -2.0 * pi * j * q / k);
      law.prob[j] = c.real() / k / rj;
      rj *= r;
    }
    return law;
  }

 private:
  std::vector<double> bordered(const std::vector<double>& inner,
                               const std::vector<double>& edge) const {
    const int n = n_, d = dim_;
    std::vector<double> out(static_cast<std::size_t>(d) * d, 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) out[i * d + j] = inner[i * n + j];
    if (d > n)
      for (int i = 0; i < n; ++i) out[i * d + n] = edge[i], out[n * d + i] = -edge[i];
    return out;
  }

  int n_, dim_;
  LTable table_;
  std::vector<double> m_, a_, inv_;
  cplx pf0_;
};

double half_width(int n) {
  return 2.0 * std::sqrt(static_cast<double>(n)) + 12.0;
}

// F_k = P(count >= k + 1) for k < n_index, then the mean, at every b (parallel).
std::vector<double> evaluate(const CountingLaw& law, const std::vector<double>& b,
                             int n_index, int num_threads) {
  const long nb = static_cast<long>(b.size()), w = n_index + 1;
  std::vector<double> out(static_cast<std::size_t>(nb * w));
  const int threads = resolve_threads(num_threads);
  (void)threads;
  // Point i writes only its own row of `out`.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long i = 0; i < nb; ++i) {
    const Law l = law(b[i]);
    double tail = 0.0;
    for (int j = static_cast<int>(l.prob.size()) - 1; j >= 1; --j) {
      tail += l.prob[j];  // P(count >= j)
      if (j - 1 < n_index) out[i * w + (j - 1)] = tail;
    }
    out[i * w + n_index] = l.mean;
  }
  return out;
}

}  // namespace

std::vector<double> goe_order_cdf(int n, const std::vector<double>& s, int n_index,
                                  int num_threads) {
  if (n < 1 || n_index < 0 || n_index > n)
    throw std::invalid_argument("bad N or index");
  const CountingLaw law(n, half_width(n));
  return evaluate(law, s, n_index, num_threads);
}

std::vector<double> goe_exact_counts(int n, double p, const std::vector<double>& a,
                                     int n_index, int num_threads) {
  if (n < 1 || n_index < 0 || n_index > n)
    throw std::invalid_argument("bad N or index");
  const double half = half_width(n);
  const CountingLaw law(n, half);
  const double lo = -half, slope = (p - 2.0) / p;
  const int panels = static_cast<int>(std::ceil(2.0 * half / 0.5));
  const double width = 2.0 * half / panels;
  const int nq = 12;
  const Rule& rule = gauss_legendre(nq);
  const long n_a = static_cast<long>(a.size()), w = n_index + 1;

  // Every b where F is needed: panel nodes, then per target its partial panel and b.
  std::vector<double> b(static_cast<std::size_t>(panels) * nq);
  for (int q = 0; q < panels; ++q)
    for (int j = 0; j < nq; ++j)
      b[q * nq + j] = lo + width * (q + 0.5 + 0.5 * rule.x[j]);
  std::vector<double> target(n_a);
  for (long m = 0; m < n_a; ++m) {
    target[m] = std::clamp(a[m] * std::sqrt(static_cast<double>(n)), lo, -lo);
    const int q = std::min(static_cast<int>((target[m] - lo) / width), panels - 1);
    const double x0 = lo + q * width, half_len = 0.5 * (target[m] - x0);
    for (int j = 0; j < nq; ++j) b.push_back(x0 + half_len * (1.0 + rule.x[j]));
    b.push_back(target[m]);
  }
  const std::vector<double> f = evaluate(law, b, n_index, num_threads);

  // Integration by parts: E[g(l) 1{l <= b}] = g(b) F(b) + slope int_lo^b s g(s) F(s).
  auto weight = [slope](double s) { return s * std::exp(-0.5 * slope * s * s); };
  std::vector<double> cum(static_cast<std::size_t>(panels + 1) * w, 0.0);
  for (int q = 0; q < panels; ++q)
    for (long k = 0; k < w; ++k) {
      double s = 0.0;
      for (int j = 0; j < nq; ++j)
        s += rule.w[j] * weight(b[q * nq + j]) * f[(q * nq + j) * w + k];
      cum[(q + 1) * w + k] = cum[q * w + k] + 0.5 * width * s;
    }
  std::vector<double> out(static_cast<std::size_t>(w * n_a));
  for (long m = 0; m < n_a; ++m) {
    const int q = std::min(static_cast<int>((target[m] - lo) / width), panels - 1);
    const double half_len = 0.5 * (target[m] - (lo + q * width));
    const long base = static_cast<long>(panels) * nq + m * (nq + 1);
    const double gb = std::exp(-0.5 * slope * target[m] * target[m]);
    for (long k = 0; k < w; ++k) {
      double s = 0.0;
      for (int j = 0; j < nq; ++j)
        s += rule.w[j] * weight(b[base + j]) * f[(base + j) * w + k];
      out[k * n_a + m] =
          gb * f[(base + nq) * w + k] + slope * (cum[q * w + k] + half_len * s);
    }
  }
  return out;
}

}  // namespace kc::landscape
