#include "data/catalogue.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

namespace scalelab {
// A function's static, so that a TrainConfig made during static initialisation finds it built.
const std::vector<DatasetEntry>& dataset_catalogue() {
  static const std::vector<DatasetEntry> datasets = {
      {"fashion-mnist", 1, 28, 28, 10, 60000, 10000,
       "four IDX .gz files in DATA_ROOT/fashion-mnist (Debian package dataset-fashion-mnist)"},
      {"synthetic", 1, 8, 8, 10, 2000, 1000, "generated from a fixed seed (no files; for tests and smoke runs)"},
      // Byte-level language modelling: blocks of 65 bytes (64 inputs, 64 next bytes) of the dictionary's
      // 39,952,321 bytes; 1 block in 200 is the test split (data/subset.h split_byte_blocks).
      {"gcide-bytes", 1, 1, 64, 256, 611577, 3074,
       "/usr/share/dictd/gcide.dict.dz (Debian package dict-gcide 0.48.5+nmu2), or DATA_ROOT/gcide/gcide.dict.dz",
       64},
      // The theory lab's datasets (docs/theory.md), generated from fixed seeds. Regression ones have
      // one output (`classes` 1): their error is the MSE over the labels' variance.
      {"teacher-student", 1, 1, 16, 1, 60000, 10000,
       "generated: inputs N(0, I) in R^16, labels a fixed random MLP teacher's output (regression)"},
      {"teacher-student-classify", 1, 1, 16, 10, 60000, 10000,
       "generated: inputs uniform on [-1, 1]^16, labels the argmax of a fixed random MLP teacher's 10 outputs"},
      {"band-limited-1d", 1, 1, 1, 1, 60000, 10000,
       "generated: a random trigonometric polynomial on [0,1), B = 8, at uniform points (regression)"},
      {"band-limited-2d", 1, 1, 2, 1, 60000, 10000,
       "generated: a random trigonometric polynomial on [0,1)^2, B = 4, at uniform points (regression)"},
  };
  return datasets;
}

std::string_view default_dataset() { return dataset_catalogue().front().name; }

const DatasetEntry* find_dataset(std::string_view name) {
  for (const auto& d : dataset_catalogue())
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<std::string> dataset_catalogue_names() {
  std::vector<std::string> names;
  for (const auto& d : dataset_catalogue()) names.emplace_back(d.name);
  return names;
}

std::string dataset_list() { return fmt::format("{}", fmt::join(dataset_catalogue_names(), ", ")); }

}  // namespace scalelab
