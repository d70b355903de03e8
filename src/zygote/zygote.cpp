#include "zygote/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "store/claim.h"

namespace scalelab {

namespace {

// SIGCHLD wakes the loop through this pipe (a handler may only write()).
int g_wake_fd = -1;
void on_child(int) {
  const int saved = errno;
  const char byte = 0;
  (void)!write(g_wake_fd, &byte, 1);
  errno = saved;
}

// The whole line or nothing: the reader splits on newlines.
bool write_line(int fd, const std::string& line) {
  std::string data = line + '\n';
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += std::size_t(n);
  }
  return true;
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

class Zygote {
 public:
  Zygote(int in_fd, int out_fd, const ZygoteHooks& hooks) : in_(in_fd), out_(out_fd), hooks_(hooks) {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error(std::strerror(errno));
    g_wake_fd = wake_[1];
    struct sigaction sa {};
    sa.sa_handler = on_child;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a sweep that is gone shows as a failed write, and the zygote ends
  }

  int serve() {
    if (!reply({{"ready", int(getpid())}})) return 1;
    std::string buffer;
    while (true) {
      pollfd fds[2] = {{in_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      // The timeout is a safety net only: SIGCHLD wakes the loop as a child ends.
      const int ready = poll(fds, 2, 1000);
      if (ready < 0 && errno != EINTR) break;
      drain_wake();
      if (!reap(false)) break;
      if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        char chunk[4096];
        const ssize_t n = read(in_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the sweep closed the pipe, or is gone
        buffer.append(chunk, std::size_t(n));
        for (std::size_t eol; (eol = buffer.find('\n')) != std::string::npos;) {
          const std::string line = buffer.substr(0, eol);
          buffer.erase(0, eol + 1);
          if (!handle(line)) return finish(1);
        }
      }
    }
    return finish(0);
  }

 private:
  bool reply(const nlohmann::json& j) { return write_line(out_, dump(j)); }

  void drain_wake() {
    char bytes[64];
    while (read(wake_[0], bytes, sizeof bytes) > 0) {
    }
  }

  // Reports every child that ended; with `block`, waits until all have. False when the sweep is gone.
  bool reap(bool block) {
    while (!children_.empty()) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
      if (pid == 0) return true;
      if (pid < 0) {
        if (errno == EINTR) continue;
        children_.clear();  // ECHILD: none left
        return true;
      }
      auto it = children_.find(pid);
      if (it == children_.end()) continue;
      const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      const std::string id = it->second;
      children_.erase(it);
      if (!reply({{"ended", id}, {"exit", exit_code}, {"signal", sig}}) && !block) return false;
    }
    return true;
  }

  // False when the line cannot be understood: the sweep and the zygote disagree, and serving on
  // would guess.
  bool handle(const std::string& line) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return complain(line);
    if (j.contains("run")) {
      RunRequest r;
      try {
        r.id = j.at("run").get<std::string>();
        r.dir = j.at("dir").get<std::string>();
        r.threads = j.at("threads").get<int>();
        r.claim = j.at("claim").get<std::string>();
        if (j.contains("gpu")) r.gpu = j.at("gpu").get<std::string>();
      } catch (const nlohmann::json::exception&) {
        return complain(line);
      }
      return start(r);
    }
    if (j.contains("cancel") && j["cancel"].is_string()) {
      signal_run(j["cancel"].get<std::string>(), SIGKILL);
      return true;
    }
    if (j.contains("stop")) {
      for (const auto& [pid, _] : children_) kill(-pid, SIGTERM);
      return true;
    }
    return complain(line);
  }

  bool complain(const std::string& line) {
    fmt::print(stderr, "scalelab zygote: not a request: {}\n", line.substr(0, 200));
    return false;
  }

  void signal_run(const std::string& id, int sig) {
    for (const auto& [pid, run] : children_)
      if (run == id) kill(-pid, sig);
  }

