// The sweep runs through whatever executor SweepOptions names: a second executor, defined here and
// unknown to src/sweep, runs a whole grid; and executors are found by name, "local" among them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "sweep/executors.h"
#include "sweep/results.h"
#include "sweep/spec.h"
#include "sweep/sweep.h"
#include "sweep_fixture.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

// Starts every job through the local (zygote) executor, counting the jobs by run id: proof that the sweep used
// this executor for every run, and started each once.
class CountingExecutor : public Executor {
 public:
  CountingExecutor(int slots, WorkerCommand command, std::map<std::string, int>& starts)
      : local_(make_zygote_executor(slots, std::move(command))), starts_(starts) {}
  int slots() const override { return local_->slots(); }
  int running() const override { return local_->running(); }
  void start(const Job& job) override {
    starts_[job.id] += 1;
    local_->start(job);
  }
  std::vector<JobEnd> wait(std::chrono::milliseconds timeout) override { return local_->wait(timeout); }
  std::vector<JobEnd> cancel_all() override { return local_->cancel_all(); }
  void cancel(const std::string& id) override { local_->cancel(id); }

 private:
  std::unique_ptr<Executor> local_;
  std::map<std::string, int>& starts_;
};

struct SweepExecutor : SweepFixture {
  std::map<std::string, int> starts;  // run id -> jobs started through CountingExecutor
  std::vector<int> made_with_slots;   // one entry per executor the sweep made

  SweepOptions counting_options(int jobs) {
    SweepOptions options;
    options.jobs = jobs;
    options.cores = jobs;
    options.worker = scalelab_worker_command(fake_worker());
    options.executor = [this](int slots, WorkerCommand command) -> std::unique_ptr<Executor> {
      made_with_slots.push_back(slots);
      return std::make_unique<CountingExecutor>(slots, std::move(command), starts);
    };
    options.progress = nullptr;
    return options;
  }
  // The fake workers are this process's children here: they read their settings from its environment.
  void SetUp() override {
    SweepFixture::SetUp();
    setenv("FAKE_LOG", log.c_str(), 1);
    setenv("FAKE_SLEEP_MS", "10", 1);
  }
  void TearDown() override {
    unsetenv("FAKE_LOG");
    unsetenv("FAKE_SLEEP_MS");
  }
};

TEST_F(SweepExecutor, AnExecutorTheSweepNeverNamedRunsEveryRunOnce) {
  auto spec_text = parse_spec(kSpec, spec.string());
  auto outcome = run_sweep(spec_text, dir, counting_options(2));
  EXPECT_EQ(made_with_slots, std::vector<int>{2});
  EXPECT_EQ(outcome.total, kRuns);
  EXPECT_EQ(outcome.done, kRuns);
  EXPECT_EQ(outcome.started, kRuns);
  EXPECT_EQ(outcome.failed, 0);
  EXPECT_EQ(outcome.diverged, 0);
  EXPECT_EQ(outcome.pending, 0);
  EXPECT_FALSE(outcome.stopped);
  ASSERT_EQ(starts.size(), static_cast<std::size_t>(kRuns));
  for (const auto& [id, times] : starts) EXPECT_EQ(times, 1) << "run " << id << " started " << times << " times";
  std::set<std::string> stored;
  for (const auto& r : Store(dir).runs()) stored.insert(r.id);
  std::set<std::string> started;
  for (const auto& [id, _] : starts) started.insert(id);
  EXPECT_EQ(started, stored);
  expect_all_done_once();
  // The results read back: one row per cell (4 widths x 4 fractions), both seeds in each.
  std::vector<std::string> warnings;
  auto cells = sweep_measurements(dir, &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(cells.rows(), static_cast<std::size_t>(kRuns / 2));
  for (std::size_t row = 0; row < cells.rows(); ++row) EXPECT_EQ(cells.at(row, "seeds"), "2");

  // Resumed through it: a fresh executor, nothing started again.
  auto again = run_sweep(spec_text, dir, counting_options(3));
  EXPECT_EQ(made_with_slots, (std::vector<int>{2, 3}));
  EXPECT_EQ(again.started, 0);
  EXPECT_EQ(again.done, kRuns);
  EXPECT_EQ(starts.size(), static_cast<std::size_t>(kRuns));
  for (const auto& [id, times] : starts) EXPECT_EQ(times, 1) << "run " << id;
}

TEST_F(SweepExecutor, ASweepWithoutAnExecutorIsRefusedBeforeWritingAnything) {
  auto options = counting_options(2);
  options.executor = nullptr;
  EXPECT_THROW(run_sweep(parse_spec(kSpec, spec.string()), dir, options), std::invalid_argument);
  EXPECT_FALSE(fs::exists(dir));
}

TEST(SweepExecutorRegistry, LocalIsTheDefaultAndFoundByName) {
  const auto* local = find_executor(kDefaultExecutor);
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->name, "local");
  EXPECT_FALSE(local->description.empty());
  EXPECT_TRUE(local->make);
  EXPECT_EQ(find_executor("slurm-typo"), nullptr);
  std::set<std::string> names;
  for (const auto& e : executor_registry()) EXPECT_TRUE(names.insert(e.name).second) << e.name << " registered twice";
}

}  // namespace
}  // namespace scalelab
