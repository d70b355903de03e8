// sweep, results and demo: flags and printing only. The work happens in src/sweep (specs, executor,
// result tables), src/store (run directories and their index) and src/fit (the law).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/adapt.h"
#include "cli/commands.h"
#include "cli/shared.h"
#include "cli/worker_path.h"
#include "report/charts.h"
#include "store/store.h"
#include "store/worker_exit.h"
#include "sweep/demo_spec.h"
#include "sweep/executors.h"
#include "sweep/command.h"
#include "sweep/slurm.h"
#include "sweep/results.h"
#include "sweep/spec.h"
#include "sweep/sweep.h"
#include "table/table.h"
#include "util/cores.h"
#include "util/duration.h"

#if __has_include("fit/fit.h")
#include "fit/fit.h"
#include "laws/laws.h"
#endif

namespace scalelab::cli {

namespace {

namespace fs = std::filesystem;

// --jobs, when given: each job is a worker process with its own copy of the data set.
constexpr int kMaxJobs = 256;

// ---- sweep -------------------------------------------------------------------------------------

struct SweepFlags {
  std::string spec;
  std::string dir;
  int jobs = 0;
  std::string executor{kDefaultExecutor};
  bool dry_run = false;
  SlurmOptions slurm;                    // --partition ... --cancel, for --executor slurm
  std::vector<std::string> slurm_given;  // which of those flags were given
  AdaptFlags adaptive;  // --target, --budget, ...: the adaptive sweep (adapt.h)
};

// The Slurm flags belong to --executor slurm, which needs Slurm's commands: both checked before
// anything is read or written.
void check_slurm_flags(const SweepFlags& flags) {
  if (flags.executor != "slurm") {
    if (!flags.slurm_given.empty())
      throw InputError(flags.slurm_given.front(), 0, "",
                       fmt::format("is an option of the Slurm executor: give it with --executor slurm (not {})", flags.executor));
    return;
  }
  if (flags.dry_run) return;
  for (const char* program : {"sbatch", "squeue", "scontrol", "scancel"})
    if (find_on_path(program).empty())
      throw InputError("--executor", 0, "",
                       fmt::format("slurm needs Slurm's commands on PATH (sbatch, squeue, scontrol, scancel): {} not found",
                                   program));
}

// The sweep's options for the Slurm executor: its flags, threads per task from --cpus-per-task.
void use_slurm(SweepOptions& options, const SweepFlags& flags) {
  const SlurmOptions slurm = flags.slurm;
  options.executor = [slurm](int, WorkerCommand command) { return make_slurm_executor(slurm, std::move(command)); };
  // For the time estimate only: Slurm decides how many tasks run at once.
  options.jobs = slurm.array_parallelism > 0 ? slurm.array_parallelism : std::max(1, flags.jobs);
  options.cores = options.jobs * slurm.cpus_per_task;
}

// How a pruning run's planned cost counts its levels (spec.h, PlannedRun::cost).
void print_pruning_cost(const SweepSpec& spec) {
  std::string factor;
  if (spec.fixed.has("prune_levels") && spec.fixed.has("prune_rewind")) {
    const double levels = spec.fixed.number("prune_levels"), rewind = spec.fixed.number("prune_rewind");
    factor = fmt::format(": {} levels at rewind {} cost {:g}x the dense schedule", levels, rewind, 1 + levels * (1 - rewind));
  }
  fmt::print("pruning: each run is an IMP trajectory, level 0 the dense schedule and every later level retrained from "
             "the rewind point, so it costs the dense schedule x (1 + levels x (1 - rewind)){}\n",
             factor);
}

// The plan without running it: runs, cells, the fit set's share of the compute, a time estimate.
void print_plan(const SweepSpec& spec, const SweepOptions& options) {
  auto runs = expand(spec);
  double total = 0, fitted = 0;
  int fitted_runs = 0;
  for (const auto& r : runs) {
    total += r.cost;
    if (r.in_fit) fitted += r.cost, fitted_runs += 1;
  }
  fmt::print("{}: {} runs, {:.3g} TFLOPs planned (training and evaluation{}), about {} with {} jobs on {} cores\n",
             spec.name, runs.size(), total / 1e12, spec.prunes() ? ", every pruning level included" : "",
             format_duration(estimate_seconds(runs, options.jobs, available_cores(), options.speed)), options.jobs,
             available_cores());
  if (spec.prunes()) print_pruning_cost(spec);
  if (spec.has_fit())
    fmt::print("fit set: {} runs, {:.1f}% of the planned compute; {} runs held out\n", fitted_runs, 100 * fitted / total,
               runs.size() - fitted_runs);
  // Allowed (a fit of everything is a fit), but then nothing checks the extrapolation.
  if (spec.has_fit() && fitted_runs == static_cast<int>(runs.size()))
    fmt::print(stderr, "warning: {}: the fit set is the whole grid; no cell is held out to check the law's predictions\n",
               spec.source);
  Table table({"run", "role", "cell", "seed", "params", "samples", "epochs", "tflops"});
  for (const auto& r : runs)
    table.add_row({r.hparams.hash(), r.in_fit ? "fit" : "held_out", r.cell, r.hparams.text("seed"), format_number(r.params),
                   format_number(r.m()), r.hparams.text("epochs"), fmt::format("{:.3g}", r.cost / 1e12)});
  if (spec.prunes()) {
    std::vector<std::string> levels;
    for (const auto& r : runs) levels.push_back(std::to_string(r.prune_levels));
    table.add_column("levels", std::move(levels));
  }
  print_table(table);
}

void sweep_command(const SweepFlags& flags) {
  const auto& executor = executor_named(flags.executor);  // a typo fails before the spec is even read
  check_slurm_flags(flags);
  auto spec = load_spec(flags.spec);
  fs::path dir = flags.dir.empty() ? fs::path("sweeps") / spec.name : fs::path(flags.dir);
  if (flags.dry_run) {
    SweepOptions options;
    options.jobs = flags.jobs > 0 ? flags.jobs : available_cores();
    return print_plan(spec, options);
  }
  auto options = sweep_options(flags.jobs, executor);
  if (flags.executor == "slurm") {
    use_slurm(options, flags);
    // Slurm hands a task a GPU only when asked for one.
    if (flags.slurm.gpus_per_task == 0 && spec.fixed.has("device") && spec.fixed.text("device") == "cuda")
      print_warning(fmt::format("{} trains on cuda but no --gpus-per-task was given: the tasks get no GPU from "
                                "Slurm (give --gpus-per-task 1)",
                                spec.source));
  }
  options.inform = [](const std::string& news) { fmt::print(stderr, "scalelab: {}\n", news); };
  if (!flags.adaptive.target.empty()) return run_adaptive_sweep(spec, dir, flags.adaptive, options);
  auto outcome = run_sweep(spec, dir, options);
  print_outcome(outcome, dir);
  if (outcome.stopped) {
    if (outcome.left_running) {
      std::string jobs;
      for (const auto& j : outcome.left_running_jobs) jobs += (jobs.empty() ? "" : ", ") + j;
      fmt::print(stderr,
                 "stopped: {} runs are left running in {} (Ctrl-C does not cancel Slurm tasks; --cancel does, or "
                 "scancel). Run the same command again to attach to them and record their results; `scalelab status "
                 "{}` shows them\n",
                 outcome.left_running, jobs, dir.string());
    } else {
      fmt::print(stderr, "stopped: run the same command again to resume\n");
    }
    exit_with(130);
  }
  if (outcome.failed) exit_with(exit_status(WorkerExit::failed));
}

// ---- status ------------------------------------------------------------------------------------

// One row per run: its state, the grid values that name it, attempts, and where it runs (a Slurm
// task, with Slurm's own state of it, or a sweep process).
void status_command(const fs::path& dir) {
  check_sweep_directory(dir);
  Store store(dir, StoreMode::read_only);
  print_warnings(store.warnings());
  const auto runs = store.runs();
  std::vector<std::string> keys;
  try {
    keys = cell_keys(load_spec(dir / "spec.yaml"));
    keys.push_back("seed");
  } catch (const std::exception&) {
    // No readable spec: the runs are still listed, by id.
  }
  std::set<std::string> array_jobs;
  for (const auto& r : runs)
    if (auto task = parse_slurm_placement(r.job); task && r.status == RunStatus::running) array_jobs.insert(task->array_job);
  std::optional<std::map<std::string, std::string>> slurm_states;
  if (!array_jobs.empty()) slurm_states = slurm_task_states({array_jobs.begin(), array_jobs.end()});

  std::vector<std::string> header = {"run", "status"};
  header.insert(header.end(), keys.begin(), keys.end());
  for (const char* c : {"attempts", "where", "task_state", "note"}) header.push_back(c);
  Table table(header);
  std::map<std::string, int> counts;
  std::map<std::string, int> task_counts;
  for (const auto& r : runs) {
    std::vector<std::string> row = {r.id, std::string(to_string(r.status))};
    for (const auto& k : keys) row.push_back(r.hparams.has(k) ? r.hparams.text(k) : "");
    std::string where, task_state;
    if (r.status == RunStatus::running) {
      if (auto task = parse_slurm_placement(r.job)) {
        where = "slurm " + task->key();
        if (!slurm_states) task_state = "unknown (squeue failed)";
        else if (auto it = slurm_states->find(task->key()); it != slurm_states->end()) task_state = it->second;
        else task_state = "gone";
        task_counts[task_state] += 1;
      } else {
        where = fmt::format("pid {} on {}", r.owner_pid, r.owner_host);
      }
    }
    row.push_back(std::to_string(r.attempts));
    row.push_back(where);
    row.push_back(task_state);
    row.push_back(r.message.substr(0, r.message.find('\n')));
    table.add_row(row);
    counts[std::string(to_string(r.status))] += 1;
  }
  print_table(table);
  std::string summary;
  for (const char* s : {"done", "diverged", "failed", "running", "pending"})
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", counts[s], s);
  std::string tasks;
  for (const auto& [state, n] : task_counts) tasks += fmt::format("{}{} {}", tasks.empty() ? "" : ", ", n, state);
  fmt::print("{}: {} runs: {}{}\n", dir.string(), runs.size(), summary,
             tasks.empty() ? "" : " (Slurm tasks: " + tasks + ")");
}

// ---- results -----------------------------------------------------------------------------------

struct ResultsFlags {
  std::string dir;
  std::string csv;
  bool csv_given = false;  // `--csv ''` is an error, not "print instead"
  bool per_cell = false;
  bool rebuild = false;
  std::vector<std::string> metrics;  // further result.json fields to aggregate per cell
};

void results_command(const ResultsFlags& flags) {
  fs::path dir = flags.dir;
  check_sweep_directory(dir);
  // The sweep's own files are its inputs: a --csv naming one would destroy the sweep.
  if (flags.csv_given && flags.csv != "-")
    check_output_path(flags.csv, "--csv",
                      {dir / "spec.yaml", dir / "store.sqlite", dir / "store.sqlite-wal", dir / "store.sqlite-shm",
                       dir / "store.lock"});
  if (flags.rebuild) {
    Store store(dir);  // a damaged index is moved aside and rebuilt here, with a warning
    print_warnings(store.warnings());
    store.rebuild();
    fmt::print(stderr, "rebuilt {} from its run directories\n", (dir / "store.sqlite").string());
  }
  if (!flags.metrics.empty() && !flags.per_cell)
    throw InputError("--metric", 0, "", "aggregates over a cell's seeds: give it with --per-cell");
  std::vector<std::string> warnings;
  Table table = flags.per_cell ? cell_table(dir, &warnings, flags.metrics) : run_table(dir, &warnings);
  print_warnings(warnings);
  if (flags.csv == "-") fmt::print("{}", to_csv(table));
  else if (flags.csv_given) {
    write_file_atomic(flags.csv, to_csv(table));
    fmt::print(stderr, "wrote {} rows to {}\n", table.rows(), flags.csv);
  } else {
    print_table(table);
  }
}

// ---- demo --------------------------------------------------------------------------------------

struct DemoFlags {
  std::string dir = "sweeps/demo";
  std::string spec;  // another spec instead of the built-in one (for tuning the grid)
  int jobs = 0;
  std::string executor{kDefaultExecutor};
};

std::string percent(double v) { return std::isfinite(v) ? fmt::format("{:+.1f}%", 100 * v) : "-"; }

// The demo's spec: the built-in one, or --spec's. The demo fits the fit set and predicts the rest:
// without one there is nothing to fit after training.
SweepSpec demo_spec(const DemoFlags& flags) {
  auto spec = flags.spec.empty() ? parse_spec(std::string(demo_spec_yaml()), "examples/demo.yaml (built in)")
                                 : load_spec(flags.spec);
  if (!spec.has_fit())
    throw InputError(spec.source, 0, "fit_where", "the demo fits the law on a fit set: give fit_where or fit_cells");
  // Its table is one row a cell; a pruning sweep's rows are (cell, level) points, fitted by other commands.
  if (spec.prunes())
    throw InputError(spec.source, 0, "prune",
                     "the demo fits cells, not pruning levels: run a pruning sweep with `scalelab sweep`, then "
                     "`scalelab fit --sweep DIR` and `scalelab design` (docs/pruning.md)");
  return spec;
}

// What is left, and how long it should take, before anything starts.
void print_demo_estimate(const SweepSpec& spec, const fs::path& dir, const std::vector<PlannedRun>& planned,
                         const SweepOptions& options) {
  std::map<std::string, RunStatus> status;  // by configuration: runs may keep legacy ids
  if (fs::exists(dir / "store.sqlite") && fs::is_directory(dir)) {
    Store store(dir);
    print_warnings(store.warnings());
    for (const auto& r : store.runs()) status[r.hparams.hash()] = r.status;
  }
  std::vector<PlannedRun> left;
  for (const auto& run : planned) {
    auto it = status.find(run.hparams.hash());
    if (it == status.end() || it->second != RunStatus::done) left.push_back(run);
  }
  int cores = available_cores();
  fmt::print("scalelab demo: {} on {}, {} runs in {}; {} to run, about {} with {} jobs on {} cores\n",
             spec.fixed.text("model"), spec.fixed.text("dataset"), planned.size(), dir.string(), left.size(),
             format_duration(estimate_seconds(left, options.jobs, cores, options.speed)), options.jobs, cores);
  std::fflush(stdout);
}

#if __has_include("fit/fit.h")
// The demo's charts in DIR/report.html (src/report). Without the charting bundles (scripts/setup installs
// them) the demo still ends well, saying why there is no report.
void write_demo_report(const fs::path& dir) {
  try {
    const ReportAssets assets = load_report_assets();
    const Report report = build_report(read_report_inputs(dir));
    write_file_atomic(dir / "report.html", report_html(report, assets));
    fmt::print("\nreport: {} ({} charts; opens offline in any browser)\n", (dir / "report.html").string(), report.charts.size());
  } catch (const InputError& e) {
    fmt::print(stderr, "report not written: {}\n", e.what());
  }
}

// Compute actually spent: the planned cost scaled by the epochs each run really trained (early
// stopping ends some sooner). The fit set's share of it is what the prediction cost.
struct SpentCompute {
  double fit = 0, total = 0;
};

SpentCompute spent_compute(const fs::path& dir, const std::vector<PlannedRun>& planned) {
  SpentCompute spent;
  std::map<std::string, double> epochs_run;
  for (const auto& r : Store(dir).runs())
    if (r.result.is_object() && r.result.contains("epochs_run") && r.result["epochs_run"].is_number())
      epochs_run[r.hparams.hash()] = r.result["epochs_run"].get<double>();
  for (const auto& run : planned) {
    auto it = epochs_run.find(run.hparams.hash());
    double cost = it == epochs_run.end() ? run.cost : run.cost * it->second / run.hparams.number("epochs");
    spent.total += cost;
    if (run.in_fit) spent.fit += cost;
  }
  return spent;
}

// The spec's law fitted on the fit set's cells, written to DIR/fit.json.
fit::FitResult fit_demo(const Table& cells, const SweepFit& fit_of_spec, const fs::path& dir) {
  fit::FitOptions fo = fit_options(fit_of_spec);
  fo.fit_where = "in_fit==1";
  fo.normalize = true;  // fractions of the largest data set and model, as the paper reports them
  fo.bootstrap = 200;
  fo.predictive_intervals = true;  // bootstrap + seed noise + backtested extrapolation error (fit/predictive.h)
  fo.starts = 256;  // cheap here (15-30 cells), and the rosenfeld2020 optimum is narrow: few starts reach it
  auto result = fit::fit_table(cells, fo);
  write_file_atomic(dir / "fit.json", fit::to_json(result));
  for (const auto& w : result.warnings) fmt::print(stderr, "fit warning: {}\n", w);
  return result;
}

void print_fitted_law(const fit::FitResult& result, const SweepFit& fit_of_spec) {
  std::string params;
  for (const auto& p : result.parameters) params += fmt::format(" {}={:.4g}", p.name, p.value);
  std::string givens;
  for (const auto& [name, value] : fit_of_spec.givens) givens += fmt::format("{}{} = {}", givens.empty() ? "" : ", ", name, value);
  fmt::print("\n{} fitted on {} cells{}:{}\n\n", result.law, result.fitted.count,
             givens.empty() ? "" : " (" + givens + ")", params);
}

// Every cell measured and predicted: fitted cells first, then the held-out ones the law predicts;
// each group cheapest first.
Table prediction_table(const SweepSpec& spec, const Table& cells, const fit::FitResult& result,
                       const std::string& target) {
  auto keys = cell_keys(spec);
  Table shown({"cell", "role", "params", "samples", "measured", "predicted", "interval_5_95", "divergence"});
  std::vector<std::size_t> order(cells.rows());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return result.points[i].fitted; });
  for (std::size_t row : order) {
    const auto& point = result.points[row];
    std::string cell;
    for (const auto& key : keys) cell += (cell.empty() ? "" : " ") + key + "=" + cells.at(row, key);
    std::string measured = fmt::format("{:.4f}", point.measured);
    if (double sd = cells.number(row, cells.column(target + "_std")); sd > 0) measured += fmt::format(" ±{:.4f}", sd);
    std::string interval =
        point.interval ? fmt::format("[{:.4f}, {:.4f}]", point.interval->p05, point.interval->p95) : "";
    shown.add_row({cell, point.fitted ? "fit" : "held-out", cells.at(row, "params"), cells.at(row, "samples"), measured,
                   fmt::format("{:.4f}", point.predicted), interval, percent(point.divergence)});
  }
  return shown;
}

