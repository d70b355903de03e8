// Sizes of the model families, computed from the spec alone. tests/models checks every count here
// against the module that models.cpp builds, for many configurations.
#include "models/spec.h"

#include <cmath>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "table/table.h"

namespace scalelab {
namespace {

constexpr int kMlpBaseUnits = 512;
constexpr double kMaxWidth = 64;  // far beyond anything a CPU trains; catches 1e9 typed for 1e-9
constexpr int kMaxMlpDepth = 64;
constexpr int kMaxWrnDepth = 6 * 64 + 4;
constexpr int kMaxTransformerDepth = 64;

[[noreturn]] void reject(const std::string& field, const std::string& message) {
  throw InputError("model", 0, field, message);
}

// Output side of a 3x3 convolution with padding 1 (and of a 1x1 with padding 0) at this stride.
int conv_out(int size, int stride) { return (size - 1) / stride + 1; }

}  // namespace

int scaled_units(double base, double width) {
  return std::max(1, static_cast<int>(std::lround(base * width)));
}

int mlp_hidden_units(const ModelSpec& spec) { return scaled_units(kMlpBaseUnits, spec.width); }

std::vector<int> wrn_channels(const ModelSpec& spec) {
  // The stem scales with k too (the original WRN keeps it at 16): at k = 1/16 a fixed stem would
  // hold most of the network and the model axis of the scaling law would barely move.
  const int c1 = scaled_units(16, spec.width);
  return {c1, c1, scaled_units(32, spec.width), scaled_units(64, spec.width)};
}

int wrn_blocks_per_group(const ModelSpec& spec) { return (spec.depth - 4) / 6; }

namespace {

// mlp: depth hidden layers of 512*width units, then a linear classifier.
void mlp_validate(const ModelSpec& spec) {
  if (spec.depth < 1 || spec.depth > kMaxMlpDepth)
    reject("depth", fmt::format("mlp depth {} (hidden layers) is not in [1, {}]", spec.depth, kMaxMlpDepth));
}

std::int64_t mlp_parameters(const ModelSpec& spec) {
  const std::int64_t in = std::int64_t{spec.input_channels} * spec.input_height * spec.input_width;
  const std::int64_t h = mlp_hidden_units(spec);
  return (in * h + h) + (spec.depth - 1) * (h * h + h) + (h * spec.classes + spec.classes);
}

// Every Linear's weight matrix; without ends, only those between hidden layers.
std::int64_t mlp_prunable(const ModelSpec& spec, bool ends) {
  const std::int64_t in = std::int64_t{spec.input_channels} * spec.input_height * spec.input_width;
  const std::int64_t h = mlp_hidden_units(spec);
  const std::int64_t inner = (spec.depth - 1) * h * h;
  return ends ? in * h + inner + h * spec.classes : inner;
}

double mlp_flops(const ModelSpec& spec) {
  const double in = double(spec.input_channels) * spec.input_height * spec.input_width;
  const double h = mlp_hidden_units(spec);
  const double macs = in * h + (spec.depth - 1) * h * h + h * spec.classes;
  return 2 * macs;
}

// wrn: WRN-(6n+4)-k.
void wrn_validate(const ModelSpec& spec) {
  if (spec.depth < 10 || spec.depth > kMaxWrnDepth || (spec.depth - 4) % 6 != 0)
    reject("depth", fmt::format("wrn depth {} is not 6n+4 with n >= 1 (10, 16, 22, 28, ...)", spec.depth));
}

std::int64_t wrn_parameters(const ModelSpec& spec) {
  // Convolutions have no bias (batch norm follows each); batch norm has a weight and a bias a channel.
  const auto c = wrn_channels(spec);
  const int blocks = wrn_blocks_per_group(spec);
  std::int64_t n = std::int64_t{spec.input_channels} * c[0] * 9;  // stem
  std::int64_t in = c[0];
  for (int g = 0; g < 3; ++g) {
    const std::int64_t out = c[g + 1];
    for (int b = 0; b < blocks; ++b) {
      const int stride = (b == 0 && g > 0) ? 2 : 1;
      n += 2 * in + in * out * 9 + 2 * out + out * out * 9;
      if (in != out || stride != 1) n += in * out;  // 1x1 projection shortcut
      in = out;
    }
  }
  n += 2 * in;                                  // final batch norm
  n += in * spec.classes + spec.classes;        // classifier
  return n;
}

// Every convolution kernel (stem, both of each block, 1x1 shortcuts) and the classifier's weight;
// without ends, neither the stem nor the classifier.
std::int64_t wrn_prunable(const ModelSpec& spec, bool ends) {
  const auto c = wrn_channels(spec);
  const int blocks = wrn_blocks_per_group(spec);
  std::int64_t n = 0;
  std::int64_t in = c[0];
  for (int g = 0; g < 3; ++g) {
    const std::int64_t out = c[g + 1];
    for (int b = 0; b < blocks; ++b) {
      const int stride = (b == 0 && g > 0) ? 2 : 1;
      n += in * out * 9 + out * out * 9;
      if (in != out || stride != 1) n += in * out;
      in = out;
    }
  }
  if (ends) n += std::int64_t{spec.input_channels} * c[0] * 9 + in * spec.classes;
  return n;
}

double wrn_flops(const ModelSpec& spec) {
  double macs = 0;
  const auto c = wrn_channels(spec);
  const int blocks = wrn_blocks_per_group(spec);
  int height = spec.input_height, width = spec.input_width;
  macs += double(height) * width * spec.input_channels * c[0] * 9;  // stem
  double in = c[0];
  for (int g = 0; g < 3; ++g) {
    const double out = c[g + 1];
    for (int b = 0; b < blocks; ++b) {
      const int stride = (b == 0 && g > 0) ? 2 : 1;
      height = conv_out(height, stride);
      width = conv_out(width, stride);
      const double pixels = double(height) * width;
      macs += pixels * (in * out * 9 + out * out * 9);
      if (in != out || stride != 1) macs += pixels * in * out;
      in = out;
    }
  }
  macs += in * spec.classes;  // global average pooling leaves one value a channel
  return 2 * macs;
}

// transformer: depth pre-norm blocks of causal self-attention and a 4d MLP, final layer norm, tied output.
void transformer_validate(const ModelSpec& spec) {
  if (spec.depth < 1 || spec.depth > kMaxTransformerDepth)
    reject("depth", fmt::format("transformer depth {} (blocks) is not in [1, {}]", spec.depth, kMaxTransformerDepth));
}

std::int64_t transformer_non_embedding(const ModelSpec& spec) {
  const std::int64_t d = transformer_d_model(spec);
  // Per block: 2 layer norms (2d each), qkv (3d^2 + 3d), output projection (d^2 + d), MLP (8d^2 + 5d).
  return spec.depth * (12 * d * d + 13 * d) + 2 * d;  // and the final layer norm
}

std::int64_t transformer_parameters(const ModelSpec& spec) {
  const std::int64_t d = transformer_d_model(spec);
  return transformer_non_embedding(spec) + std::int64_t{spec.classes} * d + std::int64_t{spec.input_width} * d;
}

// The weight matrices of the blocks; with ends, the (tied) token embedding too.
std::int64_t transformer_prunable(const ModelSpec& spec, bool ends) {
  const std::int64_t d = transformer_d_model(spec);
  return spec.depth * 12 * d * d + (ends ? std::int64_t{spec.classes} * d : 0);
}

double transformer_flops(const ModelSpec& spec) { return transformer_flops_per_token(spec) * spec.input_width; }

}  // namespace

int transformer_d_model(const ModelSpec& spec) {
  const int d = scaled_units(64.0 / kTransformerHeadDim, spec.width) * kTransformerHeadDim;
  return d;
}

double transformer_flops_per_token(const ModelSpec& spec) {
  const double d = transformer_d_model(spec), t = spec.input_width;
  return 2 * (spec.depth * (12 * d * d + 2 * t * d) + double(spec.classes) * d);
}

double transformer_flops_per_token_at(double non_embedding, int depth, int context, int vocab) {
  // 12 L d^2 + (13 L + 2) d - N = 0, the positive root.
  const double a = 12.0 * depth, b = 13.0 * depth + 2;
  const double d = (-b + std::sqrt(b * b + 4 * a * non_embedding)) / (2 * a);
  return 2 * (depth * (12 * d * d + 2.0 * context * d) + double(vocab) * d);
}

// The registry. The first entry is the default family (ModelSpec::family). A function's static, so
// that a ModelSpec made during static initialisation finds it built.
const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = {
      {"mlp", "x512 units", "hidden layers", 2, mlp_validate, mlp_parameters, mlp_flops, mlp_prunable, nullptr},
      {"wrn", "k, x16/32/64 channels", "6n+4 (10, 16, ...)", 10, wrn_validate, wrn_parameters, wrn_flops,
       wrn_prunable, nullptr},
      {"transformer", "d_model 64 x width, in multiples of 16", "blocks", 2, transformer_validate,
       transformer_parameters, transformer_flops, transformer_prunable, transformer_non_embedding},
  };
  return families;
}

