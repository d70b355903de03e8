// The Slurm executor's pieces without Slurm: the sbatch script (written, then run by bash as a task
// would be), the parsers of sbatch, squeue and scontrol output (as Slurm 22.05 prints it), placements.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>

#include "cli_helpers.h"
#include "store/claim.h"
#include "store/hparams.h"
#include "sweep/slurm.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::slurp;

TEST(SlurmScript, HoldsTheArrayAndTheAskedResources) {
  SlurmOptions o;
  o.partition = "gpu";
  o.time = "1:30:00";
  o.cpus_per_task = 4;
  o.gpus_per_task = 1;
  o.array_parallelism = 3;
  o.sbatch_args = {"--account=proj", "--mem=8G"};
  SlurmArray a;
  a.name = "scalelab-demo";
  a.tasks = 12;
  a.manifest = "/s/slurm/array-1.runs";
  a.worker = "/opt/bin/scalelab-worker";
  a.output = "/s/slurm/%A_%a.out";
  const std::string s = sbatch_script(o, a);
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0u);
  for (const char* line : {"#SBATCH --job-name=scalelab-demo\n", "#SBATCH --array=0-11%3\n", "#SBATCH --ntasks=1\n",
                           "#SBATCH --cpus-per-task=4\n", "#SBATCH --gpus-per-task=1\n", "#SBATCH --partition=gpu\n",
                           "#SBATCH --time=1:30:00\n", "#SBATCH --output=/s/slurm/%A_%a.out\n", "#SBATCH --requeue\n",
                           "#SBATCH --account=proj\n", "#SBATCH --mem=8G\n", "manifest='/s/slurm/array-1.runs'\n",
                           "worker='/opt/bin/scalelab-worker'\n", "threads=4\n"})
    EXPECT_NE(s.find(line), std::string::npos) << line << "\n" << s;
  // Every #SBATCH line comes before the first command (sbatch stops reading them there).
  EXPECT_LT(s.rfind("#SBATCH"), s.find("set -u"));

  SlurmOptions plain;
  a.tasks = 1;
  a.output = "/with space/%A_%a.out";
  const std::string p = sbatch_script(plain, a);
  EXPECT_NE(p.find("#SBATCH --array=0-0\n"), std::string::npos);
  EXPECT_NE(p.find("#SBATCH --cpus-per-task=1\n"), std::string::npos);
  EXPECT_NE(p.find("#SBATCH --output=\"/with space/%A_%a.out\"\n"), std::string::npos);
  EXPECT_EQ(p.find("--partition"), std::string::npos);
  EXPECT_EQ(p.find("--gpus-per-task"), std::string::npos);
  EXPECT_EQ(p.find("--time"), std::string::npos);
  a.tasks = 0;
  EXPECT_THROW(sbatch_script(plain, a), std::invalid_argument);
}

TEST(SlurmManifest, OneLineATaskAndRefusesTabs) {
  EXPECT_EQ(slurm_manifest({{"/s/runs/a", "host=h pid=1 start=2 attempt=1"}, {"/s/runs/b", "t2"}}),
            "/s/runs/a\thost=h pid=1 start=2 attempt=1\n/s/runs/b\tt2\n");
  EXPECT_THROW(slurm_manifest({{"/s/runs/a\tb", "t"}}), std::invalid_argument);
}

TEST(SlurmParse, SbatchParsable) {
  EXPECT_EQ(parse_sbatch_job_id("1234\n"), "1234");
  EXPECT_EQ(parse_sbatch_job_id("1234;cluster2\n"), "1234");
  EXPECT_FALSE(parse_sbatch_job_id(""));
  EXPECT_FALSE(parse_sbatch_job_id("sbatch: error: invalid partition\n"));
}

TEST(SlurmParse, SqueueArrayLines) {
  // squeue --noheader --array --format=%i|%T; a throttled array may still show a folded line.
  auto states = parse_squeue("12_0|RUNNING\n12_1|COMPLETING\n12_[2-4,7%2]|PENDING\n13|RUNNING\n\ngarbage\n14_x|RUNNING\n");
  std::map<std::string, std::string> want = {{"12_0", "RUNNING"}, {"12_1", "COMPLETING"}, {"12_2", "PENDING"},
                                             {"12_3", "PENDING"}, {"12_4", "PENDING"},    {"12_7", "PENDING"}};
  EXPECT_EQ(states, want);
  EXPECT_TRUE(parse_squeue("").empty());
}

