// A stand-in for scalelab-worker that honours its contract (docs/run-directory.md) in milliseconds,
// so the sweep's reliability tests can run hundreds of runs and kill things at random moments.
//
//   fake_worker train --config RUN/hparams.yaml --out RUN [--threads N]
//   fake_worker serve      a zygote (zygote/zygote.h), as `scalelab-worker serve`: one child per run
//
// The test error follows rosenfeld2020 in (m, n) with a little seed noise, so a fit on fake results
// behaves. Environment, for the tests:
//   FAKE_SLEEP_MS      time a run takes (default 30), in slices so signals act at once
//   FAKE_DIVERGE_WHEN  a predicate over the hyperparameters (e.g. "width==0.5 && seed==2"): exits diverged
//   FAKE_FAIL_WHEN     likewise: print to stderr and exit failed
//   FAKE_LOG           a file to which every completed run appends "<dir name> <pid>\n", after its
//                      result.json is in place: a name twice means a run was completed twice
//   FAKE_LOST_LOG      a file to which a worker appends "<dir name> <pid>\n" when it stops because its
//                      run was taken over (SCALELAB_CLAIM no longer in RUN/claim; exits claim_lost,
//                      nothing written)
//   FAKE_GPU_LOG       a file to which every run appends "<dir name> <$CUDA_VISIBLE_DEVICES or ->\n" as it starts
//   FAKE_LEVEL_DIVERGE_WHEN  a predicate over the hyperparameters and `level` (e.g. "seed==2 && level==3"):
//                      the first pruning level it matches diverges, ending the trajectory
// A run with prune_levels K > 0 writes the IMP trajectory of docs/pruning.md: `prunable_weights` and
// `levels` 0..K, level 0 the errors above, level L at density round((1 - prune_rate)^L P) / P with the
// error of pruning2021_joint (testing/fake_pruning.h's constants) times a little deterministic noise.
// Like scalelab-worker it checks, right before each write, that RUN/claim still holds $SCALELAB_CLAIM.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "models/spec.h"
#include "store/claim.h"
#include "store/hparams.h"
#include "store/worker_exit.h"
#include "store/hparam_schema.h"
#include "table/table.h"
#include "fake_pruning.h"
#include "zygote/zygote.h"

namespace fs = std::filesystem;
using scalelab::Hparams;
using scalelab::WorkerExit;
using scalelab::exit_status;

namespace {

bool matches(const char* env, const Hparams& h, double level = NAN) {
  const char* text = std::getenv(env);
  if (!text || !*text) return false;
  return scalelab::Predicate::parse(text, env)(
      [&](std::string_view name) { return name == "level" ? level : h.number(name); });
}

// A pruning hyperparameter of the run, or its schema default.
double pruning(const Hparams& h, const char* key) {
  return h.has(key) ? h.number(key) : scalelab::hparam_default_number(key);
}

// The IMP trajectory after a dense run whose level-0 metrics are `dense`: `prunable_weights` and
// `levels` as docs/pruning.md describes them.
void add_levels(nlohmann::json& result, const Hparams& h, const scalelab::ModelSpec& model, double params) {
  namespace law = scalelab::testing::fake_pruning;
  const int levels = static_cast<int>(pruning(h, "prune_levels"));
  const bool ends = pruning(h, "prune_ends") != 0;
  const double prunable = static_cast<double>(scalelab::prunable_weights(model, ends));
  const double eps_np = result["test_error"].get<double>();
  result["prunable_weights"] = prunable;
  nlohmann::json trajectory = nlohmann::json::array();
  for (int level = 0; level <= levels; ++level) {
    const double remaining = std::round(std::pow(1 - pruning(h, "prune_rate"), level) * prunable);
    nlohmann::json entry = {{"level", level}, {"density", prunable > 0 ? remaining / prunable : 1.0},
                            {"remaining_weights", remaining}, {"remaining_params", remaining + params - prunable}};
    if (matches("FAKE_LEVEL_DIVERGE_WHEN", h, level)) {
      entry["status"] = "diverged";
      for (const char* key : {"test_error", "test_loss", "val_error", "val_loss", "train_loss", "train_error"})
        entry[key] = nullptr;
      trajectory.push_back(entry);
      break;  // a diverged level ends the trajectory
    }
    entry["status"] = "done";
    if (level == 0) {  // the dense network: the run's own metrics
      for (const char* key : {"test_error", "val_error", "test_loss"}) entry[key] = result[key];
    } else {
      const double noise = law::kNoise * std::sin(12.9898 * h.number("seed") + 78.233 * level + 0.001 * params);
      const double error =
          law::error_at(entry["density"].get<double>(), h.number("depth"), h.number("width"), eps_np) * (1 + noise);
      entry["test_error"] = error;
      entry["val_error"] = error;
      entry["test_loss"] = std::log(error);
    }
    entry["best_epoch"] = result["best_epoch"];
    entry["epochs_run"] = result["epochs_run"];
    entry["wall_s"] = 0.001;
    trajectory.push_back(entry);
  }
  result["levels"] = trajectory;
}

void append_line(const char* path, const std::string& line) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);  // O_APPEND: whole lines, even from many processes
  if (fd < 0) return;
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

}  // namespace

