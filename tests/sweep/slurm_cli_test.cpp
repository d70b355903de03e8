// `scalelab sweep --executor slurm` end to end: the real binary, the fake worker (and the real one
// on tiny models), against whatever Slurm is on PATH. CTest runs it twice (tests/sweep/CMakeLists.txt):
// `slurm.stand_ins` against tests/slurm/stand-ins (scripts that run the array's tasks on this
// machine), and `slurm.cluster` inside tests/slurm/cluster.sh, which starts slurmctld and slurmd on
// localhost (SCALELAB_SLURM_ROOT is then set; skipped with status 77 when Slurm is not installed).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include <fmt/core.h>

#include "cli_helpers.h"
#include "store/store.h"
#include "sweep/command.h"
#include "sweep/slurm.h"

namespace scalelab {
namespace {

using namespace testing;
using Clock = std::chrono::steady_clock;

// 3 widths x 2 fractions x 1 seed = 6 runs; the fit set is all 6 cells (rosenfeld2020 needs 5).
const std::string kSpec = grid_spec("0.0625, 0.125, 0.25", "0.125, 0.25", "1", "", "width <= 0.25");
constexpr int kRuns = 6;

bool real_cluster() { return std::getenv("SCALELAB_SLURM_ROOT") != nullptr; }

struct SlurmSweep : ::testing::Test {
  TempDir tmp;
  fs::path spec = tmp / "spec.yaml";
  fs::path dir = tmp / "sweep";
  fs::path log = tmp / "completed.log";
  std::string saved_path;

  void SetUp() override {
    spit(spec, kSpec);
    if (const char* stand_ins = std::getenv("SCALELAB_SLURM_STAND_INS")) {
      saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
      setenv("PATH", (std::string(stand_ins) + ":" + saved_path).c_str(), 1);
      fs::create_directories(tmp / "slurm-state");
      setenv("FAKE_SLURM_STATE", (tmp / "slurm-state").c_str(), 1);
    }
  }
  void TearDown() override {
    // Nothing of this test may run on: cancel whatever tasks of its arrays are left.
    std::set<std::string> jobs;
    for (const auto& r : Store(dir, StoreMode::read_only).runs())
      if (auto t = parse_slurm_placement(r.job)) jobs.insert(t->key());
    for (const auto& key : jobs) run_command({"scancel", key});
    if (!saved_path.empty()) setenv("PATH", saved_path.c_str(), 1);
  }
  std::map<std::string, std::string> env(int sleep_ms) {
    return {{"FAKE_LOG", log.string()}, {"FAKE_SLEEP_MS", std::to_string(sleep_ms)}, {"SCALELAB_SLURM_POLL_MS", "300"}};
  }
  std::vector<std::string> sweep_args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"sweep", spec.string(), "--dir", dir.string(), "--executor", "slurm",
                                     "--array-parallelism", "2", "--cpus-per-task", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::vector<RunRecord> runs() { return Store(dir, StoreMode::read_only).runs(); }
  int runs_with(const std::string& file) {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir / "runs", ec)) n += fs::exists(e.path() / file);
    return n;
  }
  void expect_all_done_once() {
    auto all = runs();
    ASSERT_EQ(all.size(), kRuns);
    for (const auto& r : all) {
      EXPECT_EQ(r.status, RunStatus::done) << r.id << " " << r.message;
      EXPECT_EQ(r.job, "") << r.id;
    }
    auto done = completions(log);
    EXPECT_EQ(done.size(), kRuns);
    for (const auto& [id, times] : done) EXPECT_EQ(times, 1) << "run " << id << " completed " << times << " times";
  }
};

