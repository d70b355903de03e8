// The real scalelab-worker under both local executors, on the synthetic dataset: a run forked from the
// zygote computes exactly what a fresh worker process computes, and a sweep whose zygote is killed
// (twice) still ends with every run done once, with the same numbers. (Issue 16: the zygote must
// change no reported number.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep_fixture.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

fs::path real_worker() { return fs::path(SCALELAB_BINARY_DIR) / "bin" / "scalelab-worker"; }

// 2 widths x 2 fractions x 2 seeds of 1-layer MLPs on the synthetic dataset; 40 epochs, so a run
// lasts long enough (~0.2 s) to be killed part way.
const std::string kSpec =
    "name: real\ndataset: synthetic\nmodel: mlp\n"
    "fixed:\n  depth: 1\n  epochs: 40\n  batch_size: 64\n  val_count: 500\n"
    "grid:\n  width: [0.0625, 0.125]\n  data_fraction: [0.5, 1]\n  seed: [1, 2]\n"
    "law: powerlaw\ninputs: {x: m}\n";

// Every number a run reported, by run id: result.json without its clock, and metrics.jsonl without
// the clocks of its lines.
std::map<std::string, std::string> numbers(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir / "runs")) {
    auto result = nlohmann::json::parse(slurp(entry.path() / "result.json"));
    result.erase("wall_s");
    if (result.contains("levels"))
      for (auto& level : result["levels"]) level.erase("wall_s");
    std::string text = result.dump();
    std::istringstream metrics(slurp(entry.path() / "metrics.jsonl"));
    for (std::string line; std::getline(metrics, line);) {
      auto epoch = nlohmann::json::parse(line);
      epoch.erase("wall_s");
      epoch.erase("samples_per_s");
      text += "\n" + epoch.dump();
    }
    out[entry.path().filename().string()] = text;
  }
  return out;
}

struct RealWorker : ::testing::Test {
  TempDir tmp;
  fs::path spec = tmp / "spec.yaml";
  void SetUp() override {
    if (!fs::exists(real_worker())) GTEST_SKIP() << real_worker() << " is not built";
    spit(spec, kSpec);
  }
  std::map<std::string, std::string> env() const { return {{"SCALELAB_WORKER", real_worker().string()}}; }
  Process start_sweep(const fs::path& dir, const std::string& executor) {
    return start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2", "--executor", executor}, env(),
                 tmp.path());
  }
  void expect_all_done_in(const fs::path& dir, std::size_t count) {
    Store store(dir);
    const auto runs = store.runs();
    ASSERT_EQ(runs.size(), count);
    for (const auto& r : runs) EXPECT_EQ(r.status, RunStatus::done) << r.id << " " << r.message;
  }
  void expect_all_done(const fs::path& dir) { expect_all_done_in(dir, 8); }
};

TEST_F(RealWorker, ZygoteForkedRunsMatchFreshProcessesAndSurviveAKilledZygote) {
  const auto forked = tmp / "forked", fresh = tmp / "fresh", killed = tmp / "killed";
  auto a = start_sweep(forked, "local");
  ASSERT_EQ(wait_exit(a), 0) << a.stderr_text();
  auto b = start_sweep(fresh, "process");
  ASSERT_EQ(wait_exit(b), 0) << b.stderr_text();

  auto c = start_sweep(killed, "local");
  int kills = 0;
  pid_t last = -1;
  for (int t = 0; t < 20000 && kills < 2; t += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream children("/proc/" + std::to_string(c.pid) + "/task/" + std::to_string(c.pid) + "/children");
    pid_t zygote = -1;
    if (!(children >> zygote) || zygote == last) continue;
    // Once the zygote has forked a run, kill it mid-run.
    std::ifstream runs("/proc/" + std::to_string(zygote) + "/task/" + std::to_string(zygote) + "/children");
    pid_t run = -1;
    if (!(runs >> run)) continue;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(zygote, SIGKILL);
    last = zygote;
    ++kills;
  }
  ASSERT_EQ(wait_exit(c), 0) << c.stderr_text();
  EXPECT_EQ(kills, 2) << "the sweep ended before its zygote could be killed twice";

  expect_all_done(forked);
  expect_all_done(fresh);
  expect_all_done(killed);
  const auto expected = numbers(fresh);
  ASSERT_EQ(expected.size(), 8u);
  EXPECT_EQ(numbers(forked), expected);
  EXPECT_EQ(numbers(killed), expected);
}

// A pruning sweep killed between and inside levels: the resumed sweep keeps every finished level (the
// worker says so and their files are untouched) and ends with the numbers of a sweep never killed.
const std::string kPruneSpec =
    "name: real-prune\ndataset: synthetic\nmodel: mlp\n"
    "fixed:\n  depth: 2\n  epochs: 30\n  batch_size: 64\n  val_count: 500\n  data_fraction: 1\n"
    "prune: {levels: 4}\n"
    "grid:\n  width: [0.0625, 0.125]\n  seed: [1]\n";

TEST_F(RealWorker, APruningSweepKilledMidTrajectoryKeepsItsFinishedLevels) {
  spit(spec, kPruneSpec);
  const auto clean = tmp / "clean", killed = tmp / "killed";
  auto a = start_sweep(clean, "local");
  ASSERT_EQ(wait_exit(a), 0) << a.stderr_text();

  auto b = start_sweep(killed, "local");
  // Kill the sweep once some trajectory has finished level 1 and is inside a later level.
  fs::path caught;
  for (int t = 0; t < 20000 && caught.empty(); t += 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::error_code ec;
    if (!fs::is_directory(killed / "runs", ec)) continue;
    for (const auto& run : fs::directory_iterator(killed / "runs", ec))
      if (fs::exists(run.path() / "levels" / "level_01" / "result.json") && !fs::exists(run.path() / "result.json"))
        caught = run.path();
  }
  ASSERT_FALSE(caught.empty()) << "no trajectory was caught between levels";
  kill(b.pid, SIGKILL);
  wait_exit(b);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its zygote and runs die with it
  ASSERT_FALSE(fs::exists(caught / "result.json"));
  const std::string level1 = slurp(caught / "levels" / "level_01" / "result.json");
  const auto weights1 = fs::last_write_time(caught / "levels" / "level_01" / "final.pt");

  auto c = start_sweep(killed, "local");
  ASSERT_EQ(wait_exit(c), 0) << c.stderr_text();
  expect_all_done_in(killed, 2);
  const std::string log = slurp(caught / "worker.log");
  EXPECT_NE(log.find("[level 0] finished earlier"), std::string::npos) << log;
  EXPECT_NE(log.find("[level 1] finished earlier"), std::string::npos) << log;
  EXPECT_EQ(slurp(caught / "levels" / "level_01" / "result.json"), level1);
  EXPECT_EQ(fs::last_write_time(caught / "levels" / "level_01" / "final.pt"), weights1);
  EXPECT_EQ(numbers(killed), numbers(clean));
}

}  // namespace
}  // namespace scalelab
