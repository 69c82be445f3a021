// Batched integration of the reduced singular-value ODEs: many trajectories of one
// model, each with its own adaptive step, on CPU threads or one CUDA thread each.
#pragma once

#include <vector>

#include "keatingcore/dynamics/model.hpp"
#include "keatingcore/dynamics/stepper.hpp"
#include "keatingcore/dynamics/tableau.hpp"

namespace kc::dynamics {

struct Batch {
  const double* y0;     // (B, dim)
  long size;            // B
  double x0;            // start of the integration variable
  const double* x_out;  // (n_out,), non-decreasing, >= x0
  int n_out;
  double* out_y;     // (B, n_out, dim)
  double* out_loss;  // (B, n_out)
  Stats* stats;      // (B,)
};

// CPU path: OpenMP over trajectories, each thread with its own workspace. The
// trajectories are independent, so the result does not depend on the thread count.
void integrate_batch(const Model& md, Method method, const Options& o,
                     const Batch& batch, int num_threads);

// CUDA path (one thread per trajectory); throws std::runtime_error when the CUDA
// sources are not compiled or no device is visible.
void integrate_batch_cuda(const Model& md, Method method, const Options& o,
                          const Batch& batch);

// Right-hand side, loss and error factors at B states (for tests and the Python
// layer): dy (B, dim), loss (B,), e (B, K-1).
void evaluate_rhs(const Model& md, const double* y, long size, double* dy, double* loss,
                  double* e);

}  // namespace kc::dynamics