TEST_F(SlurmSweep, FakeWorkerRunsAsOneJobArray) {
  auto started = Clock::now();
  auto result = run(sweep_args(), env(300), tmp.path());
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_EQ(result.code, 0) << result.err;
  expect_all_done_once();
  // One array over the pending runs: its script, its manifest of 6 runs, each task's status file.
  std::vector<fs::path> scripts;
  for (const auto& e : fs::directory_iterator(dir / "slurm"))
    if (e.path().extension() == ".sbatch") scripts.push_back(e.path());
  ASSERT_EQ(scripts.size(), 1u);
  EXPECT_NE(slurp(scripts[0]).find("#SBATCH --array=0-5%2\n"), std::string::npos) << slurp(scripts[0]);
  auto manifest = slurp(fs::path(scripts[0]).replace_extension(".runs"));
  EXPECT_EQ(std::count(manifest.begin(), manifest.end(), '\n'), kRuns);
  EXPECT_EQ(runs_with("task-exit"), kRuns);
  for (const auto& r : runs()) {
    EXPECT_EQ(r.attempts, 1);
    EXPECT_NE(slurp(dir / "runs" / r.id / "worker.log").find("scalelab: Slurm task "), std::string::npos);
  }
  fmt::print("[ figure ] {} runs of 300 ms through {} in {:.1f} s (sweep start to end)\n", kRuns,
             real_cluster() ? "slurmctld/slurmd on localhost" : "the stand-ins", seconds);
  // A second sweep finds everything done and submits nothing.
  auto again = run(sweep_args(), env(300), tmp.path());
  ASSERT_EQ(again.code, 0) << again.err;
  int arrays = 0;
  for (const auto& e : fs::directory_iterator(dir / "slurm")) arrays += e.path().extension() == ".sbatch";
  EXPECT_EQ(arrays, 1);
}

// Ctrl-C leaves the tasks running; one task is cancelled with scancel; a second sweep attaches to
// the live ones, runs the cancelled one again, and every run completes exactly once.
TEST_F(SlurmSweep, CtrlCLeavesTasksRunningAndASecondSweepAttaches) {
  auto first = start(sweep_args(), env(4000), tmp.path());
  auto deadline = Clock::now() + std::chrono::seconds(90);
  while (runs_with("metrics.jsonl") < 2 && Clock::now() < deadline)  // two tasks half way through
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(runs_with("metrics.jsonl"), 2) << "tasks did not start";
  kill(first.pid, SIGINT);
  ASSERT_EQ(wait_exit(first), 130) << first.stderr_text();
  EXPECT_NE(first.stderr_text().find("left running in slurm job"), std::string::npos) << first.stderr_text();

  // The store says which task runs each run; the runs stay claimed although their sweep is gone.
  std::string victim, victim_task;
  int placed = 0;
  for (const auto& r : runs()) {
    if (r.status != RunStatus::running) continue;
    auto task = parse_slurm_placement(r.job);
    ASSERT_TRUE(task) << r.id << " " << r.job;
    placed += 1;
    if (victim.empty() && fs::exists(dir / "runs" / r.id / "metrics.jsonl") && !fs::exists(dir / "runs" / r.id / "task-exit"))
      victim = r.id, victim_task = task->key();
  }
  EXPECT_GE(placed, 3);
  ASSERT_FALSE(victim.empty());
  auto status = run({"status", dir.string()}, {}, tmp.path());
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_NE(status.out.find("slurm " + victim_task), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("RUNNING"), std::string::npos) << status.out;

  // One task killed mid-run.
  ASSERT_TRUE(run_command({"scancel", victim_task}).ok());
  auto array_job = victim_task.substr(0, victim_task.find('_'));
  deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    auto states = slurm_task_states({array_job});
    if (states && (!states->count(victim_task) || slurm_state_final(states->at(victim_task)))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(fs::exists(dir / "runs" / victim / "result.json"));

  auto second = run(sweep_args(), env(4000), tmp.path());
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.err.find("attached to "), std::string::npos) << second.err << "\n--- status before:\n" << status.out;
  expect_all_done_once();
  for (const auto& r : runs()) EXPECT_EQ(r.attempts, r.id == victim ? 2 : 1) << r.id;
  int arrays = 0;
  for (const auto& e : fs::directory_iterator(dir / "slurm")) arrays += e.path().extension() == ".sbatch";
  EXPECT_EQ(arrays, 2);  // the first sweep's, and one for the cancelled run
}

