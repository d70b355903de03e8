// What a finished sweep computed and what it spent around it, counted from its run store: the FLOPs
// of its training, validation and test passes (the model registry's forward_flops, models/spec.h),
// and each run's overhead: the worker process's wall time as the sweep timed it (the store) minus
// the trainer's own training time (result.json). Torch-free: scalelab-bench-sweep and its test.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace scalelab::bench {

// Test-set evaluations a run makes: the trainer evaluates the test set once, at the end of a run, with
// the best epoch's weights (issue 16; before, after every epoch). Reported apart from the bound.
inline constexpr int kTestEvaluationsPerRun = 1;

struct RunFlops {
  std::string id;
  double forward_flops = 0;  // one forward pass of one sample
  double train_flops = 0;    // 3 forward passes' worth per example (forward, two backward products)
  double val_flops = 0;      // the validation split, once per epoch run
  double test_flops = 0;     // the test set, kTestEvaluationsPerRun times
  double process_wall_s = 0;   // the worker process, start to exit (store)
  double training_wall_s = 0;  // the trainer's training and evaluation (result.json)
  double overhead_ms() const { return 1000 * (process_wall_s - training_wall_s); }
};

// A finished run's counts (done or diverged: either trained and wrote result.json; a diverged run's
// epochs_run leaves out the epoch it diverged in). nullopt for a run without a result (pending,
// running, failed). Hyperparameters come from result.json's `hparams` (the worker writes every
// default out), else the run's hparams.yaml, else the schema's default. Throws std::runtime_error
// naming the run when its result lacks train_samples, epochs_run or wall_s, or names an unknown dataset.
std::optional<RunFlops> run_flops(const RunRecord& run);

struct SweepFlops {
  int runs = 0;     // finished runs, counted
  int skipped = 0;  // the others (pending, running, failed)
  double train_flops = 0, val_flops = 0, test_flops = 0;
  double process_wall_s = 0, training_wall_s = 0;  // sums over the counted runs
  std::string smallest_run;                        // the one with the fewest training FLOPs (first on ties)
  double smallest_overhead_ms = 0;
  double median_overhead_ms = 0;  // of an even count: the mean of the middle two
  double max_overhead_ms = 0;
};
// Sums in the order given. All zero when no run is finished.
SweepFlops sweep_flops(const std::vector<RunRecord>& runs);

}  // namespace scalelab::bench
