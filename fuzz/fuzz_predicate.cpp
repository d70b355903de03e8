// Row filters (`--fit-where`, a spec's fit_where): any text gives a predicate or an InputError, and a
// predicate evaluates and lists its names without crashing, however deeply it nests.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "table/table.h"

using namespace scalelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_input_error_only([&] {
    Predicate p = Predicate::parse(text, "fuzz");
    auto names = p.names();
    for (const auto& name : names) fuzz::require(text.find(name) != std::string_view::npos, "names come from the text");
    (void)p([](std::string_view name) { return static_cast<double>(name.size()) - 2; });
  });
  return 0;
}
