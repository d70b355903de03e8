// The pruning law the fake worker's IMP levels follow, for the tests that fit a fake pruning sweep and
// check that these constants come back ("the law fits recover known parameters from synthetic
// trajectories", issue 17). pruning2021_joint (laws/laws.h) with l = depth and w = the width factor in
// the spec's units (not normalized), and eps_np = the run's own level-0 test error.
#pragma once

#include <cmath>

namespace scalelab::testing::fake_pruning {

// In the law's parameter order: eps_up, gamma, p, phi, psi.
inline constexpr double kEpsUp = 0.9;   // the random-guess plateau of 10 classes
inline constexpr double kGamma = 1.5;
inline constexpr double kP = 0.006;     // the invariant m* where the error reaches eps_up's plateau
inline constexpr double kPhi = 0.5;
inline constexpr double kPsi = 1.0;
// Relative, deterministic noise of each level's error: a seed and level's own sine, at most 0.5%.
inline constexpr double kNoise = 0.005;

// The level's error before its noise (the real form of science.md section 2).
inline double error_at(double density, double depth, double width, double eps_np) {
  const double invariant = std::pow(depth, kPhi) * std::pow(width, kPsi) * density;
  const double k = kEpsUp / eps_np;
  const double upper = invariant * invariant + kP * kP * std::pow(k, 2 / kGamma);
  const double lower = invariant * invariant + kP * kP;
  return eps_np * std::pow(upper / lower, kGamma / 2);
}

}  // namespace scalelab::testing::fake_pruning
