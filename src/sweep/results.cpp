#include "sweep/results.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/core.h>

#include "store/store.h"
#include "sweep/spec.h"

namespace scalelab {

namespace fs = std::filesystem;

void check_sweep_directory(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(dir.string(), 0, "", "is not a directory: give a sweep directory");
  if (!fs::exists(dir / "store.sqlite") && !fs::exists(dir / "runs"))
    throw InputError(dir.string(), 0, "", "not a sweep directory (no store.sqlite, no runs/)");
}

namespace {

struct RunView {
  RunRecord record;
  const PlannedRun* planned = nullptr;  // null for runs of an older spec
  std::string cell;
};

std::string num(double v) { return std::isfinite(v) ? format_number(v) : ""; }

double result_number(const nlohmann::json& result, const char* key) {
  return result.is_object() && result.contains(key) && result[key].is_number() ? result[key].get<double>() : NAN;
}

// The store's runs with what the spec says about them.
struct SweepView {
  std::vector<std::string> keys;  // cell axes
  std::string target = "test_error";  // the spec's
  // Rows are (cell, level) points: the spec prunes, or (no spec) some run wrote a `levels` trajectory.
  bool prunes = false;
  std::vector<PlannedRun> planned;
  std::vector<RunView> runs;

  std::vector<std::string> store_warnings;  // the index rebuilt, or read from the directories

  explicit SweepView(const fs::path& dir) {
    check_sweep_directory(dir);
    std::error_code ec;
    std::map<std::string, const PlannedRun*> by_id;
    if (fs::exists(dir / "spec.yaml")) {
      auto spec = load_spec(dir / "spec.yaml");
      keys = cell_keys(spec);
      target = spec.target;
      prunes = spec.prunes();
      planned = expand(spec);
      for (const auto& p : planned) by_id[p.hparams.hash()] = &p;
    } else {
      keys = {"width", "depth", "data_fraction"};
    }
    // Listing never needs to write: a directory this process may not write is read as it is.
    auto db = dir / "store.sqlite";
    bool writable = access(dir.c_str(), W_OK) == 0 && access((dir / "runs").c_str(), W_OK) == 0 &&
                    (!fs::exists(db, ec) || access(db.c_str(), W_OK) == 0);
    Store store(dir, writable ? StoreMode::read_write : StoreMode::read_only);
    store_warnings = store.warnings();
    for (auto& record : store.runs()) {
      RunView view;
      // By configuration, not by directory name: a run kept under a legacy id is still the spec's.
      if (auto it = by_id.find(record.hparams.hash()); it != by_id.end()) view.planned = it->second;
      for (const auto& key : keys)
        view.cell += (view.cell.empty() ? "" : " ") + key + "=" + (record.hparams.has(key) ? record.hparams.text(key) : "");
      view.record = std::move(record);
      prunes = prunes || !levels_of(view.record.result).empty();
      runs.push_back(std::move(view));
    }
  }

  // The IMP levels of a pruning run's result.json (docs/pruning.md), each an object with a level number.
  static std::vector<const nlohmann::json*> levels_of(const nlohmann::json& result) {
    std::vector<const nlohmann::json*> levels;
    if (!result.is_object() || !result.contains("levels") || !result["levels"].is_array()) return levels;
    for (const auto& level : result["levels"])
      if (level.is_object() && level.contains("level") && level["level"].is_number_integer()) levels.push_back(&level);
    return levels;
  }
  // A level's status: done, or diverged (null metrics; the trajectory ends there).
  static bool level_done(const nlohmann::json& level) {
    return !(level.contains("status") && level["status"].is_string() && level["status"] != "done");
  }
  // eps_np of one trajectory: its level 0's test error (NaN when it has none).
  static double unpruned_error(const nlohmann::json& result) {
    for (const auto* level : levels_of(result))
      if ((*level)["level"] == 0) return result_number(*level, "test_error");
    return result_number(result, "test_error");
  }

