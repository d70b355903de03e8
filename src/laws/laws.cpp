#include "laws/laws.h"

namespace scalelab::laws {

const std::vector<LawInfo>& registry() {
  static const std::vector<LawInfo> all =
      std::apply([](auto... law) { return std::vector<LawInfo>{describe<decltype(law)>()...}; }, Registry{});
  return all;
}

const LawInfo* find(std::string_view name) {
  for (const auto& law : registry())
    if (law.name == name) return &law;
  return nullptr;
}

}  // namespace scalelab::laws
