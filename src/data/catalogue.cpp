#include "data/catalogue.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

namespace scalelab {
namespace {

const std::vector<DatasetEntry> kDatasets = {
    {"fashion-mnist", 1, 28, 28, 10, 60000, 10000,
     "four IDX .gz files in DATA_ROOT/fashion-mnist (Debian package dataset-fashion-mnist)"},
    {"synthetic", 1, 8, 8, 10, 2000, 1000, "generated from a fixed seed (no files; for tests and smoke runs)"},
};

}  // namespace

const std::vector<DatasetEntry>& dataset_catalogue() { return kDatasets; }

const DatasetEntry* find_dataset(std::string_view name) {
  for (const auto& d : kDatasets)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<std::string> dataset_catalogue_names() {
  std::vector<std::string> names;
  for (const auto& d : kDatasets) names.emplace_back(d.name);
  return names;
}

std::string dataset_list() { return fmt::format("{}", fmt::join(dataset_catalogue_names(), ", ")); }

}  // namespace scalelab
