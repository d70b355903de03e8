// The claim token: which sweep process owns a run directory right now (docs/run-directory.md).
//
// When a sweep prepares RUN for an attempt it writes RUN/claim (one line: host, pid, process start time,
// attempt) and starts the worker with the same line in $SCALELAB_CLAIM. Right before writing each of
// its files the worker checks that RUN/claim still holds its token; when another sweep has taken the
// run over (a lapsed lease on another host), the worker writes nothing and exits with
// WorkerExit::claim_lost (store/worker_exit.h).
// Header-only and dependency-free: the libtorch worker and the fake worker include it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace scalelab {

inline constexpr const char* kClaimEnv = "SCALELAB_CLAIM";
inline constexpr const char* kClaimFile = "claim";

// The token this process was started with; empty when it runs outside a sweep (no check then).
inline std::string claim_token() {
  const char* token = std::getenv(kClaimEnv);
  return token ? std::string(token) : std::string();
}

inline std::string read_claim(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / kClaimFile);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// True when this process may write into run_dir: no token (not run by a sweep), or RUN/claim holds it.
inline bool claim_held(const std::filesystem::path& run_dir) {
  std::string token = claim_token();
  return token.empty() || read_claim(run_dir) == token;
}

}  // namespace scalelab
