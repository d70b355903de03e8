// The sweep's promises, checked on the real `scalelab` binary with the fake worker: every run is
// recorded exactly once whatever happens to the sweep process, finished runs are never repeated, and
// what cannot be trusted is run again.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <set>

#include <nlohmann/json.hpp>

#include "sweep_fixture.h"
#include "store/store.h"
#include "sweep/results.h"
#include "sweep/spec.h"
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

// Ids of the runs the store says are running, polled until there are `n` (or 10 s pass).
std::vector<std::string> wait_running(const fs::path& dir, std::size_t n) {
  for (int i = 0; i < 500; ++i) {
    std::vector<std::string> running;
    if (fs::exists(dir / "store.sqlite"))
      for (const auto& r : Store(dir, StoreMode::read_only).runs())
        if (r.status == RunStatus::running) running.push_back(r.id);
    if (running.size() >= n) return running;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

// A stop signal while two runs train: exit 130, no run left running, and the next sweep finishes the
// grid with every run done once.
void expect_signal_stops_cleanly(SweepFixture& f, int signal) {
  auto p = start({"sweep", f.spec.string(), "--dir", f.dir.string(), "--jobs", "2"}, f.env(300), f.tmp.path());
  ASSERT_EQ(wait_running(f.dir, 2).size(), 2u);
  kill(p.pid, signal);
  EXPECT_EQ(wait_exit(p), 130) << p.stderr_text();
  int running = 0;
  for (const auto& r : Store(f.dir).runs()) running += r.status == RunStatus::running;
  EXPECT_EQ(running, 0);
  auto again = f.sweep(f.env());
  ASSERT_EQ(again.code, 0) << again.err;
  f.expect_all_done_once(2);  // a worker stopped between its result.json and its log line
}

TEST_F(SweepFixture, SigintStopsCleanlyAndGivesRunsBack) { expect_signal_stops_cleanly(*this, SIGINT); }

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

// ---- issue 14 ------------------------------------------------------------------------------------

void sql(const fs::path& db_path, const std::string& statement) {
  sqlite3* db;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  ASSERT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << statement << ": " << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}


// Finding 3: a finished run whose row in store.sqlite says another configuration, or nothing
// readable, is repaired from its directory; the directory is never rewritten as another configuration.
TEST_F(SweepFixture, IndexRowsWithAlteredHparamsAreRepairedNotRun) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto runs = Store(dir).runs();
  auto a = runs[0].id, b = runs[1].id;
  auto a_yaml = slurp(dir / "runs" / a / "hparams.yaml"), b_result = slurp(dir / "runs" / b / "result.json");
  sql(dir / "store.sqlite", "UPDATE runs SET hparams=" + quoted(runs[5].hparams.to_yaml()) + " WHERE id='" + a + "'");
  sql(dir / "store.sqlite", "UPDATE runs SET hparams='width: [oops' WHERE id='" + b + "'");
  auto listed = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path());
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_EQ(parse_csv(listed.out, "results").rows(), kRuns);
  for (int i = 0; i < 2; ++i) {  // the second sweep: the repair held
    auto again = sweep(env());
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_NE(again.err.find("(0 started now"), std::string::npos) << again.err;
  }
  EXPECT_EQ(slurp(dir / "runs" / a / "hparams.yaml"), a_yaml);
  EXPECT_EQ(slurp(dir / "runs" / b / "result.json"), b_result);
  expect_all_done_once();
  for (const auto& r : Store(dir).runs()) EXPECT_TRUE(r.hparams.names(r.id)) << r.id;
}

// Finding 3: a directory whose hparams.yaml is another configuration's is set aside and run again.
TEST_F(SweepFixture, ADirectoryHoldingAnotherConfigurationIsSetAsideAndRunAgain) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto runs = Store(dir).runs();
  auto a = runs[0].id, b = runs[1].id;
  for (const char* file : {"hparams.yaml", "result.json"})  // a's directory now holds b, finished
    spit(dir / "runs" / a / file, slurp(dir / "runs" / b / file));
  fs::remove(log);
  auto again = sweep(env());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("(1 started now"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find((dir / "runs" / a / "hparams.yaml").string()), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("quarantine"), std::string::npos) << again.err;
  auto rerun = completions(log);
  ASSERT_EQ(rerun.size(), 1u);
  EXPECT_EQ(rerun[a], 1);
  EXPECT_TRUE(Hparams::read(dir / "runs" / a / "hparams.yaml").names(a));
  int set_aside = 0;
  for (const auto& e : fs::directory_iterator(dir / "quarantine")) {
    ++set_aside;
    EXPECT_EQ(slurp(e.path() / "result.json"), slurp(dir / "runs" / b / "result.json"));
  }
  EXPECT_EQ(set_aside, 1);
  auto third = sweep(env());
  EXPECT_NE(third.err.find("(0 started now"), std::string::npos) << third.err;
}

