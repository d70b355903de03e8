#include "sweep/executors.h"

#include <algorithm>

namespace scalelab {

const std::vector<ExecutorInfo>& executor_registry() {
  static const std::vector<ExecutorInfo> registry = {
      {"local", "one worker process per run on this machine", make_local_executor},
  };
  return registry;
}

const ExecutorInfo* find_executor(std::string_view name) {
  const auto& registry = executor_registry();
  auto it = std::find_if(registry.begin(), registry.end(), [&](const ExecutorInfo& e) { return e.name == name; });
  return it == registry.end() ? nullptr : &*it;
}

}  // namespace scalelab
