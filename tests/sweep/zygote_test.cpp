// The local executor's zygote (zygote/zygote.h, sweep/zygote_executor.cpp): one worker process per
// sweep forks every run. kill -9 of the zygote or of one run's process at any moment: nothing lost,
// nothing completed twice; a killed sweep takes its zygote and runs with it. The fake worker serves
// through the same zygote code as scalelab-worker.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include "store/store.h"
#include "store/worker_exit.h"
#include "sweep/executor.h"
#include "sweep_fixture.h"
#include "zygote/zygote.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

// The processes `pid` forked that are still its children.
std::vector<pid_t> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> kids;
  for (pid_t kid; in >> kid;) kids.push_back(kid);
  return kids;
}

// Running, not a zombie.
bool alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z' && text[close + 2] != 'X';
}

// Waits up to `ms` for the sweep's zygote (its one child) and returns its pid, or -1.
pid_t zygote_of(pid_t sweep, int ms = 3000) {
  for (int t = 0; t < ms; t += 5) {
    const auto kids = children_of(sweep);
    if (!kids.empty()) return kids.front();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

TEST_F(SweepFixture, KillNineOfTheZygoteLosesAndRepeatsNothing) {
  auto p = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "3"}, env(60), tmp.path());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(40, 250);
  std::set<pid_t> killed;
  for (int k = 0; k < 4; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    const pid_t zygote = zygote_of(p.pid);
    if (zygote <= 0) break;  // the sweep ended
    ASSERT_FALSE(killed.count(zygote)) << "the killed zygote was never replaced";
    kill(zygote, SIGKILL);
    killed.insert(zygote);
  }
  ASSERT_EQ(wait_exit(p), 0) << p.stderr_text();
  EXPECT_GE(killed.size(), 2u) << "the sweep ended before the test could kill its zygote twice";
  // Runs killed with their zygote ran again in the same sweep: all done, none failed, none twice.
  expect_all_done_once(static_cast<int>(killed.size()) * 3);
}

TEST_F(SweepFixture, KillNineOfOneRunFailsThatRunAloneAndResumeRedoesIt) {
  auto p = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(150), tmp.path());
  const pid_t zygote = zygote_of(p.pid);
  ASSERT_GT(zygote, 0);
  std::vector<pid_t> runs;
  for (int t = 0; t < 3000 && runs.empty(); t += 5) {
    runs = children_of(zygote);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(runs.empty());
  kill(runs.front(), SIGKILL);
  ASSERT_NE(wait_exit(p), 0) << "a failed run makes the sweep's exit status non-zero";
  EXPECT_TRUE(children_of(zygote).empty());
  {
    Store store(dir);
    int failed = 0;
    for (const auto& r : store.runs()) {
      if (r.status != RunStatus::failed) {
        EXPECT_EQ(r.status, RunStatus::done) << r.id;
        continue;
      }
      ++failed;
      EXPECT_NE(r.message.find("killed by signal 9"), std::string::npos) << r.message;
    }
    EXPECT_EQ(failed, 1);
  }
  auto resumed = sweep(env(20));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  expect_all_done_once();
}

