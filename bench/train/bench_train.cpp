// Timings for bench/train/run.sh, which prints them beside PyTorch's (step.py) as ratios.
//   scalelab-bench-train step FAMILY WIDTH DEPTH BATCH THREADS SECONDS  -> examples/s of training steps
//   scalelab-bench-train lm WIDTH DEPTH BATCH THREADS SECONDS           -> tokens/s of the transformer (AdamW)
//   scalelab-bench-train gemm M K N THREADS SECONDS                     -> GFLOP/s of an M x K by K x N product
// Each prints two figures: per second of wall time, and per second of the process's CPU time.
// Steps run the trainer's own train_step() on examples drawn from memory in shuffled batches, with
// the learning rate set every step, as trainer.cpp does; the first 20% of the time is warm-up.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include "models/models.h"
#include "train/adamw.h"
#include "train/step.h"
#include "train/train.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct Rate {
  double per_wall_s, per_cpu_s;  // calls per second of wall time, and per second of this process's CPU time
};

// Runs body() for `seconds` after a warm-up of a fifth of that. Per CPU second is what one thread
// achieves when it has its core: on a shared machine it is the steadier figure.
template <class Body>
Rate rate(double seconds, Body body) {
  for (auto t = Clock::now(); since(t) < seconds / 5;) body();
  long calls = 0;
  const auto start = Clock::now();
  const double cpu_start = cpu_seconds();
  while (since(start) < seconds) {
    body();
    ++calls;
  }
  return {double(calls) / since(start), double(calls) / (cpu_seconds() - cpu_start)};
}

int step(const std::string& family, double width, int depth, int batch, double seconds) {
  using namespace scalelab;
  const ModelSpec spec{.family = family, .width = width, .depth = depth};
  torch::manual_seed(0);
  auto model = build_model(spec);
  model->train();
  Sgd optimizer(model->parameters(), 0.9, 5e-4);
  const std::int64_t pool = 4096;
  const auto inputs = torch::randn({pool, 1, 28, 28});
  const auto labels = torch::randint(10, {pool}, torch::kInt64);
  auto order = torch::randperm(pool, torch::kInt64);
  std::int64_t next = 0;
  const Rate steps = rate(seconds, [&] {
    if (next + batch > pool) order = torch::randperm(pool, torch::kInt64), next = 0;
    optimizer.set_lr(0.01);
    const auto index = order.slice(0, next, next + batch);
    next += batch;
    train_step(*model, optimizer, inputs.index_select(0, index), labels.index_select(0, index));
  });
  std::printf("%.1f %.1f\n", steps.per_wall_s * batch, steps.per_cpu_s * batch);
  return 0;
}

// The transformer on random bytes (context 64, vocabulary 256) with AdamW, as examples/lm-bytes.yaml
// trains it (train/adamw.h): tokens per second.
int lm(double width, int depth, int batch, double seconds) {
  using namespace scalelab;
  constexpr int kContext = 64;
  const ModelSpec spec{.family = "transformer", .width = width, .depth = depth, .input_channels = 1,
                       .input_height = 1, .input_width = kContext, .classes = 256};
  torch::manual_seed(0);
  auto model = build_model(spec);
  model->train();
  AdamW optimizer(model->parameters(), 0.1);
  const std::int64_t pool = 4096;
  const auto blocks = torch::randint(256, {pool, kContext + 1}, torch::kUInt8);
  auto order = torch::randperm(pool, torch::kInt64);
  std::int64_t next = 0;
  const Rate steps = rate(seconds, [&] {
    if (next + batch > pool) order = torch::randperm(pool, torch::kInt64), next = 0;
    optimizer.set_lr(1e-3);
    const auto rows = blocks.index_select(0, order.slice(0, next, next + batch));
    next += batch;
    train_step(*model, optimizer, rows.slice(1, 0, kContext), rows.slice(1, 1));
  });
  std::printf("%.1f %.1f\n", steps.per_wall_s * batch * kContext, steps.per_cpu_s * batch * kContext);
  return 0;
}

int gemm(std::int64_t m, std::int64_t k, std::int64_t n, double seconds) {
  const auto a = torch::randn({m, k}), b = torch::randn({k, n});
  auto c = torch::empty({m, n});
  const Rate calls = rate(seconds, [&] { torch::mm_out(c, a, b); });
  const double flops = 2.0 * double(m * k * n) / 1e9;
  std::printf("%.2f %.2f\n", calls.per_wall_s * flops, calls.per_cpu_s * flops);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  scalelab::keep_freed_memory();  // as TrainingRun does
  if (mode == "step" && argc == 8) {
    scalelab::set_threads(std::stoi(argv[6]));
    return step(argv[2], std::stod(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]), std::stod(argv[7]));
  }
  if (mode == "lm" && argc == 7) {
    scalelab::set_threads(std::stoi(argv[5]));
    return lm(std::stod(argv[2]), std::stoi(argv[3]), std::stoi(argv[4]), std::stod(argv[6]));
  }
  if (mode == "gemm" && argc == 7) {
    scalelab::set_threads(std::stoi(argv[5]));
    return gemm(std::stoll(argv[2]), std::stoll(argv[3]), std::stoll(argv[4]), std::stod(argv[6]));
  }
  std::fprintf(stderr,
               "usage: scalelab-bench-train step FAMILY WIDTH DEPTH BATCH THREADS SECONDS\n"
               "       scalelab-bench-train lm WIDTH DEPTH BATCH THREADS SECONDS\n"
               "       scalelab-bench-train gemm M K N THREADS SECONDS\n");
  return 2;
}
