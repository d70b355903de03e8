#include "sweep/slurm.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "store/worker_exit.h"
#include "sweep/command.h"
#include "table/table.h"
#include "util/duration.h"

namespace scalelab {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kPlacementPrefix = "slurm:";
constexpr const char* kTaskExitFile = "task-exit";  // written by the task script: the worker's exit status

// A word for bash: single-quoted, quotes inside escaped.
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A value on an #SBATCH line: sbatch splits those lines at blanks, honouring double quotes.
std::string sbatch_value(const std::string& s) {
  return s.find_first_of(" \t") == std::string::npos ? s : "\"" + s + "\"";
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

bool whole_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "3", "3-7", "1,3,5-7", each optionally followed by "%K" (the throttle): the indexes it names.
std::vector<int> expand_indexes(std::string text) {
  std::vector<int> out;
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    auto dash = part.find('-');
    std::string lo = part.substr(0, dash), hi = dash == std::string::npos ? lo : part.substr(dash + 1);
    if (auto colon = hi.find(':'); colon != std::string::npos) hi.resize(colon);  // a step "0-9:2": rare, read as a range
    if (!whole_number(lo) || !whole_number(hi)) continue;
    for (int i = std::stoi(lo); i <= std::stoi(hi) && out.size() < 1000000; ++i) out.push_back(i);
  }
  return out;
}

// The worker's exit status as the task script wrote it; nullopt while there is none.
std::optional<int> read_task_exit(const fs::path& run_dir) {
  std::ifstream in(run_dir / kTaskExitFile);
  int code;
  if (in >> code) return code;
  return std::nullopt;
}

}  // namespace

std::string slurm_placement(const std::string& array_job, int task) {
  return fmt::format("{}{}_{}", kPlacementPrefix, array_job, task);
}

std::optional<SlurmTaskId> parse_slurm_placement(const std::string& placement) {
  std::string prefix = kPlacementPrefix;
  if (placement.rfind(prefix, 0) != 0) return std::nullopt;
  auto key = placement.substr(prefix.size());
  auto underscore = key.rfind('_');
  if (underscore == std::string::npos) return std::nullopt;
  auto job = key.substr(0, underscore), task = key.substr(underscore + 1);
  if (!whole_number(job) || !whole_number(task) || task.size() > 9) return std::nullopt;
  return SlurmTaskId{job, std::stoi(task)};
}

