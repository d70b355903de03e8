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
//   target: test_error       # optional: the result.json field the law is fitted to
//   inputs: {m: m, n: n}     # optional: each law input -> a sweep quantity (m: samples, n: params)
//   prune: {levels: 10}      # optional: every run is an IMP trajectory (docs/pruning.md)
//
// Keys of `fixed` and `grid` are the worker's hyperparameters (docs/run-directory.md). A cell is one
// point of the grid without its seed; its error is the mean over seeds. See docs/sweeps.md.
#pragma once

#include <array>
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
  // The result.json field the law is fitted to (its mean over seeds per cell).
  std::string target = "test_error";
  // Each law input, in the law's order, and the sweep quantity that feeds it: "m" (training samples)
  // or "n" (parameters). From `inputs:`, or derived when the law's inputs are exactly m and n.
  std::vector<std::pair<std::string, std::string>> inputs;

  const Axis* axis(const std::string& name) const {
    for (const auto& a : grid)
      if (a.name == name) return &a;
    return nullptr;
  }
  bool has_fit() const { return fit_where.has_value() || !fit_cells.empty(); }
  // Some run has prune_levels > 0 (from `prune:`, `fixed` or a grid axis): its rows are (cell, level)
  // points, its law is the pruning law by default, and d, l, w and eps_np are sweep quantities.
  bool prunes() const;
};

// Limits a spec is held to (docs/sweeps.md): a grid is counted before it is expanded.
inline constexpr double kMaxSweepRuns = 100000;

// Parses and validates a spec; every mistake is an InputError naming the file, line and field. That
// includes everything that would only fail after training: an unknown law, a law a sweep cannot feed
// (givens other than eps0, inputs not mapped to m or n by `inputs:`), a target that is no metric's
// name, a fit set with fewer cells than the law has
// parameters, data sizes the dataset cannot provide, early stopping without a validation set, grids
// of more than kMaxSweepRuns runs, repeated keys and second YAML documents.
SweepSpec parse_spec(const std::string& yaml, const std::string& source);
SweepSpec load_spec(const std::filesystem::path& file);

// The sweep quantities a law input can be fed from, and their columns in sweep_measurements' table.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kSweepQuantities{
    {{"m", "samples"}, {"n", "params"}}};
// A pruning sweep's further quantities: each (cell, level) row's density, and the network's depth and
// width factor (the pruning law's d, l, w). Its rows also give eps_np, level 0's mean error.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kPruningQuantities{
    {{"d", "density"}, {"l", "depth"}, {"w", "width"}}};
inline constexpr std::string_view kEpsNpColumn = "eps_np";

// What a fit of `law` (default: the spec's) to the sweep's cells takes from the spec: each law input
// mapped to its table column, in the law's order, and the givens a sweep provides (eps0) as numbers.
// A law other than the spec's gets the default mapping when its inputs are m and n (or, in a pruning
// sweep, any of m, n, d, l, w), else no inputs (the caller must map them). InputError naming the field
// `law` when the law is unknown.
struct SweepFit {
  std::string law;
  std::vector<std::pair<std::string, std::string>> inputs;  // law input -> column
  std::map<std::string, double> givens;                     // law given -> value
  std::map<std::string, std::string> given_columns;         // law given -> column (a pruning sweep's eps_np)
  std::string target;
};
SweepFit sweep_fit(const SweepSpec& spec, const std::string& law = "");

// One run of the grid, ready to be stored.
struct PlannedRun {
  Hparams hparams;
  std::string cell;          // the cell it belongs to, e.g. "width=0.25 depth=2 data_fraction=0.5"
  double train_samples = 0;  // training examples, estimated from the data fraction
  double params = 0;         // n, exact (models_spec): a language model's without its embeddings
  double tokens_per_example = 1;  // the dataset's (data/catalogue.h): m = train_samples x this
  double m() const { return train_samples * tokens_per_example; }
  // Planning FLOPs: per epoch, training (3 forward passes' worth per sample) plus evaluating the
  // validation and test sets. Evaluation matters: a 1/64 subset trains 3000 steps in ~400 epochs, each
  // validated. The worker now evaluates the test set once a run (issue 16), but this weight is kept
  // as it was: it orders the runs and the cells, and the cells' order seeds the demo fit's bootstrap,
  // whose printed intervals must not move. What a sweep really computed: bench/sweep's count.
  // A pruning run (prune_levels > 0) costs its dense schedule x (1 + levels x (1 - rewind)): level 0
  // trains the whole schedule, every later level retrains it from the rewind point.
  double cost = 0;
  bool in_fit = false;
  int prune_levels = 0;
  double prunable = 0;       // weights IMP may prune, with the run's prune_ends (models/spec.h)
};

// Every combination of the grid's axes, in a stable order.
std::vector<PlannedRun> expand(const SweepSpec& spec);

// The keys that identify a run's cell: the grid's axes other than the seed.
std::vector<std::string> cell_keys(const SweepSpec& spec);

}  // namespace scalelab
