// The default local executor: one `worker serve` process (a zygote, zygote/zygote.h) per sweep forks
// every run, so libtorch and the dataset are loaded once per sweep instead of once per run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

#include <fmt/core.h>

#include "sweep/executor.h"
#include "sweep/gpus.h"
#include "sweep/spawn.h"
#include "zygote/zygote.h"

namespace scalelab {

namespace {

using Clock = std::chrono::steady_clock;

// A run lost with its zygote this many times is recorded failed instead of run again: something
// kills the zygote whenever it trains this run (the OOM killer, for one).
constexpr int kMaxLosses = 3;

class ZygoteExecutor : public Executor {
 public:
  ZygoteExecutor(int slots, WorkerCommand command)
      : slots_(slots), command_(std::move(command)), gpus_(visible_gpus()) {}
  ~ZygoteExecutor() override {
    cancel_all();
    shut_down();
  }

  int slots() const override { return slots_; }
  int running() const override { return static_cast<int>(jobs_.size()); }

  void start(const Job& job) override {
    if (zygote_ <= 0) launch();
    jobs_[job.id] = {job.dir, Clock::now()};
    send(run_request_line({job.id, job.dir, job.threads, job.claim, gpus_.take(job.id)}));
  }

  void cancel(const std::string& id) override {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.cancelled) return;
    it->second.cancelled = true;
    send(cancel_request_line(id));
  }

  std::vector<JobEnd> wait(std::chrono::milliseconds timeout) override {
    const auto deadline = Clock::now() + timeout;
    std::vector<JobEnd> ended;
    while (true) {
      // Short polls keep a stop request (a signal handler's flag) answered within ~50 ms; a reply
      // wakes the poll at once.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      read_replies(ended, std::min<long>(50, std::max<long>(0, left.count())));
      if (!ended.empty() || jobs_.empty() || Clock::now() >= deadline) return gpus_released(std::move(ended));
    }
  }

  std::vector<JobEnd> cancel_all() override {
    std::vector<JobEnd> ended;
    if (jobs_.empty()) return ended;
    for (auto& [_, job] : jobs_) job.cancelled = true;
    send(stop_request_line());  // SIGTERM to every run
    drain(ended, std::chrono::seconds(3));
    for (const auto& [id, _] : jobs_) send(cancel_request_line(id));  // did not stop in time: SIGKILL
    drain(ended, std::chrono::seconds(2));
    if (!jobs_.empty()) {
      // The zygote does not answer: killing it kills its children (PR_SET_PDEATHSIG).
      kill(-zygote_, SIGKILL);
      zygote_gone(ended);
    }
    return gpus_released(std::move(ended));
  }

 private:
  struct Running {
    std::filesystem::path dir;
    Clock::time_point started;
    bool cancelled = false;
  };

  void launch() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::runtime_error(fmt::format("cannot start the worker zygote: {}", std::strerror(errno)));
    // Its stderr is the sweep's: a zygote that cannot start says why there.
    try {
      zygote_ = spawn_worker(command_.serve(), "", fds[1], fds[1], -1);
    } catch (...) {
      close(fds[0]);
      close(fds[1]);
      throw;
    }
    close(fds[1]);
    socket_ = fds[0];
    ready_ = false;
    buffer_.clear();
  }

  // A request; a zygote that is gone shows up as the end of its replies, not as SIGPIPE here.
  void send(const std::string& line) {
    if (socket_ < 0) return;
    const std::string data = line + '\n';
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(socket_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += std::size_t(n);
    }
  }

