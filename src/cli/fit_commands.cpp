// Placeholder until the fitting commands land: registers nothing.
#include "cli/commands.h"
namespace scalelab::cli {
void add_fit_commands(CLI::App&) {}
}