std::string_view default_model_family() { return model_families().front().name; }

const ModelFamily* find_model_family(std::string_view name) {
  for (const auto& f : model_families())
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> model_family_names() {
  std::vector<std::string> names;
  for (const auto& f : model_families()) names.emplace_back(f.name);
  return names;
}

std::string model_family_list() { return fmt::format("{}", fmt::join(model_family_names(), ", ")); }

void validate(const ModelSpec& spec) {
  const ModelFamily* family = find_model_family(spec.family);
  if (!family)
    reject("model", fmt::format("unknown model family '{}' (expected {})", spec.family,
                                fmt::join(model_family_names(), " or ")));
  if (!std::isfinite(spec.width) || spec.width <= 0 || spec.width > kMaxWidth)
    reject("width", fmt::format("width factor {} is not in (0, {}]", spec.width, kMaxWidth));
  if (spec.input_channels < 1 || spec.input_height < 1 || spec.input_width < 1)
    reject("input", "input channels, height and width must be positive");
  // A classifier needs two classes; a regression dataset (data/dataset.h Task) has one output or more.
  if (spec.classes < 1) reject("classes", fmt::format("{} outputs; need at least 1", spec.classes));
  family->validate(spec);
}

std::int64_t parameter_count(const ModelSpec& spec) {
  validate(spec);
  return find_model_family(spec.family)->parameter_count(spec);
}

double forward_flops(const ModelSpec& spec) {
  validate(spec);
  return find_model_family(spec.family)->forward_flops(spec);
}

std::int64_t non_embedding_parameter_count(const ModelSpec& spec) {
  validate(spec);
  const ModelFamily& family = *find_model_family(spec.family);
  return family.non_embedding_parameters ? family.non_embedding_parameters(spec) : family.parameter_count(spec);
}

std::int64_t prunable_weights(const ModelSpec& spec, bool ends) {
  validate(spec);
  return find_model_family(spec.family)->prunable_weights(spec, ends);
}

}  // namespace scalelab
