// CUDA path of the batched integrator: one thread per trajectory, running the same
// header-only stepper as the CPU path on an interleaved workspace.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "keatingcore/device.hpp"
#include "keatingcore/dynamics/integrate.hpp"

namespace kc::dynamics {

namespace {

// The tableau (about 3 KB) travels by value in the kernel's parameter space.
__global__ void integrate_kernel(Model md, Tableau tb, Options o, double x0,
                                 const double* x_out, int n_out, const double* y0,
                                 long size, double* ws, double* out_y, double* out_loss,
                                 Stats* stats) {
  const long b = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= size) return;
  const long dim = md.dim();
  const Strided w{ws + b, size};
  for (long i = 0; i < dim; ++i) w[i] = y0[b * dim + i];
  stats[b] = integrate_one(md, tb, o, x0, x_out, n_out, w, out_y + b * n_out * dim,
                           out_loss + b * n_out);
}

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " +
                             cudaGetErrorString(err));
  }
}

// Device buffer released on scope exit, also when an error throws.
template <class T>
struct Buffer {
  T* p = nullptr;
  explicit Buffer(std::size_t n) { check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc"); }
  ~Buffer() { cudaFree(p); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

}  // namespace

void integrate_batch_cuda(const Model& md, Method method, const Options& o,
                          const Batch& batch) {
  if (cuda_device_count() == 0)
    throw std::runtime_error("device='cuda' but no CUDA device is visible");
  const Tableau& tb = tableau(method);
  const long B = batch.size, dim = md.dim(), m = md.modes, T = batch.n_out;
  if (B == 0) return;
  Buffer<double> margin(m * m), x_out(T > 0 ? T : 1), y0(B * dim),
      ws(B * workspace_size(md, tb)), out_y(B * T * dim + 1), out_loss(B * T + 1);
  Buffer<Stats> stats(B);
  check(cudaMemcpy(margin.p, md.margin, m * m * sizeof(double), cudaMemcpyHostToDevice),
        "copy margin");
  if (T > 0)
    check(cudaMemcpy(x_out.p, batch.x_out, T * sizeof(double), cudaMemcpyHostToDevice),
          "copy x_out");
  check(cudaMemcpy(y0.p, batch.y0, B * dim * sizeof(double), cudaMemcpyHostToDevice),
        "copy y0");
  Model dev = md;
  dev.margin = margin.p;
  const int threads = 128;
  const long blocks = (B + threads - 1) / threads;
  integrate_kernel<<<static_cast<unsigned>(blocks), threads>>>(
      dev, tb, o, batch.x0, x_out.p, batch.n_out, y0.p, B, ws.p, out_y.p, out_loss.p,
      stats.p);
  check(cudaGetLastError(), "kernel launch");
  check(cudaDeviceSynchronize(), "kernel");
  check(cudaMemcpy(batch.out_y, out_y.p, B * T * dim * sizeof(double),
                   cudaMemcpyDeviceToHost),
        "copy out_y");
  check(cudaMemcpy(batch.out_loss, out_loss.p, B * T * sizeof(double),
                   cudaMemcpyDeviceToHost),
        "copy out_loss");
  check(cudaMemcpy(batch.stats, stats.p, B * sizeof(Stats), cudaMemcpyDeviceToHost),
        "copy stats");
}

}  // namespace kc::dynamics
