// Runs headless Chromium with the flags measured to work on these machines (docs/reports.md), each
// run in a fresh profile directory that is removed afterwards.
#include "report/chromium.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cctype>
#include <cstring>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "table/table.h"

extern char** environ;

namespace scalelab {
namespace {

namespace fs = std::filesystem;

bool executable(const fs::path& p) { return fs::is_regular_file(p) && access(p.c_str(), X_OK) == 0; }


std::vector<std::string> offline_flags(const fs::path& profile, const ChromiumOptions& options) {
  return {"--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
          "--user-data-dir=" + profile.string(),
          // Network off: every request to a proxy that refuses it (loopback included), names unresolvable.
          "--proxy-server=" + options.proxy,
          "--proxy-bypass-list=<-loopback>",
          "--host-resolver-rules=MAP * ~NOTFOUND",
          "--disable-extensions",
          "--disable-default-apps",
          "--no-pings",
          "--disable-domain-reliability",
          "--disable-client-side-phishing-detection",
          "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
          "--hide-scrollbars",
          "--mute-audio"};
}

// Runs chromium with `args`, its stdout into `out_file`; returns its stderr's last lines on failure.
void run(const std::vector<std::string>& args, const fs::path& out_file, const fs::path& err_file,
         const ChromiumOptions& options) {
  const fs::path chromium = find_chromium();
  std::vector<char*> argv;
  std::string program = chromium.string();
  argv.push_back(program.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout ends the browser's helper processes too.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", program, std::strerror(rc)));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_s);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) throw std::runtime_error(fmt::format("waiting for {} failed", program));
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      throw std::runtime_error(fmt::format("{} did not finish within {} s (killed)", program, options.timeout_s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string err = read_file(err_file);
    if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
    throw std::runtime_error(fmt::format("{} failed (status {}): {}", program, status, err));
  }
}

// file:// URL of a path: bytes outside [A-Za-z0-9-._~/] percent-encoded.
std::string file_url(const fs::path& path) {
  std::string url = "file://";
  for (unsigned char c : fs::absolute(path).string()) {
    if (std::isalnum(c) || std::strchr("-._~/", c))
      url += static_cast<char>(c);
    else
      url += fmt::format("%{:02X}", c);
  }
  return url;
}

}  // namespace

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + ".XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a temporary directory (" + prefix + ")");
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

fs::path find_chromium() {
  if (const char* env = std::getenv("SCALELAB_CHROMIUM"); env && *env) {
    if (!executable(env))
      throw InputError("$SCALELAB_CHROMIUM", 0, env, "is not an executable file");
    return env;
  }
  if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    std::size_t start = 0;
    while (start <= dirs.size()) {
      const std::size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / "chromium";
      if (end > start && executable(candidate)) return candidate;
      start = end + 1;
    }
  }
  throw InputError("chromium", 0, "",
                   "not found on PATH: exporting charts needs Debian's headless Chromium "
                   "(scripts/setup installs it, or apt-get install chromium; $SCALELAB_CHROMIUM names another)");
}

std::string chromium_dump_dom(const fs::path& page, const ChromiumOptions& options) {
  const ScratchDir dir("scalelab-chromium");
  auto args = offline_flags(dir.path() / "profile", options);
  args.push_back("--virtual-time-budget=10000");
  args.push_back("--dump-dom");
  args.push_back(file_url(page));
  run(args, dir.path() / "dom.html", dir.path() / "stderr.txt", options);
  return read_file(dir.path() / "dom.html");
}

void chromium_screenshot(const fs::path& page, const fs::path& png, int width, int height, double scale,
                         const ChromiumOptions& options) {
  const ScratchDir dir("scalelab-chromium");
  auto args = offline_flags(dir.path() / "profile", options);
  args.push_back("--virtual-time-budget=10000");
  args.push_back(fmt::format("--window-size={},{}", width, height));
  args.push_back(fmt::format("--force-device-scale-factor={}", scale));
  args.push_back("--screenshot=" + fs::absolute(png).string());
  args.push_back(file_url(page));
  run(args, dir.path() / "stdout.txt", dir.path() / "stderr.txt", options);
  if (!fs::is_regular_file(png) || fs::file_size(png) == 0)
    throw std::runtime_error(fmt::format("chromium wrote no screenshot to {}", png.string()));
}

}  // namespace scalelab
