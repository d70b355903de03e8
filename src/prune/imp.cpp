#include "prune/imp.h"

#include <chrono>
#include <cmath>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>  // the precompiled header: free here

#include "data/catalogue.h"
#include "data/subset.h"
#include "models/models.h"
#include "prune/masks.h"
#include "store/run_dir.h"
#include "table/table.h"
#include "train/run_files.h"

namespace scalelab {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::int64_t weights_at_level(std::int64_t prunable, double rate, int level) {
  return std::llround(std::pow(1 - rate, level) * double(prunable));
}

namespace {

using Clock = std::chrono::steady_clock;

fs::path level_dir(const fs::path& out, int level) { return out / kLevelsDir / fmt::format("level_{:02d}", level); }

// The model as the trainer builds it for this config: the dataset's input shape and classes.
ModelSpec model_spec(const TrainConfig& config) {
  ModelSpec spec = config.model;
  const DatasetEntry* data = find_dataset(config.dataset);
  if (!data) throw InputError("hparams", 0, "dataset", fmt::format("unknown dataset '{}'", config.dataset));
  spec.input_channels = data->channels;
  spec.input_height = data->height;
  spec.input_width = data->width;
  spec.classes = data->classes;
  validate(spec);
  return spec;
}

// The schedule's step that weights are rewound to: prune_rewind of its steps, rounded.
std::int64_t rewind_step(const TrainConfig& c) {
  const DatasetEntry* data = find_dataset(c.dataset);
  const std::int64_t m =
      subset_size(data->train_size, {c.data_fraction, c.data_count, c.val_count, c.seed});
  const std::int64_t total = (m + c.batch_size - 1) / c.batch_size * c.epochs;
  return std::llround(c.prune_rewind * double(total));
}

std::int64_t prunable_count(torch::nn::Module& model, bool ends) {
  std::int64_t n = 0;
  for (const auto& [_, w] : prunable_parameters(model, ends)) n += w.numel();
  return n;
}

// A level's result.json: which level, how dense, then the run's own fields (run_files.h).
Json level_json(const TrainConfig& config, const ImpLevel& level, const RunResult& result) {
  Json j;
  j["level"] = level.level;
  j["density"] = level.density;
  j["remaining_weights"] = level.remaining_weights;
  j["remaining_params"] = level.remaining_params;
  const Json run = Json::parse(result_json(config, result));  // items() refers into it: keep it alive
  for (const auto& [key, value] : run.items()) j[key] = value;
  return j;
}

// A finished level found in its directory: its result.json is whole, its hyperparameters are this
// config's, and the files the next level reads are there. nullopt: train it (again).
std::optional<Json> finished_level(const TrainConfig& config, const fs::path& dir, int level) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "result.json", ec)) return std::nullopt;
  Json j;
  try {
    j = Json::parse(read_file(dir / "result.json"));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const Json expected = Json::parse(result_json(config, RunResult{}))["hparams"];
  if (!j.is_object() || j.value("level", -1) != level || j.value("hparams", Json()) != expected) return std::nullopt;
  const std::string status = j.value("status", "");
  if (status != "done" && status != "diverged") return std::nullopt;
  const bool last = level == config.prune_levels || status == "diverged";
  if (!last && !fs::is_regular_file(dir / "final.pt", ec)) return std::nullopt;
  if (level == 0 && !fs::is_regular_file(dir / "rewind.pt", ec)) return std::nullopt;
  if (level > 0 && !fs::is_regular_file(dir / "mask.pt", ec)) return std::nullopt;
  return j;
}

}  // namespace

