// How many cores this process may use: the worker sizes its thread pool by it, the sweep its jobs.
#pragma once

namespace scalelab {

int available_cores();  // cores in this process's affinity mask (taskset, cgroups), at least 1

}  // namespace scalelab
