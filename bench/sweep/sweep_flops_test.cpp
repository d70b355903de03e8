// scalelab-bench-sweep's arithmetic, checked exactly: hand-made runs through sweep_flops(), and a fake
// finished sweep (the real `scalelab`, testing/fake_worker) through the binary's `flops` mode.
// Expected FLOPs are worked out by hand from the MLP's layer sizes, not from forward_flops().
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "store/store.h"
#include "sweep_flops.h"
#include "tests/sweep/cli_helpers.h"

namespace scalelab::testing {
namespace {

using bench::sweep_flops;

// Forward FLOPs of a 784-h-h-10 MLP (depth 2): 2 x (784h + h^2 + 10h).
constexpr double kForward8 = 2 * (784 * 8 + 8 * 8 + 8 * 10);       // width 1/64: 12,832
constexpr double kForward16 = 2 * (784 * 16 + 16 * 16 + 16 * 10);  // width 1/32: 25,920

RunRecord mlp_run(const std::string& id, double width, RunStatus status) {
  RunRecord r;
  r.id = id;
  r.status = status;
  r.hparams.set("dataset", "fashion-mnist");
  r.hparams.set("model", "mlp");
  r.hparams.set("width", width);
  r.hparams.set("depth", 2.0);
  return r;
}

// Wall times are sums of powers of two, so every overhead below is exact.
std::vector<RunRecord> hand_made_runs() {
  // a: result.json echoes its hparams (as scalelab-worker does): its val_count 4000 is the one used.
  auto a = mlp_run("a", 0.015625, RunStatus::done);
  a.result = {{"hparams", {{"dataset", "fashion-mnist"}, {"model", "mlp"}, {"width", 0.015625}, {"depth", 2},
                           {"val_count", 4000}}},
              {"train_samples", 859}, {"epochs_run", 3}, {"wall_s", 1.5}};
  a.wall_s = 1.53125;
  // b: no echo (as the fake worker writes it): hparams.yaml's val_count 1000.
  auto b = mlp_run("b", 0.03125, RunStatus::done);
  b.hparams.set("val_count", 1000.0);
  b.result = {{"train_samples", 1719}, {"epochs_run", 2}, {"wall_s", 2.25}};
  b.wall_s = 2.5;
  // c: diverged after 1 epoch, val_count nowhere: the schema's default, 5000.
  auto c = mlp_run("c", 0.03125, RunStatus::diverged);
  c.result = {{"train_samples", 3438}, {"epochs_run", 1}, {"wall_s", 4.0}, {"diverged_at_epoch", 2}};
  c.wall_s = 4.0625;
  auto failed = mlp_run("d", 0.5, RunStatus::failed);
  failed.wall_s = 9;
  auto pending = mlp_run("e", 0.5, RunStatus::pending);
  return {a, b, c, failed, pending};
}

TEST(SweepFlops, SumsFinishedRunsExactly) {
  const auto s = sweep_flops(hand_made_runs());
  EXPECT_EQ(kForward8, 12832);
  EXPECT_EQ(kForward16, 25920);
  EXPECT_EQ(s.runs, 3);
  EXPECT_EQ(s.skipped, 2);
  // Training: 3 x forward x train_samples x epochs_run.
  EXPECT_EQ(s.train_flops, 3 * 12832.0 * 859 * 3 + 3 * 25920.0 * 1719 * 2 + 3 * 25920.0 * 3438 * 1);
  EXPECT_EQ(s.train_flops, 633881952);
  // Validation: forward x val_count x epochs_run.
  EXPECT_EQ(s.val_flops, 12832.0 * 4000 * 3 + 25920.0 * 1000 * 2 + 25920.0 * 5000 * 1);
  EXPECT_EQ(s.val_flops, 335424000);
  // Test: forward x Fashion-MNIST's 10,000 test images x 1 evaluation per run.
  EXPECT_EQ(bench::kTestEvaluationsPerRun, 1);
  EXPECT_EQ(s.test_flops, (12832.0 + 25920 + 25920) * 10000);
  EXPECT_EQ(s.process_wall_s, 1.53125 + 2.5 + 4.0625);
  EXPECT_EQ(s.training_wall_s, 1.5 + 2.25 + 4.0);
  // Overheads 31.25, 250, 62.5 ms; the smallest run (fewest training FLOPs) is a.
  EXPECT_EQ(s.smallest_run, "a");
  EXPECT_EQ(s.smallest_overhead_ms, 31.25);
  EXPECT_EQ(s.median_overhead_ms, 62.5);
  EXPECT_EQ(s.max_overhead_ms, 250);
}

TEST(SweepFlops, MedianOfAnEvenCountIsTheMeanOfTheMiddleTwo) {
  auto runs = hand_made_runs();
  runs.erase(runs.begin() + 2);  // c
  const auto s = sweep_flops(runs);
  EXPECT_EQ(s.runs, 2);
  EXPECT_EQ(s.median_overhead_ms, (31.25 + 250) / 2);
  EXPECT_EQ(s.max_overhead_ms, 250);
}

TEST(SweepFlops, NoFinishedRunIsAllZero) {
  auto runs = hand_made_runs();
  const auto s = sweep_flops({runs[3], runs[4]});
  EXPECT_EQ(s.runs, 0);
  EXPECT_EQ(s.skipped, 2);
  EXPECT_EQ(s.train_flops, 0);
  EXPECT_EQ(s.smallest_run, "");
}

TEST(SweepFlops, ResultWithoutItsCountsIsAnError) {
  auto run = hand_made_runs()[1];
  run.result.erase("epochs_run");
  EXPECT_THROW(sweep_flops({run}), std::runtime_error);
}

struct Output {
  int code;
  std::map<std::string, std::string> values;  // `key value` lines
};

Output bench_flops(const fs::path& dir) {
  const auto bench = fs::path(SCALELAB_BINARY_DIR) / "bin" / "scalelab-bench-sweep";
  FILE* p = popen((bench.string() + " flops '" + dir.string() + "' 2>/dev/null").c_str(), "r");
  Output out{};
  char line[512];
  while (p && std::fgets(line, sizeof line, p)) {
    std::istringstream in(line);
    std::string key, value;
    if (in >> key >> value) out.values[key] = value;
  }
  const int status = p ? pclose(p) : -1;
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// 2 widths x 2 fractions x 1 seed, no fit. A spec's law must be one its 4 cells could determine:
// powerlaw in m (3 parameters), not the default rosenfeld2020 (5). The fake worker writes
// train_samples = round(fraction x 55,000) (859 and 1719) and epochs_run = epochs (2), and echoes no
// hparams: val_count is the spec's.
const std::string kTinySpec =
    "name: t\ndataset: fashion-mnist\nmodel: mlp\n"
    "fixed:\n  depth: 2\n  epochs: 2\n  batch_size: 128\n  val_count: 1000\n"
    "grid:\n  width: [0.015625, 0.03125]\n  data_fraction: [0.015625, 0.03125]\n  seed: [1]\n"
    "law: powerlaw\ninputs: {x: m}\n";

TEST(BenchSweepFlops, FakeSweepThroughTheBinary) {
  TempDir tmp;
  spit(tmp / "spec.yaml", kTinySpec);
  const auto dir = tmp / "sweep";
  auto sweep = run({"sweep", (tmp / "spec.yaml").string(), "--dir", dir.string(), "--jobs", "2"},
                   {{"FAKE_SLEEP_MS", "5"}}, tmp.path());
  ASSERT_EQ(sweep.code, 0) << sweep.err;

  auto out = bench_flops(dir);
  ASSERT_EQ(out.code, 0);
  auto& v = out.values;
  EXPECT_EQ(v["runs"], "4");
  EXPECT_EQ(v["skipped"], "0");
  // 3 x 2 epochs x (12832 + 25920) x (859 + 1719); 2 epochs x 1000 x ...; 10,000 x ... once per run.
  EXPECT_EQ(v["train_flop"], "599415936");
  EXPECT_EQ(v["val_flop"], "155008000");
  EXPECT_EQ(v["test_flop"], "775040000");
  EXPECT_EQ(v["test_evaluations_per_run"], "1");

  // Overheads are measured, so the test recomputes them from the store: the same records, the same
  // subtraction. The binary prints shortest round-trip text, so the doubles compare exactly.
  Store store(dir, StoreMode::read_only);
  std::vector<double> overheads;
  double process = 0, training = 0;
  std::string smallest;
  double smallest_ms = 0;
  for (const auto& r : store.runs()) {
    const double ms = 1000 * (r.wall_s - r.result["wall_s"].get<double>());
    overheads.push_back(ms);
    process += r.wall_s;
    training += r.result["wall_s"].get<double>();
    if (r.hparams.number("width") == 0.015625 && r.hparams.number("data_fraction") == 0.015625)
      smallest = r.id, smallest_ms = ms;
  }
  std::sort(overheads.begin(), overheads.end());
  EXPECT_EQ(v["smallest_run"], smallest);
  EXPECT_EQ(std::stod(v["overhead_smallest_ms"]), smallest_ms);
  EXPECT_EQ(std::stod(v["overhead_median_ms"]), (overheads[1] + overheads[2]) / 2);
  EXPECT_EQ(std::stod(v["overhead_max_ms"]), overheads[3]);
  EXPECT_DOUBLE_EQ(std::stod(v["process_wall_s"]), process);
  EXPECT_DOUBLE_EQ(std::stod(v["training_wall_s"]), training);
}

TEST(BenchSweepFlops, NotASweepDirectoryIsBadInput) {
  TempDir tmp;
  EXPECT_EQ(bench_flops(tmp / "nothing-here").code, 2);
  EXPECT_FALSE(fs::exists(tmp / "nothing-here"));
}

}  // namespace
}  // namespace scalelab::testing
