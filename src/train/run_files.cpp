#include "train/run_files.h"

#include <cmath>
#include <set>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "store/yaml_input.h"
#include "table/table.h"

namespace scalelab {
namespace {

// One YAML scalar, read as the type of the field it fills; InputError names file, line and key.
class Reader {
 public:
  Reader(const YAML::Node& node, std::string source, std::string key)
      : node_(node), source_(std::move(source)), key_(std::move(key)) {}

  std::string text() const {
    if (!node_.IsScalar()) fail("is not a single value");
    return node_.Scalar();
  }
  double number() const {
    const std::string t = text();
    try {
      std::size_t used = 0;
      const double v = std::stod(t, &used);
      if (used == t.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail(fmt::format("'{}' is not a number", t));
  }
  std::int64_t integer() const {
    const double v = number();
    if (v != std::floor(v) || std::abs(v) > 9e15) fail(fmt::format("{} is not a whole number", text()));
    return static_cast<std::int64_t>(v);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw InputError(source_, node_.Mark().line + 1, key_, message);
  }
  YAML::Node node_;
  std::string source_, key_;
};

}  // namespace

TrainConfig parse_hparams(std::string_view yaml, const std::string& source, int* threads) {
  // One document, no repeated or non-scalar key: the same reading as the sweep's (store/yaml_input.h).
  YAML::Node root = load_one_document(std::string(yaml), source);
  if (root.IsNull()) return {};
  if (!root.IsMap()) throw InputError(source, 1, "", "expected a map of hyperparameters");

  TrainConfig c;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const Reader value(entry.second, source, key);
    if (key == "dataset") c.dataset = value.text();
    else if (key == "model") c.model.family = value.text();
    else if (key == "width") c.model.width = value.number();
    else if (key == "depth") c.model.depth = int(value.integer());
    else if (key == "data_fraction") c.data_fraction = value.number();
    else if (key == "data_count") c.data_count = value.integer();
    else if (key == "seed") c.seed = std::uint64_t(value.integer());
    else if (key == "epochs") c.epochs = int(value.integer());
    else if (key == "batch_size") c.batch_size = int(value.integer());
    else if (key == "lr") c.lr = value.number();
    else if (key == "momentum") c.momentum = value.number();
    else if (key == "weight_decay") c.weight_decay = value.number();
    else if (key == "schedule") c.schedule = value.text();
    else if (key == "val_count") c.val_count = value.integer();
    else if (key == "early_stopping") c.early_stopping = int(value.integer());
    else if (key == "device") c.device = value.text();
    else if (key == "threads") {
      if (threads) *threads = int(value.integer());
    } else {
      // A typo must not train a default silently.
      throw InputError(source, entry.first.Mark().line + 1, key,
                       "unknown hyperparameter (see docs/run-directory.md for the keys)");
    }
  }
  return c;
}

TrainConfig read_hparams(const std::filesystem::path& path, int* threads) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path.string(), 0, "", "file not found");
  return parse_hparams(read_file(path), path.string(), threads);
}

namespace {

nlohmann::ordered_json hparams_object(const TrainConfig& c) {
  nlohmann::ordered_json h;
  h["dataset"] = c.dataset;
  h["model"] = c.model.family;
  h["width"] = c.model.width;
  h["depth"] = c.model.depth;
  if (c.data_count) h["data_count"] = *c.data_count;
  else h["data_fraction"] = c.data_fraction.value_or(1.0);
  h["seed"] = c.seed;
  h["epochs"] = c.epochs;
  h["batch_size"] = c.batch_size;
  h["lr"] = c.lr;
  h["momentum"] = c.momentum;
  h["weight_decay"] = c.weight_decay;
  h["schedule"] = c.schedule;
  h["val_count"] = c.val_count;
  h["early_stopping"] = c.early_stopping;
  h["device"] = c.device;
  return h;
}

// A number that JSON can hold: non-finite values become null.
nlohmann::ordered_json finite(double v) { return std::isfinite(v) ? nlohmann::ordered_json(v) : nullptr; }

nlohmann::ordered_json epoch_object(const EpochMetrics& e) {
  nlohmann::ordered_json j;
  j["epoch"] = e.epoch;
  j["train_loss"] = finite(e.train_loss);
  j["train_error"] = finite(e.train_error);
  j["val_error"] = finite(e.val_error);
  j["val_loss"] = finite(e.val_loss);
  j["test_error"] = finite(e.test_error);
  j["test_loss"] = finite(e.test_loss);
  j["lr"] = finite(e.lr);
  j["wall_s"] = finite(e.wall_s);
  j["samples_per_s"] = finite(e.samples_per_s);
  return j;
}

}  // namespace

std::string hparams_yaml(const TrainConfig& config) {
  std::string out;
  const auto object = hparams_object(config);  // items() refers into it: keep it alive
  for (const auto& [key, value] : object.items()) {
    out += key + ": ";
    out += value.is_string() ? value.get<std::string>()
           : value.is_number_float() ? format_number(value.get<double>())
                                     : value.dump();
    out += '\n';
  }
  return out;
}

std::string metrics_jsonl(const std::vector<EpochMetrics>& history) {
  std::string out;
  for (const auto& e : history) out += epoch_object(e).dump() + '\n';
  return out;
}

std::string result_json(const TrainConfig& config, const RunResult& r) {
  nlohmann::ordered_json j;
  j["status"] = r.status;
  j["hparams"] = hparams_object(config);
  j["params"] = r.params;
  j["train_samples"] = r.train_samples;
  j["epochs_run"] = r.epochs_run;
  j["best_epoch"] = r.best_epoch;
  // The run's numbers are those of the best validation epoch; null if no epoch completed.
  auto at_best = [&](double EpochMetrics::*field) { return r.best ? finite((*r.best).*field) : nullptr; };
  j["test_error"] = at_best(&EpochMetrics::test_error);
  j["test_loss"] = at_best(&EpochMetrics::test_loss);
  j["val_error"] = at_best(&EpochMetrics::val_error);
  j["val_loss"] = at_best(&EpochMetrics::val_loss);
  j["train_loss"] = at_best(&EpochMetrics::train_loss);
  j["train_error"] = at_best(&EpochMetrics::train_error);
  j["wall_s"] = r.wall_s;
  if (r.diverged_at_epoch) j["diverged_at_epoch"] = *r.diverged_at_epoch;
  return j.dump(2) + '\n';
}

}  // namespace scalelab
