// Running a sweep: plan the spec's grid into the store, then run every unfinished run through an
// Executor, cheapest first, until the grid is finished or a stop signal arrives.
//
//   auto spec = load_spec("examples/demo.yaml");
//   SweepOptions options;
//   options.jobs = 2;
//   options.worker = scalelab_worker_command(cli::worker_path());
//   options.executor = find_executor("local")->make;   // sweep/executors.h
//   SweepOutcome outcome = run_sweep(spec, "runs/demo", options);
//
// Safe to start again at any moment, and from several processes at once: finished runs are found by
// their hash and never repeated; runs whose owner died are started afresh; SIGINT/SIGTERM/SIGHUP stop
// the workers and give their runs back as pending.
// Throws InputError (writing nothing) when `dir` is a file or holds a different spec.yaml, and
// std::invalid_argument when options.executor or options.worker is missing.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sweep/executor.h"
#include "sweep/spec.h"

namespace scalelab {

// How fast this machine trains, for time estimates before any run has finished. The sweep refines
// it from the runs it sees end.
// Defaults: the 84-run demo (43.8 TFLOP planned) on the 2-core dev machine took 85-87 s with 2 jobs
// through the zygote executor (bench/sweep, issue 16). It computed 16.4 TFLOP: early stopping ends
// runs sooner, and the planned cost counts a test evaluation every epoch that the worker makes once
// (spec.h, PlannedRun::cost). A forked run starts in about 25 ms. (Through the `process` executor each
// run pays about 2 s of start-up; the sweep learns that overhead from the first runs that end.)
struct Speed {
  double overhead_s = 0.05;      // per run: fork, split, model, files
  double flops_per_s = 500e9;    // planned FLOPs (SweepSpec cost) per second of one run using all cores
};

struct SweepOptions {
  int jobs = 1;                       // runs at once
  int cores = 0;                      // cores to share among them; 0: all this process may use
  WorkerCommand worker;               // how to start one run
  ExecutorFactory executor;           // where runs execute (required): e.g. find_executor("local")->make
  Speed speed;
  std::FILE* progress = stderr;       // nullptr: silent
  // Called with each warning as it happens (the index repaired, directories set aside, a run's
  // note); all of them are also in SweepOutcome::warnings. The library prints none: the CLI does.
  std::function<void(const std::string&)> warn;
  // Called with news that is no warning (attached to a Slurm array a previous sweep left running).
  std::function<void(const std::string&)> inform;
  // Only the runs of these cells (PlannedRun::cell) are started, and only they are counted in the
  // outcome; every run of the spec is still planned in the store, so its cell table lists every cell
  // and its cost (the adaptive sweep buys cells this way). Unset: every run.
  std::optional<std::set<std::string>> cells;
};

struct SweepOutcome {
  int total = 0, done = 0, diverged = 0, failed = 0, pending = 0;
  int started = 0;       // runs this call started
  int taken_over = 0;    // of those, runs another sweep took over (their workers were stopped)
  bool stopped = false;  // a stop signal ended it early
  int attached = 0;      // runs whose live tasks (left by an earlier sweep) this call followed
  // Runs a stop left running in their tasks (Slurm, without --cancel), and those tasks' array jobs:
  // the next sweep into the directory attaches to them.
  int left_running = 0;
  std::vector<std::string> left_running_jobs;
  std::vector<std::string> warnings;  // the index repaired or rebuilt, directories set aside
  double wall_s = 0;
};

SweepOutcome run_sweep(const SweepSpec& spec, const std::filesystem::path& dir, const SweepOptions& options);

// Seconds the given runs take with `jobs` at once on `cores` cores, from `speed` (a rough guide).
double estimate_seconds(const std::vector<PlannedRun>& runs, int jobs, int cores, const Speed& speed);

}  // namespace scalelab
