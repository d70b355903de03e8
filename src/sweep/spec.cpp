#include "sweep/spec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "models/spec.h"

namespace scalelab {

namespace {

// What a hyperparameter may hold. The worker checks again; checking here names the spec's line.
struct Rule {
  enum Type { integer, real, word } type;
  double lo = -INFINITY, hi = INFINITY;
  bool lo_open = false;
  std::vector<std::string> words = {};  // allowed words; empty: any
};

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> r = {
      {"dataset", {Rule::word}},
      {"model", {Rule::word, 0, 0, false, {"mlp", "wrn"}}},
      {"width", {Rule::real, 0, INFINITY, true}},
      {"depth", {Rule::integer, 1}},
      {"data_fraction", {Rule::real, 0, 1, true}},
      {"data_count", {Rule::integer, 1}},
      {"seed", {Rule::integer, 0}},
      {"epochs", {Rule::integer, 1}},
      {"batch_size", {Rule::integer, 1}},
      {"lr", {Rule::real, 0, INFINITY, true}},
      {"momentum", {Rule::real, 0, 1}},
      {"weight_decay", {Rule::real, 0}},
      {"schedule", {Rule::word, 0, 0, false, {"cosine", "step"}}},
      {"val_count", {Rule::integer, 0}},
      {"early_stopping", {Rule::integer, 0}},
      {"device", {Rule::word, 0, 0, false, {"cpu", "cuda"}}},
  };
  return r;
}

const std::set<std::string> kTopLevel = {"name",      "description", "dataset", "model",    "fixed", "grid",
                                         "min_steps", "train_size",  "fit_where", "fit_cells", "law", "eps0"};

// The worker's default validation split (TrainConfig::val_count), when the spec leaves it out.
constexpr double kWorkerValCount = 5000;

// Training-set sizes of the datasets the worker knows, before the validation split.
double default_train_size(const std::string& dataset) { return dataset == "fashion-mnist" ? 60000 : 0; }
double default_test_size(const std::string& dataset) { return dataset == "fashion-mnist" ? 10000 : 0; }

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field, const std::string& message) const {
    throw InputError(source_, node.Mark().line + 1, field, message);
  }

  std::string scalar(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) fail(node, field, "expected a single value");
    return node.Scalar();
  }

  double number(const YAML::Node& node, const std::string& field) const {
    Hparams h;
    h.set("v", scalar(node, field));
    double v = h.number("v");
    if (std::isnan(v)) fail(node, field, fmt::format("expected a number, got '{}'", node.Scalar()));
    return v;
  }

  // A hyperparameter's value, checked against its rule; returns the text Hparams will hold.
  std::string hparam(const YAML::Node& node, const std::string& key) const {
    auto it = rules().find(key);
    if (it == rules().end()) {
      std::vector<std::string> known;
      for (const auto& [k, _] : rules()) known.push_back(k);
      fail(node, key, fmt::format("unknown hyperparameter (known: {})", fmt::join(known, ", ")));
    }
    const Rule& rule = it->second;
    if (rule.type == Rule::word) {
      auto text = scalar(node, key);
      if (text.empty()) fail(node, key, "must not be empty");
      if (!rule.words.empty() && std::find(rule.words.begin(), rule.words.end(), text) == rule.words.end())
        fail(node, key, fmt::format("'{}' is not one of {}", text, fmt::join(rule.words, ", ")));
      return text;
    }
    double v = number(node, key);
    if (rule.type == Rule::integer && v != std::floor(v)) fail(node, key, "must be a whole number");
    bool below = rule.lo_open ? v <= rule.lo : v < rule.lo;
    if (below || v > rule.hi) {
      std::string range = std::isinf(rule.hi) ? fmt::format("{} {}", rule.lo_open ? ">" : ">=", rule.lo)
                                               : fmt::format("in {}{}, {}]", rule.lo_open ? "(" : "[", rule.lo, rule.hi);
      fail(node, key, fmt::format("{} is out of range: must be {}", node.Scalar(), range));
    }
    Hparams h;
    h.set("v", v);
    return h.text("v");
  }

 private:
  std::string source_;
};

}  // namespace

std::vector<std::string> cell_keys(const SweepSpec& spec) {
  std::vector<std::string> keys;
  for (const auto& axis : spec.grid)
    if (axis.name != "seed") keys.push_back(axis.name);
  return keys;
}

