// Thread-count policy shared by every parallel kernel.
#pragma once

namespace kc {

// Whether this build was compiled with OpenMP.
bool openmp_enabled();

// Threads a parallel kernel uses when the caller passes 0 ("package default").
int default_threads();

// Sets the package default; n >= 1.
void set_default_threads(int n);

// Threads the hardware offers (1 without OpenMP).
int max_threads();

// The count a kernel should use: `requested` if positive, else the default;
// always 1 in a serial build.
int resolve_threads(int requested);

}  // namespace kc
