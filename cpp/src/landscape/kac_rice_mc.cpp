// Monte Carlo Kac-Rice counts over GOE samples, with the optional low-rank deformation.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "keatingcore/landscape/kac_rice.hpp"
#include "keatingcore/landscape/spectrum.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {

constexpr long kBlock = 32;  // samples per deterministic partial sum

// Weight and index shift of eigenvalue j under the deformation (see the header).
struct Deformation {
  const std::vector<double>& theta;
  int r, n_positive;
  std::vector<double> gram, t, q;

  // g: N x r Gaussian matrix (row-major); lambda ascending.
  void apply(const std::vector<double>& lambda, const std::vector<double>& g, int j,
             double& weight, int& shift) {
    const int n = static_cast<int>(lambda.size());
    if (r == 1) {  // scalar fast path: S = sum g_i^2 / (lambda_i - x) / sum g_i^2
      double gram1 = 0.0, t1 = 0.0;
      for (int i = 0; i < n; ++i) {
        if (i == j) continue;
        gram1 += g[i] * g[i];
        t1 += g[i] * g[i] / (lambda[i] - lambda[j]);
      }
      const double q1 = -1.0 / theta[0] - t1 / gram1;
      weight = std::abs(theta[0] * q1);
      shift = (q1 < 0) - n_positive;
      return;
    }
    std::fill(t.begin(), t.end(), 0.0);
    std::fill(gram.begin(), gram.end(), 0.0);
    for (int i = 0; i < n; ++i) {
      if (i == j) continue;
      const double inv = 1.0 / (lambda[i] - lambda[j]);
      for (int x = 0; x < r; ++x)
        for (int y = 0; y <= x; ++y) {
          const double gg = g[i * r + x] * g[i * r + y];
          gram[x * r + y] += gg;
          t[x * r + y] += gg * inv;
        }
    }
    // Cholesky gram = L L^T; S = L^-1 T L^-T (same eigen-structure as V^T(D-x)^-1 V).
    for (int x = 0; x < r; ++x) {
      for (int y = 0; y <= x; ++y) {
        double s = gram[x * r + y];
        for (int z = 0; z < y; ++z) s -= gram[x * r + z] * gram[y * r + z];
        gram[x * r + y] = x == y ? std::sqrt(s) : s / gram[y * r + y];
      }
    }
    for (int x = 0; x < r; ++x)
      for (int y = 0; y < x; ++y) t[y * r + x] = t[x * r + y];
    // Solve L W = T (columns), then L S = W^T.
    for (int c = 0; c < r; ++c)
      for (int x = 0; x < r; ++x) {
        double s = t[x * r + c];
        for (int z = 0; z < x; ++z) s -= gram[x * r + z] * t[z * r + c];
        t[x * r + c] = s / gram[x * r + x];
      }
    for (int c = 0; c < r; ++c)
      for (int x = 0; x < r; ++x) {
        double s = t[c * r + x];
        for (int z = 0; z < x; ++z) s -= gram[x * r + z] * q[z * r + c];
        q[x * r + c] = s / gram[x * r + x];
      }
    // Q = -Theta^-1 - S; |det(I + Theta S)| = |prod theta| |det Q|.
    for (int x = 0; x < r; ++x)
      for (int y = 0; y < r; ++y)
        q[x * r + y] =
            -0.5 * (q[x * r + y] + q[y * r + x]) - (x == y ? 1.0 / theta[x] : 0);
    const std::vector<double> eig = symmetric_eigenvalues(q, r);
    weight = 1.0;
    int negative = 0;
    for (int x = 0; x < r; ++x) {
      weight *= std::abs(theta[x] * eig[x]);
      negative += eig[x] < 0;
    }
    shift = negative - n_positive;
  }
};

}  // namespace