std::string sbatch_script(const SlurmOptions& options, const SlurmArray& array) {
  if (array.tasks < 1) throw std::invalid_argument("sbatch_script: an array needs at least one task");
  std::string s = "#!/bin/bash\n";
  auto line = [&](const std::string& option) { s += "#SBATCH " + option + "\n"; };
  line("--job-name=" + sbatch_value(array.name));
  std::string range = fmt::format("0-{}", array.tasks - 1);
  if (options.array_parallelism > 0) range += fmt::format("%{}", options.array_parallelism);
  line("--array=" + range);
  line("--ntasks=1");
  line(fmt::format("--cpus-per-task={}", std::max(1, options.cpus_per_task)));
  if (options.gpus_per_task > 0) line(fmt::format("--gpus-per-task={}", options.gpus_per_task));
  if (!options.partition.empty()) line("--partition=" + sbatch_value(options.partition));
  if (!options.time.empty()) line("--time=" + sbatch_value(options.time));
  line("--output=" + sbatch_value(array.output.string()));
  line("--requeue");
  for (const auto& arg : options.sbatch_args) line(arg);
  s += fmt::format(R"SH(#
# Written by `scalelab sweep --executor slurm` (docs/slurm.md). Task I trains the run on line I+1 of
# the manifest (RUN_DIR<TAB>CLAIM_TOKEN) and writes only into that run's directory: the sweep
# process reads RUN/task-exit and records the result in the store.
set -u
manifest={manifest}
worker={worker}
threads={threads}
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$manifest")
run=${{line%%$'\t'*}}
token=${{line#*$'\t'}}
if [[ -z $line || $run == "$line" || ! -d $run ]]; then
  echo "scalelab: array task $SLURM_ARRAY_TASK_ID has no run directory in $manifest" >&2
  exit 2
fi
# The run is this task's while RUN/claim holds its token; another sweep may have taken it over.
owns() {{ [[ "$(cat "$run/claim" 2>/dev/null)" == "$token" ]]; }}
ends() {{
  if owns; then echo "$1" >"$run/.{exit_file}.tmp" && mv -f "$run/.{exit_file}.tmp" "$run/{exit_file}"; fi
  exit "$1"
}}
if ! owns; then
  echo "scalelab: $run was taken over by another sweep: this task writes nothing" >&2
  exit {claim_lost}
fi
# A requeued or preempted task starts its run afresh (a result already whole is kept).
[[ -s $run/result.json ]] && ends 0
rm -f "$run/{exit_file}" "$run/metrics.jsonl" "$run/best.pt" "$run/failure.txt"
echo "scalelab: Slurm task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}} on $(hostname), start $((${{SLURM_RESTART_COUNT:-0}} + 1))" >>"$run/worker.log"
export SCALELAB_CLAIM=$token
"$worker" train --config "$run/hparams.yaml" --out "$run" --threads "$threads" >>"$run/worker.log" 2>&1
ends $?
)SH",
                   fmt::arg("manifest", shell_quote(array.manifest.string())),
                   fmt::arg("worker", shell_quote(array.worker.string())),
                   fmt::arg("threads", std::max(1, options.cpus_per_task)), fmt::arg("exit_file", kTaskExitFile),
                   fmt::arg("claim_lost", exit_status(WorkerExit::claim_lost)));
  return s;
}

std::string slurm_manifest(const std::vector<std::pair<fs::path, std::string>>& runs) {
  std::string text;
  for (const auto& [dir, token] : runs) {
    if (dir.string().find_first_of("\t\n") != std::string::npos || token.find_first_of("\t\n") != std::string::npos)
      throw std::invalid_argument(fmt::format("slurm manifest: {} holds a tab or a newline", dir.string()));
    text += dir.string() + "\t" + token + "\n";
  }
  return text;
}

std::optional<std::string> parse_sbatch_job_id(const std::string& out) {
  std::string first = trim(out.substr(0, out.find('\n')));
  first = first.substr(0, first.find(';'));
  if (!whole_number(first)) return std::nullopt;
  return first;
}

std::map<std::string, std::string> parse_squeue(const std::string& out) {
  std::map<std::string, std::string> states;
  std::stringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    line = trim(line);
    auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    std::string id = line.substr(0, bar), state = trim(line.substr(bar + 1));
    state = state.substr(0, state.find('|'));
    auto underscore = id.find('_');
    if (underscore == std::string::npos) continue;  // not an array task: not ours
    std::string job = id.substr(0, underscore), tasks = id.substr(underscore + 1);
    if (!whole_number(job)) continue;
    if (!tasks.empty() && tasks.front() == '[') {
      tasks = tasks.substr(1, tasks.find(']') == std::string::npos ? std::string::npos : tasks.find(']') - 1);
      for (int t : expand_indexes(tasks)) states[job + "_" + std::to_string(t)] = state;
    } else if (whole_number(tasks)) {
      states[job + "_" + tasks] = state;
    }
  }
  return states;
}

std::vector<SlurmTaskRecord> parse_scontrol_jobs(const std::string& out) {
  std::vector<SlurmTaskRecord> records;
  std::stringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::map<std::string, std::string> fields;
    std::stringstream words(line);
    std::string word;
    while (words >> word) {
      auto eq = word.find('=');
      if (eq != std::string::npos) fields.emplace(word.substr(0, eq), word.substr(eq + 1));
    }
    if (!fields.count("JobId") || !fields.count("ArrayJobId") || !fields.count("ArrayTaskId")) continue;
    SlurmTaskRecord r;
    r.job_id = fields["JobId"];
    r.array_job = fields["ArrayJobId"];
    r.tasks = expand_indexes(fields["ArrayTaskId"]);
    r.state = fields["JobState"];
    r.reason = fields["Reason"];
    const std::string exit = fields["ExitCode"];
    auto colon = exit.find(':');
    if (colon != std::string::npos && whole_number(exit.substr(0, colon)) && whole_number(exit.substr(colon + 1))) {
      r.exit_code = std::stoi(exit.substr(0, colon));
      r.signal = std::stoi(exit.substr(colon + 1));
    }
    if (whole_number(fields["Restarts"])) r.restarts = std::stoi(fields["Restarts"]);
    records.push_back(std::move(r));
  }
  return records;
}

