// Running the real `scalelab` binary from tests, with the fake worker standing in for training.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace scalelab::testing {

namespace fs = std::filesystem;

inline fs::path scalelab_binary() { return fs::path(SCALELAB_BINARY_DIR) / "bin" / "scalelab"; }
inline fs::path fake_worker() { return fs::path(SCALELAB_BINARY_DIR) / "tests" / "fake_worker"; }

// A fresh directory under the system's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("scalelab-test-" + std::to_string(rd()) + std::to_string(getpid()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

// A started `scalelab` process; output goes to files so nothing blocks on a full pipe.
struct Process {
  pid_t pid = -1;
  fs::path out, err;
  std::string stdout_text() const { return slurp(out); }
  std::string stderr_text() const { return slurp(err); }
};

// `as_uid` >= 0: run as that user (root tests use it to see permissions, e.g. a read-only directory).
inline Process start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                     const fs::path& output_dir, int as_uid = -1) {
  static int counter = 0;
  Process p;
  ++counter;
  p.out = output_dir / ("out" + std::to_string(counter) + ".txt");
  p.err = output_dir / ("err" + std::to_string(counter) + ".txt");
  std::vector<std::string> argv_s = {scalelab_binary().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  p.pid = fork();
  if (p.pid == 0) {
    setpgid(0, 0);  // its own group: the test can signal it alone
    setenv("SCALELAB_WORKER", fake_worker().c_str(), 1);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    int o = open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    if (as_uid >= 0 && (setgid(as_uid) != 0 || setuid(as_uid) != 0)) _exit(126);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return p;
}

// Exit status (or 128 + signal), reaping the process so its pid is really gone.
inline int wait_exit(const Process& p) {
  int status = 0;
  while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct Result {
  int code;
  std::string out, err;
};

inline Result run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                  const fs::path& output_dir, int as_uid = -1) {
  auto p = start(args, env, output_dir, as_uid);
  int code = wait_exit(p);
  return {code, p.stdout_text(), p.stderr_text()};
}

// Lines of the fake worker's completion log: run id -> times completed.
inline std::map<std::string, int> completions(const fs::path& log) {
  std::map<std::string, int> count;
  std::ifstream in(log);
  std::string id, pid;
  while (in >> id >> pid) count[id] += 1;
  return count;
}

// A small grid for the fake worker: widths x fractions x seeds.
// The fit set must hold at least as many cells as the law has parameters (rosenfeld2020: 5).
inline std::string grid_spec(const std::string& widths, const std::string& fractions, const std::string& seeds,
                             const std::string& extra = "",
                             const std::string& fit_where = "width<=0.125 && data_fraction<=0.25") {
  return "name: t\ndataset: fashion-mnist\nmodel: mlp\nfixed:\n  depth: 2\n  epochs: 2\n  batch_size: 128\n"
         "grid:\n  width: [" + widths + "]\n  data_fraction: [" + fractions + "]\n  seed: [" + seeds + "]\n"
         "fit_where: \"" + fit_where + "\"\nlaw: rosenfeld2020\neps0: 0.9\n" + extra;
}

}  // namespace scalelab::testing
