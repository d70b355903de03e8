#include <gtest/gtest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "store/store.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;

struct StoreTest : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("scalelab-store-test-" + std::to_string(rd()));
  }
  void TearDown() override { fs::remove_all(dir); }

  static Hparams config(double width, double seed = 1) {
    Hparams h;
    h.set("model", "mlp");
    h.set("width", width);
    h.set("seed", seed);
    return h;
  }
  // What the worker leaves behind: result.json echoing the hyperparameters (as scalelab-worker does).
  static void finish_dir(const fs::path& run, const Hparams& h, const std::string& status = "done") {
    nlohmann::json hp;
    for (const auto& [k, v] : h.values()) hp[k] = std::isnan(h.number(k)) ? nlohmann::json(v) : nlohmann::json(h.number(k));
    nlohmann::json r = {{"status", status}, {"hparams", hp}, {"test_error", 0.25}, {"params", 1000}, {"wall_s", 1.5}};
    write_file_atomic(run / "result.json", r.dump());
  }
  // Points a run's claim at an owner that has exited.
  void give_to_dead_owner(const std::string& id) {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    sqlite3* db;
    sqlite3_open((dir / "store.sqlite").c_str(), &db);
    auto sql = "UPDATE runs SET status='running', owner_pid=" + std::to_string(child) + " WHERE id='" + id + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
};

TEST_F(StoreTest, HparamsRoundTripThroughYaml) {
  Hparams h = config(0.25);
  h.set("lr", "1e-3");
  h.set("schedule", "cosine");
  auto back = Hparams::from_yaml(h.to_yaml(), "x");
  EXPECT_EQ(back, h);
  EXPECT_EQ(back.text("lr"), "0.001");
  try {
    Hparams::from_yaml("a: 1\nb: [1, 2]\n", "h.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.field(), "b");
  }
}

TEST_F(StoreTest, InspectTellsFinishedEmptyFailedAndCorrupt) {
  auto h = config(0.5);
  auto run = dir / "r";
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::empty);
  prepare_run_dir(run, h);
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::empty);
  finish_dir(run, h);
  auto state = inspect_run_dir(run, h);
  EXPECT_EQ(state.kind, RunDirState::finished);
  EXPECT_EQ(state.status, RunStatus::done);
  finish_dir(run, h, "diverged");
  EXPECT_EQ(inspect_run_dir(run, h).status, RunStatus::diverged);

  finish_dir(run, config(0.25));  // another configuration's result
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::corrupt);
  write_file_atomic(run / "result.json", "{\"status\": \"do");
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::corrupt);
  write_file_atomic(run / "result.json", "{\"status\": \"done\"}");  // no test error
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::corrupt);
  finish_dir(run, h);
  write_file_atomic(run / "hparams.yaml", config(0.25).to_yaml());  // the directory holds another config
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::corrupt);

  prepare_run_dir(run, h);  // a new attempt starts from nothing
  EXPECT_FALSE(fs::exists(run / "result.json"));
  write_failure(run, "worker exited with status 1");
  EXPECT_EQ(inspect_run_dir(run, h).kind, RunDirState::failed);
}

TEST_F(StoreTest, ClaimsCheapestFirstAndNeverTwice) {
  Store a(dir), b(dir);
  a.plan({{config(0.5), 30}, {config(0.25), 20}, {config(0.125), 10}});
  auto first = a.claim();
  auto second = b.claim();
  auto third = a.claim();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->hparams.text("width"), "0.125");
  EXPECT_EQ(second->hparams.text("width"), "0.25");
  EXPECT_EQ(third->hparams.text("width"), "0.5");
  EXPECT_FALSE(b.claim());  // all three are held by a live owner (this process)
  a.release(first->id);
  auto again = b.claim();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, first->id);
  EXPECT_EQ(again->attempts, 2);
}

TEST_F(StoreTest, RunsOfADeadOwnerAreClaimedAgainUnlessTheyFinished) {
  Store s(dir);
  auto h1 = config(0.25), h2 = config(0.5);
  s.plan({{h1, 1}, {h2, 2}});
  give_to_dead_owner(h1.hash());
  give_to_dead_owner(h2.hash());
  prepare_run_dir(s.run_dir(h1.hash()), h1);
  finish_dir(s.run_dir(h1.hash()), h1);  // its worker finished before the owner died
  auto claimed = s.claim();
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, h2.hash());
  auto runs = s.runs();
  EXPECT_EQ(runs[0].status, RunStatus::done);  // recorded from its directory, not rerun
}

TEST_F(StoreTest, PlanReconcilesTheIndexWithTheDirectories) {
  Store s(dir);
  auto h = config(0.25);
  s.plan({{h, 1}});
  prepare_run_dir(s.run_dir(h.hash()), h);
  finish_dir(s.run_dir(h.hash()), h);
  s.plan({{h, 1}});
  EXPECT_EQ(s.runs()[0].status, RunStatus::done);
  fs::remove(s.run_dir(h.hash()) / "result.json");
  s.plan({{h, 1}});
  EXPECT_EQ(s.runs()[0].status, RunStatus::pending);
}

TEST_F(StoreTest, TheIndexIsRebuiltFromRunDirectories) {
  auto h1 = config(0.25), h2 = config(0.5), h3 = config(1);
  {
    Store s(dir);
    s.plan({{h1, 1}, {h2, 2}, {h3, 3}});
    for (const auto& h : {h1, h2, h3}) prepare_run_dir(s.run_dir(h.hash()), h);
    finish_dir(s.run_dir(h1.hash()), h1);
    finish_dir(s.run_dir(h2.hash()), h2, "diverged");
  }
  fs::remove(dir / "store.sqlite");
  fs::remove(dir / "store.sqlite-wal");
  fs::remove(dir / "store.sqlite-shm");
  fs::create_directories(dir / "runs" / "not-a-run");
  Store s(dir);  // a new index over existing directories fills itself
  std::map<std::string, RunStatus> status;
  for (const auto& r : s.runs()) status[r.id] = r.status;
  ASSERT_EQ(status.size(), 3u);
  EXPECT_EQ(status[h1.hash()], RunStatus::done);
  EXPECT_EQ(status[h2.hash()], RunStatus::diverged);
  EXPECT_EQ(status[h3.hash()], RunStatus::pending);
}

}  // namespace
}  // namespace scalelab
