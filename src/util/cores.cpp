#include "util/cores.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace scalelab {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  // The mask did not fit a cpu_set_t (over 1024 CPUs): the C++ runtime's count asks with a larger one.
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace scalelab
