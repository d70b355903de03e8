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
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/hparams.h"
#include "store/run_dir.h"

struct sqlite3;

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
};

class Store {
 public:
  // Opens SWEEP/store.sqlite, creating the directory and schema when new. A new database over
  // existing run directories is filled from them (the index is rebuilt automatically).
  explicit Store(const std::filesystem::path& sweep_dir);
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
  void plan(const std::vector<Planned>& runs, bool retry_failed = true);

  // The cheapest run nobody is running (pending, or running under an owner that has died or let its
  // lease lapse), now marked running under this process; nullopt when there is none.
  // With `among`, only runs whose id it holds are considered (the current spec's grid).
  std::optional<RunRecord> claim(const std::set<std::string>* among = nullptr);
  // Renews this process's lease on the runs it is running.
  void heartbeat();
  // Records how a claimed run ended. Ignored when this process no longer owns the run.
  void finish(const std::string& id, RunStatus status, const nlohmann::json& result, const std::string& message,
              double wall_s);
  // Gives a claimed run back (the sweep was stopped): pending again, for whoever resumes.
  void release(const std::string& id);

  std::vector<RunRecord> runs() const;
  // Re-reads every run directory into the index; rows without a directory are dropped. Runs being
  // run by a live owner keep their claim.
  void rebuild();

  // A claim lapses when its owner stops renewing it for this long (owners on other hosts, hung owners).
  static constexpr double lease_seconds = 60;

 private:
  void exec(const char* sql);
  void index_directories();  // rebuild's work, inside the caller's transaction
  bool owner_alive(long pid, const std::string& host, double heartbeat) const;

  std::filesystem::path dir_;
  sqlite3* db_ = nullptr;
  std::string host_;
  long pid_;
};

}  // namespace scalelab