TEST(SlurmParse, ScontrolOneLinePerTask) {
  // As slurmctld 22.05 printed them on this machine (shortened: the fields in between do not matter).
  const std::string out =
      "JobId=1 ArrayJobId=1 ArrayTaskId=3-7%2 ArrayTaskThrottle=2 JobName=t.sh UserId=root(0) JobState=PENDING "
      "Reason=JobArrayTaskLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 "
      "Command=/tmp/t.sh\n"
      "JobId=4 ArrayJobId=1 ArrayTaskId=2 ArrayTaskThrottle=2 JobName=t.sh JobState=FAILED Reason=NonZeroExitCode "
      "Requeue=1 Restarts=1 ExitCode=3:0\n"
      "JobId=3 ArrayJobId=1 ArrayTaskId=1 JobState=CANCELLED Reason=None ExitCode=0:15\n"
      "JobId=9 JobName=not-an-array JobState=RUNNING ExitCode=0:0\n";
  auto records = parse_scontrol_jobs(out);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].tasks, (std::vector<int>{3, 4, 5, 6, 7}));
  EXPECT_EQ(records[0].state, "PENDING");
  EXPECT_EQ(records[0].reason, "JobArrayTaskLimit");
  EXPECT_EQ(records[1].job_id, "4");
  EXPECT_EQ(records[1].array_job, "1");
  EXPECT_EQ(records[1].tasks, std::vector<int>{2});
  EXPECT_EQ(records[1].state, "FAILED");
  EXPECT_EQ(records[1].exit_code, 3);
  EXPECT_EQ(records[1].signal, 0);
  EXPECT_EQ(records[1].restarts, 1);
  EXPECT_EQ(records[2].state, "CANCELLED");
  EXPECT_EQ(records[2].signal, 15);
  EXPECT_TRUE(slurm_state_final("CANCELLED"));
  EXPECT_TRUE(slurm_state_final("TIMEOUT"));
  EXPECT_FALSE(slurm_state_final("PENDING"));
  EXPECT_FALSE(slurm_state_final("REQUEUED"));
}

TEST(SlurmParse, SacctTasksWithoutTheirSteps) {
  // sacct --noheader --parsable2 --format=JobID,State,ExitCode, where accounting is on.
  const std::string out =
      "12_3|CANCELLED by 0|0:15\n12_3.batch|CANCELLED|0:15\n12_4|COMPLETED|0:0\n12_4.batch|COMPLETED|0:0\n"
      "12_5|FAILED|1:0\n12_[6-7%2]|PENDING|0:0\n13_0|COMPLETED|0:0\n";
  auto records = parse_sacct(out, "12");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].tasks, std::vector<int>{3});
  EXPECT_EQ(records[0].state, "CANCELLED");
  EXPECT_EQ(records[0].signal, 15);
  EXPECT_EQ(records[1].state, "COMPLETED");
  EXPECT_EQ(records[2].exit_code, 1);
  EXPECT_EQ(records[3].tasks, (std::vector<int>{6, 7}));
  EXPECT_EQ(records[3].state, "PENDING");
  EXPECT_TRUE(parse_sacct("Slurm accounting storage is disabled\n", "12").empty());
}

TEST(SlurmParse, Placements) {
  EXPECT_EQ(slurm_placement("12", 3), "slurm:12_3");
  auto id = parse_slurm_placement("slurm:12_3");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->array_job, "12");
  EXPECT_EQ(id->task, 3);
  EXPECT_EQ(id->key(), "12_3");
  for (const char* bad : {"", "12_3", "slurm:12", "slurm:a_3", "slurm:12_", "pbs:12_3"})
    EXPECT_FALSE(parse_slurm_placement(bad)) << bad;
}

// The script as a Slurm task runs it: bash, SLURM_ARRAY_TASK_ID set, the fake worker.
struct SlurmTaskScript : ::testing::Test {
  TempDir tmp;
  fs::path run = tmp / "sweep" / "runs" / "r1";
  fs::path log = tmp / "completed.log";
  fs::path script = tmp / "task.sbatch";
  const std::string token = "host=h pid=1 start=2 attempt=1";

