// Gaussian-proxy fixed point (digest of arXiv 2605.22481, section 3): Newton on the
// mean block (u1, u2, b) inside an Anderson-accelerated iteration on
// log(V, Q, hat-V).
#include <array>
#include <cmath>

#include "keatingcore/anderson.hpp"
#include "keatingcore/backdoor/cluster.hpp"
#include "keatingcore/backdoor/model.hpp"
#include "keatingcore/gaussian.hpp"

namespace kc::backdoor {

namespace {

struct Cluster {
  double rho, y, c1, c2;  // weight, training label, coefficients on [mu, t]
};

std::array<Cluster, 3> clusters(const Params& p, const Options& o) {
  const double rho_p = p.eps;
  const double rho_plus = o.additive ? 0.5 * (1.0 - p.eps) : 0.5;
  const double rho_minus = o.additive ? 0.5 * (1.0 - p.eps) : 0.5 - p.eps;
  return {{{rho_plus, 1.0, 1.0, 0.0},
           {rho_minus, -1.0, -1.0, 0.0},
           {rho_p, 1.0, -1.0, p.alpha}}};
}

// Traces against A = lam + hat-V Sigma: S1 = tr(Sigma A^-1)/p, S2 = tr((Sigma A^-1)^2)/p,
// and the 2x2 Grams G1 = B^T A^-1 B, G2 = B^T A^-1 Sigma A^-1 B, stored (11, 12, 22).
struct Spectral {
  double S1 = 0, S2 = 0;
  std::array<double, 3> G1{}, G2{};
};

Spectral spectral_sums(const Geometry& g, const Params& p, double Vhat) {
  Spectral s;
  const double r = std::sqrt(p.snr);
  const std::size_t n = g.sigma.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double sig = g.sigma[i];
    const double inv = 1.0 / (p.lam + Vhat * sig);
    const double b1 = r * g.mean[i], b2 = g.trigger[i];
    s.S1 += sig * inv;
    s.S2 += sig * sig * inv * inv;
    const double w2 = sig * inv * inv;
    s.G1[0] += b1 * b1 * inv;
    s.G1[1] += b1 * b2 * inv;
    s.G1[2] += b2 * b2 * inv;
    s.G2[0] += b1 * b1 * w2;
    s.G2[1] += b1 * b2 * w2;
    s.G2[2] += b2 * b2 * w2;
  }
  s.S1 /= static_cast<double>(n);
  s.S2 /= static_cast<double>(n);
  return s;
}

// Sums over clusters at fixed (V, Q) and means set by x = (u1, u2, b).
struct Hats {
  double n1 = 0, n2 = 0;  // hat-n = sum rho E[f] c
  double ef = 0;          // sum rho E[f] (the intercept equation)
  double q = 0;           // hat-q = sum rho E[f^2]
  double vhat = 0;        // sum rho E[(1 - h') / V]
  double M11 = 0, M12 = 0, M22 = 0, v1 = 0, v2 = 0;  // sum rho D c c^T, sum rho D c
};

Hats cluster_sums(const std::array<Cluster, 3>& cl, const std::array<double, 3>& x,
                  double V, double Q, const Options& o) {
  Hats h;
  for (const auto& c : cl) {
    if (c.rho == 0.0) continue;
    const double mean = c.c1 * x[0] + c.c2 * x[1] + x[2];
    const Moments m = cluster_moments(o.loss, c.y * mean, Q, V, o);
    const double ef = c.y * m.g, d = c.rho * m.dh;
    h.n1 += c.rho * ef * c.c1;
    h.n2 += c.rho * ef * c.c2;
    h.ef += c.rho * ef;
    h.q += c.rho * m.g2;
    h.vhat += d;
    h.M11 += d * c.c1 * c.c1;
    h.M12 += d * c.c1 * c.c2;
    h.M22 += d * c.c2 * c.c2;
    h.v1 += d * c.c1;
    h.v2 += d * c.c2;
  }
  return h;
}

// Solves the 3x3 system a y = r by Gaussian elimination with partial pivoting.
bool solve3(std::array<double, 9> a, std::array<double, 3>& r) {
  for (int k = 0; k < 3; ++k) {
    int piv = k;
    for (int i = k + 1; i < 3; ++i)
      if (std::abs(a[i * 3 + k]) > std::abs(a[piv * 3 + k])) piv = i;
    if (a[piv * 3 + k] == 0.0) return false;
    if (piv != k) {
      for (int j = 0; j < 3; ++j) std::swap(a[k * 3 + j], a[piv * 3 + j]);
      std::swap(r[k], r[piv]);
    }
    for (int i = k + 1; i < 3; ++i) {
      const double f = a[i * 3 + k] / a[k * 3 + k];
      for (int j = k; j < 3; ++j) a[i * 3 + j] -= f * a[k * 3 + j];
      r[i] -= f * r[k];
    }
  }
  for (int k = 2; k >= 0; --k) {
    for (int j = k + 1; j < 3; ++j) r[k] -= a[k * 3 + j] * r[j];
    r[k] /= a[k * 3 + k];
  }
  return true;
}

std::array<double, 3> mean_residual(const Hats& h, const Spectral& s,
                                    const std::array<double, 3>& x, bool intercept) {
  return {x[0] - (s.G1[0] * h.n1 + s.G1[1] * h.n2),
          x[1] - (s.G1[1] * h.n1 + s.G1[2] * h.n2), intercept ? h.ef : x[2]};
}

double max_abs(const std::array<double, 3>& r) {
  return std::fmax(std::abs(r[0]), std::fmax(std::abs(r[1]), std::abs(r[2])));
}

// Newton on the mean equations u = G1 hat-n(u, b), sum rho E[f] = 0 at fixed
// (V, Q, hat-V); dE[f]/d(mean) = -E[(1 - h')/V] gives the Jacobian in closed form.
// `tol` is relative to the size of x; the outer loop tightens it as it converges.
Hats solve_means(const std::array<Cluster, 3>& cl, const Spectral& s, double V,
                 double Q, const Options& o, double tol, std::array<double, 3>& x,
                 bool& ok) {
  Hats h = cluster_sums(cl, x, V, Q, o);
  auto r = mean_residual(h, s, x, o.intercept);
  double norm = max_abs(r);
  for (int it = 0; it < 60 && norm > tol * (1.0 + max_abs(x)); ++it) {
    const auto& G = s.G1;
    std::array<double, 9> J{1.0 + G[0] * h.M11 + G[1] * h.M12,
                            G[0] * h.M12 + G[1] * h.M22,
                            G[0] * h.v1 + G[1] * h.v2,
                            G[1] * h.M11 + G[2] * h.M12,
                            1.0 + G[1] * h.M12 + G[2] * h.M22,
                            G[1] * h.v1 + G[2] * h.v2,
                            o.intercept ? -h.v1 : 0.0,
                            o.intercept ? -h.v2 : 0.0,
                            o.intercept ? -h.vhat : 1.0};
    std::array<double, 3> dx = r;
    if (!solve3(J, dx)) break;
    double t = 1.0;
    for (int ls = 0; ls < 30; ++ls, t *= 0.5) {  // backtrack until |F| decreases
      const std::array<double, 3> xt{x[0] - t * dx[0], x[1] - t * dx[1],
                                     x[2] - t * dx[2]};
      Hats ht = cluster_sums(cl, xt, V, Q, o);
      auto rt = mean_residual(ht, s, xt, o.intercept);
      if (max_abs(rt) < norm || ls == 29) {
        x = xt;
        h = ht;
        r = rt;
        break;
      }
    }
    norm = max_abs(r);
  }
  ok = std::isfinite(norm) && norm <= std::fmax(tol, 1e-10) * (1.0 + max_abs(x));
  return h;
}

struct MapValue {
  std::array<double, 3> next;  // (V, Q, hat-V) implied by the current point
  std::array<double, 3> x;     // (u1, u2, b) solved at the current point
  double noise_floor = 0;
  bool ok = false;
};

MapValue fixed_point_map(const Geometry& g, const Params& p, const Options& o,
                         const std::array<Cluster, 3>& cl, double V, double Q,
                         double Vhat, std::array<double, 3> x, double inner_tol) {
  MapValue out;
  const Spectral s = spectral_sums(g, p, Vhat);
  bool ok = false;
  const Hats h = solve_means(cl, s, V, Q, o, inner_tol, x, ok);
  const auto& G2 = s.G2;
  const double signal =
      G2[0] * h.n1 * h.n1 + 2.0 * G2[1] * h.n1 * h.n2 + G2[2] * h.n2 * h.n2;
  out.noise_floor = p.kappa * h.q * s.S2;
  out.next = {p.kappa * s.S1, signal + out.noise_floor, h.vhat};
  out.x = x;
  out.ok = ok && std::isfinite(out.next[0]) && std::isfinite(out.next[1]) &&
           out.next[0] > 0 && out.next[1] > 0 && out.next[2] > 0;
  return out;
}

void fill_metrics(Solution& sol, const Params& p) {
  const State& st = sol.state;
  const double s = std::sqrt(st.Q);
  sol.acc = 0.5 * normal_cdf((st.u1 + st.b) / s) + 0.5 * normal_cdf((st.u1 - st.b) / s);
  const double clean = -st.u1 + st.b;  // mean pre-activation of a clean source input
  const double shift = p.alpha_test * st.u2;
  sol.asr = normal_cdf((clean + shift) / s);
  const double p_source = normal_cdf(-clean / s);
  const double flipped = shift > 0 ? p_source - normal_cdf((-shift - clean) / s) : 0.0;
  sol.asr_conditional = p_source > 0 ? flipped / p_source : 0.0;
}

State initial_state(const Params& p, const Options& o, const std::array<Cluster, 3>& cl) {
  State st;
  st.V = p.kappa;
  st.Q = 0.5;
  const std::array<double, 3> x{0.0, 0.0, 0.0};
  st.Vhat = cluster_sums(cl, x, st.V, st.Q, o).vhat;
  return st;
}

}  // namespace