ImpTrajectory run_imp(const TrainConfig& config, const ImpOptions& options) {
  if (config.prune_levels < 1) throw std::invalid_argument("run_imp: prune_levels must be at least 1");
  validate(config);
  const auto started = Clock::now();
  const auto write = [&] {
    if (options.before_write) options.before_write();
  };
  const ModelSpec spec = model_spec(config);
  const bool ends = config.prune_ends != 0;
  const std::int64_t k = rewind_step(config);

  ImpTrajectory trajectory;
  {
    torch::manual_seed(config.seed);
    auto model = build_model(spec);
    trajectory.params = count_parameters(*model);
    trajectory.prunable_weights = prunable_count(*model, ends);
  }
  if (trajectory.prunable_weights == 0)
    throw InputError("hparams", 0, "prune_ends",
                     "this model has no weight to prune without its first and output layers: set prune_ends to 1");
  const std::int64_t never_pruned = trajectory.params - trajectory.prunable_weights;

  for (int L = 0; L <= config.prune_levels; ++L) {
    const fs::path dir = level_dir(options.out, L);
    ImpLevel level;
    level.level = L;
    level.remaining_weights = weights_at_level(trajectory.prunable_weights, config.prune_rate, L);
    level.remaining_params = level.remaining_weights + never_pruned;
    level.density = double(level.remaining_weights) / double(trajectory.prunable_weights);

    if (auto found = finished_level(config, dir, L)) {
      level.resumed = true;
      level.status = found->value("status", "");
      level.result_json = found->dump(2) + '\n';
      if (options.progress)
        fmt::print(options.progress, "[level {}] finished earlier: density {:.4g}, kept\n", L, level.density);
      trajectory.levels.push_back(level);
      if (level.status == "diverged") break;
      continue;
    }

    // An interrupted level starts again from its start.
    write();
    fs::remove_all(dir);
    fs::create_directories(dir);
    RunOptions run_options;
    run_options.data_root = options.data_root;
    run_options.progress = options.progress;
    run_options.progress_label = fmt::format("level {}/{} density {:.4g}", L, config.prune_levels, level.density);
    if (L < config.prune_levels) run_options.final_weights = dir / "final.pt";
    if (L == 0) {
      run_options.snapshot_step = k;
      run_options.snapshot = dir / "rewind.pt";
    } else {
      // The previous level's trained weights decide which survive; its mask says which were left.
      torch::manual_seed(config.seed);
      auto model = build_model(spec);
      const fs::path previous = level_dir(options.out, L - 1);
      load_weights(*model, previous / "final.pt");
      const Masks current = L == 1 ? Masks{} : load_masks(previous / "mask.pt");
      const Masks masks = magnitude_masks(prunable_parameters(*model, ends), current, level.remaining_weights);
      if (kept_count(masks) != level.remaining_weights)
        throw std::logic_error(fmt::format("level {}: kept {} weights, planned {}", L, kept_count(masks),
                                           level.remaining_weights));
      write();
      save_masks(masks, dir / "mask.pt");
      run_options.start_weights = level_dir(options.out, 0) / "rewind.pt";
      run_options.mask = dir / "mask.pt";
      run_options.start_step = k;
    }
    TrainingRun run(config, run_options);
    const RunResult result = run.run([&](const std::vector<EpochMetrics>& history) {
      write();
      write_file_atomic(dir / "metrics.jsonl", metrics_jsonl(history));
    });
    write();
    write_file_atomic(dir / "metrics.jsonl", metrics_jsonl(result.history));
    level.status = result.status;
    level.result_json = level_json(config, level, result).dump(2) + '\n';
    write();
    write_file_atomic(dir / "result.json", level.result_json);  // last: the level is finished
    trajectory.levels.push_back(level);
    if (level.status == "diverged") break;  // nothing left to prune from
  }
  trajectory.wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  return trajectory;
}

std::string trajectory_result_json(const TrainConfig& config, const ImpTrajectory& trajectory) {
  if (trajectory.levels.empty()) throw std::invalid_argument("trajectory_result_json: no level");
  Json top = Json::parse(trajectory.levels.front().result_json);
  for (const char* key : {"level", "density", "remaining_weights", "remaining_params"}) top.erase(key);
  Json levels = Json::array();
  double wall = 0;
  for (const auto& level : trajectory.levels) {
    const Json j = Json::parse(level.result_json);
    Json entry;
    for (const char* key : {"level", "status", "density", "remaining_weights", "remaining_params", "test_error",
                            "test_loss", "val_error", "val_loss", "train_loss", "train_error", "best_epoch",
                            "epochs_run", "wall_s"})
      entry[key] = j.contains(key) ? j[key] : Json();
    wall += j.value("wall_s", 0.0);
    levels.push_back(entry);
  }
  top["wall_s"] = wall;  // training time over all levels, earlier attempts' included
  top["prunable_weights"] = trajectory.prunable_weights;
  top["levels"] = levels;
  (void)config;
  return top.dump(2) + '\n';
}

}  // namespace scalelab
