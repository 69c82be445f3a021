#include "keatingcore/parallel.hpp"

#include <atomic>
#include <stdexcept>

#if KC_HAVE_OPENMP
#include <omp.h>
#endif

namespace kc {

namespace {
std::atomic<int> g_default_threads{0};  // 0 = use every hardware thread
}

bool openmp_enabled() { return KC_HAVE_OPENMP != 0; }

int max_threads() {
#if KC_HAVE_OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

int default_threads() {
  const int n = g_default_threads.load();
  return n > 0 ? n : max_threads();
}

void set_default_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1");
  g_default_threads.store(n);
}

int resolve_threads(int requested) {
  if (!openmp_enabled()) return 1;
  return requested > 0 ? requested : default_threads();
}

}  // namespace kc