// Finding 4a: writing the worker's defaults out in the spec names the same runs.
TEST_F(SweepFixture, WritingDefaultsOutInTheSpecRunsNothingAgain) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto with_defaults = kSpec;
  auto at = with_defaults.find("  batch_size: 128\n");
  ASSERT_NE(at, std::string::npos);
  with_defaults.insert(at, "  device: cpu\n  lr: 0.05\n  momentum: 0.9\n  weight_decay: 5e-4\n  val_count: 5000\n");
  spit(spec, with_defaults);
  fs::remove(dir / "spec.yaml");  // the directory's spec may be replaced only by removing it
  auto again = sweep(env());
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("(0 started now"), std::string::npos) << again.err;
  expect_all_done_once();
  auto cells = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path());
  ASSERT_EQ(cells.code, 0) << cells.err;
  auto table = parse_csv(cells.out, "results");
  ASSERT_EQ(table.rows(), kRuns / 2);
  for (std::size_t r = 0; r < table.rows(); ++r) EXPECT_EQ(table.at(r, "seeds"), "2");
}

// Finding 4a: the demo writes every default out; its finished runs, named before ids left defaults
// out, keep their ids, from the demo's spec and from one that leaves the defaults out.
TEST_F(SweepFixture, TheDemosFinishedRunsKeepTheirIds) {
  auto demo = load_spec(fs::path(SCALELAB_SOURCE_DIR) / "examples" / "demo.yaml");
  auto planned = expand(demo);
  ASSERT_EQ(planned.size(), 84u);
  std::set<std::string> legacy;
  for (const auto& p : planned) {
    auto id = p.hparams.legacy_hash();  // what the demo's directories are called
    legacy.insert(id);
    auto run_dir = dir / "runs" / id;
    fs::create_directories(run_dir);
    write_file_atomic(run_dir / "hparams.yaml", p.hparams.to_yaml());
    nlohmann::json result = {{"status", "done"}, {"test_error", 0.2}};
    for (const auto& [k, v] : p.hparams.values()) result[k] = std::isnan(p.hparams.number(k)) ? nlohmann::json(v) : nlohmann::json(p.hparams.number(k));
    write_file_atomic(run_dir / "result.json", result.dump());
  }
  ASSERT_EQ(legacy.size(), 84u);
  auto demo_file = fs::path(SCALELAB_SOURCE_DIR) / "examples" / "demo.yaml";
  auto r = run({"sweep", demo_file.string(), "--dir", dir.string()}, env(), tmp.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("84 of 84 runs done"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(0 started now"), std::string::npos) << r.err;
  std::set<std::string> ids;
  for (const auto& run : Store(dir).runs()) ids.insert(run.id);
  EXPECT_EQ(ids, legacy);
  // The same grid with the defaults left out (and the old spec.yaml removed): the same runs.
  auto text = read_file(demo_file);
  for (const char* line : {"  lr: 0.05\n", "  momentum: 0.9\n", "  weight_decay: 0.0005\n", "  device: cpu\n"}) {
    auto at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    text.erase(at, std::string(line).size());
  }
  spit(spec, text);
  fs::remove(dir / "spec.yaml");
  auto bare = run({"sweep", spec.string(), "--dir", dir.string()}, env(), tmp.path());
  ASSERT_EQ(bare.code, 0) << bare.err;
  EXPECT_NE(bare.err.find("(0 started now"), std::string::npos) << bare.err;
  ids.clear();
  for (const auto& run : Store(dir).runs()) ids.insert(run.id);
  EXPECT_EQ(ids, legacy);
  auto cells = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path());
  auto table = parse_csv(cells.out, "results");
  ASSERT_EQ(table.rows(), 42u);
  for (std::size_t row = 0; row < table.rows(); ++row) {
    EXPECT_EQ(table.at(row, "seeds"), "2");
    EXPECT_NE(table.at(row, "role"), "");  // legacy ids still find their cell of the spec
  }
}

// Finding 4b: a sweep stopped (SIGSTOP) past its lease keeps its runs on this host: it is alive.
TEST_F(SweepFixture, AStalledSweepOnThisHostKeepsItsRunsPastItsLease) {
  auto slow = env(400);
  auto a = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, slow, tmp.path());
  auto held = wait_running(dir, 2);
  ASSERT_EQ(held.size(), 2u);
  kill(a.pid, SIGSTOP);
  held = wait_running(dir, 1);  // what it holds now that it cannot change anything
  sql(dir / "store.sqlite", "UPDATE runs SET heartbeat=0 WHERE status='running'");  // 'minutes' without a heartbeat
  auto b = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(), tmp.path());
  // b runs everything else, then waits for a's runs; give it the time to take them if it would.
  for (int i = 0; i < 500; ++i) {
    int running_elsewhere = 0, unfinished = 0;
    for (const auto& r : Store(dir, StoreMode::read_only).runs()) {
      unfinished += r.status != RunStatus::done;
      running_elsewhere += r.status == RunStatus::running;
    }
    if (unfinished == static_cast<int>(held.size()) && running_elsewhere == unfinished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const auto& r : Store(dir, StoreMode::read_only).runs())
    if (std::find(held.begin(), held.end(), r.id) != held.end()) {
      EXPECT_EQ(r.status, RunStatus::running) << r.id;
      EXPECT_EQ(r.owner_pid, a.pid) << r.id;
      EXPECT_EQ(r.attempts, 1) << r.id;
    }
  kill(a.pid, SIGCONT);
  EXPECT_EQ(wait_exit(a), 0) << a.stderr_text();
  EXPECT_EQ(wait_exit(b), 0) << b.stderr_text();
  expect_all_done_once();
  for (const auto& r : Store(dir).runs()) EXPECT_EQ(r.attempts, 1) << r.id;
}

// Finding 4b: a run taken over by another sweep (its owner's lease lapsed: another host) is trained
// once: the old owner notices on its heartbeat and stops its worker, which writes nothing.
TEST_F(SweepFixture, ARunTakenOverByAnotherSweepIsStoppedAndTrainedOnce) {
  auto e = env(1500);
  e["SCALELAB_LEASE_SECONDS"] = "1";  // heartbeats every 250 ms
  auto lost_log = tmp / "lost.log";
  e["FAKE_LOST_LOG"] = lost_log.string();
  auto a = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "1"}, e, tmp.path());
  auto held = wait_running(dir, 1);
  ASSERT_EQ(held.size(), 1u);
  // As if a were on another host and had not renewed its lease.
  sql(dir / "store.sqlite", "UPDATE runs SET owner_host='another-host', heartbeat=0 WHERE id='" + held[0] + "'");
  auto fast = env();
  fast["SCALELAB_LEASE_SECONDS"] = "1";
  auto b = run({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, fast, tmp.path());
  EXPECT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(wait_exit(a), 0) << a.stderr_text();
  EXPECT_NE(a.stderr_text().find("taken over by another sweep"), std::string::npos) << a.stderr_text();
  expect_all_done_once();
  EXPECT_FALSE(fs::exists(dir / "runs" / held[0] / "failure.txt"));
  for (const auto& r : Store(dir).runs())
    if (r.id == held[0]) EXPECT_EQ(r.attempts, 2);
}

