// Executors by name: `scalelab sweep --executor NAME` picks one from this registry, and the sweep runs
// through whatever SweepOptions::executor makes. Adding a backend is one Executor (executor.h) and one
// line in executors.cpp.
//
//   const ExecutorInfo* local = find_executor("local");
//   options.executor = local->make;
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sweep/executor.h"

namespace scalelab {

struct ExecutorInfo {
  std::string name;
  std::string description;  // one line, for --help and for the message naming the known executors
  ExecutorFactory make;
};

inline constexpr std::string_view kDefaultExecutor = "local";

const std::vector<ExecutorInfo>& executor_registry();        // every executor, in registration order
const ExecutorInfo* find_executor(std::string_view name);    // nullptr when unknown

}  // namespace scalelab