  void SetUp() override {
    fs::create_directories(run);
    Hparams h;
    for (auto [k, v] : std::vector<std::pair<const char*, const char*>>{
             {"dataset", "fashion-mnist"}, {"model", "mlp"}, {"width", "0.125"}, {"depth", "2"},
             {"data_fraction", "0.25"}, {"seed", "1"}, {"epochs", "2"}})
      h.set(k, std::string_view(v));
    write_file_atomic(run / "hparams.yaml", h.to_yaml());
    write_file_atomic(run / "claim", token + "\n");
    write_file_atomic(tmp / "runs.manifest", slurm_manifest({{run, token}}));
    SlurmArray a;
    a.name = "t";
    a.tasks = 1;
    a.manifest = tmp / "runs.manifest";
    a.worker = testing::fake_worker();
    a.output = tmp / "%A_%a.out";
    SlurmOptions o;
    o.cpus_per_task = 2;
    write_file_atomic(script, sbatch_script(o, a));
  }
  int run_task(int task = 0, int restart = 0) {
    std::string cmd = "env SLURM_ARRAY_JOB_ID=7 SLURM_ARRAY_TASK_ID=" + std::to_string(task) +
                      " SLURM_RESTART_COUNT=" + std::to_string(restart) + " FAKE_SLEEP_MS=10 FAKE_LOG='" + log.string() +
                      "' SCALELAB_CLAIM= bash '" + script.string() + "' >>'" + (tmp / "task.out").string() + "' 2>&1";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

TEST_F(SlurmTaskScript, TrainsItsRunAndWritesItsExitStatus) {
  write_file_atomic(run / "metrics.jsonl", "{\"epoch\": 9}\n");  // a previous attempt's: cleared first
  ASSERT_EQ(run_task(), 0) << slurp(tmp / "task.out");
  EXPECT_EQ(slurp(run / "task-exit"), "0\n");
  EXPECT_TRUE(fs::exists(run / "result.json"));
  EXPECT_EQ(slurp(run / "metrics.jsonl"), "{\"epoch\": 1}\n");
  EXPECT_NE(slurp(run / "worker.log").find("scalelab: Slurm task 7_0 on"), std::string::npos) << slurp(run / "worker.log");
  EXPECT_NE(slurp(run / "worker.log").find("fake_worker: training r1"), std::string::npos);
  EXPECT_EQ(testing::completions(log).size(), 1u);
  // Nothing outside its run directory (the manifest and script were there before).
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(tmp.path())) files.insert(e.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"sweep", "runs.manifest", "task.sbatch", "task.out", "completed.log"}));

  // Requeued after its result was whole: kept, not trained again.
  ASSERT_EQ(run_task(0, 1), 0);
  EXPECT_EQ(testing::completions(log).size(), 1u);
  EXPECT_EQ(testing::completions(log).begin()->second, 1);
}

TEST_F(SlurmTaskScript, WritesNothingIntoARunTakenOver) {
  write_file_atomic(run / "claim", "host=other pid=9 start=9 attempt=2\n");
  EXPECT_EQ(run_task(), 4);
  EXPECT_FALSE(fs::exists(run / "task-exit"));
  EXPECT_FALSE(fs::exists(run / "result.json"));
  EXPECT_FALSE(fs::exists(run / "worker.log"));
  EXPECT_NE(slurp(tmp / "task.out").find("taken over"), std::string::npos);
}

TEST_F(SlurmTaskScript, FailingWorkerStatusAndMissingTaskLine) {
  setenv("FAKE_FAIL_WHEN", "seed==1", 1);
  EXPECT_EQ(run_task(), 1);
  unsetenv("FAKE_FAIL_WHEN");
  EXPECT_EQ(slurp(run / "task-exit"), "1\n");
  EXPECT_EQ(run_task(5), 2);  // no line 6 in the manifest
  EXPECT_NE(slurp(tmp / "task.out").find("has no run directory"), std::string::npos);
}

}  // namespace
}  // namespace scalelab
