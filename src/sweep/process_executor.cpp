#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <thread>

#include "sweep/executor.h"
#include "sweep/gpus.h"
#include "sweep/spawn.h"

namespace scalelab {

namespace {

using Clock = std::chrono::steady_clock;

// One `worker train` process per run.
class ProcessExecutor : public Executor {
 public:
  ProcessExecutor(int slots, WorkerCommand command)
      : slots_(slots), command_(std::move(command)), gpus_(visible_gpus()) {}
  ~ProcessExecutor() override { cancel_all(); }

  int slots() const override { return slots_; }
  int running() const override { return static_cast<int>(children_.size()); }

  void start(const Job& job) override {
    const int log = open((job.dir / "worker.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = -1;
    try {
      pid = spawn_worker(command_.train(job), job.claim, devnull, log, log, gpus_.take(job.id));
    } catch (...) {
      if (log >= 0) close(log);
      if (devnull >= 0) close(devnull);
      throw;
    }
    if (log >= 0) close(log);
    if (devnull >= 0) close(devnull);
    children_[pid] = {job.id, Clock::now(), false};
  }

  void cancel(const std::string& id) override {
    for (auto& [pid, child] : children_)
      if (child.id == id && !child.cancelled) {
        kill(-pid, SIGKILL);  // it was taken over: it must not write another byte
        child.cancelled = true;
      }
  }

  std::vector<JobEnd> wait(std::chrono::milliseconds timeout) override {
    auto deadline = Clock::now() + timeout;
    std::vector<JobEnd> ended;
    while (true) {
      reap(ended, false);
      if (!ended.empty() || children_.empty() || Clock::now() >= deadline) return ended;
      // Short sleeps keep a stop request (a signal handler's flag) answered within ~50 ms.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  std::vector<JobEnd> cancel_all() override {
    for (const auto& [pid, _] : children_) kill(-pid, SIGTERM);
    std::vector<JobEnd> ended;
    auto deadline = Clock::now() + std::chrono::seconds(3);
    while (!children_.empty() && Clock::now() < deadline) {
      reap(ended, true);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (const auto& [pid, _] : children_) kill(-pid, SIGKILL);  // did not stop in time
    while (!children_.empty()) {
      reap(ended, true);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return ended;
  }

 private:
  struct Child {
    std::string id;
    Clock::time_point started;
    bool cancelled = false;  // by cancel(id)
  };

  void reap(std::vector<JobEnd>& ended, bool cancelled) {
    for (auto it = children_.begin(); it != children_.end();) {
      int status = 0;
      pid_t r = waitpid(it->first, &status, WNOHANG);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        ++it;
        continue;
      }
      JobEnd end;
      end.id = it->second.id;
      end.cancelled = cancelled || it->second.cancelled;
      end.wall_s = std::chrono::duration<double>(Clock::now() - it->second.started).count();
      if (r > 0 && WIFEXITED(status)) end.exit_code = WEXITSTATUS(status);
      if (r > 0 && WIFSIGNALED(status)) end.signal = WTERMSIG(status);
      gpus_.give_back(end.id);
      ended.push_back(end);
      it = children_.erase(it);
    }
  }

  int slots_;
  WorkerCommand command_;
  std::map<pid_t, Child> children_;
  GpuPool gpus_;  // one GPU per running job, where there are GPUs
};

}  // namespace

std::unique_ptr<Executor> make_process_executor(int slots, WorkerCommand command) {
  return std::make_unique<ProcessExecutor>(slots, std::move(command));
}

}  // namespace scalelab