// Finding 4b: the worker checks RUN/claim right before it writes, and stops without writing when
// another sweep's token is there.
TEST_F(SweepFixture, AWorkerWhoseClaimIsGoneWritesNothing) {
  auto run_dir = tmp / "run";
  fs::create_directories(run_dir);
  Hparams h;
  for (auto [k, v] : std::map<std::string, std::string>{{"dataset", "fashion-mnist"}, {"model", "mlp"}, {"width", "0.25"},
                                                        {"depth", "2"}, {"data_fraction", "0.5"}, {"seed", "1"}, {"epochs", "2"}})
    h.set(k, v);
  write_file_atomic(run_dir / "hparams.yaml", h.to_yaml());
  write_file_atomic(run_dir / "claim", "host=x pid=2 start=3 attempt=2\n");
  auto worker = [&](const std::string& token) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("SCALELAB_CLAIM", token.c_str(), 1);
      setenv("FAKE_SLEEP_MS", "20", 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execl(fake_worker().c_str(), "fake_worker", "train", "--config", (run_dir / "hparams.yaml").c_str(), "--out",
            run_dir.c_str(), nullptr);
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(worker("host=x pid=1 start=3 attempt=1"), 4);
  EXPECT_FALSE(fs::exists(run_dir / "metrics.jsonl"));
  EXPECT_FALSE(fs::exists(run_dir / "result.json"));
  EXPECT_EQ(worker("host=x pid=2 start=3 attempt=2"), 0);
  EXPECT_TRUE(fs::exists(run_dir / "result.json"));
}

// Finding 5: whatever state store.sqlite is in, the directories rebuild it.
TEST_F(SweepFixture, ADamagedIndexIsMovedAsideAndRebuiltFromTheDirectories) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto db = dir / "store.sqlite";
  auto damaged = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
      auto name = e.path().filename().string();
      n += name.rfind("store.sqlite.damaged-", 0) == 0 && name.find("-wal") == std::string::npos &&
           name.find("-shm") == std::string::npos;
    }
    return n;
  };
  auto check_all_done = [&](const Result& r) {
    ASSERT_EQ(r.code, 0) << r.err;
    auto table = parse_csv(r.out, "results");
    ASSERT_EQ(table.rows(), kRuns);
    for (std::size_t i = 0; i < table.rows(); ++i) EXPECT_EQ(table.at(i, "status"), "done");
  };
  // random bytes -> results --rebuild
  std::mt19937 rng(3);
  std::string bytes(8192, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  spit(db, bytes);
  auto rebuilt = run({"results", dir.string(), "--rebuild", "--csv", "-"}, {}, tmp.path());
  check_all_done(rebuilt);
  EXPECT_NE(rebuilt.err.find("store.sqlite.damaged-"), std::string::npos) << rebuilt.err;
  EXPECT_EQ(damaged(), 1);
  // truncated -> results
  ASSERT_GT(fs::file_size(db), 8192u);
  fs::resize_file(db, fs::file_size(db) / 2);
  fs::remove(dir / "store.sqlite-wal");
  fs::remove(dir / "store.sqlite-shm");
  auto listed = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path());
  check_all_done(listed);
  EXPECT_NE(listed.err.find("store.sqlite.damaged-"), std::string::npos) << listed.err;
  EXPECT_EQ(damaged(), 2);
  // a directory in its place, a stray file under runs/, an unknown status -> sweep
  fs::remove(db);
  fs::create_directories(db);
  spit(dir / "runs" / "README", "stray\n");
  auto swept = sweep(env());
  ASSERT_EQ(swept.code, 0) << swept.err;
  EXPECT_NE(swept.err.find("(0 started now"), std::string::npos) << swept.err;
  EXPECT_NE(swept.err.find("store.sqlite.damaged-"), std::string::npos) << swept.err;
  EXPECT_EQ(damaged(), 3);
  sql(db, "UPDATE runs SET status='weird'");
  auto odd = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path());
  check_all_done(odd);
  auto settled = sweep(env());
  ASSERT_EQ(settled.code, 0) << settled.err;
  EXPECT_NE(settled.err.find("(0 started now"), std::string::npos) << settled.err;
  expect_all_done_once();
}

