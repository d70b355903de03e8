// The Fashion-MNIST reader against known facts of Debian's files, its errors on corrupt input, and
// the stratified nested subsets.
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/catalogue.h"
#include "data/teacher.h"
#include "theory/bandlimited.h"
#include "data/dataset.h"
#include "data/subset.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;
const fs::path kFashionDir = "/usr/share/datasets/fashion-mnist";

#define SKIP_WITHOUT_FASHION_MNIST()                                                                  \
  if (!fs::exists(kFashionDir / "train-images-idx3-ubyte.gz"))                                       \
  GTEST_SKIP() << kFashionDir << " is absent (Debian package dataset-fashion-mnist)"

std::int64_t byte_sum(const std::vector<std::uint8_t>& bytes, std::size_t begin, std::size_t end) {
  std::int64_t sum = 0;
  for (std::size_t i = begin; i < end; ++i) sum += bytes[i];
  return sum;
}

// The numbers below were computed once with /usr/bin/python3:
//   a = np.frombuffer(gzip.open(f).read(), dtype=np.uint8, offset=16)   # offset 8 for labels
//   len(a) // 784, a[:10], int(a.astype(np.int64).sum()), int(a[:784].sum()), np.bincount(labels)
TEST(FashionMnist, RawFilesMatchKnownFacts) {
  SKIP_WITHOUT_FASHION_MNIST();
  const auto train_images = read_idx_gz(kFashionDir / "train-images-idx3-ubyte.gz", 3);
  const auto train_labels = read_idx_gz(kFashionDir / "train-labels-idx1-ubyte.gz", 1);
  const auto test_images = read_idx_gz(kFashionDir / "t10k-images-idx3-ubyte.gz", 3);
  const auto test_labels = read_idx_gz(kFashionDir / "t10k-labels-idx1-ubyte.gz", 1);
  EXPECT_EQ(train_images.dims, (std::vector<std::int64_t>{60000, 28, 28}));
  EXPECT_EQ(test_images.dims, (std::vector<std::int64_t>{10000, 28, 28}));
  EXPECT_EQ(train_labels.dims, (std::vector<std::int64_t>{60000}));
  EXPECT_EQ(test_labels.dims, (std::vector<std::int64_t>{10000}));
  EXPECT_EQ(std::vector<int>(train_labels.bytes.begin(), train_labels.bytes.begin() + 10),
            (std::vector<int>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  EXPECT_EQ(std::vector<int>(test_labels.bytes.begin(), test_labels.bytes.begin() + 10),
            (std::vector<int>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}));
  EXPECT_EQ(byte_sum(train_images.bytes, 0, train_images.bytes.size()), 3431114169);
  EXPECT_EQ(byte_sum(test_images.bytes, 0, test_images.bytes.size()), 573469082);
  EXPECT_EQ(byte_sum(train_images.bytes, 0, 784), 76247);  // first training image
  EXPECT_EQ(byte_sum(test_images.bytes, test_images.bytes.size() - 784, test_images.bytes.size()), 24390);  // last test image
  std::map<int, int> counts;
  for (auto label : train_labels.bytes) ++counts[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 6000) << "class " << c;
}

TEST(FashionMnist, DatasetHoldsNormalisedTensors) {
  SKIP_WITHOUT_FASHION_MNIST();
  const auto data = open_dataset("fashion-mnist");
  EXPECT_EQ(data->info().classes, 10);
  EXPECT_EQ(data->train().inputs.sizes(), (std::vector<std::int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(data->test().inputs.sizes(), (std::vector<std::int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(data->train().labels.dtype(), torch::kInt64);
  EXPECT_EQ(data->train().labels[0].item<std::int64_t>(), 9);
  // Normalised with the training set's own mean and deviation.
  EXPECT_NEAR(data->train().inputs.mean().item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(data->train().inputs.std().item<double>(), 1.0, 1e-4);
}

// Writes a gzip file holding `bytes`.
void write_gz(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  gzclose(f);
}

std::vector<std::uint8_t> idx_header(std::uint8_t rank, std::vector<std::uint32_t> dims) {
  std::vector<std::uint8_t> h = {0, 0, 0x08, rank};
  for (auto d : dims) h.insert(h.end(), {std::uint8_t(d >> 24), std::uint8_t(d >> 16), std::uint8_t(d >> 8), std::uint8_t(d)});
  return h;
}

class CorruptFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scalelab-data-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The message of the InputError that reading `file` raises ("" if none).
  std::string error_reading(const fs::path& file, int rank) {
    try {
      read_idx_gz(file, rank);
    } catch (const InputError& e) {
      EXPECT_EQ(e.source(), file.string());
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(CorruptFiles, MissingFileNamesIt) {
  try {
    open_dataset("fashion-mnist", dir_);
    FAIL() << "no error for a missing dataset";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte.gz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos) << e.what();
  }
}

TEST_F(CorruptFiles, WrongMagicIsRejected) {
  auto bytes = idx_header(3, {2, 28, 28});  // an image file where labels are expected
  bytes.resize(bytes.size() + 2 * 784);
  write_gz(dir_ / "labels.gz", bytes);
  EXPECT_NE(error_reading(dir_ / "labels.gz", 1).find("magic"), std::string::npos);
}

TEST_F(CorruptFiles, TruncatedDataIsRejected) {
  auto bytes = idx_header(1, {100});
  bytes.resize(bytes.size() + 50);  // 50 of the 100 labels
  write_gz(dir_ / "labels.gz", bytes);
  EXPECT_NE(error_reading(dir_ / "labels.gz", 1).find("truncated"), std::string::npos);
  write_gz(dir_ / "short.gz", {0, 0, 8});  // not even a header
  EXPECT_NE(error_reading(dir_ / "short.gz", 1).find("truncated"), std::string::npos);
}

TEST_F(CorruptFiles, TruncatedGzipStreamIsRejected) {
  auto bytes = idx_header(1, {100000});
  for (int i = 0; i < 100000; ++i) bytes.push_back(std::uint8_t(i * 7919 % 251));  // does not compress away
  write_gz(dir_ / "full.gz", bytes);
  const auto size = fs::file_size(dir_ / "full.gz");
  fs::copy_file(dir_ / "full.gz", dir_ / "cut.gz");
  fs::resize_file(dir_ / "cut.gz", size / 2);
  EXPECT_EQ(error_reading(dir_ / "full.gz", 1), "");
  EXPECT_NE(error_reading(dir_ / "cut.gz", 1), "");
}

TEST(Datasets, UnknownNameIsInputError) { EXPECT_THROW(open_dataset("imagenet-21k"), InputError); }

TEST(Datasets, SyntheticIsDeterministicAndBalanced) {
  const auto a = open_dataset("synthetic"), b = open_dataset("synthetic");
  EXPECT_TRUE(torch::equal(a->train().inputs, b->train().inputs));
  EXPECT_EQ(a->train().inputs.sizes(), (std::vector<std::int64_t>{2000, 1, 8, 8}));
  EXPECT_EQ(torch::bincount(a->train().labels).min().item<std::int64_t>(), 200);
}

// The torch-free catalogue (what `scalelab` plans sweeps with) against what each reader loads: the
// shapes of the inputs, the number of classes, the train and test sizes. Fashion-MNIST is checked when
// its files are installed; without them the rest is checked and the test reports a skip.
const fs::path kGcidePath = "/usr/share/dictd/gcide.dict.dz";

TEST(Datasets, CatalogueEqualsWhatTheReadersLoad) {
  std::string skipped;
  for (const auto& entry : dataset_catalogue()) {
    const std::string name(entry.name);
    if (name == "fashion-mnist" && !fs::exists(kFashionDir / "train-images-idx3-ubyte.gz")) {
      skipped = kFashionDir.string() + " is absent (Debian package dataset-fashion-mnist): not checked";
      continue;
    }
    if (name == "gcide-bytes" && !fs::exists(kGcidePath)) {
      skipped = kGcidePath.string() + " is absent (Debian package dict-gcide): not checked";
      continue;
    }
    const auto data = open_dataset(name, kFashionDir.parent_path());
    const DatasetInfo& info = data->info();
    if (info.task == Task::language_model) {  // blocks of bytes: [N, T] inputs and next bytes
      EXPECT_EQ(entry.tokens_per_example, entry.width) << name;
      for (const auto* split : {&data->train(), &data->test()}) {
        const bool train = split == &data->train();
        EXPECT_EQ(split->size(), train ? entry.train_size : entry.test_size) << name;
        EXPECT_EQ(split->inputs.sizes().vec(), (std::vector<std::int64_t>{split->size(), entry.width})) << name;
        EXPECT_TRUE(torch::equal(split->inputs.slice(1, 1), split->labels.slice(1, 0, entry.width - 1))) << name;
      }
      continue;
    }
    EXPECT_EQ(info.name, name);
    EXPECT_EQ(info.channels, entry.channels) << name;
    EXPECT_EQ(info.height, entry.height) << name;
    EXPECT_EQ(info.width, entry.width) << name;
    EXPECT_EQ(info.classes, entry.classes) << name;
    const std::vector<std::int64_t> shape{entry.channels, entry.height, entry.width};
    for (const auto* split : {&data->train(), &data->test()}) {
      const bool train = split == &data->train();
      EXPECT_EQ(split->size(), train ? entry.train_size : entry.test_size) << name << (train ? " train" : " test");
      const auto sizes = split->inputs.sizes().vec();
      EXPECT_EQ(std::vector<std::int64_t>(sizes.begin() + 1, sizes.end()), shape) << name;
      EXPECT_EQ(split->inputs.size(0), split->size()) << name;
      if (info.task == Task::regression) {  // one float label per output
        EXPECT_EQ(split->labels.dtype(), torch::kFloat32) << name;
        EXPECT_EQ(split->labels.sizes().vec(), (std::vector<std::int64_t>{split->size(), entry.classes})) << name;
        continue;
      }
      // Every class occurs, and no label lies outside [0, classes).
      EXPECT_EQ(split->labels.min().item<std::int64_t>(), 0) << name;
      EXPECT_EQ(split->labels.max().item<std::int64_t>(), entry.classes - 1) << name;
      const auto counts = torch::bincount(split->labels);
      EXPECT_EQ(counts.size(0), entry.classes) << name;
      EXPECT_GT(counts.min().item<std::int64_t>(), 0) << name;
    }
  }
  if (!skipped.empty()) GTEST_SKIP() << skipped;
}

// The byte corpus's splits: sizes, disjointness, the fixed order's determinism, nested subsets.
TEST(ByteBlocks, SplitSizesAreExactAndDisjoint) {
  const auto split = split_byte_blocks(65 * 1000 + 7, 64, 200, 5);  // the tail of 7 bytes is dropped
  EXPECT_EQ(split.blocks, 1000);
  EXPECT_EQ(split.test.size(), 5u);  // blocks 0, 200, 400, 600, 800
  EXPECT_EQ(split.pool.size(), 995u);
  std::vector<std::int64_t> all = split.pool;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  for (std::int64_t i = 0; i < 1000; ++i) EXPECT_EQ(all[std::size_t(i)], i);  // each block once
  for (auto t : split.test) EXPECT_EQ(t % 200, 0);
}

TEST(ByteBlocks, OrderIsFixedBySeedAndSpreadOverTheCorpus) {
  const auto a = split_byte_blocks(65 * 10000, 64, 200, 5), b = split_byte_blocks(65 * 10000, 64, 200, 5);
  const auto c = split_byte_blocks(65 * 10000, 64, 200, 6);
  EXPECT_EQ(a.pool, b.pool);
  EXPECT_NE(a.pool, c.pool);
  // A subset of the first 1000 blocks of the order covers the corpus: every tenth of the text holds some.
  std::vector<int> tenths(10, 0);
  for (std::size_t i = 0; i < 1000; ++i) ++tenths[std::size_t(a.pool[i] / 1000)];
  for (int t : tenths) EXPECT_GT(t, 50);
}

TEST(ByteBlocks, SubsetsAreNestedAndDisjointFromValidation) {
  // The trainer's split of a language-model dataset: its order is the pool's order (identity here).
  std::vector<std::int64_t> order(995);
  std::iota(order.begin(), order.end(), 0);
  const auto small = split_of_order(order, {.fraction = std::nullopt, .count = 100, .val_count = 50});
  const auto large = split_of_order(order, {.fraction = std::nullopt, .count = 400, .val_count = 50});
  EXPECT_EQ(small.val, large.val);
  EXPECT_TRUE(std::equal(small.train.begin(), small.train.end(), large.train.begin()));
  for (auto i : large.train) EXPECT_GE(i, 50);
}

TEST(GcideBytes, ReadsTheDictionaryIntoFixedSplits) {
  if (!fs::exists(kGcidePath)) GTEST_SKIP() << kGcidePath << " is absent (Debian package dict-gcide)";
  const auto a = open_dataset("gcide-bytes", "/nonexistent");
  const auto& info = a->info();
  EXPECT_EQ(info.task, Task::language_model);
  EXPECT_EQ(info.classes, 256);
  EXPECT_EQ(a->train().size(), 611577);
  EXPECT_EQ(a->test().size(), 3074);
  // The test split is blocks 0, 200, ...: the first is the start of the file.
  const auto first = a->test().inputs[0];
  const std::string head(reinterpret_cast<const char*>(first.contiguous().data_ptr<std::uint8_t>()), 64);
  EXPECT_NE(head.find("00-database"), std::string::npos) << head;
  const auto b = open_dataset("gcide-bytes", "/nonexistent");  // the same bytes in the same order
  EXPECT_TRUE(torch::equal(a->train().inputs.slice(0, 0, 5000), b->train().inputs.slice(0, 0, 5000)));
  EXPECT_TRUE(torch::equal(a->test().labels, b->test().labels));
}

// Every catalogue entry has a reader and every reader a catalogue entry: the names are one list.
TEST(Datasets, EveryCatalogueEntryHasAReader) {
  std::vector<std::string> readers;
  for (const auto& [name, _] : dataset_readers()) readers.push_back(name);
  auto names = dataset_catalogue_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(readers, names);
  EXPECT_EQ(dataset_names(), dataset_catalogue_names());
}

// --- subsets ----------------------------------------------------------------------------------

std::vector<std::int64_t> balanced_labels(int classes, int per_class) {
  std::vector<std::int64_t> labels;
  for (int i = 0; i < classes * per_class; ++i) labels.push_back(i % classes);
  return labels;
}

std::map<std::int64_t, int> class_counts(const std::vector<std::int64_t>& labels, const std::vector<std::int64_t>& idx) {
  std::map<std::int64_t, int> counts;
  for (auto i : idx) ++counts[labels[i]];
  return counts;
}

TEST(Subsets, SameSeedSameSubsetOtherSeedAnother) {
  const auto labels = balanced_labels(10, 600);
  const SubsetRequest r{.fraction = 0.125, .val_count = 500, .seed = 3};
  EXPECT_EQ(stratified_split(labels, 10, r).train, stratified_split(labels, 10, r).train);
  SubsetRequest other = r;
  other.seed = 4;
  EXPECT_NE(stratified_split(labels, 10, r).train, stratified_split(labels, 10, other).train);
}

TEST(Subsets, NestedAcrossFractionsAndDisjointFromValidation) {
  const auto labels = balanced_labels(10, 600);
  std::set<std::int64_t> larger;
  std::vector<std::int64_t> val;
  for (double fraction : {1.0, 0.5, 0.25, 0.125, 1.0 / 16, 1.0 / 64}) {
    const auto split = stratified_split(labels, 10, {.fraction = fraction, .val_count = 500, .seed = 9});
    EXPECT_EQ(std::int64_t(split.train.size()), std::llround(fraction * 5500));
    const std::set<std::int64_t> train(split.train.begin(), split.train.end());
    EXPECT_EQ(train.size(), split.train.size()) << "duplicates at fraction " << fraction;
    if (!larger.empty())
      EXPECT_TRUE(std::includes(larger.begin(), larger.end(), train.begin(), train.end())) << "fraction " << fraction;
    if (!val.empty()) EXPECT_EQ(split.val, val) << "validation moved at fraction " << fraction;
    for (auto v : split.val) EXPECT_EQ(train.count(v), 0u) << "validation example " << v << " in training";
    larger = train;
    val = split.val;
  }
}

TEST(Subsets, ClassesInProportionEvenWhenUnbalanced) {
  const auto balanced = balanced_labels(10, 6000);
  const auto split = stratified_split(balanced, 10, {.fraction = 0.125, .val_count = 5000, .seed = 1});
  for (auto [cls, n] : class_counts(balanced, split.train)) EXPECT_NEAR(n, 6875 / 10.0, 1.0) << "class " << cls;
  for (auto [cls, n] : class_counts(balanced, split.val)) EXPECT_EQ(n, 500) << "class " << cls;

  std::vector<std::int64_t> skewed;  // classes of 100, 300 and 600 examples
  for (int i = 0; i < 1000; ++i) skewed.push_back(i < 100 ? 0 : i < 400 ? 1 : 2);
  for (std::int64_t count : {10, 37, 100, 555, 1000}) {
    const auto s = stratified_split(skewed, 3, {.count = count, .seed = 2});
    const auto counts = class_counts(skewed, s.train);
    const double share[] = {0.1, 0.3, 0.6};
    for (int c = 0; c < 3; ++c) {
      const auto it = counts.find(c);
      EXPECT_NEAR(it == counts.end() ? 0 : it->second, share[c] * double(count), 1.0) << "count " << count << " class " << c;
    }
  }
}

TEST(Subsets, CountAndFractionAgree) {
  const auto labels = balanced_labels(10, 100);
  const auto by_fraction = stratified_split(labels, 10, {.fraction = 0.25, .val_count = 200, .seed = 5});
  const auto by_count = stratified_split(labels, 10, {.count = 200, .val_count = 200, .seed = 5});
  EXPECT_EQ(by_fraction.train, by_count.train);
}

TEST(Subsets, ImpossibleRequestsNameTheField) {
  const auto labels = balanced_labels(10, 100);
  auto field_of = [&](SubsetRequest r) {
    try {
      stratified_split(labels, 10, r);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("<accepted>");
  };
  EXPECT_EQ(field_of({.fraction = 0.0}), "data_fraction");
  EXPECT_EQ(field_of({.fraction = 1.5}), "data_fraction");
  EXPECT_EQ(field_of({.fraction = 1e-6}), "data_fraction");  // selects no example
  EXPECT_EQ(field_of({.count = 901, .val_count = 100}), "data_count");
  EXPECT_EQ(field_of({.val_count = 1000}), "val_count");
  EXPECT_EQ(field_of({.fraction = 0.5, .count = 10}), "data_fraction");
  EXPECT_EQ(field_of({.count = 900, .val_count = 100}), "<accepted>");
}


// The theory lab's datasets (docs/theory.md): labels fixed by the seeds, equal to the teacher's outputs
// (or their argmax), and the band-limited ones equal to the standardised target.
TEST(TheoryDatasets, TeacherLabelsAreTheTeachersOutputsAndTheSameOnEveryOpening) {
  for (const std::string name : {"teacher-student", "teacher-student-classify"}) {
    const auto a = open_dataset(name), b = open_dataset(name);
    EXPECT_TRUE(torch::equal(a->train().labels, b->train().labels)) << name;
    EXPECT_TRUE(torch::equal(a->test().inputs, b->test().inputs)) << name;
    EXPECT_FALSE(torch::equal(a->train().inputs.slice(0, 0, 100), a->test().inputs.slice(0, 0, 100))) << name;
    torch::NoGradGuard no_grad;
    const auto outputs = teacher_network(name)->forward(a->test().inputs.slice(0, 0, 500));
    if (a->info().task == Task::regression) {
      EXPECT_TRUE(torch::allclose(outputs, a->test().labels.slice(0, 0, 500), 1e-5, 1e-6)) << name;
      // He initialisation keeps the teacher's output of order one: a target worth learning.
      const double sd = a->train().labels.std().item<double>();
      EXPECT_GT(sd, 0.1) << name;
      EXPECT_LT(sd, 10) << name;
    } else {
      EXPECT_TRUE(torch::equal(outputs.argmax(1), a->test().labels.slice(0, 0, 500))) << name;
    }
  }
  EXPECT_EQ(teacher_network("fashion-mnist"), nullptr);
}

TEST(TheoryDatasets, BandLimitedLabelsAreTheStandardisedTarget) {
  const auto data = open_dataset("band-limited-2d");
  const auto target = theory::random_trig_series(2, 4, 1);
  const auto inputs = data->test().inputs.slice(0, 0, 50).reshape({50, 2}).to(torch::kFloat64);
  theory::Points x(50, 2);
  for (int i = 0; i < 50; ++i)
    for (int j = 0; j < 2; ++j) x(i, j) = inputs[i][j].item<double>() / std::sqrt(12.0) + 0.5;
  const auto values = target.evaluate(x);
  for (int i = 0; i < 50; ++i)
    EXPECT_NEAR(data->test().labels[i][0].item<double>(), (values[std::size_t(i)] - target.a0) / std::sqrt(target.variance()), 1e-4);
  // Standardised: mean 0 and variance 1 over the training set, up to sampling.
  EXPECT_NEAR(data->train().labels.mean().item<double>(), 0, 0.02);
  EXPECT_NEAR(data->train().labels.var().item<double>(), 1, 0.03);
}

}  // namespace
}  // namespace scalelab
