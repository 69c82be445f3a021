// Critical points by multistart Riemannian Newton, and gradient descent.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "keatingcore/landscape/pspin.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::landscape {

namespace {

double norm(const std::vector<double>& x) {
  double s = 0.0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}

std::vector<double> uniform_on_sphere(int n, Rng& rng) {
  std::vector<double> s(n);
  for (double& x : s) x = rng.normal();
  const double f = std::sqrt(static_cast<double>(n)) / norm(s);
  for (double& x : s) x *= f;
  return s;
}

// Solves the dense system k x = rhs (k row-major m x m, destroyed), partial pivoting.
bool solve(std::vector<double>& k, std::vector<double>& rhs, int m) {
  for (int c = 0; c < m; ++c) {
    int piv = c;
    for (int i = c + 1; i < m; ++i)
      if (std::abs(k[i * m + c]) > std::abs(k[piv * m + c])) piv = i;
    if (k[piv * m + c] == 0.0) return false;
    for (int j = 0; j < m; ++j) std::swap(k[c * m + j], k[piv * m + j]);
    std::swap(rhs[c], rhs[piv]);
    for (int i = c + 1; i < m; ++i) {
      const double f = k[i * m + c] / k[c * m + c];
      for (int j = c; j < m; ++j) k[i * m + j] -= f * k[c * m + j];
      rhs[i] -= f * rhs[c];
    }
  }
  for (int i = m - 1; i >= 0; --i) {
    double s = rhs[i];
    for (int j = i + 1; j < m; ++j) s -= k[i * m + j] * rhs[j];
    rhs[i] = s / k[i * m + i];
  }
  return true;
}

// Riemannian Newton on the Lagrange system grad H = mu s, |s|^2 = N; returns the
// final |Riemannian gradient| / sqrt N.
double newton(const PSpin& h, std::vector<double>& s, double tol, int max_iter) {
  const int n = h.n();
  const double rn = std::sqrt(static_cast<double>(n));
  std::vector<double> g, hess, k(static_cast<std::size_t>(n + 1) * (n + 1)), rhs(n + 1);
  double res = INFINITY;
  for (int it = 0; it <= max_iter; ++it) {
    h.hessian(s, g, hess);
    double mu = 0.0;
    for (int i = 0; i < n; ++i) mu += s[i] * g[i] / n;
    for (int i = 0; i < n; ++i) rhs[i] = -(g[i] - mu * s[i]);
    rhs[n] = 0.0;
    res = norm(std::vector<double>(rhs.begin(), rhs.end() - 1)) / rn;
    if (res < tol || it == max_iter) break;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) k[i * (n + 1) + j] = hess[i * n + j];
      k[i * (n + 1) + i] -= mu;
      k[i * (n + 1) + n] = s[i];
      k[n * (n + 1) + i] = s[i];
    }
    k[n * (n + 1) + n] = 0.0;
    if (!solve(k, rhs, n + 1)) break;
    rhs.pop_back();
    const double step = norm(rhs), cap = 0.5 * rn;
    for (int i = 0; i < n; ++i) s[i] += (step > cap ? cap / step : 1.0) * rhs[i];
    rhs.push_back(0.0);
    const double f = rn / norm(s);
    for (double& x : s) x *= f;
  }
  return res;
}

}  // namespace

