// The dataset catalogue, torch-free: every dataset the worker can read, with its input shape, classes,
// train and test sizes and where its files come from. `scalelab` plans sweeps from it (grid expansion,
// cost, m and n) without loading libtorch; the worker's readers (dataset.cpp) take their shape and
// sizes from the same entry, and tests/data checks that what they load equals it.
// Adding a dataset: a reader in dataset.cpp (keyed by the name) and an entry in catalogue.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

struct DatasetEntry {
  std::string_view name;
  int channels = 1, height = 1, width = 1;  // one example: [channels, height, width]
  int classes = 2;
  std::int64_t train_size = 0;  // the whole training set, before the validation split
  std::int64_t test_size = 0;
  std::string_view source;      // where the files come from (or "generated")
  // Tokens one example holds: 1 for an image; a language model's block of `width` predicted bytes.
  // A sweep counts m in tokens (examples x this) and plans with it.
  std::int64_t tokens_per_example = 1;
};

// The first entry is the default dataset (TrainConfig::dataset).
const std::vector<DatasetEntry>& dataset_catalogue();
std::string_view default_dataset();
const DatasetEntry* find_dataset(std::string_view name);  // nullptr when unknown
std::vector<std::string> dataset_catalogue_names();
std::string dataset_list();  // "fashion-mnist, synthetic": for messages and --help

}  // namespace scalelab
