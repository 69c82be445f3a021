// Parallel grid of fixed points: chains run in parallel, points inside a chain warm-start
// from their predecessor (continuation).
#include <algorithm>
#include <stdexcept>

#include "keatingcore/backdoor/model.hpp"
#include "keatingcore/parallel.hpp"

namespace kc::backdoor {

std::vector<Solution> solve_grid(const Geometry& g, const std::vector<Params>& points,
                                 int chain, const Options& o,
                                 const std::vector<State>& warm, int num_threads) {
  const long n = static_cast<long>(points.size());
  if (chain < 1 || n % chain != 0)
    throw std::invalid_argument("chain length must divide the number of points");
  if (!warm.empty() && static_cast<long>(warm.size()) != n)
    throw std::invalid_argument("warm must hold one state per point");
  std::vector<Solution> out(static_cast<std::size_t>(n));
  const long n_chains = n / chain;
  // No more threads than chains: an idle team still costs a fork and join.
  const int threads = static_cast<int>(
      std::min<long>(resolve_threads(num_threads), std::max<long>(n_chains, 1)));
  (void)threads;  // unused in a serial build

  // Each chain writes only its own slots of `out`, so chains share nothing mutable.
#if KC_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(threads)
#endif
  for (long c = 0; c < n_chains; ++c) {
    for (long k = 0; k < chain; ++k) {
      const long i = c * chain + k;
      const State* start = warm.empty() ? nullptr : &warm[i];
      if (k > 0 && out[i - 1].status == Status::converged) start = &out[i - 1].state;
      out[i] = solve_point(g, points[i], o, start);
    }
  }
  return out;
}

}  // namespace kc::backdoor