SweepSpec parse_spec(const std::string& yaml, const std::string& source) {
  Parser p(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw InputError(source, e.mark.line + 1, "", "not valid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw InputError(source, root.Mark().line + 1, "", "a sweep spec is a map (name:, grid:, ...)");

  SweepSpec spec;
  spec.source = source;
  spec.text = yaml;
  for (const auto& item : root) {
    auto key = item.first.as<std::string>();
    if (!kTopLevel.count(key))
      p.fail(item.first, key, fmt::format("unknown field (fields: {})", fmt::join(kTopLevel, ", ")));
  }
  auto required = [&](const char* key) {
    if (!root[key]) throw InputError(source, root.Mark().line + 1, key, "missing");
    return root[key];
  };

  spec.name = p.scalar(required("name"), "name");
  if (spec.name.empty() || spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                               std::string::npos)
    p.fail(root["name"], "name", "use letters, digits, '_', '.' and '-'");
  spec.fixed.set("dataset", p.hparam(required("dataset"), "dataset"));
  spec.fixed.set("model", p.hparam(required("model"), "model"));

  if (auto fixed = root["fixed"]) {
    if (!fixed.IsMap()) p.fail(fixed, "fixed", "expected a map of hyperparameters");
    for (const auto& item : fixed) {
      auto key = item.first.as<std::string>();
      if (key == "dataset" || key == "model") p.fail(item.first, key, "set at the top level of the spec");
      spec.fixed.set(key, p.hparam(item.second, key));
    }
  }

  auto grid = required("grid");
  if (!grid.IsMap()) p.fail(grid, "grid", "expected a map of axis -> list of values");
  for (const auto& item : grid) {
    auto key = item.first.as<std::string>();
    const auto& values = item.second;
    if (spec.fixed.has(key)) p.fail(item.first, "grid." + key, "also set as a fixed hyperparameter");
    if (!values.IsSequence() || values.size() == 0) p.fail(values, "grid." + key, "expected a non-empty list, e.g. [0.25, 0.5]");
    if (spec.axis(key)) p.fail(item.first, "grid." + key, "listed twice");
    auto& axis = spec.grid.emplace_back(SweepSpec::Axis{key, {}}).values;
    for (const auto& v : values) {
      auto text = p.hparam(v, key);
      if (std::find(axis.begin(), axis.end(), text) != axis.end()) p.fail(v, "grid." + key, "value listed twice: " + text);
      axis.push_back(text);
    }
  }
  for (const char* key : {"width", "depth"})
    if (!spec.axis(key) && !spec.fixed.has(key))
      throw InputError(source, grid.Mark().line + 1, fmt::format("grid.{}", key), "missing (in grid: or fixed:)");
  bool has_fraction = spec.axis("data_fraction") || spec.fixed.has("data_fraction");
  bool has_count = spec.axis("data_count") || spec.fixed.has("data_count");
  if (has_fraction == has_count)
    throw InputError(source, grid.Mark().line + 1, "grid.data_fraction", "give exactly one of data_fraction and data_count");
  if (!spec.axis("seed") && !spec.fixed.has("seed")) spec.fixed.set("seed", 0.0);

  if (auto n = root["min_steps"]) {
    double v = p.number(n, "min_steps");
    if (v < 0 || v != std::floor(v)) p.fail(n, "min_steps", "must be a whole number >= 0");
    spec.min_steps = static_cast<int>(v);
    if (!spec.fixed.has("batch_size") && !spec.axis("batch_size"))
      p.fail(n, "min_steps", "needs batch_size (in fixed:) to turn steps into epochs");
  }
  if (!spec.fixed.has("epochs") && !spec.axis("epochs"))
    throw InputError(source, root.Mark().line + 1, "fixed.epochs", "missing");
  spec.train_size = default_train_size(spec.fixed.text("dataset"));
  if (auto n = root["train_size"]) {
    spec.train_size = p.number(n, "train_size");
    if (spec.train_size < 1) p.fail(n, "train_size", "must be >= 1");
  }
  // The worker takes the validation set out of the training set first; data_fraction is of the rest.
  double val_count = spec.fixed.has("val_count") ? spec.fixed.number("val_count") : kWorkerValCount;
  if (spec.train_size > 0) spec.train_size -= val_count;
  spec.eval_samples = val_count + default_test_size(spec.fixed.text("dataset"));
  if (has_fraction && spec.train_size <= 0)
    throw InputError(source, root.Mark().line + 1, "train_size",
                     "unknown for dataset '" + spec.fixed.text("dataset") + "': give train_size");

  // Fit set.
  if (root["fit_where"] && root["fit_cells"]) p.fail(root["fit_cells"], "fit_cells", "give fit_where or fit_cells, not both");
  if (auto w = root["fit_where"]) {
    try {
      spec.fit_where = Predicate::parse(p.scalar(w, "fit_where"), source);
    } catch (const InputError& e) {
      p.fail(w, "fit_where", e.message());
    }
    std::set<std::string> allowed = {"m", "n"};
    for (const auto& axis : spec.grid) allowed.insert(axis.name);
    for (const auto& [k, _] : spec.fixed.values()) allowed.insert(k);
    for (const auto& name : spec.fit_where->names())
      if (!allowed.count(name)) p.fail(w, "fit_where", fmt::format("unknown name '{}' (names: {})", name, fmt::join(allowed, ", ")));
  }
  if (auto cells = root["fit_cells"]) {
    if (!cells.IsSequence() || cells.size() == 0) p.fail(cells, "fit_cells", "expected a list of cells, e.g. [{width: 0.25, data_fraction: 0.5}]");
    auto keys = cell_keys(spec);
    for (const auto& cell : cells) {
      if (!cell.IsMap()) p.fail(cell, "fit_cells", "expected a map such as {width: 0.25, data_fraction: 0.5}");
      Hparams h;
      for (const auto& item : cell) {
        auto key = item.first.as<std::string>();
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
          p.fail(item.first, "fit_cells." + key, fmt::format("not a grid axis (axes: {})", fmt::join(keys, ", ")));
        auto text = p.hparam(item.second, key);
        const auto& axis = spec.axis(key)->values;
        if (std::find(axis.begin(), axis.end(), text) == axis.end())
          p.fail(item.second, "fit_cells." + key, fmt::format("{} is not on the grid ({})", text, fmt::join(axis, ", ")));
        h.set(key, text);
      }
      spec.fit_cells.push_back(h);
    }
  }
  if (auto law = root["law"]) spec.law = p.scalar(law, "law"), spec.law_line = law.Mark().line + 1;
  if (auto eps0 = root["eps0"]) {
    spec.eps0 = p.number(eps0, "eps0");
    if (spec.eps0 <= 0) p.fail(eps0, "eps0", "must be > 0 (the random-guess error, e.g. 0.9 for 10 classes)");
  }

  // Every model on the grid must exist; report the axis line that asks for an impossible one.
  try {
    expand(spec);
  } catch (const InputError& e) {
    auto at = grid[e.field()] ? grid[e.field()] : grid;
    p.fail(at, "grid." + e.field(), e.message());
  }
  if (spec.has_fit()) {
    auto runs = expand(spec);
    auto fitted = std::count_if(runs.begin(), runs.end(), [](const PlannedRun& r) { return r.in_fit; });
    auto node = root["fit_where"] ? root["fit_where"] : root["fit_cells"];
    if (fitted == 0) p.fail(node, node == root["fit_where"] ? "fit_where" : "fit_cells", "selects no run of the grid");
  }
  return spec;
}

SweepSpec load_spec(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw InputError(file.string(), 0, "", "no such file");
  return parse_spec(read_file(file), file.string());
}

std::vector<PlannedRun> expand(const SweepSpec& spec) {
  std::vector<PlannedRun> runs;
  std::vector<std::pair<std::string, const std::vector<std::string>*>> axes;
  for (const auto& axis : spec.grid) axes.emplace_back(axis.name, &axis.values);
  auto keys = cell_keys(spec);

  std::vector<std::size_t> index(axes.size(), 0);
  while (true) {
    PlannedRun run;
    run.hparams = spec.fixed;
    for (std::size_t a = 0; a < axes.size(); ++a) run.hparams.set(axes[a].first, (*axes[a].second)[index[a]]);
    for (const auto& key : keys) run.cell += (run.cell.empty() ? "" : " ") + key + "=" + run.hparams.text(key);

    Hparams& h = run.hparams;
    run.train_samples = h.has("data_count") ? h.number("data_count")
                                            : std::max(1.0, std::round(h.number("data_fraction") * spec.train_size));
    if (spec.min_steps > 0) {
      double steps_per_epoch = std::ceil(run.train_samples / h.number("batch_size"));
      double epochs = std::max(h.number("epochs"), std::ceil(spec.min_steps / steps_per_epoch));
      h.set("epochs", epochs);
    }
    ModelSpec model;
    model.family = h.text("model");
    model.width = h.number("width");
    model.depth = static_cast<int>(h.number("depth"));
    validate(model);  // InputError naming width or depth
    run.params = static_cast<double>(parameter_count(model));
    run.cost = forward_flops(model) * h.number("epochs") * (3 * run.train_samples + spec.eval_samples);

    auto lookup = [&](std::string_view name) {
      if (name == "m") return run.train_samples;
      if (name == "n") return run.params;
      return h.number(name);
    };
    if (spec.fit_where) run.in_fit = (*spec.fit_where)(lookup);
    for (const auto& cell : spec.fit_cells) {
      bool match = std::all_of(cell.values().begin(), cell.values().end(),
                               [&](const auto& kv) { return h.text(kv.first) == kv.second; });
      run.in_fit = run.in_fit || match;
    }
    runs.push_back(std::move(run));

    std::size_t a = axes.size();
    while (a > 0) {  // odometer over the axes
      --a;
      if (++index[a] < axes[a].second->size()) break;
      index[a] = 0;
      if (a == 0) return runs;
    }
    if (axes.empty()) return runs;
  }
}

}  // namespace scalelab