  bool start(const RunRequest& r) {
    if (hooks_.prepare) {
      try {
        hooks_.prepare(r);
      } catch (...) {
        // The child meets the same problem and reports it in its run directory.
      }
    }
    std::fflush(nullptr);  // nothing buffered may be written twice, once by the child
    const pid_t zygote = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      fmt::print(stderr, "scalelab zygote: cannot fork: {}\n", std::strerror(errno));
      return reply({{"ended", r.id}, {"exit", 127}, {"signal", 0}});
    }
    if (pid == 0) child(r, zygote);
    setpgid(pid, pid);  // also here, so the group exists before any kill
    children_[pid] = r.id;
    return reply({{"started", r.id}, {"pid", int(pid)}});
  }

  [[noreturn]] void child(const RunRequest& r, pid_t zygote) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != zygote) _exit(127);  // the zygote died before prctl took effect
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Onto 0, 1 and 2 first: the protocol's descriptors are usually 0 and 1, and closing them first
    // would let the log take their numbers.
    const int log = open((r.dir / "worker.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    // Without a log (the directory is not writable) the run's messages go where the zygote's go; never
    // onto the protocol.
    dup2(log >= 0 ? log : STDERR_FILENO, STDOUT_FILENO);
    if (log >= 0) dup2(log, STDERR_FILENO);
    for (int fd : {log, devnull, in_, out_, wake_[0], wake_[1]})
      if (fd > STDERR_FILENO) close(fd);
    if (r.claim.empty()) unsetenv(kClaimEnv);
    else setenv(kClaimEnv, r.claim.c_str(), 1);
    if (!r.gpu.empty()) setenv("CUDA_VISIBLE_DEVICES", r.gpu.c_str(), 1);
    int status = 1;
    try {
      status = hooks_.run(r);
    } catch (const std::exception& e) {
      fmt::print(stderr, "scalelab-worker: failed: {}\n", e.what());
    } catch (...) {
      fmt::print(stderr, "scalelab-worker: failed\n");
    }
    std::fflush(nullptr);
    _exit(status);  // no atexit work: the zygote's state is not this child's to tear down
  }

  // The sweep is gone or closed the pipe: no child may outlive the zygote's watch.
  int finish(int status) {
    for (const auto& [pid, _] : children_) kill(-pid, SIGKILL);
    reap(true);
    return status;
  }

  int in_, out_;
  const ZygoteHooks& hooks_;
  int wake_[2] = {-1, -1};
  std::map<pid_t, std::string> children_;  // pid -> run id
};

}  // namespace

int serve_zygote(int in_fd, int out_fd, const ZygoteHooks& hooks) {
  if (!hooks.run) throw std::invalid_argument("serve_zygote: ZygoteHooks::run is required");
  Zygote zygote(in_fd, out_fd, hooks);
  return zygote.serve();
}

std::string run_request_line(const RunRequest& r) {
  nlohmann::json j = {{"run", r.id}, {"dir", r.dir.string()}, {"threads", r.threads}, {"claim", r.claim}};
  if (!r.gpu.empty()) j["gpu"] = r.gpu;
  return dump(j);
}
std::string cancel_request_line(const std::string& id) { return dump({{"cancel", id}}); }
std::string stop_request_line() { return dump({{"stop", true}}); }

std::optional<ZygoteReply> parse_zygote_reply(const std::string& line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    ZygoteReply r{};
    if (j.contains("ready")) {
      r.kind = ZygoteReply::Kind::ready;
      r.pid = j.at("ready").get<int>();
    } else if (j.contains("started")) {
      r.kind = ZygoteReply::Kind::started;
      r.id = j.at("started").get<std::string>();
      r.pid = j.at("pid").get<int>();
    } else if (j.contains("ended")) {
      r.kind = ZygoteReply::Kind::ended;
      r.id = j.at("ended").get<std::string>();
      r.exit_code = j.at("exit").get<int>();
      r.signal = j.at("signal").get<int>();
    } else {
      return std::nullopt;
    }
    return r;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace scalelab