// After the sweep: fit the fit set, predict the rest, print and write the table and the summary.
void fit_and_predict(const SweepSpec& spec, const SweepFit& fit_of_spec, const fs::path& dir,
                     const std::vector<PlannedRun>& planned) {
  const SpentCompute spent = spent_compute(dir, planned);
  std::vector<std::string> warnings;
  Table cells = sweep_measurements(dir, &warnings);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);

  const auto result = fit_demo(cells, fit_of_spec, dir);
  print_fitted_law(result, fit_of_spec);

  Table shown = prediction_table(spec, cells, result, fit_of_spec.target);
  print_table(shown);
  write_file_atomic(dir / "demo.csv", to_csv(shown));
  fmt::print("\nheld-out cells: mean |divergence| {:.1f}%, max {:.1f}% over {} cells (bias {}); "
             "the fit set used {:.1f}% of the grid's compute\n",
             100 * result.held_out.mean_abs, 100 * result.held_out.max_abs, result.held_out.count,
             percent(result.held_out.mean), 100 * spent.fit / spent.total);
  // The intervals' honesty, in the same place: how many held-out measurements they contain.
  int covered = 0;
  std::vector<double> halves;
  for (const auto& p : result.points)
    if (!p.fitted && p.interval) {
      covered += p.measured >= p.interval->p05 && p.measured <= p.interval->p95;
      halves.push_back((p.interval->p95 - p.interval->p05) / 2 / p.predicted);
    }
  if (!halves.empty()) {
    std::sort(halves.begin(), halves.end());
    const std::size_t h = halves.size();
    fmt::print("their 5-95% intervals ({}) contain {} of {} measurements; median half-width {:.1f}% of the prediction\n",
               result.predictive ? "predictive: fit, seed and extrapolation error" : "bootstrap", covered, h,
               100 * (h % 2 ? halves[h / 2] : (halves[h / 2 - 1] + halves[h / 2]) / 2));
  }
}
#endif