TEST_F(SweepFixture, AKilledSweepTakesItsZygoteAndItsRunsWithIt) {
  // Runs of 20 s: any that outlives the sweep by the 1 s the test waits was not taken down with it.
  auto p = start({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(20000), tmp.path());
  const pid_t zygote = zygote_of(p.pid);
  ASSERT_GT(zygote, 0);
  std::vector<pid_t> runs;
  for (int t = 0; t < 3000 && runs.size() < 2; t += 5) {
    runs = children_of(zygote);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(runs.size(), 2u);
  kill(p.pid, SIGKILL);
  wait_exit(p);
  for (int t = 0; t < 1000 && (alive(zygote) || alive(runs[0]) || alive(runs[1])); t += 5)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(alive(zygote));
  for (pid_t run : runs) {
    EXPECT_FALSE(alive(run)) << "run process " << run << " outlived its sweep";
    kill(run, SIGKILL);  // whatever the outcome, leave nothing running
  }
}

TEST_F(SweepFixture, TheProcessExecutorStillRunsEveryRunOnce) {
  auto r = run({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2", "--executor", "process"}, env(10),
               tmp.path());
  ASSERT_EQ(r.code, 0) << r.err;
  expect_all_done_once();
}

TEST_F(SweepFixture, AWorkerThatCannotServeFailsItsRunsAndSaysWhy) {
  // /bin/false stands in for a worker without `serve`: the zygote exits 1 before it is ready.
  auto env_false = env(10);
  env_false["SCALELAB_WORKER"] = "/bin/false";
  auto r = run({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env_false, tmp.path());
  EXPECT_NE(r.code, 0);
  Store store(dir);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), kRuns);
  for (const auto& run : runs) {
    EXPECT_EQ(run.status, RunStatus::failed) << run.id;
    EXPECT_NE(run.message.find("exited with status 1 before it was ready"), std::string::npos) << run.message;
  }
}

// The executor's side, without a sweep: starts, cancels, a claim that is gone, cancel_all.
struct ZygoteExecutorTest : SweepFixture {
  std::unique_ptr<Executor> executor;
  void SetUp() override {
    SweepFixture::SetUp();
    setenv("FAKE_SLEEP_MS", "200", 1);
    unsetenv("FAKE_LOG");
    executor = make_zygote_executor(3, scalelab_worker_command(fake_worker()));
  }
  void TearDown() override { unsetenv("FAKE_SLEEP_MS"); }
  Job job(const std::string& id, const std::string& claim = "") {
    const auto run_dir = tmp / id;
    fs::create_directories(run_dir);
    spit(run_dir / "hparams.yaml", "model: mlp\nwidth: 0.25\ndepth: 2\ndata_fraction: 0.5\nseed: 1\nepochs: 2\n");
    if (!claim.empty()) spit(run_dir / "claim", claim + "\n");
    return {id, run_dir, 1, claim};
  }
  std::map<std::string, JobEnd> wait_all() {
    std::map<std::string, JobEnd> ends;
    for (int i = 0; i < 200 && executor->running() > 0; ++i)
      for (const auto& e : executor->wait(std::chrono::milliseconds(50))) ends[e.id] = e;
    return ends;
  }
};

TEST_F(ZygoteExecutorTest, ReportsHowEachRunEnded) {
  executor->start(job("done"));
  executor->start(job("cancelled"));
  auto taken = job("taken", "host=a pid=1 start=1 attempt=1");
  spit(taken.dir / "claim", "host=b pid=2 start=2 attempt=2\n");  // another sweep's now
  executor->start(taken);
  EXPECT_EQ(executor->running(), 3);
  executor->cancel("cancelled");
  const auto ends = wait_all();
  ASSERT_EQ(ends.size(), 3u);
  EXPECT_EQ(ends.at("done").exit_code, exit_status(WorkerExit::done));
  EXPECT_FALSE(ends.at("done").cancelled);
  EXPECT_TRUE(fs::exists(tmp / "done" / "result.json"));
  EXPECT_NE(slurp(tmp / "done" / "worker.log").find("fake_worker: training done"), std::string::npos);
  EXPECT_EQ(ends.at("cancelled").signal, SIGKILL);
  EXPECT_TRUE(ends.at("cancelled").cancelled);
  EXPECT_FALSE(fs::exists(tmp / "cancelled" / "result.json"));
  EXPECT_EQ(ends.at("taken").exit_code, exit_status(WorkerExit::claim_lost));
  EXPECT_FALSE(fs::exists(tmp / "taken" / "result.json"));
  for (const auto& [id, end] : ends) EXPECT_FALSE(end.worker_lost) << id;
}

TEST_F(ZygoteExecutorTest, CancelAllStopsEveryRunAndTheZygoteServesOn) {
  executor->start(job("a"));
  executor->start(job("b"));
  const auto ends = executor->cancel_all();
  ASSERT_EQ(ends.size(), 2u);
  for (const auto& e : ends) {
    EXPECT_TRUE(e.cancelled) << e.id;
    EXPECT_EQ(e.signal, SIGTERM) << e.id;
  }
  EXPECT_EQ(executor->running(), 0);
  executor->start(job("c"));
  const auto later = wait_all();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later.at("c").exit_code, 0);
}

TEST(ZygoteProtocol, RequestsAndRepliesRoundTrip) {
  const std::string line = run_request_line({"abc", "/tmp/a dir/\"x\"", 2, "host=h pid=1"});
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["run"], "abc");
  EXPECT_EQ(j["dir"], "/tmp/a dir/\"x\"");
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto ended = parse_zygote_reply(R"({"ended":"abc","exit":-1,"signal":9})");
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->kind, ZygoteReply::Kind::ended);
  EXPECT_EQ(ended->id, "abc");
  EXPECT_EQ(ended->signal, 9);
  EXPECT_FALSE(parse_zygote_reply("not json"));
  EXPECT_FALSE(parse_zygote_reply(R"({"ended":"abc"})"));
  EXPECT_FALSE(parse_zygote_reply(R"({"other":1})"));
}

// A request the zygote cannot read ends it (status 1, a message) rather than guessing; the end of its
// input ends it cleanly.
TEST(ZygoteProtocol, AnUnreadableRequestEndsTheZygote) {
  for (const auto& [input, status] : std::vector<std::pair<std::string, int>>{{"{\"run\": 3}\n", 1}, {"", 0}}) {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      _exit(serve_zygote(fds[1], fds[1], {nullptr, [](const RunRequest&) { return 0; }}));
    }
    close(fds[1]);
    (void)!write(fds[0], input.data(), input.size());
    shutdown(fds[0], SHUT_WR);
    int code = 0;
    waitpid(pid, &code, 0);
    EXPECT_TRUE(WIFEXITED(code));
    EXPECT_EQ(WEXITSTATUS(code), status) << input;
    char buffer[256] = {};
    const auto n = read(fds[0], buffer, sizeof buffer - 1);
    EXPECT_GT(n, 0);
    EXPECT_NE(std::string(buffer).find("\"ready\""), std::string::npos);
    close(fds[0]);
  }
}

}  // namespace
}  // namespace scalelab
