// Datasets behind one interface: the trainer asks for a dataset by name and sees only tensors, so a
// second dataset (text, synthetic, CIFAR) plugs in here without touching src/train.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/idx.h"  // default_data_root, read_idx_gz: torch-free

namespace scalelab {

// A set of labelled examples, held in memory.
struct Examples {
  at::Tensor inputs;  // float32 [N, C, H, W], normalised; a language model's: uint8 bytes [N, T]
  at::Tensor labels;  // classification: int64 [N], in [0, classes); regression: float32 [N, outputs];
                      // a language model's: uint8 [N, T], the next bytes
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Examples select(const std::vector<std::int64_t>& indices) const;  // copies the chosen rows
};

// What the labels are, and so which loss and metrics the trainer uses.
enum class Task { classification, regression, language_model };

struct DatasetInfo {
  std::string name;
  int channels = 1, height = 28, width = 28;
  int classes = 10;  // regression: the number of outputs
  Task task = Task::classification;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const DatasetInfo& info() const = 0;
  // The whole training set: training subsets and the validation split are drawn from it.
  virtual const Examples& train() const = 0;
  // Used only to report test error; never for choosing anything.
  virtual const Examples& test() const = 0;
};

// The readers, keyed by the names of the catalogue (data/catalogue.h): each gets the data root.
using DatasetReader = std::unique_ptr<Dataset> (*)(const std::filesystem::path& root);
const std::map<std::string, DatasetReader, std::less<>>& dataset_readers();

// A dataset of the catalogue (data/catalogue.h: shapes, sizes, where the files come from), e.g.
// "fashion-mnist": the four IDX .gz files in root/fashion-mnist (Debian's dataset-fashion-mnist);
// "synthetic": 10 Gaussian classes of 1x8x8 inputs, 2,000 train and 1,000 test, generated from a fixed
// seed (no files; for tests and smoke runs); "teacher-student", "teacher-student-classify",
// "band-limited-1d", "band-limited-2d": generated from fixed seeds (data/teacher.h, docs/theory.md).
// Throws InputError naming the file for a missing or corrupt file, or naming the dataset if unknown.
std::unique_ptr<Dataset> open_dataset(const std::string& name, const std::filesystem::path& root = {});
std::vector<std::string> dataset_names();

// open_dataset, once per process and (name, root): later calls share the first one's tensors. A worker
// zygote (zygote/zygote.h) reads the dataset here before it forks, so every run it forks shares those
// pages instead of reading and normalising the files again (about 1 s for Fashion-MNIST). Not
// thread-safe: call it from one thread. Errors are not cached.
std::shared_ptr<const Dataset> shared_dataset(const std::string& name, const std::filesystem::path& root = {});

}  // namespace scalelab
