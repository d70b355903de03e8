// The sweep's promises, checked on the real `scalelab` binary with the fake worker: every run is
// recorded exactly once whatever happens to the sweep process, finished runs are never repeated, and
// what cannot be trusted is run again.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "sweep_fixture.h"
#include "store/store.h"
#include "sweep/results.h"
#include "table/table.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

TEST_F(SweepFixture, RunsTheGridOnceAndNeverAgain) {
  auto first = sweep(env());
  ASSERT_EQ(first.code, 0) << first.err;
  expect_all_done_once();
  auto second = sweep(env());
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("(0 started now"), std::string::npos) << second.err;
  expect_all_done_once();

  auto csv = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path());
  ASSERT_EQ(csv.code, 0) << csv.err;
  auto table = parse_csv(csv.out, "results");
  EXPECT_EQ(table.rows(), kRuns);
  auto cells = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path());
  auto per_cell = parse_csv(cells.out, "results");
  ASSERT_EQ(per_cell.rows(), kRuns / 2);
  for (std::size_t r = 0; r < per_cell.rows(); ++r) {
    EXPECT_EQ(per_cell.at(r, "seeds"), "2");
    EXPECT_GT(per_cell.number(r, per_cell.column("test_error")), 0);
  }
}

TEST_F(SweepFixture, KillNineAtRandomMomentsLosesAndRepeatsNothing) { kill_and_resume(*this, 4, 1); }

// Started together on a directory that does not exist yet: the racy moment is creating the store.
TEST_F(SweepFixture, ThreeSweepsOnOneDirectoryNeverRunAConfigTwice) {
  std::vector<Process> sweeps;
  for (int i = 0; i < 3; ++i)
    sweeps.push_back(start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(40), tmp.path()));
  for (const auto& p : sweeps) EXPECT_EQ(wait_exit(p), 0) << p.stderr_text();
  expect_all_done_once();
}

TEST_F(SweepFixture, CorruptOrPartialRunDirectoriesAreRunAgain) {
  ASSERT_EQ(sweep(env()).code, 0);
  Store store(dir);
  auto runs = store.runs();
  auto run_dir = [&](int i) { return dir / "runs" / runs[i].id; };
  spit(run_dir(0) / "result.json", "{\"status\": \"done\", \"test_e");      // truncated
  fs::remove(run_dir(1) / "result.json");                                   // missing
  auto result = nlohmann::json::parse(slurp(run_dir(2) / "result.json"));  // someone else's result
  result["width"] = 7;
  spit(run_dir(2) / "result.json", result.dump());
  spit(run_dir(3) / "hparams.yaml", "width: [oops\n");                     // unreadable configuration

  fs::remove(log);
  auto again = sweep(env());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("(4 started now"), std::string::npos) << again.err;
  auto rerun = completions(log);
  EXPECT_EQ(rerun.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rerun[runs[i].id], 1) << i;
  for (const auto& r : Store(dir).runs()) EXPECT_EQ(r.status, RunStatus::done);
}

TEST_F(SweepFixture, DivergedRunsAreRecordedAndLeftOutOfFits) {
  auto e = env();
  e["FAKE_DIVERGE_WHEN"] = "width==0.5 && data_fraction==1 && seed==2";
  auto r = sweep(e);
  ASSERT_EQ(r.code, 0) << r.err;
  int diverged = 0;
  for (const auto& run : Store(dir).runs()) diverged += run.status == RunStatus::diverged;
  EXPECT_EQ(diverged, 1);
  std::vector<std::string> warnings;
  auto cells = sweep_measurements(dir, &warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("diverged"), std::string::npos);
  for (std::size_t row = 0; row < cells.rows(); ++row)
    if (cells.at(row, "width") == "0.5" && cells.at(row, "data_fraction") == "1") {
      EXPECT_EQ(cells.at(row, "seeds"), "1");  // the mean is over the seed that finished
      EXPECT_EQ(cells.at(row, "diverged"), "1");
    }
  // A diverged run is an answer: resuming does not run it again.
  auto again = sweep(e);
  EXPECT_NE(again.err.find("(0 started now"), std::string::npos) << again.err;
}

