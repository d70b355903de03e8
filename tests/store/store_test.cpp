#include <gtest/gtest.h>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <random>
#include <thread>

#include <fmt/core.h>

#include "store/claim.h"
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
  void sql(const std::string& statement) {
    sqlite3* db;
    ASSERT_EQ(sqlite3_open((dir / "store.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << statement;
    sqlite3_close(db);
  }
  static std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
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

// A pruning trajectory's finished levels survive a new attempt; everything else of the old one goes.
TEST_F(StoreTest, ANewAttemptKeepsOnlyTheLevelsDirectory) {
  auto h = config(0.5);
  auto run = dir / "r";
  prepare_run_dir(run, h);
  fs::create_directories(run / kLevelsDir / "level_00");
  write_file_atomic(run / kLevelsDir / "level_00" / "result.json", "{}");
  write_file_atomic(run / "metrics.jsonl", "{}\n");
  write_failure(run, "killed");
  prepare_run_dir(run, h);
  EXPECT_TRUE(fs::exists(run / kLevelsDir / "level_00" / "result.json"));
  EXPECT_FALSE(fs::exists(run / "metrics.jsonl"));
  EXPECT_FALSE(fs::exists(run / "failure.txt"));
  EXPECT_TRUE(fs::exists(run / "hparams.yaml"));
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

namespace scalelab {
namespace {

// --- run ids (issue 14, finding 4a) ---------------------------------------------------------------

TEST_F(StoreTest, HparamsIdsDoNotDependOnWrittenDefaults) {
  Hparams bare = config(0.25);
  bare.set("dataset", "fashion-mnist");
  bare.set("depth", 2.0);
  bare.set("epochs", 15.0);
  bare.set("data_fraction", 0.5);
  Hparams written = bare;
  written.set("lr", "0.05");
  written.set("device", "cpu");
  written.set("momentum", "0.9");
  written.set("weight_decay", "5e-4");
  written.set("threads", 2.0);
  EXPECT_EQ(written.hash(), bare.hash());
  EXPECT_TRUE(written.same_config(bare));
  Hparams other = bare;
  other.set("lr", "0.1");  // not the default: another run
  EXPECT_NE(other.hash(), bare.hash());
  // A configuration that writes no optional default keeps the id it always had.
  EXPECT_EQ(bare.hash(), bare.legacy_hash());
  EXPECT_EQ(bare.hash(), "d51d1ac9789f1ae0");  // FNV-1a of its key=value lines, as before
  // One that wrote defaults out is still named by its old id (its existing directory).
  EXPECT_NE(written.hash(), written.legacy_hash());
  EXPECT_TRUE(written.names(written.legacy_hash()));
  EXPECT_TRUE(written.names(bare.hash()));
}

TEST_F(StoreTest, RunsInLegacyDirectoriesKeepTheirIdsWhateverDefaultsTheSpecWrites) {
  Hparams bare = config(0.25);
  bare.set("epochs", 15.0);
  Hparams written = bare;
  written.set("lr", "0.05");
  written.set("device", "cpu");
  auto legacy = written.legacy_hash();
  fs::create_directories(dir / "runs");
  prepare_run_dir(dir / "runs" / legacy, written);  // as the sweep wrote it before ids were normalised
  finish_dir(dir / "runs" / legacy, written);
  Store s(dir);
  ASSERT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(s.runs()[0].id, legacy);
  EXPECT_EQ(s.runs()[0].status, RunStatus::done);
  for (const auto& planned : {written, bare}) {  // the same spec, or one leaving the defaults out
    auto plan = s.plan({{planned, 1}});
    ASSERT_EQ(plan.ids.size(), 1u);
    EXPECT_EQ(plan.ids[0], legacy);
    auto runs = s.runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, RunStatus::done);
    EXPECT_FALSE(s.claim());
  }
}

// --- the directory wins over the index (finding 3) ------------------------------------------------

TEST_F(StoreTest, IndexRowsWhoseHparamsDoNotHashToTheirIdAreRepairedFromTheDirectory) {
  Store s(dir);
  auto h1 = config(0.25), h2 = config(0.5);
  s.plan({{h1, 1}, {h2, 2}});
  for (const auto& h : {h1, h2}) {
    prepare_run_dir(s.run_dir(h.hash()), h);
    finish_dir(s.run_dir(h.hash()), h);
  }
  s.plan({{h1, 1}, {h2, 2}});
  sql("UPDATE runs SET hparams=" + quoted(config(7).to_yaml()) + " WHERE id='" + h1.hash() + "'");  // another config
  sql("UPDATE runs SET hparams='width: [oops' WHERE id='" + h2.hash() + "'");                       // unparsable
  auto before = s.runs();  // read from the directories, never on the row's word
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0].hparams, h1);
  EXPECT_EQ(before[1].hparams, h2);
  auto plan = s.plan({{h1, 1}, {h2, 2}});
  EXPECT_EQ(plan.warnings.size(), 2u);
  for (const auto& w : plan.warnings) EXPECT_NE(w.find("repaired from"), std::string::npos) << w;
  for (const auto& r : s.runs()) EXPECT_EQ(r.status, RunStatus::done) << r.id;
  EXPECT_FALSE(s.claim());
  EXPECT_EQ(Hparams::read(s.run_dir(h1.hash()) / "hparams.yaml"), h1);
  EXPECT_TRUE(fs::exists(s.run_dir(h2.hash()) / "result.json"));
  // A row nothing can vouch for (no directory, not planned) is dropped, not run as what it says.
  sql("INSERT INTO runs(id, hparams, status) VALUES('00000000000000aa', " + quoted(config(3).to_yaml()) + ", 'pending')");
  auto again = s.plan({{h1, 1}, {h2, 2}});
  EXPECT_EQ(again.warnings.size(), 1u);
  EXPECT_EQ(s.runs().size(), 2u);
}

TEST_F(StoreTest, ADirectoryHoldingAnotherConfigurationIsSetAsideAndRunAgain) {
  Store s(dir);
  auto h1 = config(0.25), h2 = config(0.5);
  s.plan({{h1, 1}});
  auto run = s.run_dir(h1.hash());
  prepare_run_dir(run, h2);  // what the old code did: h1's directory rewritten as h2, and finished
  finish_dir(run, h2);
  auto plan = s.plan({{h1, 1}});
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find((run / "hparams.yaml").string()), std::string::npos) << plan.warnings[0];
  EXPECT_NE(plan.warnings[0].find("quarantine"), std::string::npos) << plan.warnings[0];
  auto runs = s.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::pending);
  EXPECT_NE(runs[0].message.find("another configuration"), std::string::npos) << runs[0].message;
  int set_aside = 0;
  for (const auto& e : fs::directory_iterator(dir / "quarantine")) {
    EXPECT_EQ(e.path().filename().string().rfind(h1.hash() + ".", 0), 0u) << e.path();
    EXPECT_EQ(Hparams::read(e.path() / "hparams.yaml"), h2);  // kept, not deleted
    EXPECT_TRUE(fs::exists(e.path() / "result.json"));
    ++set_aside;
  }
  EXPECT_EQ(set_aside, 1);
  auto claimed = s.claim();
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->hparams, h1);
  s.prepare(*claimed);
  EXPECT_EQ(Hparams::read(run / "hparams.yaml"), h1);
  // prepare() sets aside a foreign directory itself, too (a sweep that planned before it changed).
  finish_dir(run, h2);
  write_file_atomic(run / "hparams.yaml", h2.to_yaml());
  std::string note;
  s.prepare(*claimed, &note);
  EXPECT_NE(note.find("another configuration"), std::string::npos) << note;
  EXPECT_EQ(Hparams::read(run / "hparams.yaml"), h1);
  EXPECT_FALSE(fs::exists(run / "result.json"));
  EXPECT_THROW(s.prepare(RunRecord{h1.hash(), h2}), std::logic_error);  // never another config in a directory
}

