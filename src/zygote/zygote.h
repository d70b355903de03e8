// The zygote: a worker process that pays its start-up once (libtorch loaded, the datasets read and
// normalised) and forks one child per run. A child starts in milliseconds with a copy-on-write image
// of that state, and a crash, a kill -9 or a NaN still takes down only that child, never the zygote
// or the sweep. Torch-free: scalelab-worker and the tests' fake worker serve through it, and the
// sweep's executor (sweep/zygote_executor.cpp) speaks its protocol.
//
// Protocol: one JSON object a line, over the zygote's stdin (requests) and stdout (replies).
//   request  {"run": ID, "dir": RUN_DIR, "threads": N, "claim": TOKEN[, "gpu": GPU]}   fork a child for the run
//   request  {"cancel": ID}          SIGKILL the run's child (its process group): taken over
//   request  {"stop": true}          SIGTERM every child (the sweep is stopping)
//   reply    {"ready": PID}          once, when start-up is done
//   reply    {"started": ID, "pid": PID}
//   reply    {"ended": ID, "exit": STATUS, "signal": SIG}   exit -1 when signal SIG ended the child
// End of stdin: every child is killed and reaped, and the zygote exits 0. A zygote dies with the
// process that started it (the executor sets PR_SET_PDEATHSIG), and its children die with it.
//
// A child: its own process group, PR_SET_PDEATHSIG SIGKILL on the zygote, default signal handling,
// stdout and stderr to RUN_DIR/worker.log, stdin /dev/null, $SCALELAB_CLAIM = TOKEN (unset when
// empty), $CUDA_VISIBLE_DEVICES = GPU when given, no descriptor of the protocol; it exits with what ZygoteHooks::run returns.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace scalelab {

struct RunRequest {
  std::string id;
  std::filesystem::path dir;
  int threads = 1;
  std::string claim;  // store/claim.h; empty: none
  std::string gpu;    // the child's CUDA_VISIBLE_DEVICES; empty: the zygote's environment unchanged
};

struct ZygoteHooks {
  // In the zygote, before it forks the run's child: load what every run shares (the run's dataset),
  // once. Throwing is not an error here: the child meets the same problem and reports it in its run.
  std::function<void(const RunRequest&)> prepare;
  // In the child: train the run, write its directory, return the exit status (store/worker_exit.h).
  std::function<int(const RunRequest&)> run;
};

// Serves requests from in_fd, replies on out_fd, until in_fd ends. Returns the process's exit status.
int serve_zygote(int in_fd, int out_fd, const ZygoteHooks& hooks);

// The protocol's messages, for the executor's side.
std::string run_request_line(const RunRequest& request);
std::string cancel_request_line(const std::string& id);
std::string stop_request_line();

struct ZygoteReply {
  enum class Kind { ready, started, ended } kind;
  std::string id;  // started, ended
  int pid = 0;     // ready, started
  int exit_code = -1, signal = 0;  // ended
};
// One reply line; nullopt for a line that is no reply (the executor ignores it).
std::optional<ZygoteReply> parse_zygote_reply(const std::string& line);

}  // namespace scalelab
