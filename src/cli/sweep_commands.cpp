// Placeholder until the sweep commands land: registers nothing.
#include "cli/commands.h"
namespace scalelab::cli {
void add_sweep_commands(CLI::App&) {}
}