// One run: what `fake_worker train --config CONFIG --out OUT` does.
int fake_run(const fs::path& config, const fs::path& out) {
  Hparams h;
  try {
    h = Hparams::read(config);
  } catch (const scalelab::InputError& e) {
    fmt::print(stderr, "fake_worker: {}\n", e.what());
    return exit_status(WorkerExit::bad_input);
  }
  auto started = std::chrono::steady_clock::now();
  auto lost = [&] {
    if (scalelab::claim_held(out)) return false;
    if (const char* log = std::getenv("FAKE_LOST_LOG")) append_line(log, fmt::format("{} {}\n", out.filename().string(), getpid()));
    fmt::print(stderr, "fake_worker: {} was taken over: stopping without writing\n", out.filename().string());
    return true;
  };
  if (const char* log = std::getenv("FAKE_GPU_LOG")) {
    const char* gpu = std::getenv("CUDA_VISIBLE_DEVICES");
    append_line(log, fmt::format("{} {}\n", out.filename().string(), gpu && *gpu ? gpu : "-"));
  }
  fmt::print("fake_worker: training {}\n", out.filename().string());
  std::fflush(stdout);

  scalelab::ModelSpec model;
  model.family = h.text("model");
  model.width = h.number("width");
  model.depth = static_cast<int>(h.number("depth"));
  double n = static_cast<double>(scalelab::parameter_count(model));
  double m = std::round(h.number("data_fraction") * 55000);

  // Half way: a metrics file, so a kill leaves a partial directory behind.
  const char* sleep_env = std::getenv("FAKE_SLEEP_MS");
  int sleep_ms = sleep_env ? std::atoi(sleep_env) : 30;
  for (int t = 0; t < sleep_ms; t += 5) {
    if (t >= sleep_ms / 2 && !fs::exists(out / "metrics.jsonl")) {
      if (lost()) return exit_status(WorkerExit::claim_lost);
      scalelab::write_file_atomic(out / "metrics.jsonl", "{\"epoch\": 1}\n");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  if (matches("FAKE_FAIL_WHEN", h)) {
    fmt::print(stderr, "fake_worker: failing on purpose (FAKE_FAIL_WHEN)\n");
    return exit_status(WorkerExit::failed);
  }
  bool diverged = matches("FAKE_DIVERGE_WHEN", h);

  // rosenfeld2020 with paper-like constants, in fractions of the largest sizes, plus seed noise.
  double t = std::pow(m / 55000, -0.6) + 0.05 * std::pow(n / 670000, -0.5) + 0.01;
  double eps = 0.9 * t / std::sqrt(t * t + 20.0 * 20.0);
  double noise = 0.01 * std::sin(12.9898 * h.number("seed") + 78.233 * m + n);
  nlohmann::json result;
  for (const auto& [key, value] : h.values()) {
    double v = h.number(key);
    if (std::isnan(v)) result[key] = value;
    else result[key] = v;
  }
  result["status"] = diverged ? "diverged" : "done";
  result["params"] = n;
  result["train_samples"] = m;
  result["epochs_run"] = h.number("epochs");
  result["best_epoch"] = h.number("epochs");
  result["test_error"] = diverged ? nlohmann::json(nullptr) : nlohmann::json(eps * (1 + noise));
  result["val_error"] = diverged ? nlohmann::json(nullptr) : nlohmann::json(eps);
  // A second metric, negative (a log loss): for targets other than test_error, and that may be <= 0.
  result["test_loss"] = diverged ? nlohmann::json(nullptr) : nlohmann::json(std::log(eps * (1 + noise)));
  result["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (diverged) result["diverged_at_epoch"] = 1;
  if (!diverged && pruning(h, "prune_levels") > 0) add_levels(result, h, model, n);
  if (lost()) return exit_status(WorkerExit::claim_lost);
  scalelab::write_file_atomic(out / "result.json", result.dump(2));
  if (const char* log = std::getenv("FAKE_LOG")) append_line(log, fmt::format("{} {}\n", out.filename().string(), getpid()));
  return exit_status(diverged ? WorkerExit::diverged : WorkerExit::done);
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "serve") == 0) {
    scalelab::ZygoteHooks hooks;
    hooks.run = [](const scalelab::RunRequest& r) { return fake_run(r.dir / "hparams.yaml", r.dir); };
    return scalelab::serve_zygote(STDIN_FILENO, STDOUT_FILENO, hooks);
  }
  fs::path config, out;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) config = argv[i + 1];
    if (std::strcmp(argv[i], "--out") == 0) out = argv[i + 1];
  }
  if (argc < 2 || std::strcmp(argv[1], "train") != 0 || config.empty() || out.empty()) {
    fmt::print(stderr, "usage: fake_worker train --config FILE --out DIR [--threads N] | fake_worker serve\n");
    return exit_status(WorkerExit::bad_input);
  }
  return fake_run(config, out);
}
