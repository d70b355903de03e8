// The run store of one sweep directory:
//
//   SWEEP/runs/<hash>/   one directory per configuration (docs/run-directory.md): the truth
//   SWEEP/store.sqlite   an index over them: status, owner, attempts, results; rebuildable at any time
//
// Several processes may share a store (two `scalelab sweep` on one directory, later Slurm tasks):
// the database runs in WAL mode with a busy timeout, and every claim is one BEGIN IMMEDIATE
// transaction, so no configuration is ever handed to two owners at once.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/hparams.h"
#include "store/run_dir.h"

struct sqlite3;

namespace scalelab {
enum class StoreMode {
  read_write,  // sweeps, `results --rebuild`: creates, repairs and fills the index
  read_only,   // `results` on a directory it may not write: reads the index, or the directories
};
}

namespace scalelab {

struct RunRecord {
  std::string id;  // Hparams::hash(), also the directory name
  Hparams hparams;
  RunStatus status = RunStatus::pending;
  double cost = 0;           // relative training cost; cheap runs are claimed first
  int attempts = 0;          // times a worker was started for it
  nlohmann::json result;     // result.json once done or diverged, else null
  std::string message;       // why it failed, or why its last result was discarded
  double wall_s = 0;         // worker wall time of the recorded attempt
  long owner_pid = 0;        // the sweep process running it (status running)
  std::string owner_host;
  long long owner_start = 0;  // that process's start time (/proc/PID/stat), so a reused pid is not it
  // Where the attempt runs outside the sweep process (a Slurm array task: "slurm:JOB_TASK"), else empty.
  // Such a run stays claimed while that task lives, whether or not its sweep does.
  std::string job;
};

// Whether a placement (RunRecord::job) still runs. Asked for runs whose sweep process is gone; an
// answer it cannot give (the scheduler unreachable) must be true: a live task must never lose its run.
using JobLiveness = std::function<bool(const std::string& job)>;

class Store {
 public:
  // Opens SWEEP/store.sqlite, creating the directory and schema when new. A new database over
  // existing run directories is filled from them (the index is rebuilt automatically). An index that
  // cannot be opened or read (corrupt, not a database, a directory in its place) is moved aside to
  // store.sqlite.damaged-<time> (with its -wal and -shm), a fresh one is filled from runs/, and
  // warnings() says so.
  // read_only writes nothing: it reads store.sqlite without locking it for writing, and when that
  // cannot be done it lists the run directories into an index in memory.
  explicit Store(const std::filesystem::path& sweep_dir, StoreMode mode = StoreMode::read_write);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path run_dir(const std::string& id) const { return dir_ / "runs" / id; }

  // Adds the planned runs that are new (pending) and reconciles every run with its directory: a
  // finished directory is recorded as finished; a run recorded as finished whose directory lost or
  // spoiled its result goes back to pending. With `retry_failed`, failed runs become pending again.
  struct Planned {
    Hparams hparams;
    double cost = 0;
  };
  //
  // The directories win over the index: a row whose hparams do not parse or do not hash to its id is
  // repaired from RUN/hparams.yaml (when that hashes to the id) or from the planned configuration; a
  // directory holding another configuration's hparams.yaml is moved to SWEEP/quarantine/<id>.<time>
  // and its run starts again; an unknown status is settled from the directory.
  // `ids[i]` is the id runs[i] is stored under: its hash(), or the legacy name of an existing
  // directory of the same configuration (Hparams::legacy_hash), so finished runs keep their ids.
  struct PlanOutcome {
    std::vector<std::string> ids;
    std::vector<std::string> warnings;  // repairs and quarantines, one line each
  };
  PlanOutcome plan(const std::vector<Planned>& runs, bool retry_failed = true);

  // The cheapest run nobody is running (pending, or running under an owner that has died or let its
  // lease lapse), now marked running under this process; nullopt when there is none.
  // With `among`, only runs whose id it holds are considered (the current spec's grid).
  std::optional<RunRecord> claim(const std::set<std::string>* among = nullptr);
  // Makes RUN ready for a claimed attempt: moves contents that belong to another configuration (or a
  // stray file in its place) to SWEEP/quarantine/<id>.<time>, empties it of a previous attempt's
  // files, writes hparams.yaml and RUN/claim. Returns the claim token for the worker
  // (store/claim.h); `note` (when not null) receives a line when something was set aside.
  std::string prepare(const RunRecord& run, std::string* note = nullptr);
  // Renews this process's lease on the runs it is running; returns the ids it still owns (a run
  // missing from it was taken over: its worker must be stopped).
  std::set<std::string> heartbeat();
  // Records how a claimed run ended. Ignored when this process no longer owns the run.
  void finish(const std::string& id, RunStatus status, const nlohmann::json& result, const std::string& message,
              double wall_s);
  // Gives a claimed run back (the sweep was stopped): pending again, for whoever resumes.
  void release(const std::string& id);

  // Records where a claimed run's attempt runs (RunRecord::job), once its task exists.
  void place(const std::string& id, const std::string& job);
  // Takes over the runs (among `among`, when given) whose sweep process is gone but whose placed task
  // still lives (a Slurm array left running): they become this process's, keeping their task and
  // their claim token, and are returned so that the caller follows them to their end.
  std::vector<RunRecord> adopt(const std::set<std::string>* among = nullptr);
  // How to tell whether a placed task lives. Without one every placed task counts as alive (its run
  // is never reclaimed by a process that cannot ask the scheduler).
  void set_job_liveness(JobLiveness liveness) { job_alive_ = std::move(liveness); }

  std::vector<RunRecord> runs() const;
  // Re-reads every run directory into the index; rows without a directory are dropped. Runs being
  // run by a live owner keep their claim.
  void rebuild();

  // An owner on another host loses its claim when it stops renewing it for this long (seconds;
  // $SCALELAB_LEASE_SECONDS overrides it, for tests). An owner on this host keeps its claims as long
  // as its process lives, however long it is stalled (SIGSTOP, swapping).
  static constexpr double default_lease_seconds = 60;
  double lease_seconds() const { return lease_; }

  // What opening the store found (a damaged index moved aside, an unreadable one listed from the
  // directories), one line each, for the caller to print.
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool read_only() const { return mode_ == StoreMode::read_only; }

  // Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot); 0 when unknown.
  static long long process_start(long pid);

 private:
  void exec(const char* sql);
  void open_read_write();
  void open_read_only();
  void open_memory_index();
  void initialise();         // schema, migrations, first fill
  void index_directories();  // rebuild's work, inside the caller's transaction
  // A claim holds while its sweep process lives or, for a placed attempt, while its task does.
  bool owner_alive(long pid, const std::string& host, long long start, double heartbeat, const std::string& job) const;
  bool process_alive(long pid, const std::string& host, long long start, double heartbeat) const;
  std::filesystem::path quarantine(const std::string& id);

  std::filesystem::path dir_;
  StoreMode mode_;
  sqlite3* db_ = nullptr;
  std::string host_;
  long pid_;
  long long start_ = 0;
  double lease_ = default_lease_seconds;
  std::vector<std::string> warnings_;
  JobLiveness job_alive_;
};
}  // namespace scalelab
