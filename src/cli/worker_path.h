// Where the training worker lives: next to the scalelab executable (build/bin), or $SCALELAB_WORKER.
#pragma once

#include <filesystem>

namespace scalelab::cli {
std::filesystem::path worker_path();
}