// Finding 9: SIGHUP (terminal closed) stops like SIGINT and gives the runs back.
TEST_F(SweepFixture, SighupStopsCleanlyAndGivesRunsBack) { expect_signal_stops_cleanly(*this, SIGHUP); }

// Finding 9: a directory's spec.yaml is never overwritten by a different spec; the same one resumes.
TEST_F(SweepFixture, ADifferentSpecYamlInTheDirectoryIsNeverOverwritten) {
  fs::create_directories(dir);
  spit(dir / "spec.yaml", "my own notes, not a sweep spec\n");
  auto r = sweep(env());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find((dir / "spec.yaml").string()), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir / "spec.yaml"), "my own notes, not a sweep spec\n");
  EXPECT_FALSE(fs::exists(dir / "store.sqlite"));
  // --dir the spec's own directory (`--dir .` beside it): the same text, so it runs, and resumes.
  auto here = run({"sweep", spec.string(), "--dir", tmp.path().string(), "--jobs", "2"}, env(), tmp.path());
  ASSERT_EQ(here.code, 0) << here.err;
  EXPECT_EQ(slurp(spec), kSpec);
  auto resumed = run({"sweep", spec.string(), "--dir", tmp.path().string(), "--jobs", "2"}, env(), tmp.path());
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("(0 started now"), std::string::npos) << resumed.err;
}

