// scalelab-worker: trains one model and writes its run directory (docs/run-directory.md).
//   scalelab-worker train --config RUN/hparams.yaml --out RUN [--threads N]
//   scalelab-worker train --model wrn --width 0.25 --depth 10 --data-fraction 0.125 --out runs/x
//   scalelab-worker serve     a zygote for a sweep (zygote/zygote.h): requests on stdin, one forked
//                             child per run, each doing what `train --config RUN/hparams.yaml --out RUN`
//                             does, with the dataset read once by the zygote
// Exit status: WorkerExit (store/worker_exit.h): done, diverged, bad input (nothing written), claim lost
// (the run was taken over by another sweep: RUN/claim no longer holds $SCALELAB_CLAIM; nothing more
// written), failed (anything else).
// It is a process of its own so that a crash or a NaN takes down one run, never the sweep.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "prune/imp.h"
#include "store/claim.h"
#include "store/worker_exit.h"
#include "table/table.h"
#include "train/run_files.h"
#include "train/train.h"
#include "train/worker_flags.h"
#include "zygote/zygote.h"

namespace fs = std::filesystem;
using namespace scalelab;

namespace {

// The sweep that started this worker no longer owns the run (store/claim.h): write nothing more.
struct LostClaim {};

// Flags, each empty unless given; given ones override the --config file.
struct Flags {
  std::string config_path, out, data_dir;
  int threads = 0;
  bool quiet = false, save_best = false;
  GivenHparams hparams;  // one flag per schema row (train/worker_flags.h)

