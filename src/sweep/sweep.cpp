#include "sweep/sweep.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "store/claim.h"
#include "store/store.h"
#include "store/worker_exit.h"
#include "sweep/progress.h"
#include "sweep/slurm.h"
#include "util/cores.h"

namespace scalelab {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

// Installs the stop handlers for the sweep's lifetime and puts the previous ones back afterwards.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGHUP, &sa, &old_hup_);  // a closed terminal or ssh session: stop cleanly as well
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGHUP, &old_hup_, nullptr);
  }
  bool requested() const { return g_stop != 0; }

 private:
  struct sigaction old_int_ {}, old_term_ {}, old_hup_ {};
};

// Seconds a run takes: overhead + cost / rate. Starts from the prior; the overhead is learnt from the
// first runs that end, the rate only once the ended runs span a 4x range of cost (least squares).
// Cheap runs end first and are mostly overhead: a rate fitted on them alone predicted hours for a
// grid that took minutes.
class TimeModel {
 public:
  TimeModel(const Speed& prior, int jobs, int cores) {
    int threads = std::max(1, cores / jobs);
    prior_rate_ = rate_ = prior.flops_per_s * threads / std::max(1, cores);
    overhead_ = prior.overhead_s;
  }
  void add(double cost, double seconds) {
    n_ += 1;
    sc_ += cost;
    st_ += seconds;
    scc_ += cost * cost;
    sct_ += cost * seconds;
    lo_ = std::min(lo_, cost);
    hi_ = std::max(hi_, cost);
    if (n_ >= 3 && hi_ >= 4 * lo_) {
      double var = scc_ - sc_ * sc_ / n_;
      double slope = (sct_ - sc_ * st_ / n_) / var;
      double intercept = (st_ - slope * sc_) / n_;
      if (var > 0 && slope > 0 && intercept >= 0) {
        rate_ = 1 / slope;
        overhead_ = intercept;
        return;
      }
    }
    rate_ = prior_rate_;
    overhead_ = std::max(0.0, (st_ - sc_ / rate_) / n_);
  }
  double seconds(double cost) const { return overhead_ + cost / rate_; }

 private:
  double prior_rate_, rate_, overhead_;
  double n_ = 0, sc_ = 0, st_ = 0, scc_ = 0, sct_ = 0;
  double lo_ = INFINITY, hi_ = 0;
};

std::string run_label(const PlannedRun& run) {
  std::string label = run.cell;
  if (run.hparams.has("seed")) label += " seed=" + run.hparams.text("seed");
  return label;
}

// How a worker's end translates into the run's record, given what it left in the directory.
struct Verdict {
  RunStatus status;
  nlohmann::json result;
  std::string message;
};

Verdict judge(const JobEnd& end, const fs::path& dir, const Hparams& hparams) {
  auto state = inspect_run_dir(dir, hparams);
  bool claims_result =
      end.exit_code == exit_status(WorkerExit::done) || end.exit_code == exit_status(WorkerExit::diverged);
  if (claims_result && state.kind == RunDirState::finished) return {state.status, state.result, ""};
  std::string how = !end.reason.empty() ? end.reason
                    : end.signal       ? fmt::format("worker killed by signal {}", end.signal)
                                       : fmt::format("worker exited with status {}", end.exit_code);
  if (claims_result) how += state.kind == RunDirState::corrupt ? ", but " + state.reason : ", but wrote no result.json";
  if (end.exit_code == exit_status(WorkerExit::bad_input)) how += " (bad input)";
  return {RunStatus::failed, nullptr, how + "\n--- tail of worker.log ---\n" + file_tail(dir / "worker.log")};
}

// The sweep directory may be used: not a file, and its spec.yaml (if any) is this spec, or the spec of
// an earlier sweep into it (an edited spec resumes: runs are found by configuration). A spec.yaml in a
// directory that is no sweep's, or that is no spec, belongs to someone else and is never overwritten.
// Throws InputError naming the file; writes nothing. True when spec.yaml is to be replaced.
bool check_sweep_dir(const SweepSpec& spec, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw InputError(dir.string(), 0, "", "is not a directory: give a sweep directory");
  auto spec_file = dir / "spec.yaml";
  if (!fs::exists(spec_file, ec)) return false;
  if (fs::is_directory(spec_file, ec)) throw InputError(spec_file.string(), 0, "", "is a directory, not a spec");
  auto text = read_file(spec_file);
  if (text == spec.text) return false;
  bool a_sweep = fs::is_directory(dir / "runs", ec) || fs::exists(dir / "store.sqlite", ec);
  bool a_spec = a_sweep && [&] {
    try {
      parse_spec(text, spec_file.string());
      return true;
    } catch (const InputError&) {
      return false;
    }
  }();
  if (!a_spec)
    throw InputError(spec_file.string(), 0, "",
                     fmt::format("the directory holds a spec.yaml that is not {}{}; it is not overwritten: sweep into "
                                 "another directory",
                                 spec.source, a_sweep ? "" : " and the directory is no sweep's"));
  return true;
}

