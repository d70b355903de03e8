#include "sweep_flops.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

#include "data/catalogue.h"
#include "models/spec.h"
#include "store/hparam_schema.h"

namespace scalelab::bench {

namespace {

// A field of result.json that must be a number.
double result_number(const RunRecord& run, const char* field) {
  const auto& r = run.result;
  if (!r.is_object() || !r.contains(field) || !r[field].is_number())
    throw std::runtime_error(fmt::format("run {}: result.json has no number {}", run.id, field));
  return r[field].get<double>();
}

// What the worker trained with: result.json's echo first (every default written out), then the
// sweep's hparams.yaml, then the schema's default (fake workers and older results echo no `hparams`).
const nlohmann::json* echoed(const RunRecord& run, const char* key) {
  const auto& r = run.result;
  if (!r.is_object() || !r.contains("hparams") || !r["hparams"].is_object()) return nullptr;
  const auto& h = r["hparams"];
  return h.contains(key) ? &h[key] : nullptr;
}

double hparam_number(const RunRecord& run, const char* key) {
  if (const auto* v = echoed(run, key); v && v->is_number()) return v->get<double>();
  if (run.hparams.has(key)) return run.hparams.number(key);
  return hparam_default_number(key);
}

std::string hparam_text(const RunRecord& run, const char* key, std::string_view fallback) {
  if (const auto* v = echoed(run, key); v && v->is_string()) return v->get<std::string>();
  if (run.hparams.has(key)) return run.hparams.text(key);
  const HparamRow* row = find_hparam(key);
  return std::string(row && !row->default_value.empty() ? row->default_value : fallback);
}

}  // namespace

std::optional<RunFlops> run_flops(const RunRecord& run) {
  if (run.status != RunStatus::done && run.status != RunStatus::diverged) return std::nullopt;
  const std::string dataset_name = hparam_text(run, "dataset", default_dataset());
  const DatasetEntry* dataset = find_dataset(dataset_name);
  if (!dataset) throw std::runtime_error(fmt::format("run {}: unknown dataset '{}'", run.id, dataset_name));
  // The model the worker built: its input shape and classes are the dataset's (as sweep/spec.cpp plans it).
  ModelSpec model;
  model.family = hparam_text(run, "model", default_model_family());
  model.width = hparam_number(run, "width");
  model.depth = static_cast<int>(hparam_number(run, "depth"));
  model.input_channels = dataset->channels;
  model.input_height = dataset->height;
  model.input_width = dataset->width;
  model.classes = dataset->classes;

  RunFlops f;
  f.id = run.id;
  f.forward_flops = forward_flops(model);
  const double epochs = result_number(run, "epochs_run");
  f.train_flops = 3 * f.forward_flops * result_number(run, "train_samples") * epochs;
  f.val_flops = f.forward_flops * hparam_number(run, "val_count") * epochs;
  f.test_flops = f.forward_flops * double(dataset->test_size) * kTestEvaluationsPerRun;
  f.process_wall_s = run.wall_s;
  f.training_wall_s = result_number(run, "wall_s");
  return f;
}

SweepFlops sweep_flops(const std::vector<RunRecord>& runs) {
  SweepFlops s;
  std::vector<double> overheads;
  double smallest_train = INFINITY;
  for (const auto& run : runs) {
    auto f = run_flops(run);
    if (!f) {
      ++s.skipped;
      continue;
    }
    ++s.runs;
    s.train_flops += f->train_flops;
    s.val_flops += f->val_flops;
    s.test_flops += f->test_flops;
    s.process_wall_s += f->process_wall_s;
    s.training_wall_s += f->training_wall_s;
    overheads.push_back(f->overhead_ms());
    if (f->train_flops < smallest_train) {
      smallest_train = f->train_flops;
      s.smallest_run = f->id;
      s.smallest_overhead_ms = f->overhead_ms();
    }
  }
  if (overheads.empty()) return s;
  std::sort(overheads.begin(), overheads.end());
  const std::size_t n = overheads.size();
  s.median_overhead_ms = n % 2 ? overheads[n / 2] : (overheads[n / 2 - 1] + overheads[n / 2]) / 2;
  s.max_overhead_ms = overheads.back();
  return s;
}

}  // namespace scalelab::bench
