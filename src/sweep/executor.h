// Where runs execute. The sweep hands an Executor one run at a time and collects how each ended; it
// never knows whether the run was a local process or, later, a Slurm task. A new backend implements
// these six calls and takes one line in the registry (sweep/executors.h); nothing in the sweep changes:
// it gets its executor from SweepOptions::executor.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace scalelab {

struct Job {
  std::string id;                // the run's id (its directory name)
  std::filesystem::path dir;     // the run directory, holding hparams.yaml
  int threads = 1;               // compute threads the worker may use
  // The claim token (store/claim.h): the worker gets it in $SCALELAB_CLAIM and writes nothing once
  // RUN/claim holds another. Empty: no check.
  std::string claim;
};

struct JobEnd {
  std::string id;
  int exit_code = -1;  // the worker's exit status (store/worker_exit.h); -1 when a signal ended it
  int signal = 0;      // the signal that ended it, else 0
  bool cancelled = false;  // ended by cancel_all(), so it says nothing about the run
  double wall_s = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual int slots() const = 0;          // runs that may execute at once
  virtual int running() const = 0;        // runs started and not yet collected
  virtual void start(const Job& job) = 0;
  // Runs that ended, waiting up to `timeout` for the first; empty when none ended in that time.
  virtual std::vector<JobEnd> wait(std::chrono::milliseconds timeout) = 0;
  // Stops every running run and returns how they ended (cancelled = true).
  virtual std::vector<JobEnd> cancel_all() = 0;
  // Stops one run (it was taken over by another sweep); how it ended comes back from wait(), with
  // cancelled = true. Unknown ids are ignored.
  virtual void cancel(const std::string& id) = 0;
};

// The command that runs one job, e.g. {"scalelab-worker", "train", "--config", DIR/hparams.yaml,
// "--out", DIR, "--threads", "2"}. Injectable, so tests run a fake worker.
using WorkerCommand = std::function<std::vector<std::string>(const Job&)>;
WorkerCommand scalelab_worker_command(const std::filesystem::path& worker);

// Makes the executor a sweep runs through: `slots` runs at once, each started with `command`.
using ExecutorFactory = std::function<std::unique_ptr<Executor>(int slots, WorkerCommand command)>;

// One child process per run on this machine, at most `slots` at once. Each child runs in its own
// process group (a terminal's Ctrl-C reaches the sweep, which stops the children itself) and dies
// with the sweep (PR_SET_PDEATHSIG), so a killed sweep leaves no orphan writing into a run directory.
// Its stdout and stderr go to DIR/worker.log; its environment is the sweep's plus SCALELAB_CLAIM.
std::unique_ptr<Executor> make_local_executor(int slots, WorkerCommand command);

}  // namespace scalelab