// Writes the spec into the sweep directory (after check_sweep_dir and opening the store): a replaced
// spec.yaml is kept as spec.yaml.previous, with a warning.
void write_spec(const SweepSpec& spec, const fs::path& dir, bool replace_spec, std::vector<std::string>& warnings) {
  if (replace_spec) {
    // `results` and `fit --sweep` read the directory's spec: it must be the one now being run.
    write_file_atomic(dir / "spec.yaml.previous", read_file(dir / "spec.yaml"));
    warnings.push_back(fmt::format("{} replaced by {} (the previous one is kept as spec.yaml.previous)",
                                   (dir / "spec.yaml").string(), spec.source));
  }
  if (replace_spec || !fs::exists(dir / "spec.yaml")) write_file_atomic(dir / "spec.yaml", spec.text);
}

// The spec's runs and the ids the store knows them by (a legacy directory keeps its id).
struct SweepPlan {
  std::vector<PlannedRun> planned;
  std::map<std::string, const PlannedRun*> by_id;  // into planned
  std::set<std::string> ids;
};

SweepPlan plan_runs(const SweepSpec& spec, Store& store, std::vector<std::string>& warnings) {
  SweepPlan plan;
  plan.planned = expand(spec);
  std::vector<Store::Planned> to_plan;
  for (const auto& run : plan.planned) to_plan.push_back({run.hparams, run.cost});
  auto planned_ids = store.plan(to_plan);
  for (std::size_t i = 0; i < plan.planned.size(); ++i) {
    plan.by_id[planned_ids.ids[i]] = &plan.planned[i];
    plan.ids.insert(planned_ids.ids[i]);
  }
  warnings.insert(warnings.end(), planned_ids.warnings.begin(), planned_ids.warnings.end());
  return plan;
}

// The loop of one sweep: claims runs, starts their workers, records how they end, renews the
// lease, and on a stop cancels what it runs. Its state is what the loop's steps share.
class SweepLoop {
 public:
  SweepLoop(Store& store, const SweepPlan& plan, const SweepOptions& options, int jobs, int cores, SweepOutcome& outcome)
      : store_(store),
        plan_(plan),
        options_(options),
        jobs_(jobs),
        threads_(std::max(1, cores / jobs)),
        outcome_(outcome),
        // Heartbeats renew this process's lease well within it, and notice runs taken over by another sweep.
        heartbeat_every_(static_cast<long>(std::min(5000.0, 1000 * store.lease_seconds() / 4))),
        executor_(options.executor(jobs, options.worker)),
        time_model_(options.speed, jobs, cores) {
    if (options.progress) progress_.emplace(options.progress);
  }

