#include "data/dataset.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/core.h>
#include <torch/torch.h>  // the precompiled header: free here

#include "data/catalogue.h"
#include "data/subset.h"
#include "data/teacher.h"
#include "table/table.h"
#include "theory/inputs.h"

namespace scalelab {

Examples Examples::select(const std::vector<std::int64_t>& indices) const {
  auto index = torch::tensor(indices, torch::kInt64);
  return {inputs.index_select(0, index), labels.index_select(0, index)};
}

namespace {

// Memory for a dataset's inputs, which a worker zygote shares with every run it forks: 2 MiB-aligned
// and advised for transparent huge pages, so that a fork copies one page-table entry per 2 MiB instead
// of one per 4 KiB (Fashion-MNIST's 220 MB: ~110 instead of ~54,000) and a run's exit unmaps as few.
// Where the kernel gives no huge pages it is ordinary memory.
at::Tensor shared_input_tensor(at::IntArrayRef shape) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  std::size_t bytes = sizeof(float);
  for (auto d : shape) bytes *= std::size_t(d);
  bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* memory = std::aligned_alloc(kHugePage, bytes);
  if (!memory) throw std::bad_alloc();
  madvise(memory, bytes, MADV_HUGEPAGE);  // advice: an error only means no huge pages
  return torch::from_blob(memory, shape, [](void* p) { std::free(p); }, torch::kFloat32);
}

// The catalogue's entry for a reader: its shape and sizes are what the reader must load.
DatasetInfo info_of(std::string_view name) {
  const DatasetEntry* entry = find_dataset(name);
  if (!entry) throw std::logic_error(fmt::format("dataset reader '{}' has no catalogue entry", name));
  return {std::string(entry->name), entry->channels, entry->height, entry->width, entry->classes,
          entry->tokens_per_example > 1 ? Task::language_model : Task::classification};
}

// Points of theory/inputs.h as a float32 input batch [N, 1, 1, d].
torch::Tensor input_tensor(const theory::Points& x) {
  const Eigen::MatrixXf rows = x.cast<float>();
  // Eigen is column-major: transpose to put each point's coordinates next to each other.
  const Eigen::MatrixXf columns = rows.transpose();
  return torch::from_blob(const_cast<float*>(columns.data()), {x.rows(), 1, 1, x.cols()}, torch::kFloat32).clone();
}

// Train and test inputs are drawn from the same distribution with these two seeds.
constexpr std::uint64_t kTrainInputSeed = 1, kTestInputSeed = 2;

// A dataset held whole in memory, as every reader here builds it: its constructor fills train_ and
// test_ (and may adjust info_).
class InMemoryDataset : public Dataset {
 public:
  explicit InMemoryDataset(DatasetInfo info) : info_(std::move(info)) {}
  const DatasetInfo& info() const override { return info_; }
  const Examples& train() const override { return train_; }
  const Examples& test() const override { return test_; }

