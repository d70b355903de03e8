// What every fuzz target treats as a finding: a crash or sanitizer report (libFuzzer's own), or an
// exception other than InputError escaping a parser. Bad input must come back as an InputError
// naming where it went wrong; anything else reaches the user as an unexplained exit 1.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "table/table.h"

namespace scalelab::fuzz {

template <class F>
void expect_input_error_only(F&& body) {
  try {
    body();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: not an InputError: %s\n", e.what());
    std::abort();
  }
}

// An invariant of the parser's output (a round trip, a count); a violation is a finding.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace scalelab::fuzz