// An edited spec (here: a third seed) resumes into its sweep directory: the finished runs are kept, only
// the new ones run, and the directory's spec.yaml becomes the edited one (results and fit read it), the
// previous text kept beside it.
TEST_F(SweepFixture, AnEditedSpecResumesIntoItsSweepDirectory) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto edited = grid_spec("0.0625, 0.125, 0.25, 0.5", "0.125, 0.25, 0.5, 1", "1, 2, 3", "",
                          "width<=0.25 && data_fraction<=0.25");
  spit(spec, edited);
  auto r = sweep(env());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("(16 started now"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.yaml.previous"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir / "spec.yaml"), edited);
  EXPECT_EQ(slurp(dir / "spec.yaml.previous"), kSpec);
  for (const auto& [id, times] : completions(log)) EXPECT_EQ(times, 1) << "run " << id << " completed " << times << " times";
  EXPECT_EQ(completions(log).size(), 48u);
}

// Finding 9: --dir naming a regular file is bad input (exit 2, naming it), for sweep, demo and results.
TEST_F(SweepFixture, ADirThatIsAFileIsBadInput) {
  auto file = tmp / "a-file";
  spit(file, "x\n");
  auto s = run({"sweep", spec.string(), "--dir", file.string()}, env(), tmp.path());
  EXPECT_EQ(s.code, 2) << s.err;
  EXPECT_NE(s.err.find(file.string()), std::string::npos) << s.err;
  auto d = run({"demo", "--spec", spec.string(), "--dir", file.string()}, env(), tmp.path());
  EXPECT_EQ(d.code, 2) << d.err;
  EXPECT_NE(d.err.find(file.string()), std::string::npos) << d.err;
  auto r = run({"results", file.string()}, {}, tmp.path());
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_EQ(slurp(file), "x\n");
}

// Finding 2 for `results --csv`: the sweep's own files are inputs (never overwritten), an empty path
// is an error, and a CSV elsewhere is written and reads back with one row per run.
TEST_F(SweepFixture, ResultsCsvNeverOverwritesTheSweepsOwnFiles) {
  ASSERT_EQ(sweep(env()).code, 0);
  auto spec_before = slurp(dir / "spec.yaml");
  auto db_size = fs::file_size(dir / "store.sqlite");
  for (const char* own : {"spec.yaml", "store.sqlite"}) {
    auto r = run({"results", dir.string(), "--csv", (dir / own).string()}, {}, tmp.path());
    EXPECT_EQ(r.code, 2) << own << ": " << r.err;
    EXPECT_NE(r.err.find("--csv"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(dir / "spec.yaml"), spec_before);
  EXPECT_EQ(fs::file_size(dir / "store.sqlite"), db_size);
  auto empty = run({"results", dir.string(), "--csv", ""}, {}, tmp.path());
  EXPECT_EQ(empty.code, 2) << empty.err;
  auto ok = run({"results", dir.string(), "--csv", (tmp / "runs.csv").string()}, {}, tmp.path());
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(read_csv(tmp / "runs.csv").rows(), static_cast<std::size_t>(kRuns));
}

// Finding 9: results reads a sweep directory it may not write.
TEST_F(SweepFixture, ResultsWorkOnAReadOnlyDirectory) {
  ASSERT_EQ(sweep(env()).code, 0);
  std::vector<std::string> before;
  for (const auto& e : fs::recursive_directory_iterator(dir)) before.push_back(e.path().string());
  for (const auto& e : fs::recursive_directory_iterator(dir))
    fs::permissions(e.path(), fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(dir, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write, fs::perm_options::remove);
  int uid = getuid() == 0 ? 65534 : -1;  // root writes anywhere: read as nobody
  auto listed = run({"results", dir.string(), "--csv", "-"}, {}, tmp.path(), uid);
  auto cells = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path(), uid);
  fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
  for (const auto& e : fs::recursive_directory_iterator(dir)) fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  ASSERT_EQ(listed.code, 0) << listed.err;
  auto table = parse_csv(listed.out, "results");
  ASSERT_EQ(table.rows(), kRuns);
  for (std::size_t i = 0; i < table.rows(); ++i) EXPECT_EQ(table.at(i, "status"), "done");
  ASSERT_EQ(cells.code, 0) << cells.err;
  EXPECT_EQ(parse_csv(cells.out, "results").rows(), kRuns / 2);
  std::vector<std::string> after;
  for (const auto& e : fs::recursive_directory_iterator(dir)) after.push_back(e.path().string());
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace scalelab
