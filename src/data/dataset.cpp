#include "data/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>
#include <torch/torch.h>  // the precompiled header: free here

#include "table/table.h"

namespace scalelab {

Examples Examples::select(const std::vector<std::int64_t>& indices) const {
  auto index = torch::tensor(indices, torch::kInt64);
  return {inputs.index_select(0, index), labels.index_select(0, index)};
}

std::filesystem::path default_data_root() {
  if (const char* env = std::getenv("SCALELAB_DATA_DIR"); env && *env) return env;
  return "/usr/share/datasets";
}

IdxArray read_idx_gz(const std::filesystem::path& path, int expected_rank) {
  const std::string source = path.string();
  auto fail = [&](const std::string& message) -> IdxArray { throw InputError(source, 0, "", message); };
  if (!std::filesystem::is_regular_file(path))
    fail("file not found (install dataset-fashion-mnist, or point SCALELAB_DATA_DIR at a copy)");

  gzFile file = gzopen(source.c_str(), "rb");
  if (!file) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  gzbuffer(file, 1 << 20);
  std::vector<std::uint8_t> raw;
  int got = 0;
  constexpr std::size_t kChunk = 1 << 22;
  do {  // straight into the vector: the training images are 47 MB
    const std::size_t used = raw.size();
    raw.resize(used + kChunk);
    got = gzread(file, raw.data() + used, unsigned(kChunk));
    raw.resize(used + std::size_t(std::max(got, 0)));
  } while (got > 0);
  int status = Z_OK;
  const std::string zlib_message = gzerror(file, &status);
  gzclose(file);
  if (got < 0 || (status != Z_OK && status != Z_STREAM_END))
    fail(fmt::format("corrupt or truncated gzip data ({})", zlib_message));

  // IDX: two zero bytes, a type byte (0x08 = unsigned byte), the rank, then one big-endian
  // 32-bit size per dimension, then the data.
  const std::size_t header = 4 + 4 * std::size_t(expected_rank);
  if (raw.size() < header) fail(fmt::format("truncated: {} bytes, shorter than an IDX header", raw.size()));
  if (raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 || raw[3] != expected_rank)
    fail(fmt::format("not an IDX file of unsigned bytes with {} dimensions (magic {:02x}{:02x}{:02x}{:02x})",
                     expected_rank, raw[0], raw[1], raw[2], raw[3]));
  IdxArray array;
  std::int64_t elements = 1;
  for (int d = 0; d < expected_rank; ++d) {
    const std::uint8_t* p = &raw[4 + 4 * d];
    array.dims.push_back((std::int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
    elements *= array.dims.back();
  }
  if (raw.size() - header != std::size_t(elements))
    fail(fmt::format("{}: header promises {} bytes of data, file holds {}",
                     raw.size() - header < std::size_t(elements) ? "truncated" : "trailing bytes", elements,
                     raw.size() - header));
  raw.erase(raw.begin(), raw.begin() + std::ptrdiff_t(header));
  array.bytes = std::move(raw);
  return array;
}

namespace {

class FashionMnist : public Dataset {
 public:
  explicit FashionMnist(const std::filesystem::path& dir) {
    train_ = load(dir / "train-images-idx3-ubyte.gz", dir / "train-labels-idx1-ubyte.gz");
    test_ = load(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  }
  const DatasetInfo& info() const override { return info_; }
  const Examples& train() const override { return train_; }
  const Examples& test() const override { return test_; }

 private:
  // Mean and standard deviation of all training pixels scaled to [0, 1] (numpy over the 60,000 images).
  static constexpr double kMean = 0.2860406, kStd = 0.3530242;

  Examples load(const std::filesystem::path& images_path, const std::filesystem::path& labels_path) const {
    const IdxArray images = read_idx_gz(images_path, 3);
    const IdxArray labels = read_idx_gz(labels_path, 1);
    if (images.dims[1] != info_.height || images.dims[2] != info_.width)
      throw InputError(images_path.string(), 0, "",
                       fmt::format("images are {}x{}, expected 28x28", images.dims[1], images.dims[2]));
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
    examples.inputs = torch::empty({n, 1, 28, 28}, torch::kFloat32);
    float* out = examples.inputs.data_ptr<float>();
    for (std::size_t i = 0; i < images.bytes.size(); ++i) out[i] = normalised[images.bytes[i]];
    examples.labels =
        torch::from_blob(const_cast<std::uint8_t*>(labels.bytes.data()), {n}, torch::kUInt8).to(torch::kInt64);
    return examples;
  }

  DatasetInfo info_{"fashion-mnist", 1, 28, 28, 10};
  Examples train_, test_;
};

// Ten classes, each a fixed random mean pattern plus unit Gaussian noise: learnable, not trivially.
class Synthetic : public Dataset {
 public:
  Synthetic() {
    torch::Generator gen = at::detail::createCPUGenerator(12345);
    auto means = 0.7 * torch::randn({info_.classes, 1, 8, 8}, gen);
    auto make = [&](std::int64_t n) {
      Examples e;
      e.labels = torch::arange(n, torch::kInt64) % info_.classes;
      e.inputs = means.index_select(0, e.labels) + torch::randn({n, 1, 8, 8}, gen);
      return e;
    };
    train_ = make(2000);
    test_ = make(1000);
  }
  const DatasetInfo& info() const override { return info_; }
  const Examples& train() const override { return train_; }
  const Examples& test() const override { return test_; }

 private:
  DatasetInfo info_{"synthetic", 1, 8, 8, 10};
  Examples train_, test_;
};

}  // namespace

std::vector<std::string> dataset_names() { return {"fashion-mnist", "synthetic"}; }

std::unique_ptr<Dataset> open_dataset(const std::string& name, const std::filesystem::path& root) {
  const auto base = root.empty() ? default_data_root() : root;
  if (name == "fashion-mnist") return std::make_unique<FashionMnist>(base / "fashion-mnist");
  if (name == "synthetic") return std::make_unique<Synthetic>();
  throw InputError("hparams", 0, "dataset",
                   fmt::format("unknown dataset '{}' (known: fashion-mnist, synthetic)", name));
}

}  // namespace scalelab
