// hparams.yaml (a run directory's configuration): any text gives hyperparameters or an InputError;
// hyperparameters written back read back to the same configuration, with the same hash.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "store/hparams.h"

using namespace scalelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_input_error_only([&] {
    Hparams h = Hparams::from_yaml(text, "fuzz.yaml");
    Hparams again = Hparams::from_yaml(h.to_yaml(), "again.yaml");
    fuzz::require(again == h, "to_yaml round trip keeps every value");
    fuzz::require(again.hash() == h.hash(), "to_yaml round trip keeps the run id");
  });
  return 0;
}