std::vector<SlurmTaskRecord> parse_sacct(const std::string& out, const std::string& array_job) {
  std::vector<SlurmTaskRecord> records;
  std::stringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::stringstream parts(trim(line));
    std::string field;
    while (std::getline(parts, field, '|')) fields.push_back(field);
    if (fields.size() < 3) continue;
    const std::string& id = fields[0];
    auto underscore = id.find('_');
    if (underscore == std::string::npos || id.substr(0, underscore) != array_job || id.find('.') != std::string::npos)
      continue;
    std::string tasks = id.substr(underscore + 1);
    if (!tasks.empty() && tasks.front() == '[') tasks = tasks.substr(1, tasks.find(']') - 1);
    SlurmTaskRecord r;
    r.job_id = id;
    r.array_job = array_job;
    r.tasks = expand_indexes(tasks);
    r.state = fields[1].substr(0, fields[1].find(' '));  // "CANCELLED by 0"
    auto colon = fields[2].find(':');
    if (colon != std::string::npos && whole_number(fields[2].substr(0, colon)) && whole_number(fields[2].substr(colon + 1))) {
      r.exit_code = std::stoi(fields[2].substr(0, colon));
      r.signal = std::stoi(fields[2].substr(colon + 1));
    }
    if (!r.tasks.empty()) records.push_back(std::move(r));
  }
  return records;
}