  // Waits up to timeout_ms for replies and handles those that came.
  void read_replies(std::vector<JobEnd>& ended, long timeout_ms) {
    if (socket_ < 0) {
      if (!jobs_.empty()) zygote_gone(ended);
      return;
    }
    pollfd fd{socket_, POLLIN, 0};
    const int ready = poll(&fd, 1, int(timeout_ms));
    if (ready <= 0) return;
    char chunk[4096];
    const ssize_t n = read(socket_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      zygote_gone(ended);
      return;
    }
    buffer_.append(chunk, std::size_t(n));
    for (std::size_t eol; (eol = buffer_.find('\n')) != std::string::npos;) {
      const auto reply = parse_zygote_reply(buffer_.substr(0, eol));
      buffer_.erase(0, eol + 1);
      if (!reply) continue;
      if (reply->kind == ZygoteReply::Kind::ready) ready_ = true;
      if (reply->kind != ZygoteReply::Kind::ended) continue;
      auto it = jobs_.find(reply->id);
      if (it == jobs_.end()) continue;
      JobEnd end;
      end.id = reply->id;
      end.exit_code = reply->exit_code;
      end.signal = reply->signal;
      end.cancelled = it->second.cancelled;
      end.wall_s = std::chrono::duration<double>(Clock::now() - it->second.started).count();
      ended.push_back(end);
      jobs_.erase(it);
    }
  }

  void drain(std::vector<JobEnd>& ended, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!jobs_.empty() && Clock::now() < deadline) read_replies(ended, 50);
  }

  // The zygote ended (killed, or it could not start): its children died with it. Each of its runs
  // ends here, and the next start() launches a new zygote.
  void zygote_gone(std::vector<JobEnd>& ended) {
    int status = 0;
    if (zygote_ > 0) {
      kill(-zygote_, SIGKILL);  // its output ended, so it is ending: make sure
      while (waitpid(zygote_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    // Killed (by a signal, or after it was ready) it takes its runs down through no fault of theirs;
    // exiting before it was ready, it could not start (an old worker without `serve`, a bad build).
    const bool killed = ready_ || sig != 0;
    for (const auto& [id, job] : jobs_) {
      JobEnd end;
      end.id = id;
      end.cancelled = job.cancelled;
      end.wall_s = std::chrono::duration<double>(Clock::now() - job.started).count();
      if (killed && ++losses_[id] < kMaxLosses) {
        end.worker_lost = true;
        end.signal = SIGKILL;
      } else {
        end.exit_code = killed ? -1 : code;
        end.signal = killed ? SIGKILL : 0;
        // The run's own log says why it ended, for the failure record (sweep.cpp reads its tail).
        append_file(job.dir / "worker.log",
                    killed ? fmt::format("scalelab: the worker zygote ({} serve) died {} times while training this run\n",
                                         command_.program.string(), kMaxLosses)
                           : fmt::format("scalelab: the worker zygote ({} serve) exited with status {} before it was "
                                         "ready; its messages are on the sweep's stderr\n",
                                         command_.program.string(), code));
      }
      ended.push_back(end);
    }
    jobs_.clear();
    close(socket_);
    socket_ = -1;
    zygote_ = -1;
    ready_ = false;
  }

  static void append_file(const std::filesystem::path& path, const std::string& text) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    (void)!write(fd, text.data(), text.size());
    close(fd);
  }

  // End of requests: the zygote kills what it still runs, reaps it and exits.
  void shut_down() {
    if (zygote_ <= 0) return;
    shutdown(socket_, SHUT_WR);
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    int status = 0;
    while (waitpid(zygote_, &status, WNOHANG) == 0) {
      if (Clock::now() >= deadline) {
        kill(-zygote_, SIGKILL);
        waitpid(zygote_, &status, 0);
        break;
      }
      poll(nullptr, 0, 5);
    }
    close(socket_);
    socket_ = -1;
    zygote_ = -1;
  }

  int slots_;
  WorkerCommand command_;
  pid_t zygote_ = -1;
  int socket_ = -1;
  bool ready_ = false;  // the running zygote said it is ready
  std::string buffer_;  // replies read, not yet a whole line
  std::map<std::string, Running> jobs_;
  std::map<std::string, int> losses_;  // runs lost with a zygote, by id
  GpuPool gpus_;                       // one GPU per running job, where there are GPUs

  std::vector<JobEnd> gpus_released(std::vector<JobEnd> ended) {
    for (const auto& end : ended) gpus_.give_back(end.id);
    return ended;
  }
};

}  // namespace

std::unique_ptr<Executor> make_zygote_executor(int slots, WorkerCommand command) {
  return std::make_unique<ZygoteExecutor>(slots, std::move(command));
}

}  // namespace scalelab
