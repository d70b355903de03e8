// Saved fits (`scalelab predict --fit FIT.json`): any text gives a fit or an InputError; a fit that
// loads writes back to JSON that loads again, and predicts a finite value or refuses with an
// InputError.
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fit/fit.h"
#include "fuzz/fuzz_check.h"

using namespace scalelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_input_error_only([&] {
    fit::FitResult r = fit::from_json(text, "fuzz.json");
    fit::FitResult again = fit::from_json(fit::to_json(r), "again.json");
    fuzz::require(again.parameters.size() == r.parameters.size(), "to_json round trip keeps the parameters");
    std::map<std::string, double> at;
    for (const auto& name : r.input_names) at[name] = 1000;
    fuzz::expect_input_error_only([&] {
      auto p = fit::predict(r, at);
      fuzz::require(std::isfinite(p.value), "a prediction is finite or refused");
    });
  });
  return 0;
}
