// The Slurm executor (`scalelab sweep SPEC --executor slurm`, docs/slurm.md): the pending runs of a
// sweep go to Slurm as one job array, through Slurm's own commands (sbatch --parsable, squeue,
// scontrol -o, scancel); scalelab schedules nothing itself.
//
// Each array task trains one run: it reads line TASK+1 of a manifest (the run directory and the
// attempt's claim token), checks that RUN/claim still holds the token, runs `worker train` on the
// directory and writes RUN/task-exit with the worker's status. Tasks write only their run
// directories (safe on a shared file system); the sweep process alone writes the store, following
// the tasks with squeue and reading how they ended from RUN/task-exit (scontrol when there is none).
// The store records each run's task (RunRecord::job = "slurm:JOB_TASK"): a run claimed by a live task
// is never reclaimed, and a later `scalelab sweep` on the directory attaches to the live tasks.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "sweep/executor.h"

namespace scalelab {

struct SlurmOptions {
  std::string partition;            // --partition; empty: the cluster's default
  std::string time;                 // --time (e.g. 1:00:00); empty: the partition's default
  int cpus_per_task = 1;            // --cpus-per-task, also the worker's --threads
  int gpus_per_task = 0;            // --gpus-per-task; 0: none asked for
  int array_parallelism = 0;        // --array=0-N%K: at most K tasks at once; 0: Slurm decides
  std::vector<std::string> sbatch_args;  // further #SBATCH lines, as given (e.g. --account=proj)
  bool cancel_on_stop = false;      // a stop (Ctrl-C) cancels the tasks (scancel) instead of leaving them
  // How often squeue is asked. $SCALELAB_SLURM_POLL_MS overrides it (tests).
  std::chrono::milliseconds poll{2000};
};

// Arrays hold at most this many tasks (Slurm's default MaxArraySize is 1001: indexes 0-1000); a sweep
// with more pending runs submits further arrays as tasks end.
inline constexpr int kMaxArrayTasks = 1000;

// The placement the store records for an array task: "slurm:JOB_TASK"; and back (nullopt: not Slurm's).
std::string slurm_placement(const std::string& array_job, int task);
struct SlurmTaskId {
  std::string array_job;
  int task = -1;
  std::string key() const { return array_job + "_" + std::to_string(task); }  // squeue's %i of the task
};
std::optional<SlurmTaskId> parse_slurm_placement(const std::string& placement);

// One array's script: `tasks` tasks over `manifest`, the worker at `worker`, Slurm's own output per
// task at `output` (a pattern such as SWEEP/slurm/%A_%a.out).
struct SlurmArray {
  std::string name;                  // the job name
  int tasks = 0;
  std::filesystem::path manifest;    // one line a task: RUN_DIR <TAB> CLAIM_TOKEN
  std::filesystem::path worker;      // scalelab-worker (absolute)
  std::filesystem::path output;
};
std::string sbatch_script(const SlurmOptions& options, const SlurmArray& array);
// Lines of a manifest. Throws std::invalid_argument for a directory or token holding a tab or newline.
std::string slurm_manifest(const std::vector<std::pair<std::filesystem::path, std::string>>& runs);

// `sbatch --parsable` prints "JOBID" or "JOBID;CLUSTER"; nullopt when it printed no job id.
std::optional<std::string> parse_sbatch_job_id(const std::string& out);

// `squeue --noheader --array --format=%i|%T` lines: "12_3|RUNNING". Returns task key -> state; a
// line for tasks still folded into one ("12_[4-9%2]|PENDING") stands for each of them.
std::map<std::string, std::string> parse_squeue(const std::string& out);

// One line of `scontrol -o show job JOB` per array task (or per folded range of pending tasks).
struct SlurmTaskRecord {
  std::string job_id, array_job;
  std::vector<int> tasks;  // ArrayTaskId: one, or a folded range's
  std::string state;       // JobState, e.g. COMPLETED, CANCELLED, FAILED, TIMEOUT
  std::string reason;      // Reason
  int exit_code = 0;       // ExitCode=CODE:SIGNAL
  int signal = 0;
  int restarts = 0;        // Restarts (requeues)
};
std::vector<SlurmTaskRecord> parse_scontrol_jobs(const std::string& out);

// `sacct --noheader --parsable2 --jobs=JOB --format=JobID,State,ExitCode` (only where accounting is
// on): one record per array task of `array_job` ("12_3|CANCELLED by 0|0:15"); job steps
// ("12_3.batch") are left out.
std::vector<SlurmTaskRecord> parse_sacct(const std::string& out, const std::string& array_job);

// A state squeue or scontrol reports for a task that will not run (again) by itself.
bool slurm_state_final(const std::string& state);

// The tasks of the given array jobs Slurm still knows, by task key -> state (squeue); nullopt when
// Slurm could not be asked (squeue missing, the controller down): then nothing may be taken for gone.
std::optional<std::map<std::string, std::string>> slurm_task_states(const std::vector<std::string>& array_jobs);

// For the store (Store::set_job_liveness): a "slurm:JOB_TASK" placement lives while squeue lists the
// task in a state that is not final, or while squeue cannot be asked. Answers are cached for a second.
JobLiveness slurm_job_liveness();

std::unique_ptr<Executor> make_slurm_executor(const SlurmOptions& options, WorkerCommand command);

}  // namespace scalelab
