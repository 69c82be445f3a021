// Host/device qualifier: the integrator headers compile for the CPU and, under
// nvcc, for one CUDA thread per trajectory.
#pragma once

#if defined(__CUDACC__)
#define KC_HD __host__ __device__
#else
#define KC_HD
#endif
