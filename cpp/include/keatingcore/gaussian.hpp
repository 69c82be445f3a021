// Standard normal density and distribution function.
#pragma once

#include <cmath>

namespace kc {

inline constexpr double kInvSqrt2 = 0.70710678118654752440;
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;

inline double normal_pdf(double x) { return kInvSqrt2Pi * std::exp(-0.5 * x * x); }

// erfc keeps full relative precision in the lower tail, where 1 - Phi would not.
inline double normal_cdf(double x) { return 0.5 * std::erfc(-x * kInvSqrt2); }

}  // namespace kc
