// One trajectory of the adaptive embedded Runge-Kutta integrator (DOPRI5 or
// DOP853), with dense output at the requested points. Header-only so the same
// code runs on a CPU thread and on a CUDA thread.
//
// Error control follows the usual mixed norm: each component is scaled by
// atol + rtol max(|y|, |y_new|), the RMS over components must be <= 1, and the
// step changes by 0.9 err^(-1/(q+1)), clipped to [0.2, 10] (no growth right after
// a rejection). DOP853 uses the 8(5,3) norm of Hairer, Norsett & Wanner (1993).
#pragma once

#include <float.h>
#include <math.h>

#include "keatingcore/dynamics/hd.hpp"
#include "keatingcore/dynamics/model.hpp"
#include "keatingcore/dynamics/tableau.hpp"
#include "keatingcore/dynamics/view.hpp"

namespace kc::dynamics {

enum Status : int { kSuccess = 0, kStepLimit = 1, kStepTooSmall = 2, kNonFinite = 3 };

struct Options {
  double rtol;
  double atol;
  long max_steps;     // accepted plus rejected steps
  double first_step;  // 0: chosen automatically
  double max_step;    // in the integration variable (t or log(1 + t))
};

struct Stats {
  long steps;     // accepted
  long rejected;  // rejected
  long evals;     // right-hand side evaluations
  int status;
  double x_reached;  // last accepted point, in the integration variable
};

// Doubles of workspace one trajectory needs: y, a trial y, y_new, the stages and
// the scratch of the right-hand side.
KC_HD inline long workspace_size(const Model& md, const Tableau& tb) {
  return (3L + tb.dense_stages) * md.dim() + 3L * md.modes;
}

namespace detail {

// Hairer's starting-step heuristic: an Euler step probes the second derivative.
template <class W>
KC_HD double initial_step(const Model& md, const Tableau& tb, const Options& o,
                          double x0, double span, const W& y, const W& f0, const W& yt,
                          const W& f1, const W& sc) {
  const int n = md.dim();
  double d0 = 0.0, d1 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double s = o.atol + o.rtol * fabs(y[i]);
    d0 += (y[i] / s) * (y[i] / s);
    d1 += (f0[i] / s) * (f0[i] / s);
  }
  d0 = sqrt(d0 / n);
  d1 = sqrt(d1 / n);
  double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h0 = fmin(h0, span);
  for (int i = 0; i < n; ++i) yt[i] = y[i] + h0 * f0[i];
  rhs(md, x0 + h0, yt, f1, sc);
  double d2 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double s = o.atol + o.rtol * fabs(y[i]);
    d2 += ((f1[i] - f0[i]) / s) * ((f1[i] - f0[i]) / s);
  }
  d2 = sqrt(d2 / n) / h0;
  const double dm = fmax(d1, d2);
  const double h1 =
      dm <= 1e-15 ? fmax(1e-6, 1e-3 * h0) : pow(0.01 / dm, 1.0 / (tb.error_order + 1));
  return fmin(fmin(100.0 * h0, h1), span);
}

// Scaled error of a trial step; non-finite when the trial blew up.
template <class W>
KC_HD double error_norm(const Model& md, const Tableau& tb, const Options& o, double h,
                        const W& y, const W& yn, const W* k) {
  const int n = md.dim();
  double e5 = 0.0, e3 = 0.0;
  const bool dop853 = tb.method == Method::dop853;
  for (int i = 0; i < n; ++i) {
    const double s = o.atol + o.rtol * fmax(fabs(y[i]), fabs(yn[i]));
    double a5 = 0.0, a3 = 0.0;
    for (int j = 0; j <= tb.stages; ++j) {
      a5 += tb.e5[j] * k[j][i];
      if (dop853) a3 += tb.e3[j] * k[j][i];
    }
    e5 += (a5 / s) * (a5 / s);
    e3 += (a3 / s) * (a3 / s);
  }
  if (!dop853) return fabs(h) * sqrt(e5 / n);
  if (e5 == 0.0 && e3 == 0.0) return 0.0;
  return fabs(h) * e5 / sqrt((e5 + 0.01 * e3) * n);
}

// y at x + theta h from the continuous extension of the accepted step.
template <class W>
KC_HD void interpolate(const Model& md, const Tableau& tb, double h, double theta,
                       const W& y, const W& yn, const W* k, double* out) {
  const int n = md.dim();
  if (tb.method == Method::dopri5) {
    double w[16];
    for (int j = 0; j < tb.dense_stages; ++j) {
      double acc = 0.0, p = 1.0;
      for (int r = 0; r < 4; ++r) {
        p *= theta;
        acc += tb.d[r][j] * p;
      }
      w[j] = acc;
    }
    for (int i = 0; i < n; ++i) {
      double acc = 0.0;
      for (int j = 0; j < tb.dense_stages; ++j) acc += w[j] * k[j][i];
      out[i] = y[i] + h * acc;
    }
    return;
  }
  const int fs = tb.stages;
  for (int i = 0; i < n; ++i) {
    const double dy = yn[i] - y[i];
    double f[7] = {dy, h * k[0][i] - dy, 2.0 * dy - h * (k[fs][i] + k[0][i])};
    for (int r = 0; r < 4; ++r) {
      double acc = 0.0;
      for (int j = 0; j < tb.dense_stages; ++j) acc += tb.d[r][j] * k[j][i];
      f[3 + r] = h * acc;
    }
    double v = 0.0;
    for (int r = 6; r >= 0; --r) {
      v += f[r];
      v *= (r % 2 == 0) ? theta : 1.0 - theta;
    }
    out[i] = y[i] + v;
  }
}

// yt = y + h sum_{j < s} a[s][j] k_j.
template <class W>
KC_HD void stage_point(const Tableau& tb, int n, int s, double h, const W& y,
                       const W* k, const W& yt) {
  for (int i = 0; i < n; ++i) {
    double acc = 0.0;
    for (int j = 0; j < s; ++j) acc += tb.a[s][j] * k[j][i];
    yt[i] = y[i] + h * acc;
  }
}

}  // namespace detail

// Integrates one trajectory whose initial state sits at ws[0 .. dim) from x0 and
// writes y and the loss at every x_out (non-decreasing, >= x0) to out_y (n_out x
// dim) and out_loss. Rows past a failure are NaN; earlier rows are kept.
template <class W>
KC_HD Stats integrate_one(const Model& md, const Tableau& tb, const Options& o,
                          double x0, const double* x_out, int n_out, const W& ws,
                          double* out_y, double* out_loss);

}  // namespace kc::dynamics

#include "keatingcore/dynamics/stepper_impl.hpp"