void demo_command(const DemoFlags& flags) {
  const auto& executor = executor_named(flags.executor);
  auto spec = demo_spec(flags);
  fs::path dir = flags.dir;
  // The law, its inputs, givens and the target come from the spec, checked whole by parse_spec before
  // anything trains; sweep_fit only maps them onto the measurement table's columns.
  const SweepFit fit_of_spec = sweep_fit(spec);
  auto options = sweep_options(flags.jobs, executor);
  auto planned = expand(spec);
  print_demo_estimate(spec, dir, planned, options);

  auto outcome = run_sweep(spec, dir, options);
  print_outcome(outcome, dir);
  if (outcome.stopped) {
    fmt::print(stderr, "stopped: run `scalelab demo` again to resume\n");
    exit_with(130);
  }

#if __has_include("fit/fit.h")
  fit_and_predict(spec, fit_of_spec, dir, planned);
  write_demo_report(dir);
#else
  fmt::print("(the fitting library is not built: `scalelab results {} --per-cell` lists the measurements)\n", dir.string());
#endif
}

}  // namespace

void add_sweep_commands(CLI::App& app) {
  auto sweep_flags = std::make_shared<SweepFlags>();
  auto* sweep = app.add_subcommand("sweep", "run (or resume) a grid of training runs from a YAML spec");
  sweep->add_option("spec", sweep_flags->spec, "sweep spec (see examples/ and docs/sweeps.md)")->required();
  sweep->add_option("--dir", sweep_flags->dir, "sweep directory (default: sweeps/NAME)");
  sweep->add_option("--jobs,-j", sweep_flags->jobs, "runs at once (default: one per core); cores are shared among them")
      ->check(CLI::Range(1, kMaxJobs));
  sweep->add_option("--executor", sweep_flags->executor, executor_help());
  sweep->add_option("--target", sweep_flags->adaptive.target,
                    "adaptive sweep: train only the cells that best predict these target cells (e.g. "
                    "'width==0.5 || data_fraction==1') within --budget, refitting after each (docs/sweeps.md)");
  sweep->add_option("--budget", sweep_flags->adaptive.budget, "adaptive sweep: fraction of the grid's compute to spend (default 0.05)");
  sweep->add_option("--width", sweep_flags->adaptive.width,
                    "adaptive sweep: stop once every target's relative half-width is at most this (0: spend the budget)");
  sweep->add_option("--initial-levels", sweep_flags->adaptive.levels,
                    "adaptive sweep: the initial design spans this many levels of every input (default 4)");
  sweep->add_option("--fit-starts", sweep_flags->adaptive.starts, "adaptive sweep: multi-start count of each refit (default 256)");
  sweep->add_flag("--dry-run", sweep_flags->dry_run, "print the runs, their cost and the fit set's share; run nothing");
  auto& slurm = sweep_flags->slurm;
  std::vector<CLI::Option*> slurm_options = {
      sweep->add_option("--partition", slurm.partition, "slurm: the partition (sbatch --partition)"),
      sweep->add_option("--time", slurm.time, "slurm: each task's time limit (sbatch --time, e.g. 2:00:00)"),
      sweep->add_option("--cpus-per-task", slurm.cpus_per_task, "slurm: cores per task, also the worker's threads")
          ->check(CLI::Range(1, 1024)),
      sweep->add_option("--gpus-per-task", slurm.gpus_per_task, "slurm: GPUs per task (sbatch --gpus-per-task)")
          ->check(CLI::Range(0, 64)),
      sweep->add_option("--array-parallelism", slurm.array_parallelism, "slurm: at most this many tasks at once (--array=0-N%K)")
          ->check(CLI::Range(1, 100000)),
      sweep->add_option("--sbatch-arg", slurm.sbatch_args,
                        "slurm: a further sbatch option, e.g. --sbatch-arg=--account=proj (repeatable)")
          ->allow_extra_args(false),
      sweep->add_flag("--cancel", slurm.cancel_on_stop,
                      "slurm: Ctrl-C cancels the tasks (scancel); without it they run on and the next sweep attaches")};
  sweep->callback([sweep_flags, slurm_options] {
    for (auto* option : slurm_options)
      if (option->count() > 0) sweep_flags->slurm_given.push_back(option->get_name());
    sweep_command(*sweep_flags);
  });

  auto status_dir = std::make_shared<std::string>();
  auto* status = app.add_subcommand("status", "a sweep's runs and their states (with their Slurm tasks' states)");
  status->add_option("dir", *status_dir, "sweep directory")->required();
  status->callback([status_dir] { status_command(*status_dir); });

  auto results_flags = std::make_shared<ResultsFlags>();
  auto* results = app.add_subcommand("results", "list a sweep's runs, or its cells (mean and std over seeds)");
  results->add_option("dir", results_flags->dir, "sweep directory")->required();
  auto* csv_option =
      results->add_option("--csv", results_flags->csv, "write CSV (atomically) instead of printing; '-' for stdout");
  results->add_flag("--per-cell", results_flags->per_cell, "one row per cell: mean and std of the error over seeds");
  results->add_option("--metric", results_flags->metrics,
                      "with --per-cell: also the mean and std of these numeric result.json fields (e.g. test_loss)")
      ->delimiter(',');
  results->add_flag("--rebuild", results_flags->rebuild, "rebuild the index (store.sqlite) from the run directories first");
  results->callback([results_flags, csv_option] {
    results_flags->csv_given = csv_option->count() > 0;
    results_command(*results_flags);
  });

  auto demo_flags = std::make_shared<DemoFlags>();
  auto* demo = app.add_subcommand("demo", "train a small grid, fit the law on its small cells, predict the large ones");
  demo->add_option("--dir", demo_flags->dir, "where the runs go; a second demo reuses them")->capture_default_str();
  demo->add_option("--jobs,-j", demo_flags->jobs, "runs at once (default: one per core)")->check(CLI::Range(1, kMaxJobs));
  demo->add_option("--spec", demo_flags->spec, "use this sweep spec instead of the built-in examples/demo.yaml");
  demo->add_option("--executor", demo_flags->executor, executor_help());
  demo->callback([demo_flags] { demo_command(*demo_flags); });
}

}  // namespace scalelab::cli
