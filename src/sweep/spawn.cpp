#include "sweep/spawn.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "store/claim.h"

extern char** environ;

namespace scalelab {

pid_t spawn_worker(const std::vector<std::string>& argv_strings, const std::string& claim, int stdin_fd,
                   int stdout_fd, int stderr_fd, const std::string& gpu) {
  // Everything is built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> args = argv_strings;
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string claim_var = std::string(kClaimEnv) + "=" + claim;
  const std::size_t name_length = std::strlen(kClaimEnv);
  std::string gpu_var = "CUDA_VISIBLE_DEVICES=" + gpu;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, kClaimEnv, name_length) == 0 && (*e)[name_length] == '=') continue;
    if (!gpu.empty() && std::strncmp(*e, gpu_var.c_str(), 21) == 0) continue;  // "CUDA_VISIBLE_DEVICES="
    envp.push_back(*e);
  }
  if (!claim.empty()) envp.push_back(claim_var.data());
  if (!gpu.empty()) envp.push_back(gpu_var.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot start a worker: {}", std::strerror(errno)));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the sweep died before prctl took effect
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    if (stdin_fd >= 0) dup2(stdin_fd, STDIN_FILENO);
    if (stdout_fd >= 0) dup2(stdout_fd, STDOUT_FILENO);
    if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "scalelab: cannot execute the worker\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before any kill
  return pid;
}

}  // namespace scalelab
