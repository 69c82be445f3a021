// Reduced cross-entropy loss of a collapsed frame and its global minimisation over
// the scale (see reduced.hpp). The penalty t^(2/M) is concave, so t = 0 is always a
// local minimum for M >= 3 and the positive minimum must be found globally.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "keatingcore/parallel.hpp"
#include "keatingcore/ufm/brent.hpp"
#include "keatingcore/ufm/reduced.hpp"

namespace kc::ufm {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kGrid = 12.0;  // decades of the log grid below t_max

// Penalty coefficient C with reg(t) = C t^(2/M).
double penalty(const FrameProblem& p) {
  const double q = 2.0 / p.depth;
  double sum = 0;
  for (int i = 0; i < p.K; ++i)
    if (p.svals[i] > 0) sum += std::pow(std::sqrt(p.n) * p.svals[i], q);
  return 0.5 * p.lam * p.depth * sum;
}

double objective(const FrameProblem& p, double t) {
  double loss, fit, reg;
  frame_loss(p, t, &loss, &fit, &reg);
  return loss;
}

// phi'(t): the fit's derivative (softmax-weighted margins) plus the penalty's.
double slope(const FrameProblem& p, double C, double t) {
  double total = 0;
  for (int c = 0; c < p.K; ++c) {
    const double* row = p.margins + static_cast<long>(c) * p.K;
    double top = 0;
    for (int k = 0; k < p.K; ++k)
      if (k != c && std::isfinite(row[k])) top = std::max(top, -t * row[k]);
    double num = 0, den = std::exp(-top);
    for (int k = 0; k < p.K; ++k) {
      if (k == c || !std::isfinite(row[k])) continue;
      const double w = std::exp(-t * row[k] - top);
      num -= row[k] * w;
      den += w;
    }
    total += num / den;
  }
  const double q = 2.0 / p.depth;
  return total / p.K + C * q * std::pow(t, q - 1);
}

// Brent locates a minimiser only to ~sqrt(eps) (the loss is flat there); a
// bracketed secant/bisection on phi' then takes it to round-off.
double polish(const FrameProblem& p, double C, double x, double lo, double hi) {
  double a = std::max(lo, x * (1 - 1e-6)), b = std::min(hi, x * (1 + 1e-6));
  double fa = slope(p, C, a), fb = slope(p, C, b);
  if (!(fa < 0 && fb > 0)) {
    a = lo, b = hi, fa = slope(p, C, a), fb = slope(p, C, b);
    if (!(fa < 0 && fb > 0)) return x;
  }
  for (int it = 0; it < 200 && b - a > 4e-16 * b; ++it) {
    double m = a - fa * (b - a) / (fb - fa);
    if (!(m > a && m < b) || it % 3 == 2) m = 0.5 * (a + b);
    const double fm = slope(p, C, m);
    if (fm == 0) return m;
    (fm < 0 ? a : b) = m;
    (fm < 0 ? fa : fb) = fm;
  }
  return 0.5 * (a + b);
}

}  // namespace

void frame_loss(const FrameProblem& p, double t, double* loss, double* fit,
                double* reg) {
  double total = 0;
  for (int c = 0; c < p.K; ++c) {
    const double* row = p.margins + static_cast<long>(c) * p.K;
    // log-sum-exp of {0} and {-t m[c][k]}; log1p keeps tiny losses exact.
    double top = 0;
    for (int k = 0; k < p.K; ++k)
      if (k != c && std::isfinite(row[k])) top = std::max(top, -t * row[k]);
    double rest = top > 0 ? std::exp(-top) : 0.0;
    bool skipped = !(top > 0);  // the own-class 0 is the maximum
    for (int k = 0; k < p.K; ++k) {
      if (k == c || !std::isfinite(row[k])) continue;
      const double a = -t * row[k];
      if (!skipped && a == top) {
        skipped = true;
        continue;
      }
      rest += std::exp(a - top);
    }
    total += top + std::log1p(rest);
  }
  *fit = total / p.K;
  *reg = t > 0 ? penalty(p) * std::pow(t, 2.0 / p.depth) : 0.0;
  *loss = *fit + *reg;
}

void check_problem(const FrameProblem& p, int grid, double tol) {
  if (p.K < 2) throw std::invalid_argument("K must be >= 2");
  if (p.depth < 2) throw std::invalid_argument("depth must be >= 2");
  if (!(p.lam > 0)) throw std::invalid_argument("lam must be > 0");
  if (!(p.n > 0)) throw std::invalid_argument("n must be > 0");
  if (grid < 3) throw std::invalid_argument("grid must be >= 3");
  if (!(tol > 0)) throw std::invalid_argument("tol must be > 0");
}

ScaleMinimum minimise_scale(const FrameProblem& p, int grid, double tol) {
  check_problem(p, grid, tol);
  ScaleMinimum out{0, 0, 0, 0, kNaN, kNaN, 0};
  frame_loss(p, 0.0, &out.loss, &out.fit, &out.reg);
  const double C = penalty(p);
  if (!(C > 0)) return out;  // the zero frame: phi is constant
  const double t_max = std::pow(std::log(static_cast<double>(p.K)) / C, p.depth / 2.0);

  std::vector<double> t(static_cast<std::size_t>(grid) + 1), f(t.size());
  t[0] = 0;
  f[0] = out.loss;
  for (int j = 0; j < grid; ++j) {
    t[j + 1] = t_max * std::pow(10.0, -kGrid * (1.0 - j / (grid - 1.0)));
    f[j + 1] = objective(p, t[j + 1]);
  }
  double best_inner = std::numeric_limits<double>::infinity();
  for (std::size_t j = 1; j + 1 < t.size(); ++j) {
    if (!(f[j] <= f[j - 1] && f[j] <= f[j + 1])) continue;
    const auto phi = [&p](double x) { return objective(p, x); };
    const double s =
        polish(p, C, minimise_brent(phi, t[j - 1], t[j + 1], tol), t[j - 1], t[j + 1]);
    double loss, fit, reg;
    frame_loss(p, s, &loss, &fit, &reg);
    ++out.n_local;
    if (loss < best_inner) {
      best_inner = loss;
      out.inner_scale = s;
      out.inner_loss = loss;
    }
    if (loss < out.loss) out = {s, loss, fit, reg, out.inner_scale, out.inner_loss,
                                out.n_local};
  }
  return out;
}

std::vector<ScaleMinimum> minimise_scales(const std::vector<FrameProblem>& problems,
                                          int grid, double tol, int num_threads) {
  const long n = static_cast<long>(problems.size());
  for (const auto& p : problems) check_problem(p, grid, tol);  // no throw in OpenMP
  std::vector<ScaleMinimum> out(problems.size());
  const int threads = static_cast<int>(
      std::min<long>(resolve_threads(num_threads), std::max<long>(n, 1)));
  (void)threads;  // unused in a serial build
  // Problems are independent and each writes only its own slot.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long i = 0; i < n; ++i) out[i] = minimise_scale(problems[i], grid, tol);
  return out;
}

}  // namespace kc::ufm