  void run() {
    attach();
    while (!stop_.requested()) {
      start_runs();
      if (redraw_) draw(true), redraw_ = false;
      if (executor_->running() == 0) {
        if (!others_running()) break;
        draw(false);
        for (int i = 0; i < 25 && !stop_.requested(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(40));
        continue;
      }
      record_ends();
      renew_lease();
      draw(false);
    }
    if (stop_.requested()) stop();
    draw(true);
    if (progress_) progress_->finish();
  }

 private:
  // Claims and starts runs while the executor has free slots.
  void start_runs() {
    while (executor_->running() < executor_->slots() && !stop_.requested()) {
      auto claimed = store_.claim(&plan_.ids);
      if (!claimed) break;
      auto run_dir = store_.run_dir(claimed->id);
      std::string note;
      auto token = store_.prepare(*claimed, &note);
      if (!note.empty()) {
        outcome_.warnings.push_back(fmt::format("run {}: {}", claimed->id, note));
        if (options_.warn) options_.warn(outcome_.warnings.back());
      }
      executor_->start({claimed->id, run_dir, threads_, token});
      outcome_.started += 1;
      mine_[claimed->id] = std::move(*claimed);
    }
  }

  // Nothing left to claim. Wait while other processes run the rest: if one dies, its runs
  // become claimable and this process takes them over.
  bool others_running() const {
    auto runs = store_.runs();
    return std::any_of(runs.begin(), runs.end(),
                       [&](const RunRecord& r) { return r.status == RunStatus::running && plan_.ids.count(r.id); });
  }

  // Runs whose tasks an earlier sweep left running (a Slurm array after Ctrl-C, or whose sweep died)
  // are followed by this one instead of being submitted again.
  void attach() {
    if (!executor_->adopts()) return;
    std::set<std::string> jobs;
    for (auto& record : store_.adopt(&plan_.ids)) {
      auto dir = store_.run_dir(record.id);
      executor_->adopt({record.id, dir, threads_, read_claim(dir)}, record.job);
      placed_[record.id] = record.job;
      jobs.insert(array_job_of(record.job));
      outcome_.attached += 1;
      mine_[record.id] = std::move(record);
    }
    if (outcome_.attached && options_.inform) {
      std::string list;
      for (const auto& j : jobs) list += (list.empty() ? "" : ", ") + j;
      options_.inform(fmt::format("attached to {} live tasks of {} left by an earlier sweep; following them",
                                  outcome_.attached, list));
    }
  }

  // "slurm:12_3" -> "slurm job 12" (for messages).
  static std::string array_job_of(const std::string& placement) {
    auto colon = placement.find(':');
    auto underscore = placement.rfind('_');
    if (colon == std::string::npos || underscore == std::string::npos || underscore < colon) return placement;
    return placement.substr(0, colon) + " job " + placement.substr(colon + 1, underscore - colon - 1);
  }

  // Records the runs whose workers ended.
  void record_ends() {
    auto ends = executor_->wait(std::chrono::milliseconds(250));
    // Where the runs just submitted were placed, before any of their ends is recorded (recording
    // clears the placement).
    for (const auto& [id, placement] : executor_->take_placements()) {
      store_.place(id, placement);
      placed_[id] = placement;
    }
    for (const auto& end : ends) {
      placed_.erase(end.id);
      auto& record = mine_.at(end.id);
      if (lost_.count(end.id) || end.exit_code == exit_status(WorkerExit::claim_lost)) {
        // Another sweep owns the run now: its directory and its record are that sweep's to write.
        last_event_ = fmt::format("taken over by another sweep: {}", run_label(*plan_.by_id.at(end.id)));
        outcome_.taken_over += 1;
        lost_.erase(end.id);
        mine_.erase(end.id);
        redraw_ = true;
        continue;
      }
      if (end.worker_lost) {
        // The process that ran it died (a zygote killed), not the run: pending again, it is claimed
        // again at once, and a directory that already holds its result is recorded then, not rerun.
        store_.release(end.id);
        last_event_ = fmt::format("to run again (its worker process died): {}", run_label(*plan_.by_id.at(end.id)));
        mine_.erase(end.id);
        redraw_ = true;
        continue;
      }
      auto verdict = judge(end, store_.run_dir(end.id), record.hparams);
      if (verdict.status == RunStatus::failed) write_failure(store_.run_dir(end.id), verdict.message);
      store_.finish(end.id, verdict.status, verdict.result, verdict.message, end.wall_s);
      if (verdict.status == RunStatus::done) time_model_.add(record.cost, end.wall_s);
      last_event_ = fmt::format("{} {}", to_string(verdict.status), run_label(*plan_.by_id.at(end.id)));
      if (verdict.status == RunStatus::done && verdict.result.contains("test_error"))
        last_event_ += fmt::format(" test_error={:.4f}", verdict.result["test_error"].get<double>());
      if (verdict.status == RunStatus::failed)
        last_event_ += fmt::format(" ({})", verdict.message.substr(0, verdict.message.find('\n')));
      mine_.erase(end.id);
      redraw_ = true;  // after the freed slot is refilled, so `running` counts the new run
    }
  }

  // Renews the lease; runs another sweep has taken over meanwhile are cancelled here.
  void renew_lease() {
    if (Clock::now() - last_heartbeat_ <= heartbeat_every_) return;
    auto owned = store_.heartbeat();
    for (const auto& [id, _] : mine_)
      if (!owned.count(id) && !lost_.count(id)) {
        lost_.insert(id);
        executor_->cancel(id);
      }
    last_heartbeat_ = Clock::now();
  }

  // A stop: every worker is cancelled.
  void stop() {
    outcome_.stopped = true;
    auto ends = executor_->cancel_all();
    for (const auto& [id, placement] : executor_->take_placements()) store_.place(id, placement);
    std::set<std::string> left_jobs;
    for (const auto& end : ends) {
      if (end.left_running) {
        // Its task runs on and keeps the run claimed (the store knows where); the next sweep attaches.
        outcome_.left_running += 1;
        if (auto it = placed_.find(end.id); it != placed_.end()) left_jobs.insert(array_job_of(it->second));
        continue;
      }
      if (lost_.count(end.id) || end.exit_code == exit_status(WorkerExit::claim_lost)) continue;  // another sweep's now
      // A worker that finished just before the stop keeps its result; the others start again later.
      auto verdict = judge(end, store_.run_dir(end.id), mine_.at(end.id).hparams);
      if (verdict.status != RunStatus::failed) store_.finish(end.id, verdict.status, verdict.result, "", end.wall_s);
      else store_.release(end.id);
    }
    outcome_.left_running_jobs.assign(left_jobs.begin(), left_jobs.end());
    mine_.clear();
  }

  // The progress line, at most every 500 ms unless forced.
  void draw(bool force) {
    if (!progress_ || (!force && Clock::now() - last_draw_ < std::chrono::milliseconds(500))) return;
    last_draw_ = Clock::now();
    ProgressState s;
    double left = 0;
    for (const auto& r : store_.runs()) {
      if (!plan_.ids.count(r.id)) continue;  // not this sweep's, or (SweepOptions::cells) not asked for
      s.total += 1;
      if (r.status == RunStatus::done || r.status == RunStatus::diverged || r.status == RunStatus::failed) s.done += 1;
      if (r.status == RunStatus::diverged) s.diverged += 1;
      if (r.status == RunStatus::failed) s.failed += 1;
      if (r.status == RunStatus::running && !mine_.count(r.id)) s.running_elsewhere += 1;
      if (r.status == RunStatus::pending || r.status == RunStatus::running) left += time_model_.seconds(r.cost);
    }
    for (const auto& [id, _] : mine_) s.running.push_back(run_label(*plan_.by_id.at(id)));
    s.seconds_left = left / jobs_;
    s.last_event = last_event_;
    progress_->update(s);
  }

  Store& store_;
  const SweepPlan& plan_;
  const SweepOptions& options_;
  const int jobs_, threads_;
  SweepOutcome& outcome_;
  const std::chrono::milliseconds heartbeat_every_;
  StopSignals stop_;
  std::unique_ptr<Executor> executor_;
  std::optional<Progress> progress_;
  TimeModel time_model_;
  std::map<std::string, RunRecord> mine_;  // claimed and running here
  std::set<std::string> lost_;              // of those, taken over by another sweep: not ours to record
  std::map<std::string, std::string> placed_;  // of those, where they run outside this process (RunRecord::job)
  std::string last_event_;
  Clock::time_point last_heartbeat_ = Clock::now();
  Clock::time_point last_draw_{};
  bool redraw_ = false;
};

// The outcome's counts: the plan's runs by their status in the store.
void count_runs(const Store& store, const std::set<std::string>& ids, SweepOutcome& outcome) {
  for (const auto& r : store.runs()) {
    if (!ids.count(r.id)) continue;
    outcome.total += 1;
    switch (r.status) {
      case RunStatus::done: outcome.done += 1; break;
      case RunStatus::diverged: outcome.diverged += 1; break;
      case RunStatus::failed: outcome.failed += 1; break;
      default: outcome.pending += 1; break;
    }
  }
}

}  // namespace

