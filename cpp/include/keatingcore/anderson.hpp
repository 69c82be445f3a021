// Anderson acceleration (type II) for small fixed-point problems z = g(z).
#pragma once

#include <vector>

namespace kc {

class AndersonMixer {
 public:
  // dim: size of z; memory: past steps kept (0 = plain damped iteration);
  // damping: beta in z+ = z + beta f, with f = g(z) - z.
  AndersonMixer(int dim, int memory, double damping);

  // Given the current iterate z and its residual f = g(z) - z, returns the next iterate.
  std::vector<double> step(const std::vector<double>& z, const std::vector<double>& f);

  // Forgets the history, e.g. after a step had to be rejected.
  void reset();

 private:
  int dim_;
  int memory_;
  double damping_;
  std::vector<std::vector<double>> dz_, df_;
  std::vector<double> z_prev_, f_prev_;
  bool has_prev_ = false;
};

}  // namespace kc
