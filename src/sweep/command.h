// Running a short external command (sbatch, squeue, scontrol, nvidia-smi) and reading what it printed.
// Used by the sweep library and the CLI (src/cli checks that Slurm's commands exist).
#pragma once

#include <string>
#include <vector>

namespace scalelab {

struct CommandOutput {
  int exit_code = -1;  // -1: could not be run (not found, not executable) or killed by a signal
  std::string out, err;
  bool ok() const { return exit_code == 0; }
};

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null, in this process's environment and
// a process group of its own (Ctrl-C at the terminal does not reach it), and waits for it. Never throws for a failing command: the caller reads exit_code and err.
CommandOutput run_command(const std::vector<std::string>& argv);

// The program, looked up on PATH as a shell would; empty when there is none (nothing is run).
std::string find_on_path(const std::string& program);

}  // namespace scalelab