// --- leases and claims (finding 4b) ---------------------------------------------------------------

TEST_F(StoreTest, ALiveButStalledOwnerOnThisHostKeepsItsRunsWhateverItsHeartbeat) {
  Store s(dir);
  auto h = config(0.25);
  s.plan({{h, 1}});
  pid_t owner = fork();
  if (owner == 0) {
    pause();
    _exit(0);
  }
  long long start = Store::process_start(owner);
  ASSERT_GT(start, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  auto give = [&](long long owner_start) {
    sql(fmt::format("UPDATE runs SET status='running', owner_pid={}, owner_host='{}', owner_start={}, heartbeat=0 "
                    "WHERE id='{}'", owner, host, owner_start, h.hash()));
  };
  give(start);  // no heartbeat for decades, but the process lives: it is stopped, not gone
  EXPECT_FALSE(s.claim());
  give(start + 1);  // the pid lives but is another process (the pid was reused): the owner is gone
  auto claimed = s.claim();
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->attempts, 1);
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  // Another host's owner: only its lease tells.
  sql("UPDATE runs SET owner_host='elsewhere', heartbeat=" + std::to_string(std::time(nullptr)) + " WHERE id='" + h.hash() + "'");
  EXPECT_FALSE(s.claim());
  sql("UPDATE runs SET heartbeat=0 WHERE id='" + h.hash() + "'");
  auto taken = s.claim();
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->attempts, 2);
}