  bool overrides_hparams() const { return !hparams.empty(); }
};

void add_train_flags(CLI::App& train, Flags& f) {
  train.add_option("--config", f.config_path, "hparams.yaml to read; flags given as well override it")
      ->check(CLI::ExistingFile);
  train.add_option("--out", f.out, "run directory to write (created)")->required();
  add_hparam_flags(train, f.hparams);  // --dataset, --model, --width, ... (store/hparam_schema.h)
  train.add_option("--threads", f.threads, "intra-op threads, 1 to 1024 (default 1: measured faster than 2 on the 2-core machines; see docs/training.md)")
      ->check(CLI::Range(1, 1024));
  train.add_option("--data-dir", f.data_dir, "datasets root [$SCALELAB_DATA_DIR or /usr/share/datasets]");
  train.add_flag("--quiet", f.quiet, "no progress output");
  train.add_flag("--save-best", f.save_best, "keep the best-validation weights in OUT/best.pt");
}

TrainConfig resolve(const Flags& f, int& threads) {
  int config_threads = 0;
  TrainConfig c = f.config_path.empty() ? TrainConfig{} : read_hparams(f.config_path, &config_threads);
  threads = f.threads > 0 ? f.threads : config_threads;
  if (threads < 0 || threads > 1024)
    throw InputError(f.config_path, 0, "threads", fmt::format("{} threads: give 1 to 1024 (or leave it out)", threads));
  apply_hparam_flags(f.hparams, c);
  validate(c);
  return c;
}

int train(const Flags& f) {
  int threads = 0;
  TrainConfig config;
  std::unique_ptr<TrainingRun> run;
  try {
    config = resolve(f, threads);
    std::error_code ec;
    if (fs::exists(f.out, ec) && !fs::is_directory(f.out, ec))
      throw InputError(f.out, 0, "out", "is not a directory: --out names the run directory to write");
    set_threads(threads);
    const fs::path checkpoint = f.save_best ? fs::path(f.out) / "best.pt" : fs::path();
    RunOptions options;
    options.data_root = f.data_dir;
    options.progress = f.quiet ? nullptr : stderr;
    options.checkpoint = checkpoint;
    run = std::make_unique<TrainingRun>(config, options);
  } catch (const InputError& e) {
    fmt::print(stderr, "scalelab-worker: error: {}\n", e.what());
    return exit_status(WorkerExit::bad_input);
  }

  // From here on the run directory is ours, as long as RUN/claim holds our token (when a sweep gave
  // us one in $SCALELAB_CLAIM): checked right before every write.
  const fs::path out = f.out;
  const auto check_claim = [&] {
    if (!claim_held(out)) throw LostClaim{};
  };
  // A stale result.json would claim this run had ended.
  check_claim();
  fs::create_directories(out);
  fs::remove(out / "result.json");
  fs::remove(out / "metrics.jsonl");
  fs::remove(out / "best.pt");
  std::error_code ec;
  const bool reading_own_hparams = !f.config_path.empty() && fs::equivalent(f.config_path, out / "hparams.yaml", ec);
  // The sweep wrote hparams.yaml and compares it byte for byte later: leave it as it is.
  if (!reading_own_hparams || f.overrides_hparams()) {
    check_claim();
    write_file_atomic(out / "hparams.yaml", hparams_yaml(config));
  }

  if (config.prune_levels > 0) {
    // A pruning trajectory: its levels in OUT/levels (prune/imp.h), kept across attempts.
    run.reset();
    ImpOptions imp;
    imp.out = out;
    imp.data_root = f.data_dir;
    imp.progress = f.quiet ? nullptr : stderr;
    imp.before_write = check_claim;
    const ImpTrajectory trajectory = run_imp(config, imp);
    check_claim();
    write_file_atomic(out / "result.json", trajectory_result_json(config, trajectory));
    return exit_status(trajectory.levels.front().status == "diverged" ? WorkerExit::diverged : WorkerExit::done);
  }
  // metrics.jsonl is rewritten whole (atomically), so rewriting it every epoch is quadratic in the
  // epochs: a 170-sample run of 6,700 epochs wrote 6 GB and took 115 s. After the first epoch it is
  // rewritten at most once a second; the last write below has every epoch.
  auto last_write = std::chrono::steady_clock::time_point::min();
  const RunResult result = run->run([&](const std::vector<EpochMetrics>& history) {
    check_claim();
    const auto now = std::chrono::steady_clock::now();
    if (history.size() > 1 && now - last_write < std::chrono::seconds(1)) return;
    write_file_atomic(out / "metrics.jsonl", metrics_jsonl(history));
    last_write = now;
  });
  check_claim();
  write_file_atomic(out / "metrics.jsonl", metrics_jsonl(result.history));
  check_claim();
  write_file_atomic(out / "result.json", result_json(config, result));  // last: its presence means done
  return exit_status(result.status == "diverged" ? WorkerExit::diverged : WorkerExit::done);
}

// One run, start to end: the exit status says how it ended (store/worker_exit.h).
int train_and_report(const Flags& flags) {
  try {
    return train(flags);
  } catch (const LostClaim&) {
    fmt::print(stderr, "scalelab-worker: {} was taken over by another sweep ({}/claim no longer holds this "
                       "worker's token): stopping without writing\n", flags.out, flags.out);
    return exit_status(WorkerExit::claim_lost);
  } catch (const InputError& e) {
    fmt::print(stderr, "scalelab-worker: error: {}\n", e.what());
    return exit_status(WorkerExit::bad_input);
  } catch (const std::exception& e) {
    fmt::print(stderr, "scalelab-worker: failed: {}\n", e.what());
    return exit_status(WorkerExit::failed);
  }
}

int serve() {
  keep_freed_memory();  // inherited by every child
  // No OpenMP thread pool may exist before a fork: a child would wait on threads it does not have.
  // Each child sets its own count (train() -> set_threads).
  set_threads(1);
  ZygoteHooks hooks;
  hooks.prepare = [](const RunRequest& request) {
    preload_run(read_hparams(request.dir / "hparams.yaml"));
  };
  hooks.run = [](const RunRequest& request) {
    Flags flags;
    flags.config_path = (request.dir / "hparams.yaml").string();
    flags.out = request.dir.string();
    flags.threads = request.threads;
    return train_and_report(flags);
  };
  return serve_zygote(STDIN_FILENO, STDOUT_FILENO, hooks);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scalelab-worker: train one model and write its run directory (docs/run-directory.md)"};
  app.require_subcommand(1);
  Flags flags;
  auto* train_command = app.add_subcommand("train", "train one model");
  add_train_flags(*train_command, flags);
  auto* serve_command = app.add_subcommand(
      "serve", "a sweep's zygote: load once, fork a child per run requested on stdin (zygote/zygote.h); not for "
               "use by hand");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return exit_status(code == 0 ? WorkerExit::done : WorkerExit::bad_input);  // --help exits done
  }
  if (serve_command->parsed()) return serve();
  return train_and_report(flags);
}
