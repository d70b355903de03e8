// Reading and preparing one run directory (docs/run-directory.md). The directory is the truth about a
// run; these functions decide what it says, and whether it can be trusted.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "store/hparams.h"

namespace scalelab {

enum class RunStatus { pending, running, done, diverged, failed };
std::string_view to_string(RunStatus status);
RunStatus parse_run_status(std::string_view text);  // throws std::invalid_argument

struct RunDirState {
  enum Kind {
    empty,     // no result yet (never started, or stopped part way): run it
    finished,  // result.json is whole and belongs to these hyperparameters
    failed,    // the worker failed; failure.txt says how
    corrupt,   // something is there but cannot be trusted: run it again
  } kind = empty;
  RunStatus status = RunStatus::pending;  // done or diverged when finished
  nlohmann::json result;                  // result.json when finished
  std::string reason;                     // why corrupt, or the failure message
};

// What `dir` says about the run with hyperparameters `expected`. A result.json that is missing its
// status or test error, does not parse, or echoes different hyperparameters is `corrupt`.
RunDirState inspect_run_dir(const std::filesystem::path& dir, const Hparams& expected);

// A pruning run's level directories (RUN/levels/level_NN, prune/imp.h).
inline constexpr const char* kLevelsDir = "levels";

// Empties `dir` of a previous attempt's files, except kLevelsDir (a pruning trajectory's finished
// levels, which the worker checks level by level), and writes hparams.yaml.
void prepare_run_dir(const std::filesystem::path& dir, const Hparams& hparams);

// failure.txt: the exit status and the tail of the worker's output, kept beside the run's files.
void write_failure(const std::filesystem::path& dir, const std::string& message);

// The last `max_bytes` of a file (the worker's log), starting at a line boundary where possible.
std::string file_tail(const std::filesystem::path& file, std::size_t max_bytes = 4000);

}  // namespace scalelab