  static std::string role(const RunView& r) { return r.planned ? (r.planned->in_fit ? "fit" : "held_out") : ""; }
  // n and m as the laws count them: a language model's result.json gives its parameters without the
  // embeddings and its training tokens (train/train.h RunResult), other runs their params and samples.
  static double params(const RunView& r) {
    double v = result_number(r.record.result, "non_embedding_params");
    if (!std::isfinite(v)) v = result_number(r.record.result, "params");
    return std::isfinite(v) || !r.planned ? v : r.planned->params;
  }
  static double samples(const RunView& r) {
    double v = result_number(r.record.result, "train_tokens");
    if (!std::isfinite(v)) v = result_number(r.record.result, "train_samples");
    return std::isfinite(v) || !r.planned ? v : r.planned->m();
  }
  static double prunable(const RunView& r) {
    double v = result_number(r.record.result, "prunable_weights");
    return std::isfinite(v) || !r.planned ? v : r.planned->prunable;
  }
};

void add_store_warnings(const SweepView& view, std::vector<std::string>* warnings) {
  if (warnings) warnings->insert(warnings->end(), view.store_warnings.begin(), view.store_warnings.end());
}

}  // namespace

Table run_table(const fs::path& dir, std::vector<std::string>* warnings) {
  SweepView view(dir);
  add_store_warnings(view, warnings);
  std::vector<std::string> header = {"id", "status", "role"};
  header.insert(header.end(), view.keys.begin(), view.keys.end());
  header.push_back("seed");
  if (view.prunes) header.insert(header.end(), {"level", "density", "remaining_weights", "remaining_params"});
  for (const char* c : {"params", "samples", "epochs", "test_error", "val_error"}) header.push_back(c);
  if (view.prunes) header.push_back("eps_np");
  for (const char* c : {"wall_s", "attempts", "message"}) header.push_back(c);
  Table table(header, dir.string());
  for (const auto& r : view.runs) {
    const auto& h = r.record.hparams;
    // A row of this run: the whole run, or (pruning) one level of its trajectory.
    auto add = [&](const std::string& status, const std::vector<std::string>& level, const nlohmann::json& metrics) {
      std::vector<std::string> row = {r.record.id, status, SweepView::role(r)};
      for (const auto& key : view.keys) row.push_back(h.has(key) ? h.text(key) : "");
      row.push_back(h.has("seed") ? h.text("seed") : "");
      row.insert(row.end(), level.begin(), level.end());
      row.push_back(num(SweepView::params(r)));
      row.push_back(num(SweepView::samples(r)));
      row.push_back(h.has("epochs") ? h.text("epochs") : "");
      row.push_back(num(result_number(metrics, "test_error")));
      row.push_back(num(result_number(metrics, "val_error")));
      if (view.prunes) row.push_back(num(SweepView::unpruned_error(r.record.result)));
      row.push_back(num(r.record.wall_s));
      row.push_back(std::to_string(r.record.attempts));
      row.push_back(r.record.message.substr(0, r.record.message.find('\n')));
      table.add_row(std::move(row));
    };
    const std::string status(to_string(r.record.status));
    const auto levels = SweepView::levels_of(r.record.result);
    if (!view.prunes) {
      add(status, {}, r.record.result);
    } else if (!levels.empty()) {
      for (const auto* level : levels)
        add(SweepView::level_done(*level) ? status : "diverged",
            {num(result_number(*level, "level")), num(result_number(*level, "density")),
             num(result_number(*level, "remaining_weights")), num(result_number(*level, "remaining_params"))},
            *level);
    } else if (r.record.status == RunStatus::done) {
      // A dense run in a pruning sweep (prune_levels 0) is its own level 0.
      add(status, {"0", "1", num(SweepView::prunable(r)), num(SweepView::params(r))}, r.record.result);
    } else {
      add(status, {"", "", "", ""}, r.record.result);
    }
  }
  return table;
}

namespace {

// One row of the cell table: a cell, or (pruning) one IMP level of a cell, over the cell's seeds.
struct Row {
  int finished = 0;                         // seeds averaged here
  std::vector<std::vector<double>> values;  // per metric, one per finished run
  int diverged = 0;
  std::vector<double> density, remaining_weights, remaining_params;  // pruning: one per finished run
};

struct Cell {
  std::string role;
  std::vector<std::string> axes;
  std::string width, depth;  // the network's, for a pruning law's l and w when they are no axes
  double params = NAN, samples = NAN, cost = 0;
  int failed = 0, unfinished = 0;
  std::map<int, Row> rows;  // by level (pruning); one row, at -1, otherwise
};

// What one run adds to one row of its cell: the run's result (a sweep without pruning, at level -1),
// or one level of its IMP trajectory.
struct Observation {
  int level = -1;
  const nlohmann::json* metrics = nullptr;
  bool diverged = false;
  double density = NAN, remaining_weights = NAN, remaining_params = NAN;
};

std::vector<Observation> observations(const SweepView& view, const RunView& r) {
  const nlohmann::json& result = r.record.result;
  const bool diverged = r.record.status == RunStatus::diverged;
  if (!view.prunes) return {Observation{-1, &result, diverged}};
  std::vector<Observation> out;
  for (const auto* level : SweepView::levels_of(result))
    out.push_back({(*level)["level"].get<int>(), level, !SweepView::level_done(*level), result_number(*level, "density"),
                   result_number(*level, "remaining_weights"), result_number(*level, "remaining_params")});
  // A dense run (prune_levels 0, or diverged before its level 0 ended) is its own level 0.
  if (out.empty()) out.push_back({0, &result, diverged, 1.0, SweepView::prunable(r), SweepView::params(r)});
  return out;
}

std::vector<Cell> cells_of(const SweepView& view, const std::vector<std::string>& metrics,
                           std::vector<std::string>* warnings) {
  std::vector<Cell> cells;
  std::map<std::string, std::size_t> index;
  auto cell_for = [&](const RunView& r) -> Cell& {
    auto [it, fresh] = index.emplace(r.cell, cells.size());
    if (fresh) {
      Cell c;
      c.role = SweepView::role(r);
      const auto& h = r.record.hparams;
      for (const auto& key : view.keys) c.axes.push_back(h.has(key) ? h.text(key) : "");
      c.width = h.has("width") ? h.text("width") : "";
      c.depth = h.has("depth") ? h.text("depth") : "";
      c.rows[view.prunes ? 0 : -1].values.resize(metrics.size());
      cells.push_back(c);
    }
    return cells[it->second];
  };
  for (const auto& r : view.runs) {
    Cell& c = cell_for(r);
    if (r.planned) c.cost += r.planned->cost;
    if (!std::isfinite(c.params)) c.params = SweepView::params(r);
    if (!std::isfinite(c.samples)) c.samples = SweepView::samples(r);
    switch (r.record.status) {
      case RunStatus::done:
      case RunStatus::diverged: break;
      case RunStatus::failed: c.failed += 1; continue;
      default: c.unfinished += 1; continue;
    }
    auto seed = r.record.hparams.has("seed") ? r.record.hparams.text("seed") : "?";
    for (const auto& o : observations(view, r)) {
      Row& row = c.rows[o.level];
      row.values.resize(metrics.size());
      if (o.diverged) {
        row.diverged += 1;
        if (warnings)
          warnings->push_back(o.level > 0 ? fmt::format("run {} ({} seed={}) diverged at pruning level {}: left out of the "
                                                        "fit from there",
                                                        r.record.id, r.cell, seed, o.level)
                                          : fmt::format("run {} ({} seed={}) diverged: left out of the fit", r.record.id,
                                                        r.cell, seed));
        continue;
      }
      row.finished += 1;
      for (std::size_t i = 0; i < metrics.size(); ++i) row.values[i].push_back(result_number(*o.metrics, metrics[i].c_str()));
      row.density.push_back(o.density);
      row.remaining_weights.push_back(o.remaining_weights);
      row.remaining_params.push_back(o.remaining_params);
      // The run's own sizes, in the laws' units (SweepView::params and samples read them first).
      if (const double n = SweepView::params(r); std::isfinite(n)) c.params = n;
      if (const double m = SweepView::samples(r); std::isfinite(m)) c.samples = m;
    }
  }
  return cells;
}

// test_error first (its columns in their old place), then the others.
std::vector<std::string> metrics_of(const SweepView& view, const std::vector<std::string>& requested) {
  std::vector<std::string> metrics = {"test_error"};
  auto add = [&](const std::string& m) {
    if (std::find(metrics.begin(), metrics.end(), m) == metrics.end()) metrics.push_back(m);
  };
  add(view.target);
  for (const auto& m : requested) add(m);
  return metrics;
}

// Mean and sample standard deviation (0 for one value); NaN for none, or where one is not a number.
std::pair<double, double> mean_std(const std::vector<double>& values) {
  if (values.empty()) return {NAN, NAN};
  double mean = 0;
  for (double e : values) mean += e;
  mean /= values.size();
  double ss = 0;
  for (double e : values) ss += (e - mean) * (e - mean);
  return {mean, values.size() > 1 ? std::sqrt(ss / (values.size() - 1)) : 0.0};
}

// A pruning table also names each row's network (l = depth, w = width) when those are no grid axes.
std::vector<std::string> model_columns(const SweepView& view) {
  std::vector<std::string> columns;
  if (!view.prunes) return columns;
  for (const char* key : {"width", "depth"})
    if (std::find(view.keys.begin(), view.keys.end(), key) == view.keys.end()) columns.push_back(key);
  return columns;
}

Table to_table(const SweepView& view, const std::vector<std::string>& metrics, const std::vector<Cell>& cells,
               bool finished_only, const std::string& source) {
  std::vector<std::string> header = {"role", "in_fit"};
  header.insert(header.end(), view.keys.begin(), view.keys.end());
  const auto model = model_columns(view);
  header.insert(header.end(), model.begin(), model.end());
  if (view.prunes) header.insert(header.end(), {"level", "density", "remaining_weights", "remaining_params"});
  for (const char* c : {"params", "samples", "seeds", "test_error", "test_error_std"}) header.push_back(c);
  if (view.prunes) header.push_back(std::string(kEpsNpColumn));
  for (const char* c : {"diverged", "failed", "unfinished", "cost"}) header.push_back(c);
  for (std::size_t i = 1; i < metrics.size(); ++i) {
    header.push_back(metrics[i]);
    header.push_back(metrics[i] + "_std");
  }
  Table table(header, source);
  for (const auto& c : cells) {
    // eps_np: the mean over the cell's seeds of level 0's error.
    const double eps_np = c.rows.count(0) ? mean_std(c.rows.at(0).values[0]).first : NAN;
    for (const auto& [level, r] : c.rows) {
      if (finished_only && r.finished == 0) continue;
      auto [mean, sd] = mean_std(r.values[0]);
      std::vector<std::string> row = {c.role, c.role == "fit" ? "1" : "0"};
      row.insert(row.end(), c.axes.begin(), c.axes.end());
      for (const auto& key : model) row.push_back(key == "width" ? c.width : c.depth);
      if (view.prunes)
        for (double v : {double(level), mean_std(r.density).first, mean_std(r.remaining_weights).first,
                         mean_std(r.remaining_params).first})
          row.push_back(num(v));
      for (double v : {c.params, c.samples, double(r.finished), mean, sd}) row.push_back(num(v));
      if (view.prunes) row.push_back(num(eps_np));
      for (double v : {double(r.diverged), double(c.failed), double(c.unfinished), c.cost}) row.push_back(num(v));
      for (std::size_t i = 1; i < metrics.size(); ++i) {
        auto [m, s] = mean_std(r.values[i]);
        row.push_back(num(m));
        row.push_back(num(s));
      }
      table.add_row(std::move(row));
    }
  }
  return table;
}

}  // namespace

Table cell_table(const fs::path& dir, std::vector<std::string>* warnings, const std::vector<std::string>& metrics) {
  SweepView view(dir);
  add_store_warnings(view, warnings);
  auto all = metrics_of(view, metrics);
  return to_table(view, all, cells_of(view, all, nullptr), false, dir.string());
}

Table sweep_measurements(const fs::path& dir, std::vector<std::string>* warnings,
                         const std::vector<std::string>& metrics) {
  SweepView view(dir);
  std::vector<std::string> local = view.store_warnings;
  auto all = metrics_of(view, metrics);
  auto cells = cells_of(view, all, &local);
  for (const auto& c : cells)
    if (std::all_of(c.rows.begin(), c.rows.end(), [](const auto& row) { return row.second.finished == 0; })) {
      std::string name;
      for (std::size_t i = 0; i < view.keys.size(); ++i) name += (i ? " " : "") + view.keys[i] + "=" + c.axes[i];
      local.push_back(fmt::format("cell {} has no finished run: left out", name));
    }
  if (warnings) warnings->insert(warnings->end(), local.begin(), local.end());
  return to_table(view, all, cells, true, (dir / "store.sqlite").string());
}

}  // namespace scalelab
