// Sweep specs (`scalelab sweep SPEC.yaml`): any text gives a validated spec or an InputError; a spec
// that parses expands to its grid.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "sweep/spec.h"

using namespace scalelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_input_error_only([&] {
    SweepSpec spec = parse_spec(text, "fuzz.yaml");
    std::size_t expected = 1;
    for (const auto& axis : spec.grid) expected *= axis.values.size();
    fuzz::require(expand(spec).size() == expected, "the grid expands to the product of its axes");
  });
  return 0;
}
