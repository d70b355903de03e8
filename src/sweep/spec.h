// A sweep spec: the YAML file that says which runs make a grid and which of them the law is fitted on.
//
//   name: fashion-mnist-mlp
//   dataset: fashion-mnist
//   model: mlp
//   fixed:    {epochs: 15, batch_size: 128, lr: 0.001}          # every run
//   grid:     {width: [0.125, 0.25], data_fraction: [0.5, 1], seed: [0, 1]}  # all combinations
//   min_steps: 3000          # optional: small data sets get more epochs, up to this many steps
//   fit_where: "width<=0.125 && data_fraction<=0.5"              # or fit_cells: [{width: .., ...}]
//   law: rosenfeld2020
//   eps0: 0.9
//
// Keys of `fixed` and `grid` are the worker's hyperparameters (docs/run-directory.md). A cell is one
// point of the grid without its seed; its error is the mean over seeds. See docs/sweeps.md.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/hparam_schema.h"
#include "store/hparams.h"
#include "table/table.h"

namespace scalelab {

struct SweepSpec {
  std::string source;  // file name, for messages
  std::string text;    // the YAML as given, copied into the sweep directory
  std::string name;
  Hparams fixed;  // dataset, model and `fixed`
  struct Axis {
    std::string name;
    std::vector<std::string> values;  // canonical text, in the spec's order
  };
  std::vector<Axis> grid;  // in the spec's order, which is also the order cells are named in
  int min_steps = 0;
  double train_size = 0;    // training examples left after the validation split: data_fraction's whole
  double eval_samples = 0;  // examples evaluated after every epoch (validation + test), for costs
  // The dataset's training and test sets before any split (0: unknown). val_count may be a grid axis,
  // so each run's share of the training set is computed from these and its own val_count.
  double dataset_size = 0;
  double test_size = 0;
  // The fit set: runs matching `fit_where`, or whose cell is listed in `fit_cells`. Empty: no fit.
  std::optional<Predicate> fit_where;
  std::vector<Hparams> fit_cells;
  std::string law = "rosenfeld2020";
  int law_line = 0;  // where `law` was given, so the CLI can name it when the law is unknown
  double eps0 = 0.9;

  const Axis* axis(const std::string& name) const {
    for (const auto& a : grid)
      if (a.name == name) return &a;
    return nullptr;
  }
  bool has_fit() const { return fit_where.has_value() || !fit_cells.empty(); }
};

// Limits a spec is held to (docs/sweeps.md): a grid is counted before it is expanded.
inline constexpr double kMaxSweepRuns = 100000;

// Parses and validates a spec; every mistake is an InputError naming the file, line and field. That
// includes everything that would only fail after training: an unknown law, a law a sweep cannot feed
// (givens other than eps0, inputs other than m and n), a fit set with fewer cells than the law has
// parameters, data sizes the dataset cannot provide, early stopping without a validation set, grids
// of more than kMaxSweepRuns runs, repeated keys and second YAML documents.
SweepSpec parse_spec(const std::string& yaml, const std::string& source);
SweepSpec load_spec(const std::filesystem::path& file);

// One run of the grid, ready to be stored.
struct PlannedRun {
  Hparams hparams;
  std::string cell;          // the cell it belongs to, e.g. "width=0.25 depth=2 data_fraction=0.5"
  double train_samples = 0;  // m, estimated from the data fraction
  double params = 0;         // n, exact (models_spec)
  // FLOPs: per epoch, training (3 forward passes' worth per sample) plus evaluating the validation
  // and test sets. Evaluation matters: a 1/64 subset trains 3000 steps in ~400 epochs, each evaluated.
  double cost = 0;
  bool in_fit = false;
};

// Every combination of the grid's axes, in a stable order.
std::vector<PlannedRun> expand(const SweepSpec& spec);

// The keys that identify a run's cell: the grid's axes other than the seed.
std::vector<std::string> cell_keys(const SweepSpec& spec);

}  // namespace scalelab
