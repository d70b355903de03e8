#include "store/hparam_schema.h"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "models/spec.h"
#include "table/table.h"

namespace scalelab {
namespace {

using R = HparamRow;
constexpr std::string_view kSchedules[] = {"cosine", "step"};
constexpr std::string_view kDevices[] = {"cpu", "cuda"};
constexpr std::string_view kOptimizers[] = {"sgd", "adamw"};
constexpr std::string_view kPrecisions[] = {"fp32", "bf16"};
// Seeds are signed 64-bit numbers on the worker's command line (a larger one is a negative that
// wrapped: --seed -1 became 2^64 - 1); the spec and hparams.yaml hold at most kMaxWhole.
constexpr double kMaxSeed = 9223372036854775807.0;

// One row per hyperparameter. Keep docs/run-directory.md's table equal to hparam_doc_table().
constexpr std::array kSchema = {
    R{.name = "dataset", .type = R::word, .default_value = "fashion-mnist",
      .help = "`fashion-mnist`, `synthetic` (10 Gaussian classes of 8x8, for tests) or `gcide-bytes` (bytes of "
              "a dictionary, for language models)",
      .core = true},
    R{.name = "model", .type = R::word, .default_value = "mlp", .registry = model_family_names,
      .help = "model family (models/spec.h's registry): `mlp` (width x 512 units, depth hidden layers) or `wrn`",
      .core = true},
    R{.name = "width", .type = R::real, .default_value = "1", .lo = 0, .hi = 64, .lo_open = true,  // models' kMaxWidth
      .help = "width factor: mlp 512*width units; wrn k, 16k/32k/64k channels (rounded, at least 1)", .core = true},
    R{.name = "depth", .type = R::integer, .default_value = "2", .lo = 1, .hi = 6 * 64 + 4,  // the deepest wrn; mlp: 64
      .help = "mlp: hidden layers; wrn: 6n+4 (10, 16, 22, ...)", .core = true},
    R{.name = "data_fraction", .type = R::real, .default_value = "1", .lo = 0, .hi = 1, .lo_open = true,
      .help = "fraction of the training set left after the validation split", .core = true,
      .alternative = "data_count"},
    R{.name = "data_count", .type = R::integer, .default_value = "", .lo = 1,
      .help = "or an exact number of training examples (not both)", .core = true, .alternative = "data_fraction"},
    R{.name = "seed", .type = R::integer, .default_value = "1", .lo = 0, .hi = kMaxSeed,
      .help = "data subset, initialisation and batch order", .core = true},
    R{.name = "epochs", .type = R::integer, .default_value = "10", .lo = 1, .hi = kMaxEpochs,
      .help = "passes over the training subset", .core = true},
    R{.name = "batch_size", .type = R::integer, .default_value = "128", .lo = 1, .hi = 1e6, .help = "examples per SGD step"},
    R{.name = "lr", .type = R::real, .default_value = "0.05", .lo = 0, .lo_open = true, .help = "peak learning rate of SGD"},
    R{.name = "momentum", .type = R::real, .default_value = "0.9", .lo = 0, .hi = 1, .hi_open = true, .help = "SGD momentum"},
    R{.name = "weight_decay", .type = R::real, .default_value = "0.0005", .lo = 0, .help = "L2, on every parameter"},
    R{.name = "schedule", .type = R::word, .default_value = "cosine", .words = kSchedules,
      .help = "`cosine` (per step, to 0) or `step` (x0.1 at 50% and at 75% of the epochs)"},
    R{.name = "optimizer", .type = R::word, .default_value = "sgd", .words = kOptimizers,
      .help = "`sgd` (with momentum) or `adamw` (betas 0.9, 0.95; weight_decay decoupled, on matrices only)"},
    R{.name = "warmup", .type = R::real, .default_value = "0", .lo = 0, .hi = 1, .hi_open = true,
      .help = "fraction of the steps warming lr up linearly before the cosine (schedule cosine)"},
    R{.name = "val_count", .type = R::integer, .default_value = "5000", .lo = 0,
      .help = "validation examples held out of the training set; 0: none, the last epoch is reported and val "
              "metrics are null"},
    R{.name = "early_stopping", .type = R::integer, .default_value = "0", .lo = 0, .hi = kMaxEpochs,
      .help = "patience in epochs without a better val error; 0 = off (needs val_count >= 1)"},
    R{.name = "device", .type = R::word, .default_value = "cpu", .words = kDevices, .help = "`cpu` or `cuda`"},
    R{.name = "precision", .type = R::word, .default_value = "fp32", .words = kPrecisions,
      .help = "`fp32`, or `bf16`: forward passes under bfloat16 autocast (weights, gradients and SGD stay fp32)"},
    // Iterative magnitude pruning (docs/pruning.md): a run with prune_levels > 0 is a whole trajectory.
    R{.name = "prune_levels", .type = R::integer, .default_value = "0", .lo = 0, .hi = 200,
      .help = "IMP levels after the dense training (level 0), each pruning prune_rate of the remaining "
              "weights; 0 = no pruning"},
    R{.name = "prune_rate", .type = R::real, .default_value = "0.2", .lo = 0, .hi = 1, .lo_open = true,
      .hi_open = true, .help = "fraction of the remaining prunable weights removed per level (density 0.8^k)"},
    R{.name = "prune_rewind", .type = R::real, .default_value = "0.0625", .lo = 0, .hi = 1, .hi_open = true,
      .help = "rewind point as a fraction of the schedule's steps (0.0625: the paper's epoch 10 of 160); 0 = "
              "initialisation"},
    R{.name = "prune_ends", .type = R::integer, .default_value = "1", .lo = 0, .hi = 1,
      .help = "1: the first and the output layer are pruned too (OpenLTH's default); 0: they stay dense"},
};

std::string bound(const HparamRow& row, double v) {
  if (v == kMaxSeed) return "2^63 - 1";
  return row.type == HparamRow::integer && std::abs(v) >= 1e6 ? fmt::format("{:.0f}", v) : format_number(v);
}

}  // namespace

std::span<const HparamRow> hparam_schema() { return kSchema; }

const HparamRow* find_hparam(std::string_view name) {
  for (const auto& row : kSchema)
    if (row.name == name) return &row;
  return nullptr;
}

double hparam_default_number(std::string_view name) {
  const HparamRow* row = find_hparam(name);
  if (!row || row->type == HparamRow::word || row->default_value.empty()) return std::numeric_limits<double>::quiet_NaN();
  return std::stod(std::string(row->default_value));
}

std::string hparam_number_problem(const HparamRow& row, double v, double cap, std::string_view as_written) {
  if (!std::isfinite(v)) return fmt::format("{} is not a finite number", format_number(v));
  if (row.type == HparamRow::integer && v != std::floor(v)) return "must be a whole number";
  const double hi = std::min(row.hi, cap);
  const bool hi_open = row.hi_open && hi == row.hi;
  const bool below = row.lo_open ? !(v > row.lo) : !(v >= row.lo);
  const bool above = hi_open ? !(v < hi) : !(v <= hi);
  if (!below && !above) return "";
  const std::string range =
      std::isinf(hi) ? fmt::format("{} {}", row.lo_open ? ">" : ">=", bound(row, row.lo))
                     : fmt::format("in {}{}, {}{}", row.lo_open ? "(" : "[", bound(row, row.lo), bound(row, hi),
                                   hi_open ? ")" : "]");
  return fmt::format("{} is out of range: must be {}", as_written.empty() ? format_number(v) : std::string(as_written),
                     range);
}

std::vector<std::string> hparam_words(const HparamRow& row) {
  if (row.registry) return row.registry();
  return {row.words.begin(), row.words.end()};
}

std::string hparam_word_problem(const HparamRow& row, std::string_view text) {
  if (text.empty()) return "must not be empty";
  auto words = hparam_words(row);
  if (!words.empty() && std::find(words.begin(), words.end(), text) == words.end())
    return fmt::format("'{}' is not one of {}", text, fmt::join(words, ", "));
  return "";
}

std::string hparam_allowed(const HparamRow& row) {
  if (row.type == HparamRow::word) {
    auto words = hparam_words(row);
    return words.empty() ? "any word" : fmt::format("{}", fmt::join(words, ", "));
  }
  const std::string range =
      std::isinf(row.hi) ? fmt::format("{} {}", row.lo_open ? ">" : ">=", bound(row, row.lo))
                         : fmt::format("in {}{}, {}{}", row.lo_open ? "(" : "[", bound(row, row.lo), bound(row, row.hi),
                                       row.hi_open ? ")" : "]");
  return row.type == HparamRow::integer ? "whole, " + range : range;
}

std::string hparam_flag(const HparamRow& row) {
  std::string flag = "--" + std::string(row.name);
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::string hparam_doc_table() {
  std::string out = "| key | default | allowed | meaning |\n|---|---|---|---|\n";
  for (const auto& row : kSchema) {
    out += fmt::format("| `{}` | {} | {} | {} |\n", row.name, row.default_value, hparam_allowed(row), row.help);
  }
  return out;
}

}  // namespace scalelab
