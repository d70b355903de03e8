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
      runs.push_back(std::move(view));
    }
  }

  static std::string role(const RunView& r) { return r.planned ? (r.planned->in_fit ? "fit" : "held_out") : ""; }
  static double params(const RunView& r) {
    double v = result_number(r.record.result, "params");
    return std::isfinite(v) || !r.planned ? v : r.planned->params;
  }
  static double samples(const RunView& r) {
    double v = result_number(r.record.result, "train_samples");
    return std::isfinite(v) || !r.planned ? v : r.planned->train_samples;
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
  for (const char* c : {"seed", "params", "samples", "epochs", "test_error", "val_error", "wall_s", "attempts", "message"})
    header.push_back(c);
  Table table(header, dir.string());
  for (const auto& r : view.runs) {
    const auto& h = r.record.hparams;
    std::vector<std::string> row = {r.record.id, std::string(to_string(r.record.status)), SweepView::role(r)};
    for (const auto& key : view.keys) row.push_back(h.has(key) ? h.text(key) : "");
    row.push_back(h.has("seed") ? h.text("seed") : "");
    row.push_back(num(SweepView::params(r)));
    row.push_back(num(SweepView::samples(r)));
    row.push_back(h.has("epochs") ? h.text("epochs") : "");
    row.push_back(num(result_number(r.record.result, "test_error")));
    row.push_back(num(result_number(r.record.result, "val_error")));
    row.push_back(num(r.record.wall_s));
    row.push_back(std::to_string(r.record.attempts));
    row.push_back(r.record.message.substr(0, r.record.message.find('\n')));
    table.add_row(std::move(row));
  }
  return table;
}

namespace {

struct Cell {
  std::string role;
  std::vector<std::string> axes;
  double params = NAN, samples = NAN, cost = 0;
  int finished = 0;
  std::vector<std::vector<double>> values;  // per metric, one per finished run
  int diverged = 0, failed = 0, unfinished = 0;
};

std::vector<Cell> cells_of(const SweepView& view, const std::vector<std::string>& metrics,
                           std::vector<std::string>* warnings) {
  std::vector<Cell> cells;
  std::map<std::string, std::size_t> index;
  auto cell_for = [&](const RunView& r) -> Cell& {
    auto [it, fresh] = index.emplace(r.cell, cells.size());
    if (fresh) {
      Cell c;
      c.role = SweepView::role(r);
      for (const auto& key : view.keys) c.axes.push_back(r.record.hparams.has(key) ? r.record.hparams.text(key) : "");
      c.values.resize(metrics.size());
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
      case RunStatus::done: {
        c.finished += 1;
        for (std::size_t i = 0; i < metrics.size(); ++i)
          c.values[i].push_back(result_number(r.record.result, metrics[i].c_str()));
        c.params = std::isfinite(result_number(r.record.result, "params")) ? result_number(r.record.result, "params") : c.params;
        c.samples = std::isfinite(result_number(r.record.result, "train_samples")) ? result_number(r.record.result, "train_samples")
                                                                                  : c.samples;
        break;
      }
      case RunStatus::diverged:
        c.diverged += 1;
        if (warnings) {
          auto seed = r.record.hparams.has("seed") ? r.record.hparams.text("seed") : "?";
          warnings->push_back(fmt::format("run {} ({} seed={}) diverged: left out of the fit", r.record.id, r.cell, seed));
        }
        break;
      case RunStatus::failed: c.failed += 1; break;
      default: c.unfinished += 1; break;
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

Table to_table(const SweepView& view, const std::vector<std::string>& metrics, const std::vector<Cell>& cells,
               bool finished_only, const std::string& source) {
  std::vector<std::string> header = {"role", "in_fit"};
  header.insert(header.end(), view.keys.begin(), view.keys.end());
  for (const char* c : {"params", "samples", "seeds", "test_error", "test_error_std", "diverged", "failed", "unfinished", "cost"})
    header.push_back(c);
  for (std::size_t i = 1; i < metrics.size(); ++i) {
    header.push_back(metrics[i]);
    header.push_back(metrics[i] + "_std");
  }
  Table table(header, source);
  for (const auto& c : cells) {
    if (finished_only && c.finished == 0) continue;
    auto [mean, sd] = mean_std(c.values[0]);
    std::vector<std::string> row = {c.role, c.role == "fit" ? "1" : "0"};
    row.insert(row.end(), c.axes.begin(), c.axes.end());
    for (double v : {c.params, c.samples, double(c.finished), mean, sd, double(c.diverged), double(c.failed),
                     double(c.unfinished), c.cost})
      row.push_back(num(v));
    for (std::size_t i = 1; i < metrics.size(); ++i) {
      auto [m, s] = mean_std(c.values[i]);
      row.push_back(num(m));
      row.push_back(num(s));
    }
    table.add_row(std::move(row));
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
    if (c.finished == 0) {
      std::string name;
      for (std::size_t i = 0; i < view.keys.size(); ++i) name += (i ? " " : "") + view.keys[i] + "=" + c.axes[i];
      local.push_back(fmt::format("cell {} has no finished run: left out", name));
    }
  if (warnings) warnings->insert(warnings->end(), local.begin(), local.end());
  return to_table(view, all, cells, true, (dir / "store.sqlite").string());
}

}  // namespace scalelab