 protected:
  DatasetInfo info_;
  Examples train_, test_;
};

// A teacher-student dataset: the inputs of theory/inputs.h, labelled by the dataset's teacher.
class TeacherStudent : public InMemoryDataset {
 public:
  TeacherStudent(std::string_view name, Task task) : InMemoryDataset(info_of(name)) {
    info_.task = task;
    const DatasetEntry& entry = *find_dataset(name);
    const auto teacher = teacher_network(name);
    auto make = [&](std::int64_t n, std::uint64_t seed) {
      torch::NoGradGuard no_grad;
      Examples e;
      e.inputs = input_tensor(theory::generated_inputs(name, n, seed)->points);
      const auto outputs = teacher->forward(e.inputs);
      e.labels = task == Task::regression ? outputs.contiguous() : outputs.argmax(1).to(torch::kInt64);
      return e;
    };
    train_ = make(entry.train_size, kTrainInputSeed);
    test_ = make(entry.test_size, kTestInputSeed);
  }
};

// A band-limited dataset (theory/inputs.h): the target standardised, at uniform points mapped to unit
// variance.
class BandLimited : public InMemoryDataset {
 public:
  explicit BandLimited(std::string_view name) : InMemoryDataset(info_of(name)) {
    info_.task = Task::regression;
    const DatasetEntry& entry = *find_dataset(name);
    const auto spec = *theory::band_limited_dataset(name);
    const auto target = theory::random_trig_series(spec.dim, spec.bandwidth, spec.target_seed);
    const double scale = 1 / std::sqrt(target.variance());
    auto make = [&](std::int64_t n, std::uint64_t seed) {
      const theory::Points x = theory::generated_inputs(name, n, seed)->points;
      const auto values = target.evaluate(x);
      Examples e;
      e.inputs = input_tensor((x.array() - 0.5) * std::sqrt(12.0));
      e.labels = torch::empty({n, 1}, torch::kFloat32);
      float* out = e.labels.data_ptr<float>();
      for (std::int64_t i = 0; i < n; ++i) out[i] = float((values[std::size_t(i)] - target.a0) * scale);
      return e;
    };
    train_ = make(entry.train_size, kTrainInputSeed);
    test_ = make(entry.test_size, kTestInputSeed);
  }
};

class FashionMnist : public InMemoryDataset {
 public:
  explicit FashionMnist(const std::filesystem::path& dir) : InMemoryDataset(info_of("fashion-mnist")) {
    train_ = load(dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz");
    test_ = load(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  }

 private:
  // Mean and standard deviation of all training pixels scaled to [0, 1] (numpy over the 60,000 images).
  static constexpr double kMean = 0.2860406, kStd = 0.3530242;

  Examples load(const std::filesystem::path& images_path, const std::filesystem::path& labels_path) const {
    const IdxArray images = read_idx_gz(images_path, 3);
    const IdxArray labels = read_idx_gz(labels_path, 1);
    if (images.dims[1] != info_.height || images.dims[2] != info_.width)
      throw InputError(images_path.string(), 0, "",
                       fmt::format("images are {}x{}, expected {}x{}", images.dims[1], images.dims[2], info_.height,
                                   info_.width));
    if (images.dims[0] != labels.dims[0])
      throw InputError(labels_path.string(), 0, "",
                       fmt::format("{} labels for {} images", labels.dims[0], images.dims[0]));
    for (std::uint8_t label : labels.bytes)
      if (label >= info_.classes) throw InputError(labels_path.string(), 0, "", fmt::format("label {}", label));
    const std::int64_t n = images.dims[0];
    // One pass through a 256-entry table: four tensor passes over 188 MB cost seconds here.
    float normalised[256];
    for (int v = 0; v < 256; ++v) normalised[v] = float((v / 255.0 - kMean) / kStd);
    Examples examples;
    examples.inputs = shared_input_tensor({n, info_.channels, info_.height, info_.width});
    float* out = examples.inputs.data_ptr<float>();
    for (std::size_t i = 0; i < images.bytes.size(); ++i) out[i] = normalised[images.bytes[i]];
    examples.labels =
        torch::from_blob(const_cast<std::uint8_t*>(labels.bytes.data()), {n}, torch::kUInt8).to(torch::kInt64);
    return examples;
  }
};

// Ten classes, each a fixed random mean pattern plus unit Gaussian noise: learnable, not trivially.
class Synthetic : public InMemoryDataset {
 public:
  Synthetic() : InMemoryDataset(info_of("synthetic")) {
    const DatasetEntry& entry = *find_dataset(info_.name);
    torch::Generator gen = at::detail::createCPUGenerator(12345);
    auto means = 0.7 * torch::randn({info_.classes, info_.channels, info_.height, info_.width}, gen);
    auto make = [&](std::int64_t n) {
      Examples e;
      e.labels = torch::arange(n, torch::kInt64) % info_.classes;
      e.inputs = means.index_select(0, e.labels) + torch::randn({n, info_.channels, info_.height, info_.width}, gen);
      return e;
    };
    train_ = make(entry.train_size);
    test_ = make(entry.test_size);
  }
};

// The GNU Collaborative International Dictionary of English as a byte stream (docs/language-models.md):
// blocks of width+1 bytes, 1 in 200 the test split, the rest the training pool in a fixed order whose
// first val_count blocks the trainer holds out for validation (data/subset.h split_byte_blocks). Inputs
// and labels are views of one uint8 [blocks, width+1] tensor: 40 MB, shared by every forked run.
class GcideBytes : public InMemoryDataset {
 public:
  static constexpr int kTestEvery = 200;
  static constexpr std::uint64_t kOrderSeed = 20260101;

  explicit GcideBytes(const std::filesystem::path& root) : InMemoryDataset(info_of("gcide-bytes")) {
    const std::filesystem::path local = root / "gcide" / "gcide.dict.dz";
    const std::filesystem::path path = std::filesystem::is_regular_file(local) ? local : "/usr/share/dictd/gcide.dict.dz";
    const std::vector<std::uint8_t> text = read_gz_bytes(path, "install the Debian package dict-gcide");
    const int context = info_.width;
    const ByteBlocks split = split_byte_blocks(std::int64_t(text.size()), context, kTestEvery, kOrderSeed);
    const DatasetEntry& entry = *find_dataset(info_.name);
    if (std::int64_t(split.pool.size()) != entry.train_size || std::int64_t(split.test.size()) != entry.test_size)
      throw InputError(path.string(), 0, "",
                       fmt::format("{} bytes give {} training and {} test blocks, the catalogue expects {} and {} "
                                   "(another version of dict-gcide than 0.48.5+nmu2?)",
                                   text.size(), split.pool.size(), split.test.size(), entry.train_size,
                                   entry.test_size));
    train_ = gather(text, split.pool, context);
    test_ = gather(text, split.test, context);
  }

 private:
  static Examples gather(const std::vector<std::uint8_t>& text, const std::vector<std::int64_t>& blocks, int context) {
    const std::int64_t stride = context + 1;
    auto all = torch::empty({std::int64_t(blocks.size()), stride}, torch::kUInt8);
    auto* out = all.data_ptr<std::uint8_t>();
    for (std::size_t b = 0; b < blocks.size(); ++b)
      std::memcpy(out + std::int64_t(b) * stride, text.data() + blocks[b] * stride, std::size_t(stride));
    return {all.slice(1, 0, context), all.slice(1, 1, stride)};
  }
};

}  // namespace

// The readers, keyed by the catalogue's names (tests/data checks both hold the same names).
const std::map<std::string, DatasetReader, std::less<>>& dataset_readers() {
  static const std::map<std::string, DatasetReader, std::less<>> readers = {
      {"fashion-mnist",
       [](const std::filesystem::path& root) -> std::unique_ptr<Dataset> {
         return std::make_unique<FashionMnist>(root / "fashion-mnist");
       }},
      {"synthetic", [](const std::filesystem::path&) -> std::unique_ptr<Dataset> { return std::make_unique<Synthetic>(); }},
      {"gcide-bytes",
       [](const std::filesystem::path& root) -> std::unique_ptr<Dataset> { return std::make_unique<GcideBytes>(root); }},
      {"teacher-student",
       [](const std::filesystem::path&) -> std::unique_ptr<Dataset> {
         return std::make_unique<TeacherStudent>("teacher-student", Task::regression);
       }},
      {"teacher-student-classify",
       [](const std::filesystem::path&) -> std::unique_ptr<Dataset> {
         return std::make_unique<TeacherStudent>("teacher-student-classify", Task::classification);
       }},
      {"band-limited-1d",
       [](const std::filesystem::path&) -> std::unique_ptr<Dataset> { return std::make_unique<BandLimited>("band-limited-1d"); }},
      {"band-limited-2d",
       [](const std::filesystem::path&) -> std::unique_ptr<Dataset> { return std::make_unique<BandLimited>("band-limited-2d"); }},
  };
  return readers;
}

std::vector<std::string> dataset_names() { return dataset_catalogue_names(); }

std::optional<ModelSpec> teacher_spec(std::string_view dataset) {
  if (dataset != "teacher-student" && dataset != "teacher-student-classify") return std::nullopt;
  const DatasetEntry& entry = *find_dataset(dataset);
  // 32 hidden units in 2 layers: small enough that students of several widths around it train in
  // seconds on a CPU core.
  return ModelSpec{.family = "mlp", .width = 0.0625, .depth = 2, .input_channels = entry.channels,
                   .input_height = entry.height, .input_width = entry.width, .classes = entry.classes};
}

std::shared_ptr<ClassifierImpl> teacher_network(std::string_view dataset) {
  const auto spec = teacher_spec(dataset);
  if (!spec) return nullptr;
  auto teacher = build_model(*spec);
  constexpr std::uint64_t kTeacherSeed = 20201;
  torch::Generator gen = at::detail::createCPUGenerator(kTeacherSeed);
  torch::NoGradGuard no_grad;
  for (auto& item : teacher->named_parameters()) {
    auto& p = item.value();
    const bool output = item.key().rfind("classifier.", 0) == 0;
    if (p.dim() == 2)
      p.copy_(torch::randn(p.sizes(), gen) * std::sqrt((output ? 1.0 : 2.0) / double(p.size(1))));
    else
      p.copy_(torch::randn(p.sizes(), gen) * 0.1);
  }
  teacher->eval();
  return teacher;
}

std::unique_ptr<Dataset> open_dataset(const std::string& name, const std::filesystem::path& root) {
  const auto base = root.empty() ? default_data_root() : root;
  const auto it = dataset_readers().find(name);
  if (!find_dataset(name) || it == dataset_readers().end())
    throw InputError("hparams", 0, "dataset", fmt::format("unknown dataset '{}' (known: {})", name, dataset_list()));
  return it->second(base);
}

std::shared_ptr<const Dataset> shared_dataset(const std::string& name, const std::filesystem::path& root) {
  static std::map<std::pair<std::string, std::filesystem::path>, std::shared_ptr<const Dataset>> loaded;
  const auto key = std::make_pair(name, root.empty() ? default_data_root() : root);
  auto it = loaded.find(key);
  if (it == loaded.end()) it = loaded.emplace(key, open_dataset(name, key.second)).first;
  return it->second;
}

}  // namespace scalelab
