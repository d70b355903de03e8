// Inputs drawn from stated distributions, torch-free: those of the generated datasets of the
// catalogue (teacher-student, band-limited; src/data reads them from here and adds the labels) and
// manifolds of known dimension for checking the TwoNN estimator. `scalelab theory intrinsic-dim`
// draws the same points the datasets hold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "theory/bandlimited.h"

namespace scalelab::theory {

// The band-limited datasets' targets (docs/theory.md): band-limited-1d is d = 1, B = 8; band-limited-2d
// is d = 2, B = 4; both with target seed 1 (the same series `theory nyquist --dim D --bandwidth B
// --seed 1` learns). Inputs uniform on [0,1)^d; the dataset's label is the target standardised,
// (f(x) - a0) / sqrt(Var f), and its input the point mapped to unit variance, (x - 1/2) sqrt(12).
struct BandLimitedDataset {
  int dim, bandwidth;
  std::uint64_t target_seed;
};
std::optional<BandLimitedDataset> band_limited_dataset(std::string_view name);

// Points of a generated dataset or a check manifold, as rows:
//   teacher-student            standard normal in R^16
//   teacher-student-classify   uniform on [-1, 1]^16
//   band-limited-1d, -2d       uniform on [0, 1)^d (before the dataset's map to unit variance)
//   torus                      the flat torus T^2 (cos u, sin u, cos v, sin v), u, v uniform, rotated
//                              into R^20 by a fixed random isometry (intrinsic dimension 2)
//   subspace                   standard normal in a fixed random 5-dimensional subspace of R^30
// The same (name, count, seed) always gives the same points. Unknown name: nullopt.
struct GeneratedInputs {
  Points points;
  std::string description;
};
std::optional<GeneratedInputs> generated_inputs(std::string_view name, std::int64_t count, std::uint64_t seed);
std::string generated_input_names();  // "teacher-student, ..., subspace": for messages and --help

}  // namespace scalelab::theory
