// The fixture the sweep CLI tests share: a 32-run grid for the fake worker in a temp directory.
#pragma once

#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "store/store.h"

namespace scalelab::testing {

// 4 widths x 4 fractions x 2 seeds = 32 runs; the fit set is 6 cells (rosenfeld2020 has 5 parameters).
const std::string kSpec = grid_spec("0.0625, 0.125, 0.25, 0.5", "0.125, 0.25, 0.5, 1", "1, 2", "",
                                    "width<=0.25 && data_fraction<=0.25");
constexpr int kRuns = 32;

struct SweepFixture : ::testing::Test {
  TempDir tmp;
  fs::path spec = tmp / "spec.yaml";
  fs::path dir = tmp / "sweep";
  fs::path log = tmp / "completed.log";
  void SetUp() override { spit(spec, kSpec); }
  std::map<std::string, std::string> env(int sleep_ms = 20) {
    return {{"FAKE_LOG", log.string()}, {"FAKE_SLEEP_MS", std::to_string(sleep_ms)}};
  }
  Result sweep(std::map<std::string, std::string> e, const std::string& jobs = "2") {
    return run({"sweep", spec.string(), "--dir", dir.string(), "--jobs", jobs}, e, tmp.path());
  }
  // Every run of the grid is recorded done, once, with its result in its directory.
  // `unlogged`: completions allowed to miss their log line, because a kill landed between the
  // worker's result.json and its log line (the run then counts as done and is rightly not rerun).
  void expect_all_done_once(int unlogged = 0) {
    Store store(dir);
    auto runs = store.runs();
    ASSERT_EQ(runs.size(), kRuns);
    for (const auto& r : runs) {
      EXPECT_EQ(r.status, RunStatus::done) << r.id << " " << r.message;
      EXPECT_TRUE(fs::exists(dir / "runs" / r.id / "result.json")) << r.id;
    }
    auto done = completions(log);
    EXPECT_LE(done.size(), kRuns);
    EXPECT_GE(static_cast<int>(done.size()), kRuns - unlogged);
    for (const auto& [id, times] : done) EXPECT_EQ(times, 1) << "run " << id << " completed " << times << " times";
  }
};

// kill -9 of the sweep at random moments, then resume: nothing lost, nothing run twice.
inline void kill_and_resume(SweepFixture& f, int kills, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(30, 400);
  for (int k = 0; k < kills; ++k) {
    auto p = start({"sweep", f.spec.string(), "--dir", f.dir.string(), "--jobs", "3"}, f.env(40), f.tmp.path());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    kill(p.pid, SIGKILL);
    wait_exit(p);
    // The workers die with their sweep (PR_SET_PDEATHSIG); give the kernel a moment to deliver it.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto last = f.sweep(f.env(40), "3");
  ASSERT_EQ(last.code, 0) << last.err;
  f.expect_all_done_once(3 * kills);
}

}  // namespace scalelab::testing