TEST_F(SweepFixture, FailedRunsKeepTheirReasonAndAreRetriedOnResume) {
  auto e = env();
  e["FAKE_FAIL_WHEN"] = "width==0.25 && seed==1";
  auto r = sweep(e);
  EXPECT_EQ(r.code, 1) << r.err;
  int failed = 0;
  for (const auto& run : Store(dir).runs()) {
    if (run.status != RunStatus::failed) continue;
    ++failed;
    EXPECT_NE(run.message.find("exited with status 1"), std::string::npos) << run.message;
    EXPECT_NE(slurp(dir / "runs" / run.id / "failure.txt").find("failing on purpose"), std::string::npos);
  }
  EXPECT_EQ(failed, 4);
  auto again = sweep(env());  // the cause is gone: the failed runs run again, nothing else does
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("(4 started now"), std::string::npos) << again.err;
}

TEST_F(SweepFixture, SigintStopsCleanlyAndGivesRunsBack) {
  auto p = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(300), tmp.path());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  kill(p.pid, SIGINT);
  EXPECT_EQ(wait_exit(p), 130) << p.stderr_text();
  int running = 0;
  for (const auto& r : Store(dir).runs()) running += r.status == RunStatus::running;
  EXPECT_EQ(running, 0);
  auto again = sweep(env());
  ASSERT_EQ(again.code, 0) << again.err;
  expect_all_done_once(2);  // a worker stopped between its result.json and its log line
}

TEST_F(SweepFixture, TheIndexIsRebuiltFromTheRunDirectories) {
  ASSERT_EQ(sweep(env()).code, 0);
  fs::remove(dir / "store.sqlite");
  fs::remove(dir / "store.sqlite-wal");
  fs::remove(dir / "store.sqlite-shm");
  auto listed = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path());  // rebuilt automatically
  ASSERT_EQ(listed.code, 0) << listed.err;
  auto table = parse_csv(listed.out, "results");
  ASSERT_EQ(table.rows(), kRuns);
  for (std::size_t r = 0; r < table.rows(); ++r) EXPECT_EQ(table.at(r, "status"), "done");
  auto rebuilt = run({"results", dir.string(), "--rebuild", "--per-cell"}, {}, tmp.path());
  EXPECT_EQ(rebuilt.code, 0) << rebuilt.err;
  auto again = sweep(env());
  EXPECT_NE(again.err.find("(0 started now"), std::string::npos) << again.err;
}

TEST_F(SweepFixture, ABadSpecNamesFileLineAndFieldAndWritesNothing) {
  spit(spec, grid_spec("0.25, -1", "0.5", "1"));
  auto r = sweep(env());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("spec.yaml"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("width"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":9"), std::string::npos) << r.err;  // the grid's width line
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(SweepFixture, FitSweepFitsTheStoreWithTheSpecsLawAndSplit) {
  spit(spec, grid_spec("0.03125, 0.0625, 0.125, 0.25, 0.5", "0.0625, 0.125, 0.25, 0.5, 1", "1"));
  ASSERT_EQ(sweep(env(0)).code, 0);
  auto json_path = tmp.path() / "fit.json";
  auto r = run({"fit", "--sweep", dir.string(), "--normalize", "--starts", "64", "--json", json_path.string()}, {},
               tmp.path());
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  auto fit = nlohmann::json::parse(read_file(json_path));
  EXPECT_EQ(fit["law"], "rosenfeld2020");
  EXPECT_EQ(fit["fit_where"], "in_fit==1");
  // The fake worker's errors follow rosenfeld2020 with about 1% seed noise: the 16 cells split into
  // The 25 cells split into 9 fitted (width <= 0.125, data <= 0.25) and 16 predicted, which must be close.
  EXPECT_EQ(fit["summary"]["fitted"]["count"], 9);
  EXPECT_EQ(fit["summary"]["held_out"]["count"], 16);
  EXPECT_LT(fit["summary"]["held_out"]["mean_abs"].get<double>(), 0.05);

  // --sweep and --data exclude each other; a directory that is no sweep names the missing spec.
  auto both = run({"fit", "--sweep", dir.string(), "--data", "x.csv"}, {}, tmp.path());
  EXPECT_EQ(both.code, 2);
  auto none = run({"fit", "--sweep", (tmp.path() / "nothing").string()}, {}, tmp.path());
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("nothing"), std::string::npos) << none.err;
}

TEST_F(SweepFixture, DemoFitsTheSmallCellsAndPredictsTheRest) {
  spit(spec, grid_spec("0.03125, 0.0625, 0.125, 0.25, 0.5", "0.0625, 0.125, 0.25, 0.5, 1", "1, 2"));
  auto r = run({"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(5), tmp.path());
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("held-out cells: mean |divergence|"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir / "fit.json"));
  auto again = run({"demo", "--spec", spec.string(), "--dir", dir.string()}, env(5), tmp.path());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("0 to run"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace scalelab
