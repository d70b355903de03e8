// The demo's sweep spec, examples/demo.yaml, compiled into the program so `scalelab demo` needs no
// files beside the executable.
#pragma once

#include <string_view>

namespace scalelab {
std::string_view demo_spec_yaml();
}