TEST_F(StoreTest, AnOwnerThatExitedButIsNotYetReapedIsGone) {
  Store s(dir);
  auto h = config(0.25);
  s.plan({{h, 1}});
  pid_t owner = fork();
  if (owner == 0) _exit(0);
  long long start = 0;
  for (int i = 0; i < 200 && start == 0; ++i) start = Store::process_start(owner);
  // Wait until it is a zombie: /proc/PID/stat says Z.
  for (int i = 0; i < 500; ++i) {
    std::ifstream in("/proc/" + std::to_string(owner) + "/stat");
    std::string stat;
    std::getline(in, stat);
    if (stat.find(") Z ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  sql(fmt::format("UPDATE runs SET status='running', owner_pid={}, owner_host='{}', owner_start={}, heartbeat={} "
                  "WHERE id='{}'", owner, host, start, std::time(nullptr), h.hash()));
  EXPECT_TRUE(s.claim());
  waitpid(owner, nullptr, 0);
}

TEST_F(StoreTest, HeartbeatSaysWhichRunsWereTakenOverAndTheClaimFileTellsTheWorker) {
  Store a(dir), b(dir);
  auto h1 = config(0.25), h2 = config(0.5);
  a.plan({{h1, 1}, {h2, 2}});
  auto r1 = a.claim(), r2 = a.claim();
  ASSERT_TRUE(r1 && r2);
  auto token = a.prepare(*r1);
  a.prepare(*r2);
  EXPECT_EQ(read_claim(a.run_dir(r1->id)), token);
  EXPECT_EQ(a.heartbeat(), (std::set<std::string>{r1->id, r2->id}));
  ::setenv(kClaimEnv, token.c_str(), 1);
  EXPECT_TRUE(claim_held(a.run_dir(r1->id)));
  // r1's lease lapsed as if its owner were on another host; another sweep (a child process) takes it over.
  sql("UPDATE runs SET owner_host='elsewhere', heartbeat=0 WHERE id='" + r1->id + "'");
  pid_t other = fork();
  if (other == 0) {
    Store b(dir);
    std::set<std::string> only = {r1->id};
    auto taken = b.claim(&only);
    if (!taken) _exit(1);
    b.prepare(*taken);
    _exit(0);
  }
  int status = 0;
  waitpid(other, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(read_claim(a.run_dir(r1->id)), token);
  EXPECT_FALSE(claim_held(a.run_dir(r1->id)));  // a's worker must not write any more
  ::unsetenv(kClaimEnv);
  EXPECT_TRUE(claim_held(a.run_dir(r1->id)));   // no token: not run by a sweep, no check
  EXPECT_EQ(a.heartbeat(), std::set<std::string>{r2->id});  // a learns it lost r1
}

// --- a damaged index is rebuilt (finding 5) -------------------------------------------------------

struct DamagedIndexTest : StoreTest, ::testing::WithParamInterface<std::string> {};

TEST_P(DamagedIndexTest, IsMovedAsideAndRebuiltFromTheDirectories) {
  auto h1 = config(0.25), h2 = config(0.5);
  {
    Store s(dir);
    s.plan({{h1, 1}, {h2, 2}});
    for (const auto& h : {h1, h2}) prepare_run_dir(s.run_dir(h.hash()), h);
    finish_dir(s.run_dir(h1.hash()), h1);
    // Enough rows that the file has several pages to lose.
    std::vector<Store::Planned> more;
    for (int i = 0; i < 300; ++i) more.push_back({config(1 + i), 3.0 + i});
    more.push_back({h1, 1});
    more.push_back({h2, 2});
    s.plan(more);
  }
  auto db = dir / "store.sqlite";
  const auto& damage = GetParam();
  if (damage == "random") {
    std::mt19937 rng(1);
    std::string bytes(20000, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    write_file_atomic(db, bytes);
  } else if (damage == "truncated") {
    ASSERT_GT(fs::file_size(db), 8192u);
    fs::resize_file(db, fs::file_size(db) / 2);
  } else if (damage == "directory") {
    fs::remove(db);
    fs::create_directories(db / "x");
  }
  std::ofstream(dir / "runs" / "notes.txt") << "a stray file\n";
  Store s(dir);
  ASSERT_EQ(s.warnings().size(), 1u);
  EXPECT_NE(s.warnings()[0].find("store.sqlite.damaged-"), std::string::npos) << s.warnings()[0];
  int aside = 0;
  for (const auto& e : fs::directory_iterator(dir))
    aside += e.path().filename().string().rfind("store.sqlite.damaged-", 0) == 0 &&
             e.path().filename().string().find("-wal") == std::string::npos &&
             e.path().filename().string().find("-shm") == std::string::npos;
  EXPECT_EQ(aside, 1);
  std::map<std::string, RunStatus> status;
  for (const auto& r : s.runs()) status[r.id] = r.status;
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[h1.hash()], RunStatus::done);
  EXPECT_EQ(status[h2.hash()], RunStatus::pending);
  EXPECT_TRUE(Store(dir).warnings().empty());  // the fresh index is whole
}

INSTANTIATE_TEST_SUITE_P(Store, DamagedIndexTest, ::testing::Values("random", "truncated", "directory"));

TEST_F(StoreTest, UnknownStatusValuesAreSettledFromTheDirectory) {
  Store s(dir);
  auto h1 = config(0.25), h2 = config(0.5);
  s.plan({{h1, 1}, {h2, 2}});
  for (const auto& h : {h1, h2}) prepare_run_dir(s.run_dir(h.hash()), h);
  finish_dir(s.run_dir(h1.hash()), h1);
  sql("UPDATE runs SET status='finished??'");
  std::map<std::string, RunStatus> status;
  for (const auto& r : s.runs()) status[r.id] = r.status;  // read, not thrown on
  EXPECT_EQ(status[h1.hash()], RunStatus::done);
  EXPECT_EQ(status[h2.hash()], RunStatus::pending);
  s.plan({{h1, 1}, {h2, 2}});
  auto claimed = s.claim();
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, h2.hash());
  EXPECT_FALSE(s.claim());
}

TEST_F(StoreTest, ReadOnlyStoreReadsTheIndexOrTheDirectoriesAndWritesNothing) {
  auto h1 = config(0.25);
  {
    Store s(dir);
    s.plan({{h1, 1}});
    prepare_run_dir(s.run_dir(h1.hash()), h1);
    finish_dir(s.run_dir(h1.hash()), h1);
    s.plan({{h1, 1}});
  }
  auto listing = [&] {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
  };
  auto before = listing();
  {
    Store ro(dir, StoreMode::read_only);
    ASSERT_EQ(ro.runs().size(), 1u);
    EXPECT_EQ(ro.runs()[0].status, RunStatus::done);
    EXPECT_THROW(ro.claim(), std::logic_error);
  }
  EXPECT_EQ(listing(), before);
  write_file_atomic(dir / "store.sqlite", "not a database at all, not at all, not at all");
  Store ro(dir, StoreMode::read_only);  // damaged: listed from the directories, nothing moved
  ASSERT_EQ(ro.warnings().size(), 1u);
  ASSERT_EQ(ro.runs().size(), 1u);
  EXPECT_EQ(ro.runs()[0].status, RunStatus::done);
  EXPECT_EQ(read_file(dir / "store.sqlite"), "not a database at all, not at all, not at all");
}

}  // namespace
}  // namespace scalelab

