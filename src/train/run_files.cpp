#include "train/run_files.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <set>
#include <stdexcept>
#include <type_traits>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "store/hparam_schema.h"
#include "store/yaml_input.h"
#include "train/config_fields.h"
#include "table/table.h"

namespace scalelab {
namespace {

// One value's text, read as the type of the member it fills; InputError names file, line and key.
class Reader {
 public:
  Reader(std::string text, std::string source, int line, std::string key)
      : text_(std::move(text)), source_(std::move(source)), line_(line), key_(std::move(key)) {}

  const std::string& text() const { return text_; }
  double number() const {
    try {
      std::size_t used = 0;
      const double v = std::stod(text_, &used);
      if (used == text_.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    fail(fmt::format("'{}' is not a number", text_));
  }
  std::int64_t integer() const {
    // Exact when written as an integer (a seed up to 2^63 - 1); otherwise through a double, up to 9e15.
    std::int64_t exact = 0;
    const char* end = text_.data() + text_.size();
    if (auto [ptr, ec] = std::from_chars(text_.data(), end, exact); ec == std::errc() && ptr == end) return exact;
    const double v = number();
    if (v != std::floor(v) || std::abs(v) > 9e15) fail(fmt::format("{} is not a whole number", text_));
    return static_cast<std::int64_t>(v);
  }

  // Assigns the member, whatever its type (config_fields.h).
  void into(std::string& m) const { m = text(); }
  void into(double& m) const { m = number(); }
  void into(std::optional<double>& m) const { m = number(); }
  void into(std::int64_t& m) const { m = integer(); }
  void into(std::optional<std::int64_t>& m) const { m = integer(); }
  void into(std::uint64_t& m) const { m = std::uint64_t(integer()); }  // a negative wraps; validate() says so
  void into(int& m) const {
    const std::int64_t v = integer();
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(fmt::format("{} is out of range", text_));
    m = int(v);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const { throw InputError(source_, line_, key_, message); }
  std::string text_, source_;
  int line_;
  std::string key_;
};

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

}  // namespace

void set_hparam(TrainConfig& c, std::string_view key, const std::string& text, const std::string& source, int line) {
  if (!find_hparam(key)) throw InputError(source, line, std::string(key), "unknown hyperparameter (see docs/run-directory.md for the keys)");
  const Reader value(text, source, line, std::string(key));
  bool bound = false;
  for_each_field(c, [&](std::string_view name, auto& member) {
    if (name == key) value.into(member), bound = true;
  });
  if (!bound) throw std::logic_error(fmt::format("hyperparameter '{}' has no TrainConfig member (train/config_fields.h)", key));
}

void clear_hparam(TrainConfig& c, std::string_view key) {
  for_each_field(c, [&](std::string_view name, auto& member) {
    if (name != key) return;
    if constexpr (is_optional<std::decay_t<decltype(member)>>::value) member.reset();
  });
}

void validate(const TrainConfig& c) {
  auto reject = [](std::string_view field, const std::string& message) {
    throw InputError("hparams", 0, std::string(field), message);
  };
  // Every member against its schema row: the same ranges and words as the sweep spec's.
  for_each_field(c, [&](std::string_view name, const auto& member) {
    const HparamRow& row = *find_hparam(name);
    auto check = [&](const auto& value) {
      using V = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<V, std::string>) {
        if (auto problem = hparam_word_problem(row, value); !problem.empty()) reject(name, problem);
      } else {
        // Seeds are read as signed 64-bit numbers (flags, hparams.yaml): a larger one is a negative that
        // wrapped (--seed -1 became 2^64 - 1), and is out of the row's range.
        if (auto problem = hparam_number_problem(row, static_cast<double>(value), INFINITY, fmt::format("{}", value));
            !problem.empty())
          reject(name, fmt::format("{} {}", name, problem));
      }
    };
    if constexpr (is_optional<std::decay_t<decltype(member)>>::value) {
      if (member) check(*member);
    } else {
      check(member);
    }
  });
  // What no single row can say.
  if (c.val_count == 0 && c.early_stopping > 0)
    reject("early_stopping", "early stopping watches the validation error: it needs val_count >= 1");
  if (c.data_fraction && c.data_count) reject("data_fraction", "give data_fraction or data_count, not both");
  validate(c.model);
}

TrainConfig parse_hparams(std::string_view yaml, const std::string& source, int* threads) {
  // One document, no repeated or non-scalar key: the same reading as the sweep's (store/yaml_input.h).
  YAML::Node root = load_one_document(std::string(yaml), source);
  if (root.IsNull()) return {};
  if (!root.IsMap()) throw InputError(source, 1, "", "expected a map of hyperparameters");

  TrainConfig c;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const int line = entry.second.Mark().line + 1;
    if (!entry.second.IsScalar()) throw InputError(source, line, key, "is not a single value");
    if (key == "threads") {
      if (threads) *threads = int(Reader(entry.second.Scalar(), source, line, key).integer());
      continue;
    }
    // A typo must not train a default silently.
    if (!find_hparam(key))
      throw InputError(source, entry.first.Mark().line + 1, key,
                       "unknown hyperparameter (see docs/run-directory.md for the keys)");
    set_hparam(c, key, entry.second.Scalar(), source, line);
  }
  return c;
}

TrainConfig read_hparams(const std::filesystem::path& path, int* threads) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path.string(), 0, "", "file not found");
  return parse_hparams(read_file(path), path.string(), threads);
}

namespace {

// Every hyperparameter in the schema's order, as JSON of its member's type. A key left out takes its
// default, unless its alternative is given (data_count replaces data_fraction); one without a default
// (data_count) is left out.
nlohmann::ordered_json hparams_object(const TrainConfig& c) {
  std::set<std::string_view> given;
  for_each_field(c, [&](std::string_view name, const auto& member) {
    if constexpr (is_optional<std::decay_t<decltype(member)>>::value) {
      if (member) given.insert(name);
    } else {
      given.insert(name);
    }
  });
  nlohmann::ordered_json h;
  for_each_field(c, [&](std::string_view name, const auto& member) {
    const HparamRow& row = *find_hparam(name);
    using T = std::decay_t<decltype(member)>;
    if constexpr (is_optional<T>::value) {
      if (!row.alternative.empty() && given.count(row.alternative) && !row.default_value.empty()) return;
      if (member) h[std::string(name)] = *member;
      else if (!row.default_value.empty()) {
        typename T::value_type d{};
        Reader(std::string(row.default_value), "hparam_schema", 0, std::string(name)).into(d);
        h[std::string(name)] = d;
      }
    } else {
      h[std::string(name)] = member;
    }
  });
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
  if (r.language_model) {  // the laws' units: n without embeddings, m in tokens; the loss in bits too
    j["non_embedding_params"] = r.non_embedding_params;
    j["train_tokens"] = r.train_tokens;
    j["test_bits_per_byte"] = r.best ? finite(r.best->test_loss / std::numbers::ln2) : nullptr;
  }
  if (r.diverged_at_epoch) j["diverged_at_epoch"] = *r.diverged_at_epoch;
  return j.dump(2) + '\n';
}

}  // namespace scalelab
