#include "sweep/spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "data/catalogue.h"
#include "laws/laws.h"
#include "models/spec.h"
#include "store/yaml_input.h"

namespace scalelab {

namespace {

const std::set<std::string> kTopLevel = {"name",      "description", "dataset", "model",    "fixed", "grid",
                                         "min_steps", "train_size",  "fit_where", "fit_cells", "law", "eps0",
                                         "target",    "inputs",      "prune"};

// The worker's default validation split, when the spec leaves it out.
const double kWorkerValCount = hparam_default_number("val_count");

// Training-set sizes of the datasets the worker knows, before the validation split, from the dataset
// catalogue (data/catalogue.h); 0 for a dataset it does not know (the spec then gives train_size).
double default_train_size(const std::string& dataset) {
  const DatasetEntry* entry = find_dataset(dataset);
  return entry ? static_cast<double>(entry->train_size) : 0;
}
double default_test_size(const std::string& dataset) {
  const DatasetEntry* entry = find_dataset(dataset);
  return entry ? static_cast<double>(entry->test_size) : 0;
}

// What a sweep gives a law: each cell's training samples m and parameters n, and the spec's eps0.
const std::set<std::string_view> kSweepInputs = {"m", "n"};
const std::set<std::string_view> kSweepGivens = {"eps0"};

// Limits and counts in messages: 9000000000000000, not 9e+15.
std::string whole(double v) { return fmt::format("{:.0f}", v); }

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

