// Coefficients of DOPRI5, the Dormand-Prince 5(4) pair (J. R. Dormand and
// P. J. Prince, J. Comput. Appl. Math. 6, 1980) with the 4th-order dense output
// of L. F. Shampine, Math. Comp. 46, 1986. Published numbers; the test suite
// checks the order conditions they satisfy.
#include "keatingcore/dynamics/tableau.hpp"

namespace kc::dynamics {

namespace {

Tableau make_dopri5() {
  Tableau t{};
  t.stages = 6;
  t.dense_stages = 7;
  t.error_order = 4;
  t.method = Method::dopri5;
  const double c[6] = {0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0};
  for (int i = 0; i < 6; ++i) t.c[i] = c[i];
  const Entry a[] = {
      {1, 0, 1.0 / 5},        {2, 0, 3.0 / 40},        {2, 1, 9.0 / 40},
      {3, 0, 44.0 / 45},      {3, 1, -56.0 / 15},      {3, 2, 32.0 / 9},
      {4, 0, 19372.0 / 6561}, {4, 1, -25360.0 / 2187}, {4, 2, 64448.0 / 6561},
      {4, 3, -212.0 / 729},   {5, 0, 9017.0 / 3168},   {5, 1, -355.0 / 33},
      {5, 2, 46732.0 / 5247}, {5, 3, 49.0 / 176},      {5, 4, -5103.0 / 18656},
  };
  for (const Entry& e : a) t.a[e.i][e.j] = e.v;
  const double b[6] = {35.0 / 384,     0.0,      500.0 / 1113, 125.0 / 192,
                       -2187.0 / 6784, 11.0 / 84};
  for (int i = 0; i < 6; ++i) t.b[i] = b[i];
  // Error weights (5th minus 4th order solution), the last on the FSAL stage.
  const double e[7] = {-71.0 / 57600,    0.0,         71.0 / 16695, -71.0 / 1920,
                       17253.0 / 339200, -22.0 / 525, 1.0 / 40};
  for (int i = 0; i < 7; ++i) t.e5[i] = e[i];
  // Dense output: y(x + theta h) = y + h sum_i k_i sum_p d[p][i] theta^(p+1).
  const Entry d[] = {
      {0, 0, 1.0},
      {1, 0, -2.8535800653862835},
      {2, 0, 3.0717434641059005},
      {3, 0, -1.1270175653862835},
      {1, 2, 4.023133379230305},
      {2, 2, -6.249321565289},
      {3, 2, 2.675424484351598},
      {1, 3, -3.7324019615885042},
      {2, 3, 10.068970589843675},
      {3, 3, -5.685526961588504},
      {1, 4, 2.5548038301849423},
      {2, 4, -6.399112377351017},
      {3, 4, 3.5219323679207912},
      {1, 5, -1.3744241142186024},
      {2, 5, 3.272657752246729},
      {3, 5, -1.7672812570757455},
      {1, 6, 1.3824689317781436},
      {2, 6, -3.764937863556287},
      {3, 6, 2.382468931778144},
  };
  for (const Entry& e : d) t.d[e.i][e.j] = e.v;
  return t;
}

}  // namespace

const Tableau& dopri5_tableau() {
  static const Tableau t = make_dopri5();
  return t;
}

}  // namespace kc::dynamics