double estimate_seconds(const std::vector<PlannedRun>& runs, int jobs, int cores, const Speed& speed) {
  if (cores <= 0) cores = available_cores();
  jobs = std::max(1, std::min(jobs, static_cast<int>(runs.size())));
  TimeModel model(speed, jobs, cores);
  double total = 0;
  for (const auto& run : runs) total += model.seconds(run.cost);
  return total / jobs;
}

SweepOutcome run_sweep(const SweepSpec& spec, const fs::path& dir, const SweepOptions& options) {
  if (!options.executor || !options.worker)
    throw std::invalid_argument("run_sweep: SweepOptions needs an executor and a worker command");
  auto started_at = Clock::now();
  int cores = options.cores > 0 ? options.cores : available_cores();
  int jobs = std::max(1, options.jobs);

  bool replace_spec = check_sweep_dir(spec, dir);
  Store store(dir);
  // Runs placed in Slurm tasks stay claimed while their tasks live, whichever executor this sweep uses.
  store.set_job_liveness(slurm_job_liveness());
  SweepOutcome outcome;
  outcome.warnings = store.warnings();
  write_spec(spec, dir, replace_spec, outcome.warnings);
  SweepPlan plan = plan_runs(spec, store, outcome.warnings);
  if (options.cells)
    std::erase_if(plan.ids, [&](const std::string& id) { return !options.cells->count(plan.by_id.at(id)->cell); });
  if (options.warn)
    for (const auto& w : outcome.warnings) options.warn(w);

  SweepLoop loop(store, plan, options, jobs, cores, outcome);  // its signal handlers and executor last to the end
  loop.run();

  count_runs(store, plan.ids, outcome);
  outcome.wall_s = std::chrono::duration<double>(Clock::now() - started_at).count();
  return outcome;
}

}  // namespace scalelab