namespace scalelab {
namespace {

// A run placed in a scheduler's task (a Slurm array task) stays claimed while the task lives, even
// after its sweep process is gone; a later sweep adopts it; once the task is gone it is claimed afresh.
TEST_F(StoreTest, RunPlacedInALiveTaskIsNeverReclaimedAndCanBeAdopted) {
  std::string id;
  {
    Store first(dir);
    first.plan({{config(0.5), 1.0}});
    auto claimed = first.claim();
    ASSERT_TRUE(claimed);
    id = claimed->id;
    first.prepare(*claimed);
    first.place(id, "slurm:7_0");
    EXPECT_EQ(first.runs().at(0).job, "slurm:7_0");
  }
  give_to_dead_owner(id);  // the sweep that submitted it died (or was stopped with Ctrl-C)

  {
    Store cautious(dir);  // no way to ask the scheduler: the task counts as alive
    cautious.plan({{config(0.5), 1.0}});
    EXPECT_FALSE(cautious.claim());
    EXPECT_EQ(cautious.runs().at(0).status, RunStatus::running);
  }

  bool alive = true;
  std::vector<std::string> asked;
  Store second(dir);
  second.set_job_liveness([&](const std::string& job) {
    asked.push_back(job);
    return alive;
  });
  second.plan({{config(0.5), 1.0}});  // planning leaves a live task's run alone
  EXPECT_FALSE(second.claim());
  EXPECT_FALSE(asked.empty());
  EXPECT_EQ(asked.front(), "slurm:7_0");
  auto adopted = second.adopt();
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0].id, id);
  EXPECT_EQ(adopted[0].job, "slurm:7_0");
  EXPECT_EQ(adopted[0].owner_pid, static_cast<long>(getpid()));
  EXPECT_EQ(adopted[0].hparams, config(0.5));
  EXPECT_EQ(second.heartbeat(), std::set<std::string>{id});  // now this process's
  EXPECT_TRUE(second.adopt().empty());                       // a live owner follows it: nobody else adopts it

  give_to_dead_owner(id);
  alive = false;  // the task ended without a result
  EXPECT_TRUE(second.adopt().empty());
  auto again = second.claim();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->attempts, 2);
  EXPECT_EQ(again->job, "");
  EXPECT_EQ(second.runs().at(0).job, "");
  second.finish(id, RunStatus::failed, nullptr, "x", 1.0);
  EXPECT_EQ(second.runs().at(0).job, "");
}

}  // namespace
}  // namespace scalelab
