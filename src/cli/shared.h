// What the command files share: printing tables and warnings, a sweep's worker and executor, the
// flags' parsing and the mapping from the libraries' fields (FitOptions', a spec's, the design's) to
// the flags that set them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "fit/fit.h"
#include "sweep/executors.h"
#include "sweep/sweep.h"
#include "table/table.h"

namespace scalelab::cli {

// The training worker (build/bin/scalelab-worker or $SCALELAB_WORKER); throws when it is not built.
WorkerCommand worker_command();
// Prints a table with aligned columns.
void print_table(const Table& table, std::FILE* out = stdout);
// Exit statuses beyond main()'s 0/1/2: a stopped sweep says so, the way shells report Ctrl-C.
[[noreturn]] void exit_with(int code);
void print_outcome(const SweepOutcome& o, const std::filesystem::path& dir);
// The executor --executor names; unknown names are bad input, listed with the known ones.
const ExecutorInfo& executor_named(const std::string& name);
std::string executor_help();  // --executor's help: every executor with its description
// Warnings the libraries return (an index repaired, runs diverged), printed one way.
void print_warning(const std::string& warning);
void print_warnings(const std::vector<std::string>& warnings);
SweepOptions sweep_options(int jobs, const ExecutorInfo& executor);
// A fit of a sweep's cells as its spec says (sweep_fit): the law, its inputs, target and givens;
// everything else (fit set, starts, bootstrap, intervals) at FitOptions' defaults for the caller to set.
fit::FitOptions fit_options(const SweepFit& fit_of_spec);

// A seed is read as text: CLI11 would wrap "-1" into 2^64-1 for an unsigned flag.
std::uint64_t parse_seed(const std::string& text);

// Errors from the libraries name the field; on the command line those are flags. Errors naming a
// file, a column or a flag already are left as they are.
InputError with_flag(const InputError& e);
template <typename F>
void with_flags(F&& body) {
  try {
    body();
  } catch (const InputError& e) {
    throw with_flag(e);
  }
}

}  // namespace scalelab::cli
