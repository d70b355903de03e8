// Each group of commands registers itself on the app; main() only dispatches and maps errors to exit codes.
#pragma once

#include <CLI/CLI.hpp>

namespace scalelab::cli {

void add_fit_commands(CLI::App& app);    // laws, fit, predict        (fit_commands.cpp)
void add_sweep_commands(CLI::App& app);  // sweep, results, demo      (sweep_commands.cpp)
void add_design_command(CLI::App& app);  // design                    (design_command.cpp)
void add_report_command(CLI::App& app);  // report                    (report_command.cpp)
void add_adapt_command(CLI::App& app);   // adapt                     (adapt_command.cpp)
void add_theory_command(CLI::App& app);  // theory nyquist, intrinsic-dim (theory_command.cpp)

}  // namespace scalelab::cli
