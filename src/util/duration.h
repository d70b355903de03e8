// Durations as people read them, in the sweep's and the training progress lines; the time stamp of
// the files set aside or written once per submission.
#pragma once

#include <string>

namespace scalelab {

// "45s", "3m07s", "2h05m"; "?" for a negative, infinite or NaN duration (an estimate not known yet).
std::string format_duration(double seconds);

// Now in UTC as 20261201T053300Z: sorts by time and is safe in a file name.
std::string utc_timestamp();

}  // namespace scalelab
