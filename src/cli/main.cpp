// scalelab: the command line. Fitting commands run here and never load libtorch; training commands are
// handed to scalelab-worker, a separate executable, so `scalelab fit` starts in milliseconds.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/worker_path.h"
#include "store/worker_exit.h"
#include "table/table.h"

namespace scalelab::cli {

std::filesystem::path worker_path() {
  if (const char* env = std::getenv("SCALELAB_WORKER"); env && *env) return env;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / "scalelab-worker";
}

}  // namespace scalelab::cli

namespace {

// scalelab exits with the worker's statuses where they mean the same: `scalelab train` is the worker,
// and bad input exits 2 from every command.
using scalelab::exit_status;
using scalelab::WorkerExit;

int hand_to_worker(int argc, char** argv) {
  auto worker = scalelab::cli::worker_path();
  std::vector<char*> args;
  std::string path = worker.string();
  args.push_back(path.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  fmt::print(stderr, "scalelab: cannot start the training worker {}: {}\n", path, std::strerror(errno));
  return exit_status(WorkerExit::failed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "train") == 0) return hand_to_worker(argc, argv);

  CLI::App app{"scalelab: predict the error of large training runs from small ones"};
  app.require_subcommand(1);
  app.add_subcommand("train", "train one model (handled by scalelab-worker; see `scalelab train --help`)");
  scalelab::cli::add_fit_commands(app);
  scalelab::cli::add_sweep_commands(app);
  scalelab::cli::add_design_command(app);
  scalelab::cli::add_report_command(app);
  scalelab::cli::add_adapt_command(app);
  scalelab::cli::add_theory_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // 0 for --help
    return exit_status(code == 0 ? WorkerExit::done : WorkerExit::bad_input);
  } catch (const scalelab::InputError& e) {
    fmt::print(stderr, "scalelab: error: {}\n", e.what());
    return exit_status(WorkerExit::bad_input);
  } catch (const std::exception& e) {
    fmt::print(stderr, "scalelab: error: {}\n", e.what());
    return exit_status(WorkerExit::failed);
  }
  return exit_status(WorkerExit::done);
}
