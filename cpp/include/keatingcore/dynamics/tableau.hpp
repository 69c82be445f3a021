// Butcher tableaux of the embedded explicit Runge-Kutta pairs of the integrator.
#pragma once

namespace kc::dynamics {

enum class Method : int { dopri5 = 0, dop853 = 1 };

// A plain aggregate, so it can be copied by value into a CUDA kernel.
//
// Stages 0 .. stages-1 make the step; stage `stages` is f at the new point (first
// same as last). Dense output uses stages up to dense_stages - 1 (DOP853 needs
// three extra evaluations, DOPRI5 none).
struct Tableau {
  Method method;
  int stages;
  int dense_stages;
  int error_order;  // order of the error estimator; the step exponent is 1/(q+1)
  double c[16];
  double a[16][16];
  double b[16];
  double e5[16];  // error weights (DOPRI5: 5th minus 4th order; DOP853: E5)
  double e3[16];  // DOP853 only: the 3rd-order estimator of the 8(5,3) error norm
  double d[4][16];
};

// Sparse entry used to fill the tables.
struct Entry {
  int i, j;
  double v;
};

const Tableau& dopri5_tableau();
const Tableau& dop853_tableau();

inline const Tableau& tableau(Method m) {
  return m == Method::dop853 ? dop853_tableau() : dopri5_tableau();
}

}  // namespace kc::dynamics