// --cancel: Ctrl-C cancels the tasks; their runs are pending again, and nothing is left in Slurm.
TEST_F(SlurmSweep, CancelFlagCancelsTheTasksOnCtrlC) {
  auto first = start(sweep_args({"--cancel"}), env(4000), tmp.path());
  auto deadline = Clock::now() + std::chrono::seconds(90);
  while (runs_with("metrics.jsonl") < 1 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(runs_with("metrics.jsonl"), 1) << "tasks did not start";
  std::set<std::string> array_jobs;
  for (const auto& r : runs())
    if (auto t = parse_slurm_placement(r.job)) array_jobs.insert(t->array_job);
  ASSERT_EQ(array_jobs.size(), 1u);
  kill(first.pid, SIGINT);
  ASSERT_EQ(wait_exit(first), 130) << first.stderr_text();
  EXPECT_EQ(first.stderr_text().find("left running"), std::string::npos) << first.stderr_text();
  for (const auto& r : runs()) {
    EXPECT_EQ(r.status, RunStatus::pending) << r.id;
    EXPECT_EQ(r.job, "");
  }
  auto states = slurm_task_states({array_jobs.begin(), array_jobs.end()});
  ASSERT_TRUE(states);
  for (const auto& [task, state] : *states) EXPECT_TRUE(slurm_state_final(state)) << task << " " << state;
}

TEST_F(SlurmSweep, SlurmFlagsNeedTheSlurmExecutor) {
  auto r = run({"sweep", spec.string(), "--dir", dir.string(), "--partition", "gpu"}, {}, tmp.path());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--partition"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--executor slurm"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
}

// sbatch refuses the array (a partition that does not exist): the sweep says what sbatch said and
// exits 1; nothing ran, and the next sweep (without the mistake) runs everything once.
TEST_F(SlurmSweep, SbatchRefusalIsReportedAndTheNextSweepRunsEverything) {
  auto e = env(50);
  e["FAKE_SBATCH_FAIL"] = "invalid partition specified: nosuch";  // the stand-in's; real sbatch says it itself
  auto refused = run(sweep_args({"--partition", "nosuch"}), e, tmp.path());
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_NE(refused.err.find("sbatch --parsable"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("invalid partition specified"), std::string::npos) << refused.err;
  EXPECT_EQ(completions(log).size(), 0u);
  auto second = run(sweep_args(), env(50), tmp.path());
  ASSERT_EQ(second.code, 0) << second.err;
  expect_all_done_once();
}

// A task that ended without writing its status, after scontrol forgot the job: sacct (where accounting
// is on) says how it ended. Killed at its time limit (TIMEOUT): the run is failed, and says why.
TEST_F(SlurmSweep, ATaskScontrolForgotIsJudgedBySacct) {
  const char* state_dir = std::getenv("FAKE_SLURM_STATE");
  if (real_cluster() || !state_dir) GTEST_SKIP() << "needs the stand-ins' sacct (the test cluster has no accounting)";
  auto e = env(3000);
  e["FAKE_SLURM_FORGET"] = "1";
  e["FAKE_SACCT_STATE"] = "TIMEOUT";
  auto sweep = start(sweep_args(), e, tmp.path());
  auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string victim, key;
  while (victim.empty() && Clock::now() < deadline) {
    for (const auto& r : runs())
      if (auto t = parse_slurm_placement(r.job); t && fs::exists(dir / "runs" / r.id / "metrics.jsonl")) {
        victim = r.id;
        key = t->key();
        break;
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(victim.empty()) << "no task started";
  const int pid = std::stoi(slurp(fs::path(state_dir) / (key + ".pid")));
  kill(-pid, SIGKILL);  // the time limit: the task dies without a word
  EXPECT_EQ(wait_exit(sweep), 1) << sweep.stderr_text();  // a failed run
  for (const auto& r : runs()) {
    if (r.id != victim) {
      EXPECT_EQ(r.status, RunStatus::done) << r.id << " " << r.message;
      continue;
    }
    EXPECT_EQ(r.status, RunStatus::failed);
    EXPECT_NE(r.message.find("ended TIMEOUT"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("--time"), std::string::npos) << r.message;
  }
}

// A spec that trains on cuda without --gpus-per-task: said before anything is submitted (the fake
// worker ignores the device, so the sweep still ends).
TEST_F(SlurmSweep, CudaSpecWithoutGpusPerTaskIsWarned) {
  auto text = slurp(spec);
  text.replace(text.find("  depth: 2\n"), 11, "  depth: 2\n  device: cuda\n");
  spit(spec, text);
  auto r = run(sweep_args(), env(10), tmp.path());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("trains on cuda but no --gpus-per-task was given"), std::string::npos) << r.err;
}

// The real worker on tiny models (the synthetic dataset) as array tasks.
TEST_F(SlurmSweep, RealWorkerTrainsTinyModels) {
  const fs::path worker = fs::path(SCALELAB_BINARY_DIR) / "bin" / "scalelab-worker";
  if (!fs::exists(worker)) GTEST_SKIP() << "scalelab-worker is not built (CPU libtorch missing)";
  spit(spec,
       "name: tiny\ndataset: synthetic\nmodel: mlp\nfixed:\n  depth: 1\n  epochs: 2\n  batch_size: 64\n"
       "  val_count: 200\ngrid:\n  width: [0.03125, 0.0625, 0.125]\n  data_fraction: [0.5, 1]\n  seed: [1]\n"
       "fit_where: \"width <= 0.125\"\nlaw: rosenfeld2020\neps0: 0.9\n");
  auto started = Clock::now();
  auto result = run(sweep_args(), {{"SCALELAB_WORKER", worker.string()}, {"SCALELAB_SLURM_POLL_MS", "300"}}, tmp.path());
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  ASSERT_EQ(result.code, 0) << result.err;
  auto all = runs();
  ASSERT_EQ(all.size(), kRuns);
  for (const auto& r : all) {
    ASSERT_EQ(r.status, RunStatus::done) << r.id << " " << r.message;
    double error = r.result["test_error"].get<double>();
    EXPECT_GE(error, 0.0);
    EXPECT_LT(error, 0.9) << r.id;  // 10 classes: it learnt something
    EXPECT_EQ(r.result["epochs_run"].get<double>(), 2);
    EXPECT_NE(slurp(dir / "runs" / r.id / "worker.log").find("scalelab: Slurm task "), std::string::npos);
  }
  fmt::print("[ figure ] {} real-worker runs (synthetic, mlp, 2 epochs) through {} in {:.1f} s\n", kRuns,
             real_cluster() ? "slurmctld/slurmd on localhost" : "the stand-ins", seconds);
}

// A task requeued by Slurm (as preemption does) restarts its run cleanly: the run completes once.
TEST_F(SlurmSweep, RequeuedTaskRestartsItsRun) {
  if (!real_cluster()) GTEST_SKIP() << "requeue needs a real slurmctld (tests/slurm/cluster.sh)";
  auto sweep = start(sweep_args(), env(3000), tmp.path());
  auto deadline = Clock::now() + std::chrono::seconds(90);
  std::string victim, key;
  while (victim.empty() && Clock::now() < deadline) {
    for (const auto& r : runs())
      if (auto t = parse_slurm_placement(r.job); t && fs::exists(dir / "runs" / r.id / "metrics.jsonl")) {
        victim = r.id;
        key = t->key();
        break;
      }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(victim.empty()) << "no task started";
  auto requeue = run_command({"scontrol", "requeue", key});
  ASSERT_TRUE(requeue.ok()) << requeue.err;
  // Slurm holds a requeued job back (BeginTime 2 minutes on, once it is PENDING again); let it start
  // now (test speed only: an update while it is still COMPLETING is accepted and lost).
  deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    auto records = parse_scontrol_jobs(run_command({"scontrol", "-o", "show", "job", key}).out);
    if (!records.empty() && records[0].state == "PENDING") {
      EXPECT_EQ(records[0].restarts, 1);
      EXPECT_TRUE(run_command({"scontrol", "update", "JobId=" + key, "StartTime=now"}).ok());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(wait_exit(sweep), 0) << sweep.stderr_text();
  expect_all_done_once();
  auto log_text = slurp(dir / "runs" / victim / "worker.log");
  EXPECT_NE(log_text.find(", start 2"), std::string::npos) << log_text;
  for (const auto& r : runs()) EXPECT_EQ(r.attempts, 1) << r.id;
}

}  // namespace
}  // namespace scalelab
