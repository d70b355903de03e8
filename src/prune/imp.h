// Iterative magnitude pruning (IMP) with weight rewinding, as OpenLTH runs it: level 0 trains the dense
// network and keeps its weights at the rewind step k; each level L >= 1 removes the weights of smallest
// magnitude, globally across layers, until round((1 - prune_rate)^L x P) of the P prunable weights
// remain, rewinds the survivors to their step-k values, and trains again from step k to the end of the
// same schedule (the learning rate and the batch order continue from k; the optimizer starts fresh).
// docs/pruning.md has the choices and why.
//
// One run directory holds the whole trajectory, a directory per level (OpenLTH's shape):
//   RUN/levels/level_00/  rewind.pt  final.pt  metrics.jsonl  result.json
//   RUN/levels/level_01/  mask.pt    final.pt  metrics.jsonl  result.json
// A level whose result.json is whole (and whose files the next level needs are there) is never trained
// again; any other level directory is emptied and the level trained from its start. RUN/result.json
// (run_files.h's fields for level 0, plus `prunable_weights` and `levels`) is written by the worker
// last. Torch-free header.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "train/train.h"

namespace scalelab {

struct ImpOptions {
  std::filesystem::path out;        // the run directory
  std::filesystem::path data_root;  // as RunOptions
  std::FILE* progress = nullptr;
  // Called right before every file the trajectory writes (the worker's claim check: it throws to stop).
  std::function<void()> before_write;
};

struct ImpLevel {
  int level = 0;
  double density = 1;               // remaining_weights / prunable_weights
  std::int64_t remaining_weights = 0;
  std::int64_t remaining_params = 0;  // remaining weights and every parameter never pruned
  bool resumed = false;             // found finished in the directory, not trained now
  std::string status;               // "done" or "diverged"
  std::string result_json;          // the level's result.json, as written
};

struct ImpTrajectory {
  std::int64_t prunable_weights = 0;
  std::int64_t params = 0;
  std::vector<ImpLevel> levels;  // 0 .. prune_levels; fewer when a level diverged (it is the last)
  double wall_s = 0;             // of this call
};

// Runs (or resumes) the trajectory of `config` (prune_levels >= 1) in options.out. Throws InputError
// for bad input before writing anything, like TrainingRun.
ImpTrajectory run_imp(const TrainConfig& config, const ImpOptions& options);

// RUN/result.json of a trajectory: level 0's run fields, `prunable_weights`, and `levels` (each level's
// level, status, density, remaining_weights, remaining_params, metrics, best_epoch, epochs_run, wall_s).
std::string trajectory_result_json(const TrainConfig& config, const ImpTrajectory& trajectory);

// Remaining prunable weights after `level` levels: round((1 - rate)^level x prunable), so that density
// is (1 - rate)^level within one weight at every level, without drift.
std::int64_t weights_at_level(std::int64_t prunable, double rate, int level);

}  // namespace scalelab