Solution solve_point(const Geometry& g, const Params& p, const Options& o,
                     const State* warm) {
  const auto cl = clusters(p, o);
  State st = warm ? *warm : initial_state(p, o, cl);
  if (!(st.V > 0 && st.Q > 0 && st.Vhat > 0)) st = initial_state(p, o, cl);
  std::array<double, 3> x{st.u1, st.u2, o.intercept ? st.b : 0.0};

  AndersonMixer mixer(3, o.anderson, o.damping);
  std::vector<double> z{std::log(st.V), std::log(st.Q), std::log(st.Vhat)};
  Solution sol;
  // The mean block is solved to a fraction of the outer residual, never looser than
  // 1e-4 and never tighter than needed for the final tolerance.
  auto inner_tol = [&](double outer) {
    return std::fmax(1e-14, std::fmin(1e-4, 1e-2 * outer));
  };
  MapValue mv = fixed_point_map(g, p, o, cl, st.V, st.Q, st.Vhat, x, inner_tol(1.0));

  // Anderson can wander off on stiff points (large V near kappa > 1, small lam):
  // on a blow-up, restart once from the best iterate with plain damped steps.
  std::vector<double> best_z = z;
  MapValue best_mv = mv;
  double best_res = INFINITY;
  bool accelerated = o.anderson > 0;
  auto restart = [&]() {
    z = best_z;
    mv = best_mv;
    mixer = AndersonMixer(3, 0, std::fmin(o.damping, 0.5));
    accelerated = false;
  };
  for (int it = 1; it <= o.max_iter; ++it) {
    sol.n_iter = it;
    if (!mv.ok) {
      if (accelerated && best_res < INFINITY) {
        restart();
        continue;
      }
      sol.status = Status::diverged;
      break;
    }
    x = mv.x;
    std::vector<double> f(3);
    for (int i = 0; i < 3; ++i) f[i] = std::log(mv.next[i]) - z[i];
    sol.residual = std::fmax(std::abs(f[0]), std::fmax(std::abs(f[1]), std::abs(f[2])));
    sol.noise_floor = mv.noise_floor;
    if (sol.residual < o.tol) {
      sol.status = Status::converged;
      break;
    }
    if (sol.residual < best_res) {
      best_res = sol.residual;
      best_z = z;
      best_mv = mv;
    } else if (accelerated && sol.residual > 1e2 * best_res) {
      restart();
      continue;
    }
    std::vector<double> zn = mixer.step(z, f);
    for (int i = 0; i < 3; ++i) zn[i] = z[i] + std::fmax(-2.0, std::fmin(2.0, zn[i] - z[i]));

    // A proposal the map cannot evaluate is pulled back towards z, history dropped.
    MapValue trial;
    for (int back = 0; back < 20; ++back) {
      trial = fixed_point_map(g, p, o, cl, std::exp(zn[0]), std::exp(zn[1]),
                              std::exp(zn[2]), x, inner_tol(sol.residual));
      if (trial.ok) break;
      mixer.reset();
      for (int i = 0; i < 3; ++i) zn[i] = z[i] + 0.5 * (zn[i] - z[i]);
    }
    z = zn;
    mv = trial;
    if (z[0] > 35.0 || z[1] > 35.0) {  // V or Q beyond ~1e15
      if (accelerated) {
        restart();
        continue;
      }
      sol.status = Status::diverged;  // no finite solution
      break;
    }
  }
  sol.state = {std::exp(z[0]), std::exp(z[1]), std::exp(z[2]), x[0], x[1], x[2]};
  fill_metrics(sol, p);
  return sol;
}

}  // namespace kc::backdoor
