#include "store/run_dir.h"

#include <cmath>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "table/table.h"

namespace scalelab {

namespace fs = std::filesystem;

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::pending: return "pending";
    case RunStatus::running: return "running";
    case RunStatus::done: return "done";
    case RunStatus::diverged: return "diverged";
    case RunStatus::failed: return "failed";
  }
  return "?";
}

RunStatus parse_run_status(std::string_view text) {
  for (auto s : {RunStatus::pending, RunStatus::running, RunStatus::done, RunStatus::diverged, RunStatus::failed})
    if (to_string(s) == text) return s;
  throw std::invalid_argument(fmt::format("unknown run status '{}'", text));
}

namespace {

// A JSON scalar in Hparams' canonical text, so it compares with what hparams.yaml holds.
std::string canonical_text(const nlohmann::json& value) {
  Hparams h;
  if (value.is_string()) h.set("v", value.get<std::string>());
  else if (value.is_number()) h.set("v", value.get<double>());
  else h.set("v", value.dump());
  return h.text("v");
}

// The first hyperparameter the result echoes differently from `expected`, or "" when they agree.
std::string hparams_mismatch(const nlohmann::json& result, const Hparams& expected) {
  const nlohmann::json& echoed = result.contains("hparams") && result["hparams"].is_object() ? result["hparams"] : result;
  for (const auto& [key, want] : expected.values()) {
    if (key == "threads" || !echoed.contains(key)) continue;
    auto got = canonical_text(echoed[key]);
    if (got != want) return fmt::format("result.json has {}={}, hparams.yaml has {}={}", key, got, key, want);
  }
  return "";
}

}  // namespace

RunDirState inspect_run_dir(const fs::path& dir, const Hparams& expected) {
  RunDirState state;
  auto corrupt = [&](std::string reason) {
    state.kind = RunDirState::corrupt;
    state.reason = std::move(reason);
    return state;
  };
  if (!fs::exists(dir / "hparams.yaml")) return fs::exists(dir / "result.json") ? corrupt("hparams.yaml missing") : state;
  try {
    if (!Hparams::read(dir / "hparams.yaml").same_config(expected)) return corrupt("hparams.yaml differs from the run's configuration");
  } catch (const InputError& e) {
    return corrupt(std::string("hparams.yaml unreadable: ") + e.what());
  }
  if (!fs::exists(dir / "result.json")) {
    if (fs::exists(dir / "failure.txt")) {
      state.kind = RunDirState::failed;
      state.status = RunStatus::failed;
      state.reason = read_file(dir / "failure.txt");
    }
    return state;
  }
  nlohmann::json result;
  try {
    result = nlohmann::json::parse(read_file(dir / "result.json"));
  } catch (const std::exception& e) {
    return corrupt(std::string("result.json does not parse: ") + e.what());
  }
  if (!result.is_object() || !result.contains("status") || !result["status"].is_string())
    return corrupt("result.json has no status");
  auto status = result["status"].get<std::string>();
  if (status != "done" && status != "diverged") return corrupt("result.json has status '" + status + "'");
  if (status == "done" && !(result.contains("test_error") && result["test_error"].is_number() &&
                            std::isfinite(result["test_error"].get<double>())))
    return corrupt("result.json has no finite test_error");
  if (auto mismatch = hparams_mismatch(result, expected); !mismatch.empty()) return corrupt(mismatch);
  state.kind = RunDirState::finished;
  state.status = status == "done" ? RunStatus::done : RunStatus::diverged;
  state.result = std::move(result);
  return state;
}

void prepare_run_dir(const fs::path& dir, const Hparams& hparams) {
  if (fs::exists(dir)) {
    // A pruning trajectory's finished levels survive an attempt (prune/imp.h): the worker checks each
    // against the configuration and retrains only the unfinished ones.
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().filename() != kLevelsDir) fs::remove_all(entry.path());
  }
  fs::create_directories(dir);
  write_file_atomic(dir / "hparams.yaml", hparams.to_yaml());
}

void write_failure(const fs::path& dir, const std::string& message) { write_file_atomic(dir / "failure.txt", message); }

std::string file_tail(const fs::path& file, std::size_t max_bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  auto start = size > max_bytes ? size - max_bytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    if (auto nl = text.find('\n'); nl != std::string::npos && nl + 1 < text.size()) text.erase(0, nl + 1);
  }
  return text;
}

}  // namespace scalelab
