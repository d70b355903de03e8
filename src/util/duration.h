// Durations as people read them, in the sweep's and the training progress lines.
#pragma once

#include <string>

namespace scalelab {

// "45s", "3m07s", "2h05m"; "?" for a negative, infinite or NaN duration (an estimate not known yet).
std::string format_duration(double seconds);

}  // namespace scalelab