  // A hyperparameter's value, checked against its schema row; returns the text Hparams will hold.
  // Errors name `field` (default: the key itself).
  std::string hparam(const YAML::Node& node, const std::string& key, std::string field = "") const {
    if (field.empty()) field = key;
    const HparamRow* row = find_hparam(key);
    if (!row) {
      std::vector<std::string_view> known;
      for (const auto& r : hparam_schema()) known.push_back(r.name);
      std::sort(known.begin(), known.end());
      fail(node, field, fmt::format("unknown hyperparameter (known: {})", fmt::join(known, ", ")));
    }
    if (row->type == HparamRow::word) {
      auto text = scalar(node, field);
      if (text.empty()) fail(node, field, "must not be empty");
      if (auto problem = hparam_value_problem(text); !problem.empty()) fail(node, field, problem);
      if (auto problem = hparam_word_problem(*row, text); !problem.empty()) fail(node, field, problem);
      return text;
    }
    double v = number(node, field);
    // Whole numbers go through doubles: at most kMaxWhole, so each is exact.
    const double cap = row->type == HparamRow::integer ? kMaxWhole : INFINITY;
    if (auto problem = hparam_number_problem(*row, v, cap, node.Scalar()); !problem.empty()) fail(node, field, problem);
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

namespace {

// A top-level field every spec must give.
YAML::Node required(const YAML::Node& root, const char* key, const std::string& source) {
  if (!root[key]) throw InputError(source, root.Mark().line + 1, key, "missing");
  return root[key];
}

// Where a hyperparameter was given: its grid axis, its `fixed` entry, or the top level.
std::pair<YAML::Node, std::string> where_given(const YAML::Node& root, const std::string& key) {
  const YAML::Node grid = root["grid"];
  if (grid[key]) return {grid[key], "grid." + key};
  if (root["fixed"] && root["fixed"][key]) return {root["fixed"][key], key};
  if (root[key]) return {root[key], key};
  return {root, key};
}

// The spec's own fields, then dataset, model and `fixed`.
void read_fields(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  for (const auto& item : root) {
    auto key = item.first.as<std::string>();
    if (!kTopLevel.count(key))
      p.fail(item.first, key, fmt::format("unknown field (fields: {})", fmt::join(kTopLevel, ", ")));
  }
  spec.name = p.scalar(required(root, "name", spec.source), "name");
  if (spec.name.empty() || spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                               std::string::npos)
    p.fail(root["name"], "name", "use letters, digits, '_', '.' and '-'");
  spec.fixed.set("dataset", p.hparam(required(root, "dataset", spec.source), "dataset"));
  spec.fixed.set("model", p.hparam(required(root, "model", spec.source), "model"));

  if (auto fixed = root["fixed"]) {
    if (!fixed.IsMap()) p.fail(fixed, "fixed", "expected a map of hyperparameters");
    for (const auto& item : fixed) {
      auto key = item.first.as<std::string>();
      if (key == "dataset" || key == "model") p.fail(item.first, key, "set at the top level of the spec");
      spec.fixed.set(key, p.hparam(item.second, key));
    }
  }

}

// The grid's axes, counted before anything is expanded, and the keys every run needs.
void read_grid(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  auto grid = required(root, "grid", spec.source);
  if (!grid.IsMap()) p.fail(grid, "grid", "expected a map of axis -> list of values");
  for (const auto& item : grid) {
    auto key = item.first.as<std::string>();
    const auto& values = item.second;
    if (spec.fixed.has(key)) p.fail(item.first, "grid." + key, "also set as a fixed hyperparameter");
    if (!values.IsSequence() || values.size() == 0) p.fail(values, "grid." + key, "expected a non-empty list, e.g. [0.25, 0.5]");
    if (spec.axis(key)) p.fail(item.first, "grid." + key, "listed twice");
    if (values.size() > kMaxSweepRuns)
      p.fail(values, "grid." + key, fmt::format("{} values: a sweep has at most {} runs", values.size(), whole(kMaxSweepRuns)));
    auto& axis = spec.grid.emplace_back(SweepSpec::Axis{key, {}}).values;
    for (const auto& v : values) {
      auto text = p.hparam(v, key);
      if (std::find(axis.begin(), axis.end(), text) != axis.end()) p.fail(v, "grid." + key, "value listed twice: " + text);
      axis.push_back(text);
    }
  }
  // Counted before anything is expanded: a grid of 10^7 runs must not allocate them to say no.
  {
    double runs = 1;
    std::string product;
    for (const auto& axis : spec.grid) {
      runs *= static_cast<double>(axis.values.size());
      product += fmt::format("{}{} {}", product.empty() ? "" : " x ", axis.values.size(), axis.name);
    }
    if (runs > kMaxSweepRuns)
      p.fail(grid, "grid",
             fmt::format("{} runs ({}) are more than the limit of {} runs a sweep may plan; split it into several sweeps",
                         whole(runs), product, whole(kMaxSweepRuns)));
  }
  for (const char* key : {"width", "depth"})
    if (!spec.axis(key) && !spec.fixed.has(key))
      throw InputError(spec.source, grid.Mark().line + 1, fmt::format("grid.{}", key), "missing (in grid: or fixed:)");
  bool has_fraction = spec.axis("data_fraction") || spec.fixed.has("data_fraction");
  bool has_count = spec.axis("data_count") || spec.fixed.has("data_count");
  if (has_fraction == has_count)
    throw InputError(spec.source, grid.Mark().line + 1, "grid.data_fraction", "give exactly one of data_fraction and data_count");
  if (!spec.axis("seed") && !spec.fixed.has("seed")) spec.fixed.set("seed", 0.0);

}

// `prune: {levels: 10, rate: 0.2, rewind: 0.0625, ends: 1}`: every run is an IMP trajectory. Sets the
// fixed hyperparameters prune_levels, prune_rate, prune_rewind, prune_ends; levels is required, the
// others take the schema's defaults unless `fixed` or a grid axis gives them. A key given here and in
// `fixed` (or `grid`) is an error: one of the two would be silently ignored.
void read_prune(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  const YAML::Node prune = root["prune"];
  if (!prune) return;
  static const std::vector<std::pair<std::string, std::string>> kKeys = {
      {"levels", "prune_levels"}, {"rate", "prune_rate"}, {"rewind", "prune_rewind"}, {"ends", "prune_ends"}};
  if (!prune.IsMap()) p.fail(prune, "prune", "expected a map, e.g. {levels: 10, rate: 0.2, rewind: 0.0625, ends: 1}");
  for (const auto& item : prune) {
    auto key = p.scalar(item.first, "prune");
    if (std::none_of(kKeys.begin(), kKeys.end(), [&](const auto& k) { return k.first == key; }))
      p.fail(item.first, "prune." + key, "unknown field (fields: levels, rate, rewind, ends)");
  }
  if (!prune["levels"]) p.fail(prune, "prune.levels", "missing: the IMP levels after the dense training (e.g. levels: 10)");
  for (const auto& [key, hparam] : kKeys) {
    const YAML::Node node = prune[key];
    const std::string field = "prune." + key;
    if (!node) {
      if (!spec.fixed.has(hparam) && !spec.axis(hparam)) spec.fixed.set(hparam, hparam_default_number(hparam));
      continue;
    }
    if (root["fixed"] && root["fixed"][hparam])
      p.fail(node, field, fmt::format("also given as fixed.{}: give it in one place", hparam));
    if (spec.axis(hparam)) p.fail(node, field, fmt::format("also a grid axis (grid.{}): give it in one place", hparam));
    spec.fixed.set(hparam, p.hparam(node, hparam, field));
  }
  if (spec.fixed.number("prune_levels") < 1)
    p.fail(prune["levels"], "prune.levels", "0 levels prune nothing: give at least 1, or leave the prune section out");
}

// Steps, epochs and the dataset's sizes (with the validation split the worker takes first).
void read_sizes(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  const bool has_fraction = spec.axis("data_fraction") || spec.fixed.has("data_fraction");
  if (auto n = root["min_steps"]) {
    double v = p.number(n, "min_steps");
    if (v < 0 || v != std::floor(v) || v > 1e9)
      p.fail(n, "min_steps", fmt::format("{} is out of range: must be a whole number in [0, 1000000000]", n.Scalar()));
    spec.min_steps = static_cast<int>(v);
    if (!spec.fixed.has("batch_size") && !spec.axis("batch_size"))
      p.fail(n, "min_steps", "needs batch_size (in fixed:) to turn steps into epochs");
  }
  if (!spec.fixed.has("epochs") && !spec.axis("epochs"))
    throw InputError(spec.source, root.Mark().line + 1, "fixed.epochs", "missing");
  spec.dataset_size = default_train_size(spec.fixed.text("dataset"));
  spec.test_size = default_test_size(spec.fixed.text("dataset"));
  if (auto n = root["train_size"]) {
    spec.dataset_size = p.number(n, "train_size");
    if (spec.dataset_size < 1 || spec.dataset_size > kMaxWhole || spec.dataset_size != std::floor(spec.dataset_size))
      p.fail(n, "train_size", fmt::format("{} is out of range: must be a whole number in [1, {}]", n.Scalar(), whole(kMaxWhole)));
  }
  // The worker takes the validation set out of the training set first; data_fraction is of the rest.
  // (With val_count on the grid, these describe the worker's default; expand() uses each run's own.)
  double val_count = spec.fixed.has("val_count") ? spec.fixed.number("val_count") : kWorkerValCount;
  spec.train_size = spec.dataset_size > 0 ? spec.dataset_size - val_count : 0;
  spec.eval_samples = val_count + spec.test_size;
  if (has_fraction && spec.dataset_size <= 0)
    throw InputError(spec.source, root.Mark().line + 1, "train_size",
                     "unknown for dataset '" + spec.fixed.text("dataset") + "': give train_size");

}

// The fit set: fit_where or fit_cells.
void read_fit_set(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  if (root["fit_where"] && root["fit_cells"]) p.fail(root["fit_cells"], "fit_cells", "give fit_where or fit_cells, not both");
  if (auto w = root["fit_where"]) {
    try {
      spec.fit_where = Predicate::parse(p.scalar(w, "fit_where"), spec.source);
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
}

// The quantities a law input can be fed from in this sweep: m and n, and d, l, w when it prunes.
std::vector<std::pair<std::string_view, std::string_view>> sweep_quantities(const SweepSpec& spec) {
  std::vector<std::pair<std::string_view, std::string_view>> quantities(kSweepQuantities.begin(), kSweepQuantities.end());
  if (spec.prunes()) quantities.insert(quantities.end(), kPruningQuantities.begin(), kPruningQuantities.end());
  return quantities;
}

// The law, eps0 and the law's inputs. The law is fitted to the sweep's cells after training (`scalelab
// demo`, `scalelab fit --sweep`): everything it needs must be something a sweep provides.
const laws::LawInfo& read_law(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  // A pruning sweep's rows are (cell, level) points: the joint pruning law fits them all.
  if (spec.prunes()) spec.law = "pruning2021_joint";
  if (auto law = root["law"]) spec.law = p.scalar(law, "law"), spec.law_line = law.Mark().line + 1;
  if (auto eps0 = root["eps0"]) {
    spec.eps0 = p.number(eps0, "eps0");
    if (spec.eps0 <= 0) p.fail(eps0, "eps0", "must be > 0 (the random-guess error, e.g. 0.9 for 10 classes)");
  }
  // The law is fitted to the sweep's cells after training (`scalelab demo`, `scalelab fit --sweep`):
  // everything it needs must be something a sweep provides, checked now rather than after training.
  const YAML::Node law_node = root["law"] ? root["law"] : root;
  const laws::LawInfo* law = laws::find(spec.law);
  if (!law) {
    std::vector<std::string_view> known;
    for (const auto& l : laws::registry()) known.push_back(l.name);
    p.fail(law_node, "law", fmt::format("unknown law '{}' (laws: {})", spec.law, fmt::join(known, ", ")));
  }
  for (auto given : law->givens)
    if (!kSweepGivens.count(given) && !(spec.prunes() && given == kEpsNpColumn))
      p.fail(law_node, "law",
             fmt::format("law {} needs the given '{}', which a sweep cannot provide (a sweep gives eps0 only); "
                         "fit it to a table whose rows give {}",
                         spec.law, given, given));
  // Each law input is fed by a sweep quantity: `inputs:` says which, or the law's inputs are m and n.
  const auto quantities = sweep_quantities(spec);
  auto quantity_names = [&] {
    std::vector<std::string_view> names;
    for (const auto& [q, column] : quantities) names.push_back(q);
    return fmt::format("{}", fmt::join(names, ", "));
  };
  if (auto inputs = root["inputs"]) {
    if (!inputs.IsMap())
      p.fail(inputs, "inputs", fmt::format("expected a map from the law's inputs ({}) to sweep quantities ({})",
                                           fmt::join(law->inputs, ", "), quantity_names()));
    std::map<std::string, std::string> given;
    for (const auto& item : inputs) {
      auto name = p.scalar(item.first, "inputs");
      if (std::find(law->inputs.begin(), law->inputs.end(), name) == law->inputs.end())
        p.fail(item.first, "inputs." + name,
               fmt::format("law {} has no input '{}' (inputs: {})", spec.law, name, fmt::join(law->inputs, ", ")));
      auto quantity = p.scalar(item.second, "inputs." + name);
      bool known = false;
      for (const auto& [q, column] : quantities) known = known || q == quantity;
      if (!known)
        p.fail(item.second, "inputs." + name,
               fmt::format("'{}' is no sweep quantity (m: training samples, n: parameters{})", quantity,
                           spec.prunes() ? "; d: density, l: depth, w: width" : ""));
      given[name] = quantity;
    }
    for (auto input : law->inputs) {
      auto it = given.find(std::string(input));
      if (it == given.end())
        p.fail(inputs, "inputs",
               fmt::format("law {} needs its input '{}' mapped to a sweep quantity ({})", spec.law, input,
                           quantity_names()));
      spec.inputs.emplace_back(input, it->second);
    }
  } else {
    for (auto input : law->inputs)
      if (!kSweepInputs.count(input) &&
          !(spec.prunes() && std::any_of(quantities.begin(), quantities.end(), [&](auto& q) { return q.first == input; })))
        p.fail(law_node, "law",
               fmt::format("law {} takes the input '{}' ({}), which is no sweep quantity: map each input to m "
                           "(training samples) or n (parameters) with `inputs:`, e.g. inputs: {{{}: m}}",
                           spec.law, input, fmt::join(law->inputs, ", "), input));
    for (auto input : law->inputs) spec.inputs.emplace_back(input, input);
  }
  if (spec.prunes() && std::none_of(spec.inputs.begin(), spec.inputs.end(), [](auto& i) { return i.second == "d"; }))
    p.fail(law_node, "law",
           fmt::format("a pruning sweep's rows are (cell, level) points: law {} must take their density (an input "
                       "mapped to d), e.g. pruning2021_joint (the default) or pruning2021",
                       spec.law));
  return *law;
}

// The target metric.
void read_target(const Parser& p, const YAML::Node& root, SweepSpec& spec) {
  // The target is a numeric field of each run's result.json, not one of its hyperparameters or sizes.
  if (auto target = root["target"]) {
    spec.target = p.scalar(target, "target");
    static const std::set<std::string> kNotMetrics = {"status", "params", "train_samples", "epochs_run",
                                                      "best_epoch", "wall_s", "diverged_at_epoch"};
    bool word = !spec.target.empty() && !std::isdigit(static_cast<unsigned char>(spec.target[0]));
    for (char c : spec.target) word = word && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!word)
      p.fail(target, "target",
             fmt::format("'{}' is not a result.json field name (letters, digits and _, e.g. test_error)", spec.target));
    if (kNotMetrics.count(spec.target) || spec.fixed.has(spec.target) || spec.axis(spec.target))
      p.fail(target, "target",
             fmt::format("'{}' is a run's setting or size, not a measured metric (e.g. test_error, test_loss)",
                         spec.target));
  }

}

// A pruning sweep fits (cell, level) points: a cell of L levels gives L + 1 of them (its seeds averaged).
void check_pruning_points(const Parser& p, const YAML::Node& root, const SweepSpec& spec,
                          const std::vector<PlannedRun>& runs, std::size_t needed) {
  std::map<std::string, int> levels, fitted_levels;
  for (const auto& run : runs) {
    levels[run.cell] = std::max(levels[run.cell], run.prune_levels + 1);
    if (run.in_fit) fitted_levels[run.cell] = std::max(fitted_levels[run.cell], run.prune_levels + 1);
  }
  auto points = [](const std::map<std::string, int>& cells) {
    std::size_t n = 0;
    for (const auto& [cell, count] : cells) n += count;
    return n;
  };
  if (spec.has_fit()) {
    auto node = root["fit_where"] ? root["fit_where"] : root["fit_cells"];
    std::string field = root["fit_where"] ? "fit_where" : "fit_cells";
    if (fitted_levels.empty()) p.fail(node, field, "selects no run of the grid");
    if (points(fitted_levels) < needed)
      p.fail(node, field,
             fmt::format("selects {} cells with {} (cell, level) points, fewer than the {} parameters of {}",
                         fitted_levels.size(), points(fitted_levels), needed, spec.law));
  } else if (points(levels) < needed) {
    p.fail(root["grid"], "grid",
           fmt::format("has {} (cell, level) points, fewer than the {} parameters of {}: no fit could determine them",
                       points(levels), needed, spec.law));
  }
}

// What each run of the grid asks of its model, its dataset and the worker, and whether the fit set can
// determine the law: checked here, for the runs that would otherwise fail after training.
void check_runs(const Parser& p, const YAML::Node& root, const SweepSpec& spec, const laws::LawInfo& law_info) {
  const laws::LawInfo* law = &law_info;
  // Every model on the grid must exist; report the line that asks for an impossible one.
  std::vector<PlannedRun> runs;
  try {
    runs = expand(spec);
  } catch (const InputError& e) {
    auto [node, field] = where_given(root, e.field());
    p.fail(node, field, e.message());
  }

  // What each run asks of its dataset and of the worker, checked here for the runs that would fail.
  for (const auto& run : runs) {
    const Hparams& h = run.hparams;
    const double val = h.has("val_count") ? h.number("val_count") : kWorkerValCount;
    auto fail_at = [&](const std::string& key, const std::string& message) {
      auto [node, field] = where_given(root, key);
      p.fail(node, field, fmt::format("{} (run {}, seed {})", message, run.cell, h.text("seed")));
    };
    if (h.has("early_stopping") && h.number("early_stopping") > 0 && val == 0)
      fail_at("early_stopping", "early stopping watches the validation error: it needs val_count >= 1, and val_count is 0");
    if (spec.dataset_size > 0) {
      const double available = spec.dataset_size - val;
      if (available < 1)
        fail_at("val_count", fmt::format("{} validation examples leave none of the {} training examples of {}",
                                         whole(val), whole(spec.dataset_size), h.text("dataset")));
      if (h.has("data_count") && h.number("data_count") > available)
        fail_at("data_count", fmt::format("{} is more than the {} training examples {} has after the validation split "
                                          "({} - val_count {})",
                                          h.text("data_count"), whole(available), h.text("dataset"),
                                          whole(spec.dataset_size), whole(val)));
      if (h.has("data_fraction") && std::round(h.number("data_fraction") * available) < 1)
        fail_at("data_fraction", fmt::format("{} of the {} training examples is no example at all (rounds to 0)",
                                             h.text("data_fraction"), whole(available)));
    }
    if (h.number("epochs") > kMaxEpochs) {
      auto node = root["min_steps"];
      p.fail(node, "min_steps",
             fmt::format("{} steps are {} epochs of {} training samples (run {}): more than {}", spec.min_steps,
                         whole(h.number("epochs")), whole(run.train_samples), run.cell, whole(kMaxEpochs)));
    }
  }

  // The cells the law is fitted on: the fit set, or every cell when there is none (`fit --sweep`
  // then fits them all). Fewer cells than the law has parameters cannot determine it.
  {
    std::set<std::string> cells, fitted_cells;
    std::size_t fitted_runs = 0;
    for (const auto& run : runs) {
      cells.insert(run.cell);
      if (run.in_fit) fitted_cells.insert(run.cell), fitted_runs += 1;
    }
    const std::size_t needed = law->parameters.size();
    if (spec.prunes()) return check_pruning_points(p, root, spec, runs, needed);
    if (spec.has_fit()) {
      auto node = root["fit_where"] ? root["fit_where"] : root["fit_cells"];
      std::string field = root["fit_where"] ? "fit_where" : "fit_cells";
      if (fitted_runs == 0) p.fail(node, field, "selects no run of the grid");
      if (fitted_cells.size() < needed)
        p.fail(node, field,
               fmt::format("selects {} cells ({} runs), fewer than the {} parameters of {}: the fit needs at least {} "
                           "cells",
                           fitted_cells.size(), fitted_runs, needed, spec.law, needed));
    } else if (cells.size() < needed) {
      p.fail(root["grid"], "grid",
             fmt::format("has {} cells, fewer than the {} parameters of {}: no fit could determine them",
                         cells.size(), needed, spec.law));
    }
  }
}

}  // namespace

SweepSpec parse_spec(const std::string& yaml, const std::string& source) {
  Parser p(source);
  // Invalid YAML, a second document, a key given twice (at any depth): InputErrors.
  YAML::Node root = load_one_document(yaml, source);
  if (!root.IsMap()) throw InputError(source, root.Mark().line + 1, "", "a sweep spec is a map (name:, grid:, ...)");

  SweepSpec spec;
  spec.source = source;
  spec.text = yaml;
  read_fields(p, root, spec);
  read_grid(p, root, spec);
  read_prune(p, root, spec);
  read_sizes(p, root, spec);
  read_fit_set(p, root, spec);
  const laws::LawInfo& law = read_law(p, root, spec);
  read_target(p, root, spec);
  check_runs(p, root, spec, law);
  return spec;
}

SweepFit sweep_fit(const SweepSpec& spec, const std::string& law_name) {
  SweepFit fit;
  fit.law = law_name.empty() ? spec.law : law_name;
  fit.target = spec.target;
  const laws::LawInfo* law = laws::find(fit.law);
  if (!law) {
    std::vector<std::string_view> known;
    for (const auto& l : laws::registry()) known.push_back(l.name);
    throw InputError("law", 0, fit.law, fmt::format("unknown law (known: {})", fmt::join(known, ", ")));
  }
  const auto quantities = sweep_quantities(spec);
  auto column_of = [&](std::string_view quantity) {
    for (const auto& [q, column] : quantities)
      if (q == quantity) return std::string(column);
    return std::string();
  };
  if (fit.law == spec.law) {
    for (const auto& [input, quantity] : spec.inputs) fit.inputs.emplace_back(input, column_of(quantity));
  } else {
    // Another law than the spec's: the default mapping, when its inputs are m and n (or, pruning, any
    // of m, n, d, l, w); else none.
    bool sweep_inputs = true;
    for (auto input : law->inputs) sweep_inputs = sweep_inputs && !column_of(input).empty();
    if (sweep_inputs)
      for (auto input : law->inputs) fit.inputs.emplace_back(input, column_of(input));
  }
  for (auto given : law->givens) {
    if (given == "eps0") fit.givens["eps0"] = spec.eps0;
    if (given == kEpsNpColumn && spec.prunes()) fit.given_columns[std::string(given)] = std::string(kEpsNpColumn);
  }
  return fit;
}

bool SweepSpec::prunes() const {
  if (fixed.has("prune_levels")) return fixed.number("prune_levels") > 0;
  if (const Axis* levels = axis("prune_levels"))
    return std::any_of(levels->values.begin(), levels->values.end(), [](const std::string& v) { return v != "0"; });
  return false;
}

SweepSpec load_spec(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw InputError(file.string(), 0, "", "no such file");
  return parse_spec(read_file(file), file.string());
}

std::vector<PlannedRun> expand(const SweepSpec& spec) {
  // parse_spec has counted already; a SweepSpec built in code is held to the same limit.
  double count = 1;
  for (const auto& axis : spec.grid) count *= static_cast<double>(axis.values.size());
  if (count > kMaxSweepRuns)
    throw InputError(spec.source, 0, "grid", fmt::format("{} runs are more than the limit of {}", whole(count), whole(kMaxSweepRuns)));
  std::vector<PlannedRun> runs;
  runs.reserve(static_cast<std::size_t>(count));
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
    // This run's validation split (val_count may be an axis) comes out of the training set first.
    const double val = h.has("val_count") ? h.number("val_count") : kWorkerValCount;
    const double train_size = spec.dataset_size > 0 ? spec.dataset_size - val : spec.train_size;
    run.train_samples = h.has("data_count") ? h.number("data_count")
                                            : std::max(1.0, std::round(h.number("data_fraction") * train_size));
    if (spec.min_steps > 0) {
      double steps_per_epoch = std::ceil(run.train_samples / h.number("batch_size"));
      double epochs = std::max(h.number("epochs"), std::ceil(spec.min_steps / steps_per_epoch));
      h.set("epochs", epochs);
    }
    ModelSpec model;
    model.family = h.text("model");
    model.width = h.number("width");
    model.depth = static_cast<int>(h.number("depth"));
    // The model the worker builds takes its input shape and classes from the dataset; for a dataset
    // the catalogue does not know (the spec gave train_size), ModelSpec's defaults stand in.
    if (const DatasetEntry* data = find_dataset(h.text("dataset"))) {
      model.input_channels = data->channels;
      model.input_height = data->height;
      model.input_width = data->width;
      model.classes = data->classes;
      run.tokens_per_example = static_cast<double>(data->tokens_per_example);
      if (is_language_model_family(*find_model_family(model.family)) != (data->tokens_per_example > 1))
        throw InputError(spec.source, 0, "model",
                         fmt::format("model '{}' cannot train on dataset '{}' (a transformer reads token sequences: "
                                     "gcide-bytes; the other families images)",
                                     model.family, data->name));
    }
    validate(model);  // InputError naming model, width or depth
    // A scaling law's n: a language model's parameters without its embeddings (Kaplan et al. 2020).
    run.params = static_cast<double>(non_embedding_parameter_count(model));
    const double eval_samples = spec.dataset_size > 0 ? val + spec.test_size : spec.eval_samples;
    run.cost = forward_flops(model) * h.number("epochs") * (3 * run.train_samples + eval_samples);
    auto pruning = [&](const char* key) { return h.has(key) ? h.number(key) : hparam_default_number(key); };
    run.prune_levels = static_cast<int>(pruning("prune_levels"));
    run.prunable = static_cast<double>(prunable_weights(model, pruning("prune_ends") != 0));
    // Only pruning runs are scaled: a dense run's cost (which orders the cells) keeps every bit.
    if (run.prune_levels > 0) run.cost *= 1 + run.prune_levels * (1 - pruning("prune_rewind"));

    auto lookup = [&](std::string_view name) {
      if (name == "m") return run.m();
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
