// The adaptive sweep's flags, shared by `scalelab adapt --replay` and `scalelab sweep --target`.
#pragma once

#include <filesystem>
#include <string>

#include "sweep/sweep.h"

namespace scalelab::cli {

struct AdaptFlags {
  std::string replay, target;
  std::string json;  // adapt: write the last fit here (atomically)
  double budget = 0.05, width = 0;
  int starts = 256, levels = 4;
  std::string initial = "cheapest", strategy = "greedy";
  unsigned seed = 1;
  bool normalize = true;
};

// `scalelab sweep SPEC --target PRED --budget F`: plans every run of the spec in DIR's store, then
// trains only the cells the planner (fit/adaptive.h) buys, refitting after each, until the targets'
// intervals are as narrow as --width or the budget is spent. Writes DIR/fit.json (the last fit) and
// prints each step. Resumable: the planner is deterministic and finished runs are read, not retrained.
void run_adaptive_sweep(const SweepSpec& spec, const std::filesystem::path& dir, const AdaptFlags& flags,
                        SweepOptions options);

}  // namespace scalelab::cli