CriticalPoints find_critical_points(int n, int p, long n_samples, long min_starts,
                                    long max_starts, long patience, double tol,
                                    int max_iter, std::uint64_t seed, int num_threads) {
  struct Found {
    std::vector<double> energy;
    std::vector<int> index;
    long starts = 0;
    int euler = 0;
    double max_grad = 0.0;
  };
  std::vector<Found> per(static_cast<std::size_t>(n_samples));
  const int threads = resolve_threads(num_threads);
  (void)threads;
  const int chi = 1 + ((n - 1) % 2 == 0 ? 1 : -1);  // Euler characteristic of S^{N-1}
  const double same = 1e-6 * std::sqrt(static_cast<double>(n));
  // Sample i uses stream i and writes only per[i].
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long smp = 0; smp < n_samples; ++smp) {
    Rng rng(seed, static_cast<std::uint64_t>(smp));
    const PSpin h(n, p, rng);
    std::vector<std::vector<double>> points;
    Found& f = per[smp];
    long since_new = 0;
    int alternating = 0;
    while (f.starts < max_starts) {
      if (f.starts >= min_starts && since_new >= patience && alternating == chi) break;
      std::vector<double> s = uniform_on_sphere(n, rng);
      ++f.starts;
      ++since_new;
      const double res = newton(h, s, tol, max_iter);
      if (!(res < tol)) continue;
      bool seen = false;
      for (const auto& q : points) {
        double d = 0.0;
        for (int i = 0; i < n; ++i) d += (q[i] - s[i]) * (q[i] - s[i]);
        if (std::sqrt(d) < same) seen = true;
      }
      if (seen) continue;
      since_new = 0;
      f.max_grad = std::max(f.max_grad, res);
      const double u = h.energy(s) / n;
      const int k = h.index_at(s);
      // -s is critical too: same energy and index for even p, mirrored for odd p.
      const int k_minus = p % 2 == 0 ? k : n - 1 - k;
      const double u_minus = p % 2 == 0 ? u : -u;
      points.push_back(s);
      for (double& x : s) x = -x;
      points.push_back(s);
      f.energy.insert(f.energy.end(), {u, u_minus});
      f.index.insert(f.index.end(), {k, k_minus});
      alternating += (k % 2 == 0 ? 1 : -1) + (k_minus % 2 == 0 ? 1 : -1);
    }
    f.euler = alternating == chi;
  }
  CriticalPoints out;
  for (long smp = 0; smp < n_samples; ++smp) {
    const Found& f = per[smp];
    for (std::size_t i = 0; i < f.energy.size(); ++i) {
      out.sample.push_back(smp);
      out.energy.push_back(f.energy[i]);
      out.index.push_back(f.index[i]);
    }
    out.n_starts.push_back(f.starts);
    out.euler_ok.push_back(f.euler);
    out.max_gradient = std::max(out.max_gradient, f.max_grad);
  }
  return out;
}

Descent gradient_descent(int n, int p, long n_runs, double step, double tol,
                         long max_iter, bool compute_index, std::uint64_t seed,
                         int num_threads) {
  Descent out;
  out.energy.assign(n_runs, 0.0);
  out.gradient.assign(n_runs, 0.0);
  out.index.assign(n_runs, -1);
  out.n_iter.assign(n_runs, 0);
  out.converged.assign(n_runs, 0);
  const int threads = resolve_threads(num_threads);
  (void)threads;
  const double rn = std::sqrt(static_cast<double>(n));
  // Run i uses stream i and writes only slot i of each output.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long run = 0; run < n_runs; ++run) {
    Rng rng(seed, static_cast<std::uint64_t>(run));
    const PSpin h(n, p, rng);
    std::vector<double> s = uniform_on_sphere(n, rng), g;
    double energy = 0.0, gn = INFINITY;
    long it = 0;
    for (;; ++it) {
      energy = h.gradient(s, g);
      double mu = 0.0;
      for (int i = 0; i < n; ++i) mu += s[i] * g[i] / n;
      for (int i = 0; i < n; ++i) g[i] -= mu * s[i];
      gn = norm(g) / rn;
      if (gn < tol || it == max_iter) break;
      for (int i = 0; i < n; ++i) s[i] -= step * g[i];
      const double f = rn / norm(s);
      for (double& x : s) x *= f;
    }
    out.energy[run] = energy / n;
    out.gradient[run] = gn;
    out.n_iter[run] = it;
    out.converged[run] = gn < tol;
    if (compute_index) out.index[run] = h.index_at(s);
  }
  return out;
}

}  // namespace kc::landscape
