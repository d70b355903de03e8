#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "store/claim.h"
#include "sweep/executor.h"

extern char** environ;

namespace scalelab {

namespace {

using Clock = std::chrono::steady_clock;

class LocalExecutor : public Executor {
 public:
  LocalExecutor(int slots, WorkerCommand command) : slots_(slots), command_(std::move(command)) {}
  ~LocalExecutor() override { cancel_all(); }

  int slots() const override { return slots_; }
  int running() const override { return static_cast<int>(children_.size()); }

  void start(const Job& job) override {
    auto argv_strings = command_(job);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    // The environment is built before fork: the child may only make async-signal-safe calls.
    std::string claim_var = std::string(kClaimEnv) + "=" + job.claim;
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
      if (std::strncmp(*e, kClaimEnv, std::strlen(kClaimEnv)) != 0 || (*e)[std::strlen(kClaimEnv)] != '=') envp.push_back(*e);
    if (!job.claim.empty()) envp.push_back(claim_var.data());
    envp.push_back(nullptr);
    auto log = (job.dir / "worker.log").string();
    pid_t parent = getpid();

    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("cannot start a worker: {}", std::strerror(errno)));
    if (pid == 0) {
      // Child: only async-signal-safe calls until exec.
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // the sweep died before prctl took effect
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      signal(SIGHUP, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      execve(argv[0], argv.data(), envp.data());
      const char msg[] = "scalelab: cannot execute the worker\n";
      (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
      _exit(127);
    }
    setpgid(pid, pid);  // also from the parent, so the group exists before any kill below
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
      ended.push_back(end);
      it = children_.erase(it);
    }
  }

  int slots_;
  WorkerCommand command_;
  std::map<pid_t, Child> children_;
};

}  // namespace

WorkerCommand scalelab_worker_command(const std::filesystem::path& worker) {
  return [worker](const Job& job) {
    return std::vector<std::string>{worker.string(), "train", "--config", (job.dir / "hparams.yaml").string(),
                                    "--out", job.dir.string(), "--threads", std::to_string(job.threads)};
  };
}

std::unique_ptr<Executor> make_local_executor(int slots, WorkerCommand command) {
  return std::make_unique<LocalExecutor>(slots, std::move(command));
}

}  // namespace scalelab
