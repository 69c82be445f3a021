// CPU driver of the batched integrator.
#include "keatingcore/dynamics/integrate.hpp"

#include <vector>

#include "keatingcore/parallel.hpp"

#if KC_HAVE_OPENMP
#include <omp.h>
#endif

namespace kc::dynamics {

void integrate_batch(const Model& md, Method method, const Options& o,
                     const Batch& batch, int num_threads) {
  const Tableau& tb = tableau(method);
  const long dim = md.dim();
  const long work = workspace_size(md, tb);
  const int threads = resolve_threads(num_threads);
  (void)threads;
#if KC_HAVE_OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
    std::vector<double> ws(static_cast<std::size_t>(work));
    // Dynamic schedule: trajectories near a basin boundary take many more steps.
#if KC_HAVE_OPENMP
#pragma omp for schedule(dynamic, 8)
#endif
    for (long b = 0; b < batch.size; ++b) {
      for (long i = 0; i < dim; ++i) ws[i] = batch.y0[b * dim + i];
      batch.stats[b] = integrate_one(md, tb, o, batch.x0, batch.x_out, batch.n_out,
                                     ws.data(), batch.out_y + b * batch.n_out * dim,
                                     batch.out_loss + b * batch.n_out);
    }
  }
}

void evaluate_rhs(const Model& md, const double* y, long size, double* dy, double* loss,
                  double* e) {
  const long dim = md.dim(), m = md.modes;
  std::vector<double> scratch(static_cast<std::size_t>(3 * m));
  for (long b = 0; b < size; ++b) {
    loss[b] = rhs(md, 0.0, y + b * dim, dy + b * dim, scratch.data());
    for (long k = 0; k < m; ++k) e[b * m + k] = scratch[2 * m + k];
  }
}

}  // namespace kc::dynamics
