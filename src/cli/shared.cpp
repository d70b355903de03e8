// Helpers the command files share (commands.h registers the commands): printing, the sweep's worker
// and executor, and the mapping of library fields to flags.
#include "cli/shared.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

#include <fmt/core.h>

#include "cli/worker_path.h"
#include "util/cores.h"
#include "util/duration.h"

namespace scalelab::cli {

namespace fs = std::filesystem;

WorkerCommand worker_command() {
  auto path = worker_path();
  if (!fs::exists(path))
    throw std::runtime_error(fmt::format("the training worker {} does not exist: build the scalelab-worker target, "
                                         "or point SCALELAB_WORKER at it",
                                         path.string()));
  return scalelab_worker_command(path);
}

// Prints a table with aligned columns.
void print_table(const Table& table, std::FILE* out) {
  std::vector<std::vector<std::string>> cells(table.rows() + 1);
  cells[0] = table.header();
  for (std::size_t r = 0; r < table.rows(); ++r)
    for (std::size_t c = 0; c < table.cols(); ++c) {
      std::string text = table.at(r, c);
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      // Long measurements are rounded for reading; grid values such as 0.015625 stay exact.
      if (!text.empty() && end && *end == '\0' && v != std::floor(v) && text.size() > 8) text = fmt::format("{:.4g}", v);
      if (text.size() > 48) text = text.substr(0, 45) + "...";
      cells[r + 1].push_back(text);
    }
  std::vector<std::size_t> width(table.cols(), 0);
  for (const auto& row : cells)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) line += fmt::format("{:<{}}  ", row[c], width[c]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print(out, "{}\n", line);
  }
}

// Exit statuses beyond main()'s 0/1/2: a stopped sweep says so, the way shells report Ctrl-C.
[[noreturn]] void exit_with(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::exit(code);
}

void print_outcome(const SweepOutcome& o, const fs::path& dir) {
  fmt::print(stderr, "{}: {} of {} runs done, {} diverged, {} failed, {} unfinished ({} started now, {})\n",
             dir.string(), o.done, o.total, o.diverged, o.failed, o.pending, o.started, format_duration(o.wall_s));
  if (o.taken_over)
    fmt::print(stderr, "{} runs were taken over by another sweep; their workers were stopped\n", o.taken_over);
  if (o.failed) fmt::print(stderr, "failed runs keep their reason in RUN/failure.txt; `scalelab results {}` lists them\n", dir.string());
}

// The executor --executor names; unknown names are bad input, listed with the known ones.
const ExecutorInfo& executor_named(const std::string& name) {
  if (const auto* executor = find_executor(name)) return *executor;
  std::string known;
  for (const auto& e : executor_registry()) known += (known.empty() ? "" : ", ") + e.name;
  throw InputError("--executor", 0, "", fmt::format("unknown executor '{}' (known: {})", name, known));
}

// --executor's help: every executor with its description.
std::string executor_help() {
  std::string help = "where runs execute:";
  for (const auto& e : executor_registry()) help += fmt::format(" {} ({});", e.name, e.description);
  help.back() = ' ';
  return help + fmt::format("[default: {}]", kDefaultExecutor);
}

// Warnings the libraries return (an index repaired, runs diverged), printed one way.
void print_warning(const std::string& warning) { fmt::print(stderr, "scalelab: warning: {}\n", warning); }
void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) print_warning(w);
}

fit::FitOptions fit_options(const SweepFit& fit_of_spec) {
  fit::FitOptions o;
  o.law = fit_of_spec.law;
  o.inputs = fit_of_spec.inputs;
  o.target = fit_of_spec.target;
  for (const auto& [name, value] : fit_of_spec.givens) o.givens[name] = fit::Given::constant(value);
  return o;
}

SweepOptions sweep_options(int jobs, const ExecutorInfo& executor) {
  SweepOptions options;
  options.jobs = jobs > 0 ? jobs : available_cores();
  options.worker = worker_command();
  options.executor = executor.make;
  options.warn = print_warning;
  return options;
}

// Errors from src/fit and src/sweep name the field (FitOptions' and the spec's); on the command line
// those are flags. Errors naming a file, a column or a flag already are left as they are.
InputError with_flag(const InputError& e) {
  static const std::map<std::string, std::string> kFlags = {
      {"law", "--law"},         {"inputs", "--x"},         {"givens", "--given"},   {"target", "--y"},
      {"fit_where", "--fit-where"}, {"loss", "--loss"},     {"huber_delta", "--huber-delta"},
      {"starts", "--starts"},   {"seed", "--seed"},        {"bootstrap", "--bootstrap"}, {"folds", "--folds"},
      {"at", "--at"},           {"eps_np", "--eps-np"},    {"max_error", "--max-error"},
      {"data_fraction", "--data-fraction"}, {"fit", "--fit"}};
  auto it = kFlags.find(e.source());
  if (it == kFlags.end()) return e;
  // A given's own flag where it has one (--eps0), as before.
  std::string flag = e.source() == "givens" && e.field() == "eps0" && e.message().find("must be a positive") == 0
                         ? "--eps0"
                         : it->second;
  return InputError(flag, e.line(), e.field(), e.message());
}

// A seed is read as text: CLI11 would wrap "-1" into 2^64-1 for an unsigned flag.
std::uint64_t parse_seed(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw InputError("--seed", 0, "", fmt::format("'{}' is not a whole number from 0 to 2^64-1", text));
  return value;
}

}  // namespace scalelab::cli
