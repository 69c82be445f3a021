// The step loop of integrate_one (declared in stepper.hpp).
#pragma once

#include "keatingcore/dynamics/stepper.hpp"

namespace kc::dynamics {

template <class W>
KC_HD Stats integrate_one(const Model& md, const Tableau& tb, const Options& o,
                          double x0, const double* x_out, int n_out, const W& ws,
                          double* out_y, double* out_loss) {
  const int n = md.dim();
  Stats st{0, 0, 0, kSuccess, x0};
  W y = offset(ws, 0), yt = offset(ws, n), yn = offset(ws, 2L * n);
  W k[16];
  for (int s = 0; s < tb.dense_stages; ++s) k[s] = offset(ws, (3L + s) * n);
  const W sc = offset(ws, (3L + tb.dense_stages) * n);
  const int fs = tb.stages;

  int j = 0;
  for (; j < n_out && x_out[j] <= x0; ++j) {
    for (int i = 0; i < n; ++i) out_y[j * n + i] = y[i];
    out_loss[j] = softmax_factors(md, out_y + j * n, sc);
  }
  if (j < n_out) {
    const double x_end = x_out[n_out - 1];
    rhs(md, x0, y, k[0], sc);
    st.evals = 1;
    bool finite = true;
    for (int i = 0; i < n; ++i) finite = finite && isfinite(k[0][i]);
    double h = o.first_step;
    if (!finite) {
      st.status = kNonFinite;
    } else if (!(h > 0.0)) {
      h = detail::initial_step(md, tb, o, x0, x_end - x0, y, k[0], yt, k[1], sc);
      st.evals += 1;
    }
    const double expo = -1.0 / (tb.error_order + 1);
    double x = x0;
    bool after_reject = false;
    while (st.status == kSuccess) {
      if (st.steps + st.rejected >= o.max_steps) {
        st.status = kStepLimit;
        break;
      }
      h = fmin(h, o.max_step);
      bool last = false;
      if (x + 1.01 * h >= x_end) {  // avoid a sliver of a final step
        h = x_end - x;
        last = true;
      }
      if (!(h > 16.0 * DBL_EPSILON * fabs(x))) {
        st.status = kStepTooSmall;
        break;
      }
      for (int s = 1; s < fs; ++s) {
        detail::stage_point(tb, n, s, h, y, k, yt);
        rhs(md, x + tb.c[s] * h, yt, k[s], sc);
      }
      for (int i = 0; i < n; ++i) {
        double acc = 0.0;
        for (int s = 0; s < fs; ++s) acc += tb.b[s] * k[s][i];
        yn[i] = y[i] + h * acc;
      }
      rhs(md, x + h, yn, k[fs], sc);
      st.evals += fs;
      const double err = detail::error_norm(md, tb, o, h, y, yn, k);
      if (!(err <= 1.0)) {  // also catches a NaN from a blown-up trial
        h *= isfinite(err) ? fmax(0.2, 0.9 * pow(err, expo)) : 0.1;
        ++st.rejected;
        after_reject = true;
        continue;
      }
      ++st.steps;
      const double x_new = last ? x_end : x + h;
      if (j < n_out && x_out[j] <= x_new) {
        for (int s = fs + 1; s < tb.dense_stages; ++s) {  // DOP853's extra stages
          detail::stage_point(tb, n, s, h, y, k, yt);
          rhs(md, x + tb.c[s] * h, yt, k[s], sc);
          st.evals += 1;
        }
        for (; j < n_out && x_out[j] <= x_new; ++j) {
          double* row = out_y + j * n;
          if (x_out[j] == x_new) {
            for (int i = 0; i < n; ++i) row[i] = yn[i];
          } else {
            detail::interpolate(md, tb, h, (x_out[j] - x) / h, y, yn, k, row);
          }
          out_loss[j] = softmax_factors(md, row, sc);
        }
      }
      W swap = y;  // the new point becomes the current one; f(y_new) is stage 0
      y = yn;
      yn = swap;
      swap = k[0];
      k[0] = k[fs];
      k[fs] = swap;
      x = x_new;
      st.x_reached = x;
      if (last) break;
      double fac = err == 0.0 ? 10.0 : fmin(10.0, fmax(0.2, 0.9 * pow(err, expo)));
      if (after_reject) fac = fmin(fac, 1.0);
      after_reject = false;
      h *= fac;
    }
  }
  for (; j < n_out; ++j) {  // only after a failure: keep earlier rows, mark the rest
    for (int i = 0; i < n; ++i) out_y[j * n + i] = NAN;
    out_loss[j] = NAN;
  }
  return st;
}

}  // namespace kc::dynamics
