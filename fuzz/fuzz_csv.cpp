// The CSV reader (`fit --data`): any bytes give a table or an InputError; a table's cells read as
// numbers or as an InputError; a table written back with to_csv reads back to the same table.
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "table/table.h"

using namespace scalelab;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_input_error_only([&] {
    Table table = parse_csv(text, "fuzz.csv");
    for (std::size_t r = 0; r < table.rows(); ++r)
      for (std::size_t c = 0; c < table.cols(); ++c) fuzz::expect_input_error_only([&] { (void)table.number(r, c); });
    Table again = parse_csv(to_csv(table), "again.csv");
    fuzz::require(again.header() == table.header(), "to_csv round trip keeps the header");
    fuzz::require(again.rows() == table.rows(), "to_csv round trip keeps every row");
    for (std::size_t r = 0; r < table.rows(); ++r)
      for (std::size_t c = 0; c < table.cols(); ++c)
        fuzz::require(again.at(r, c) == table.at(r, c), "to_csv round trip keeps every cell");
  });
  return 0;
}