bool slurm_state_final(const std::string& state) {
  static const std::set<std::string> kFinal = {"COMPLETED", "CANCELLED", "FAILED",   "TIMEOUT",      "NODE_FAIL",
                                               "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "SPECIAL_EXIT"};
  return kFinal.count(state) > 0;
}

std::optional<std::map<std::string, std::string>> slurm_task_states(const std::vector<std::string>& array_jobs) {
  std::map<std::string, std::string> states;
  if (array_jobs.empty()) return states;
  std::string list;
  for (const auto& j : array_jobs) list += (list.empty() ? "" : ",") + j;
  auto out = run_command({"squeue", "--noheader", "--array", "--jobs=" + list, "--format=%i|%T"});
  if (out.ok()) return parse_squeue(out.out);
  // A job id Slurm has forgotten (ended longer than MinJobAge ago) fails the whole query: that job is
  // gone. Several ids: ask for each, so one forgotten job does not hide the others.
  if (out.err.find("Invalid job id") == std::string::npos) return std::nullopt;
  if (array_jobs.size() == 1) return states;
  for (const auto& j : array_jobs) {
    auto one = slurm_task_states({j});
    if (!one) return std::nullopt;
    states.insert(one->begin(), one->end());
  }
  return states;
}

JobLiveness slurm_job_liveness() {
  struct Cache {
    std::map<std::string, std::pair<Clock::time_point, std::optional<std::map<std::string, std::string>>>> by_job;
  };
  auto cache = std::make_shared<Cache>();
  return [cache](const std::string& placement) {
    auto id = parse_slurm_placement(placement);
    if (!id) return true;  // not a placement this build knows how to ask about: never take it for gone
    auto& entry = cache->by_job[id->array_job];
    if (entry.first == Clock::time_point{} || Clock::now() - entry.first > std::chrono::seconds(1)) {
      entry.second = slurm_task_states({id->array_job});
      entry.first = Clock::now();
    }
    if (!entry.second) return true;  // Slurm could not be asked
    auto it = entry.second->find(id->key());
    return it != entry.second->end() && !slurm_state_final(it->second);
  };
}

namespace {

// A run lost with its task this many times (cancelled, preempted without requeue, a node failure) is
// recorded failed instead of submitted again: something that kills it every time must not loop.
constexpr int kMaxLosses = 3;

class SlurmExecutor : public Executor {
 public:
  SlurmExecutor(SlurmOptions options, WorkerCommand command) : options_(std::move(options)), command_(std::move(command)) {
    if (const char* poll = std::getenv("SCALELAB_SLURM_POLL_MS"); poll && std::atoi(poll) > 0)
      options_.poll = std::chrono::milliseconds(std::atoi(poll));
  }

  int slots() const override { return kMaxArrayTasks; }
  int running() const override { return static_cast<int>(unsubmitted_.size() + tasks_.size() + ended_.size()); }

  void start(const Job& job) override { unsubmitted_.push_back(job); }

  void cancel(const std::string& id) override {
    auto queued = std::find_if(unsubmitted_.begin(), unsubmitted_.end(), [&](const Job& j) { return j.id == id; });
    if (queued != unsubmitted_.end()) {
      JobEnd end;
      end.id = id;
      end.cancelled = true;
      ended_.push_back(end);
      unsubmitted_.erase(queued);
      return;
    }
    auto it = tasks_.find(id);
    if (it == tasks_.end() || it->second.cancelled) return;
    run_command({"scancel", it->second.task.key()});
    it->second.cancelled = true;
  }

  std::vector<JobEnd> wait(std::chrono::milliseconds timeout) override {
    auto deadline = Clock::now() + timeout;
    submit();
    std::vector<JobEnd> ended = std::move(ended_);
    ended_.clear();
    while (ended.empty() && !tasks_.empty()) {
      if (Clock::now() >= next_poll_) {
        poll(ended);
        next_poll_ = Clock::now() + options_.poll;
        continue;
      }
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a stop request is answered within ~50 ms
    }
    return ended;
  }

  std::vector<JobEnd> cancel_all() override {
    std::vector<JobEnd> ends = std::move(ended_);
    ended_.clear();
    for (const auto& job : unsubmitted_) {
      JobEnd end;
      end.id = job.id;
      end.cancelled = true;
      ends.push_back(end);
    }
    unsubmitted_.clear();
    if (!options_.cancel_on_stop) {
      // The tasks run on: their runs stay claimed by them, and the next sweep attaches.
      for (const auto& [id, task] : tasks_) {
        JobEnd end;
        end.id = id;
        end.left_running = true;
        ends.push_back(end);
      }
      tasks_.clear();
      return ends;
    }
    std::vector<std::string> keys;
    for (const auto& [id, task] : tasks_) keys.push_back(task.task.key());
    for (std::size_t i = 0; i < keys.size(); i += 200) {
      std::vector<std::string> argv = {"scancel"};
      argv.insert(argv.end(), keys.begin() + i, keys.begin() + std::min(keys.size(), i + 200));
      run_command(argv);
    }
    // Wait (a while) until they have stopped, so that nothing writes into a directory the next sweep reuses.
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      auto states = slurm_task_states(array_jobs());
      if (!states) break;
      bool any = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
        auto it = states->find(k);
        return it != states->end() && !slurm_state_final(it->second);
      });
      if (!any) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    for (const auto& [id, task] : tasks_) {
      JobEnd end = task_exit_end(task).value_or(JobEnd{});
      end.id = id;
      end.cancelled = true;
      ends.push_back(end);
    }
    tasks_.clear();
    return ends;
  }

  std::vector<std::pair<std::string, std::string>> take_placements() override {
    auto placed = std::move(placements_);
    placements_.clear();
    return placed;
  }

  bool adopts() const override { return true; }
  void adopt(const Job& job, const std::string& placement) override {
    auto id = parse_slurm_placement(placement);
    if (!id) throw std::invalid_argument("slurm executor: not a Slurm placement: " + placement);
    tasks_[job.id] = Task{job, *id, Clock::now(), false};
  }

 private:
  struct Task {
    Job job;
    SlurmTaskId task;
    Clock::time_point started;
    bool cancelled = false;  // by cancel(id): taken over by another sweep
  };

  std::vector<std::string> array_jobs() const {
    std::set<std::string> jobs;
    for (const auto& [id, task] : tasks_) jobs.insert(task.task.array_job);
    return {jobs.begin(), jobs.end()};
  }

  // One array for everything start() was given since the last submission.
  void submit() {
    if (unsubmitted_.empty()) return;
    const fs::path sweep_dir = unsubmitted_.front().dir.parent_path().parent_path();
    const fs::path slurm_dir = sweep_dir / "slurm";
    fs::create_directories(slurm_dir);
    std::string stem = "array-" + utc_timestamp();
    for (int i = 2; fs::exists(slurm_dir / (stem + ".sbatch")); ++i) stem = fmt::format("array-{}.{}", utc_timestamp(), i);
    std::vector<std::pair<fs::path, std::string>> runs;
    for (const auto& job : unsubmitted_) runs.emplace_back(fs::absolute(job.dir), job.claim);
    SlurmArray array;
    array.name = "scalelab-" + sweep_dir.filename().string();
    array.tasks = static_cast<int>(runs.size());
    array.manifest = fs::absolute(slurm_dir / (stem + ".runs"));
    array.worker = fs::absolute(command_.program);
    array.output = fs::absolute(slurm_dir / "%A_%a.out");
    const fs::path script = slurm_dir / (stem + ".sbatch");
    write_file_atomic(array.manifest, slurm_manifest(runs));
    write_file_atomic(script, sbatch_script(options_, array));
    auto out = run_command({"sbatch", "--parsable", script.string()});
    auto job_id = out.ok() ? parse_sbatch_job_id(out.out) : std::nullopt;
    if (!job_id)
      throw std::runtime_error(fmt::format("sbatch --parsable {} failed ({}): {}", script.string(),
                                           out.exit_code < 0 ? "could not run sbatch" : fmt::format("exit status {}", out.exit_code),
                                           trim(out.err.empty() ? out.out : out.err)));
    for (int i = 0; i < array.tasks; ++i) {
      const Job& job = unsubmitted_[i];
      tasks_[job.id] = Task{job, SlurmTaskId{*job_id, i}, Clock::now(), false};
      placements_.emplace_back(job.id, slurm_placement(*job_id, i));
    }
    unsubmitted_.clear();
    next_poll_ = Clock::now() + std::min(options_.poll, std::chrono::milliseconds(500));
  }

  // How a task ended, from RUN/task-exit; nullopt while there is none.
  std::optional<JobEnd> task_exit_end(const Task& task) const {
    auto code = read_task_exit(task.job.dir);
    if (!code) return std::nullopt;
    JobEnd end;
    end.id = task.job.id;
    end.wall_s = std::chrono::duration<double>(Clock::now() - task.started).count();
    if (*code > 128 && *code < 160) end.signal = *code - 128;  // bash's status for a child killed by a signal
    else end.exit_code = *code;
    return end;
  }

  // Follows the tasks: an end for each that wrote RUN/task-exit or that Slurm no longer runs.
  void poll(std::vector<JobEnd>& ended) {
    sacct_asked_.clear();
    auto states = slurm_task_states(array_jobs());  // first, so a task seen gone has written its file before
    std::map<std::string, std::vector<SlurmTaskRecord>> records;  // scontrol, per array job, when needed
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      const Task& task = it->second;
      std::optional<JobEnd> end = task_exit_end(task);
      if (!end && states) {
        auto s = states->find(task.task.key());
        if (s == states->end() || slurm_state_final(s->second)) {
          end = ended_without_exit(task, task_records(task, records));
        }
      }
      if (!end) {
        ++it;
        continue;
      }
      if (task.cancelled) end->cancelled = true;
      ended.push_back(*end);
      it = tasks_.erase(it);
    }
  }

  // What Slurm says of an ended task's array: scontrol while it remembers the job (MinJobAge), then
  // sacct where accounting is on (elsewhere sacct fails and nothing more is known). Asked once per
  // array job and poll.
  const std::vector<SlurmTaskRecord>& task_records(const Task& task,
                                                   std::map<std::string, std::vector<SlurmTaskRecord>>& records) {
    const std::string& job = task.task.array_job;
    auto known = [&](const std::vector<SlurmTaskRecord>& rs) {
      return std::any_of(rs.begin(), rs.end(), [&](const SlurmTaskRecord& r) {
        return std::find(r.tasks.begin(), r.tasks.end(), task.task.task) != r.tasks.end();
      });
    };
    if (!records.count(job)) records[job] = parse_scontrol_jobs(run_command({"scontrol", "-o", "show", "job", job}).out);
    if (!known(records[job]) && !sacct_asked_.count(job)) {
      sacct_asked_.insert(job);
      auto accounting = parse_sacct(
          run_command({"sacct", "--noheader", "--parsable2", "--jobs=" + job, "--format=JobID,State,ExitCode"}).out, job);
      records[job].insert(records[job].end(), accounting.begin(), accounting.end());
    }
    return records[job];
  }

  // A task Slurm no longer runs that left no RUN/task-exit: the script never reached the end.
  JobEnd ended_without_exit(const Task& task, const std::vector<SlurmTaskRecord>& records) {
    JobEnd end;
    end.id = task.job.id;
    end.wall_s = std::chrono::duration<double>(Clock::now() - task.started).count();
    const SlurmTaskRecord* record = nullptr;
    for (const auto& r : records)
      if (std::find(r.tasks.begin(), r.tasks.end(), task.task.task) != r.tasks.end()) record = &r;
    const std::string where = fmt::format("Slurm task {} (its output: {})", task.task.key(),
                                          (task.job.dir.parent_path().parent_path() / "slurm" /
                                           (task.task.key() + ".out")).string());
    if (record && record->exit_code == exit_status(WorkerExit::claim_lost) && record->signal == 0) {
      end.exit_code = record->exit_code;  // the run was taken over: the script wrote nothing, as it must
      return end;
    }
    if (record && (record->state == "COMPLETED" || record->state == "FAILED")) {
      // The script itself failed (no run directory, a missing worker): not the run's doing, but it
      // would fail again the same way.
      end.exit_code = record->signal ? -1 : record->exit_code;
      end.signal = record->signal;
      end.reason = fmt::format("{} ended {} (exit code {}:{}) before the worker wrote its status", where, record->state,
                               record->exit_code, record->signal);
      return end;
    }
    if (record && (record->state == "TIMEOUT" || record->state == "OUT_OF_MEMORY")) {
      end.exit_code = exit_status(WorkerExit::failed);
      end.reason = fmt::format("{} ended {}: give it more with --time or --sbatch-arg=--mem=...", where, record->state);
      return end;
    }
    // Cancelled (scancel), preempted, a node lost, or forgotten by Slurm: the run is not at fault
    // and starts again, unless this keeps happening.
    end.worker_lost = true;
    end.reason = fmt::format("{} ended {} without a result", where, record ? record->state : "(no longer known to Slurm)");
    if (++losses_[task.job.id] >= kMaxLosses) {
      end.worker_lost = false;
      end.exit_code = exit_status(WorkerExit::failed);
      end.reason += fmt::format(" ({} times: recorded failed)", kMaxLosses);
    }
    return end;
  }

  SlurmOptions options_;
  WorkerCommand command_;
  std::vector<Job> unsubmitted_;
  std::map<std::string, Task> tasks_;  // by run id
  std::vector<JobEnd> ended_;          // ends to hand out at the next wait()
  std::vector<std::pair<std::string, std::string>> placements_;
  std::map<std::string, int> losses_;
  std::set<std::string> sacct_asked_;  // array jobs sacct was asked about in this poll
  Clock::time_point next_poll_{};
};

}  // namespace

std::unique_ptr<Executor> make_slurm_executor(const SlurmOptions& options, WorkerCommand command) {
  return std::make_unique<SlurmExecutor>(options, std::move(command));
}

}  // namespace scalelab
