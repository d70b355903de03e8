// scalelab-worker: trains one model and writes its run directory (docs/run-directory.md).
//   scalelab-worker train --config RUN/hparams.yaml --out RUN [--threads N]
//   scalelab-worker train --model wrn --width 0.25 --depth 10 --data-fraction 0.125 --out runs/x
// Exit status: WorkerExit (store/worker_exit.h): done, diverged, bad input (nothing written), claim lost
// (the run was taken over by another sweep: RUN/claim no longer holds $SCALELAB_CLAIM; nothing more
// written), failed (anything else).
// It is a process of its own so that a crash or a NaN takes down one run, never the sweep.
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "store/claim.h"
#include "store/worker_exit.h"
#include "table/table.h"
#include "train/run_files.h"
#include "train/train.h"

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
  std::optional<std::string> dataset, model, schedule, device;
  std::optional<double> width, data_fraction, lr, momentum, weight_decay;
  std::optional<std::int64_t> depth, data_count, seed, epochs, batch_size, val_count, early_stopping;

  bool overrides_hparams() const {
    return dataset || model || schedule || device || width || data_fraction || lr || momentum || weight_decay || depth ||
           data_count || seed || epochs || batch_size || val_count || early_stopping;
  }
};

void add_train_flags(CLI::App& train, Flags& f) {
  const TrainConfig d;  // defaults, shown in --help
  train.add_option("--config", f.config_path, "hparams.yaml to read; flags given as well override it")
      ->check(CLI::ExistingFile);
  train.add_option("--out", f.out, "run directory to write (created)")->required();
  train.add_option("--dataset", f.dataset, "fashion-mnist or synthetic [" + d.dataset + "]");
  train.add_option("--model", f.model, "model family: mlp or wrn [mlp]");
  train.add_option("--width", f.width, "width factor (mlp: x512 units; wrn: k, x16/32/64 channels) [1]");
  train.add_option("--depth", f.depth, "mlp: hidden layers; wrn: 6n+4 (10, 16, ...) [2]");
  train.add_option("--data-fraction", f.data_fraction, "fraction of the training set (after validation) [1]");
  train.add_option("--data-count", f.data_count, "or an exact number of training examples");
  // A negative seed would wrap to 2^64 - 1 in TrainConfig::seed; exit 2 instead.
  train.add_option("--seed", f.seed, fmt::format("data subset, initialisation and batch order, >= 0 [{}]", d.seed))
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  train.add_option("--epochs", f.epochs, fmt::format("[{}]", d.epochs));
  train.add_option("--batch-size", f.batch_size, fmt::format("[{}]", d.batch_size));
  train.add_option("--lr", f.lr, fmt::format("peak learning rate of SGD [{}]", d.lr));
  train.add_option("--momentum", f.momentum, fmt::format("[{}]", d.momentum));
  train.add_option("--weight-decay", f.weight_decay, fmt::format("[{}]", d.weight_decay));
  train.add_option("--schedule", f.schedule, "cosine or step [" + d.schedule + "]");
  train.add_option("--val-count", f.val_count, fmt::format("validation examples held out of training [{}]", d.val_count));
  train.add_option("--early-stopping", f.early_stopping, "patience in epochs, 0 = off [0]");
  train.add_option("--device", f.device, "cpu or cuda [cpu]");
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
  if (f.dataset) c.dataset = *f.dataset;
  if (f.model) c.model.family = *f.model;
  if (f.width) c.model.width = *f.width;
  if (f.depth) c.model.depth = int(*f.depth);
  if (f.data_fraction) c.data_fraction = *f.data_fraction, c.data_count.reset();
  if (f.data_count) c.data_count = *f.data_count, c.data_fraction.reset();
  if (f.data_fraction && f.data_count)
    throw InputError("--data-count", 0, "data_count", "give --data-fraction or --data-count, not both");
  if (f.seed) c.seed = std::uint64_t(*f.seed);
  if (f.epochs) c.epochs = int(*f.epochs);
  if (f.batch_size) c.batch_size = int(*f.batch_size);
  if (f.lr) c.lr = *f.lr;
  if (f.momentum) c.momentum = *f.momentum;
  if (f.weight_decay) c.weight_decay = *f.weight_decay;
  if (f.schedule) c.schedule = *f.schedule;
  if (f.val_count) c.val_count = *f.val_count;
  if (f.early_stopping) c.early_stopping = int(*f.early_stopping);
  if (f.device) c.device = *f.device;
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
    run = std::make_unique<TrainingRun>(config, RunOptions{f.data_dir, f.quiet ? nullptr : stderr, checkpoint});
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

  const RunResult result = run->run([&](const std::vector<EpochMetrics>& history) {
    check_claim();
    write_file_atomic(out / "metrics.jsonl", metrics_jsonl(history));
  });
  check_claim();
  write_file_atomic(out / "metrics.jsonl", metrics_jsonl(result.history));
  check_claim();
  write_file_atomic(out / "result.json", result_json(config, result));  // last: its presence means done
  return exit_status(result.status == "diverged" ? WorkerExit::diverged : WorkerExit::done);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scalelab-worker: train one model and write its run directory (docs/run-directory.md)"};
  app.require_subcommand(1);
  Flags flags;
  auto* train_command = app.add_subcommand("train", "train one model");
  add_train_flags(*train_command, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return exit_status(code == 0 ? WorkerExit::done : WorkerExit::bad_input);  // --help exits done
  }
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
