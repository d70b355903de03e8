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
#include <utility>
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
  // The process that ran it died (a zygote killed): the run was killed with it, through no fault of
  // its own, and is to be run again (unless it had finished: its directory says).
  bool worker_lost = false;
  // A stop left it running (a Slurm task, without --cancel): the run stays claimed by its task, and
  // the next sweep into the directory attaches to it.
  bool left_running = false;
  std::string reason;  // how it ended, where an exit status cannot say it (a Slurm task TIMEOUT)
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

  // Executors whose runs outlive the sweep process (Slurm tasks) say where each run was placed, so
  // that the store keeps the run claimed while its task lives ("slurm:JOB_TASK", RunRecord::job).
  // Returns the placements made since the last call. Local executors place nothing.
  virtual std::vector<std::pair<std::string, std::string>> take_placements() { return {}; }
  // Whether this executor can follow a run placed by an earlier sweep whose task still lives (attach).
  virtual bool adopts() const { return false; }
  // Follows such a run to its end, as if start() had placed it at `placement`.
  virtual void adopt(const Job& job, const std::string& placement) {
    (void)job;
    (void)placement;
  }
};

// The worker program and how it is called: once per run (`train`), or once per sweep as a zygote
// that forks a child per run (`serve`, zygote/zygote.h). Tests point it at a fake worker.
struct WorkerCommand {
  std::filesystem::path program;  // e.g. build/bin/scalelab-worker; empty: none given
  // {program, "train", "--config", DIR/hparams.yaml, "--out", DIR, "--threads", N}
  std::vector<std::string> train(const Job& job) const;
  std::vector<std::string> serve() const;  // {program, "serve"}
  explicit operator bool() const { return !program.empty(); }
};
WorkerCommand scalelab_worker_command(const std::filesystem::path& worker);

// Makes the executor a sweep runs through: `slots` runs at once, each started with `command`.
using ExecutorFactory = std::function<std::unique_ptr<Executor>(int slots, WorkerCommand command)>;

// Runs on this machine, at most `slots` at once, each in its own process, which runs in its own
// process group (a terminal's Ctrl-C reaches the sweep, which stops the runs itself) and dies with
// the sweep (PR_SET_PDEATHSIG), so a killed sweep leaves no orphan writing into a run directory. Each
// run's stdout and stderr go to DIR/worker.log; its environment is the sweep's plus SCALELAB_CLAIM.
//
// make_zygote_executor (`local`, the default): one `worker serve` process per sweep loads libtorch and
// the dataset once and forks every run from that state (zygote/zygote.h): a run starts in
// milliseconds. If the zygote itself dies (kill -9), the runs it was training end with
// JobEnd::worker_lost and a new zygote serves the next start.
// make_process_executor (`process`): a fresh `worker train` process per run, which pays libtorch's
// and the dataset's start-up (about 2 s) every run.
std::unique_ptr<Executor> make_zygote_executor(int slots, WorkerCommand command);
std::unique_ptr<Executor> make_process_executor(int slots, WorkerCommand command);

}  // namespace scalelab
