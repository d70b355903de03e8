// Figures of a finished sweep for bench/sweep/run.sh, which sets them against the sweep's wall time
// and the single-thread sgemm peak (scalelab-bench-train gemm) as a FLOP bound.
//   scalelab-bench-sweep flops SWEEP_DIR  -> `key value` lines: runs, FLOPs, wall sums, overheads
// Torch-free: FLOPs come from the model registry (models/spec.h), times from the run store.
#include <cstdio>
#include <exception>
#include <string>

#include <fmt/core.h>

#include "store/store.h"
#include "sweep/results.h"
#include "sweep_flops.h"
#include "table/table.h"

namespace {

int flops(const std::string& dir) {
  using namespace scalelab;
  check_sweep_directory(dir);
  // Read-only: measuring a sweep must not change it (nor create a store where there is none).
  Store store(dir, StoreMode::read_only);
  for (const auto& w : store.warnings()) fmt::print(stderr, "scalelab-bench-sweep: {}\n", w);
  const auto s = bench::sweep_flops(store.runs());
  // FLOPs are whole numbers (2 x multiply-adds x counts), exact in a double up to 9e15.
  fmt::print("runs {}\n", s.runs);
  fmt::print("skipped {}\n", s.skipped);
  fmt::print("train_flop {:.0f}\n", s.train_flops);
  fmt::print("val_flop {:.0f}\n", s.val_flops);
  fmt::print("test_flop {:.0f}\n", s.test_flops);
  fmt::print("test_evaluations_per_run {}\n", bench::kTestEvaluationsPerRun);
  fmt::print("process_wall_s {}\n", s.process_wall_s);
  fmt::print("training_wall_s {}\n", s.training_wall_s);
  fmt::print("smallest_run {}\n", s.smallest_run.empty() ? "-" : s.smallest_run);
  fmt::print("overhead_smallest_ms {}\n", s.smallest_overhead_ms);
  fmt::print("overhead_median_ms {}\n", s.median_overhead_ms);
  fmt::print("overhead_max_ms {}\n", s.max_overhead_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "flops" && argc == 3) return flops(argv[2]);
  } catch (const scalelab::InputError& e) {
    fmt::print(stderr, "scalelab-bench-sweep: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scalelab-bench-sweep: {}\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: scalelab-bench-sweep flops SWEEP_DIR\n"
               "(the sgemm peak: scalelab-bench-train gemm N N N 1 SECONDS)\n");
  return 2;
}