CountMoments kac_rice_monte_carlo(int n, double p, const std::vector<double>& a,
                                  int n_index, const std::vector<double>& theta,
                                  long n_samples, std::uint64_t seed, int num_threads) {
  if (n < 2) throw std::invalid_argument("N must be >= 2");
  const int r = static_cast<int>(theta.size());
  for (double th : theta)
    if (th == 0.0) throw std::invalid_argument("theta entries must be non-zero");
  const long n_a = static_cast<long>(a.size()), rows = n_index + 1;
  const long width = rows * n_a;
  // Energies sorted once; contributions are cumulated along the sorted order.
  std::vector<long> order(static_cast<std::size_t>(n_a));
  std::iota(order.begin(), order.end(), 0L);
  std::sort(order.begin(), order.end(), [&](long x, long y) { return a[x] < a[y]; });
  std::vector<double> sorted(static_cast<std::size_t>(n_a));
  for (long m = 0; m < n_a; ++m) sorted[m] = a[order[m]];
  const double c = n * (p - 2.0) / (2.0 * p);
  const int n_positive = static_cast<int>(
      std::count_if(theta.begin(), theta.end(), [](double t) { return t > 0; }));

  CountMoments out;
  out.sum.assign(static_cast<std::size_t>(width), 0.0);
  out.sum_sq.assign(static_cast<std::size_t>(width), 0.0);
  out.n_samples = n_samples;
  const long n_blocks = (n_samples + kBlock - 1) / kBlock;
  const int threads = resolve_threads(num_threads);
  (void)threads;
  const long chunk = 256;  // blocks per round; partial sums reduced in block order
  std::vector<double> part(static_cast<std::size_t>(chunk * width * 2));
  for (long b0 = 0; b0 < n_blocks; b0 += chunk) {
    const long nb = std::min(chunk, n_blocks - b0);
    // Block b writes only its own slice of `part`; samples use their own streams.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
    for (long b = 0; b < nb; ++b) {
      double* s1 = part.data() + b * width * 2;
      double* s2 = s1 + width;
      std::fill(s1, s1 + 2 * width, 0.0);
      std::vector<double> d, e, g(static_cast<std::size_t>(n) * r), cell(width);
      Deformation def{theta,
                      r,
                      n_positive,
                      std::vector<double>(r * r),
                      std::vector<double>(r * r),
                      std::vector<double>(r * r)};
      const long first = (b0 + b) * kBlock;
      const long last = std::min(first + kBlock, n_samples);
      for (long smp = first; smp < last; ++smp) {
        Rng rng(seed, static_cast<std::uint64_t>(smp));
        sample_goe_tridiagonal(n, 0.0, rng, d, e);
        tridiagonal_eigenvalues(d, e);
        for (double& x : g) x = rng.normal();
        std::fill(cell.begin(), cell.end(), 0.0);
        for (int j = 0; j < n; ++j) {
          double w = std::exp(-c * d[j] * d[j]);
          int index = j;
          if (r > 0) {
            double ratio;
            int shift;
            def.apply(d, g, j, ratio, shift);
            w *= ratio;
            index += shift;
          }
          // First sorted energy at or above lambda_j: the contribution starts there.
          const long m =
              std::lower_bound(sorted.begin(), sorted.end(), d[j]) - sorted.begin();
          if (m == n_a) continue;
          if (index < n_index) cell[index * n_a + m] += w;
          cell[n_index * n_a + m] += w;
        }
        for (long row = 0; row < rows; ++row) {
          double run = 0.0;
          for (long m = 0; m < n_a; ++m) {
            run += cell[row * n_a + m];
            s1[row * n_a + m] += run;
            s2[row * n_a + m] += run * run;
          }
        }
      }
    }
    for (long b = 0; b < nb; ++b)
      for (long i = 0; i < width; ++i) {
        const long row = i / n_a, m = order[i % n_a];
        out.sum[row * n_a + m] += part[b * width * 2 + i];
        out.sum_sq[row * n_a + m] += part[b * width * 2 + width + i];
      }
  }
  return out;
}

}  // namespace kc::landscape
