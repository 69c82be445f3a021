// Brent's scalar minimiser: golden-section steps with parabolic interpolation.
#pragma once

#include <cmath>

namespace kc::ufm {

// Local minimiser of f on [a, b] to relative tolerance rtol in x. The minimiser is
// only located to about sqrt(machine epsilon) when f is flat there; callers that
// need more polish it on f' (see frame_scale.cpp).
template <class F>
double minimise_brent(const F& f, double a, double b, double rtol) {
  const double golden = 0.5 * (3.0 - std::sqrt(5.0));
  double x = a + golden * (b - a), w = x, v = x;
  double fx = f(x), fw = fx, fv = fx;
  double d = 0, e = 0;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (a + b);
    const double tol1 = rtol * std::abs(x) + 1e-300, tol2 = 2 * tol1;
    if (std::abs(x - mid) <= tol2 - 0.5 * (b - a)) break;
    bool parabolic = false;
    if (std::abs(e) > tol1) {
      // Vertex of the parabola through (x, fx), (w, fw), (v, fv).
      const double r = (x - w) * (fx - fv);
      double q = (x - v) * (fx - fw);
      double s = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) s = -s;
      q = std::abs(q);
      if (std::abs(s) < std::abs(0.5 * q * e) && s > q * (a - x) && s < q * (b - x)) {
        e = d;
        d = s / q;
        const double u = x + d;
        if (u - a < tol2 || b - u < tol2) d = x < mid ? tol1 : -tol1;
        parabolic = true;
      }
    }
    if (!parabolic) {
      e = (x < mid ? b : a) - x;
      d = golden * e;
    }
    const double u = std::abs(d) >= tol1 ? x + d : x + (d > 0 ? tol1 : -tol1);
    const double fu = f(u);
    if (fu <= fx) {
      (u < x ? b : a) = x;
      v = w, fv = fw, w = x, fw = fx, x = u, fx = fu;
    } else {
      (u < x ? a : b) = u;
      if (fu <= fw || w == x) {
        v = w, fv = fw, w = u, fw = fu;
      } else if (fu <= fv || v == x || v == w) {
        v = u, fv = fu;
      }
    }
  }
  return x;
}

}  // namespace kc::ufm
