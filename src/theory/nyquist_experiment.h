// The Nyquist experiment: one band-limited target, every learner of learners.h, error against the
// number of samples m from below (2B+1)^d to well above it, and for each learner the m from which its
// error stays below a threshold (docs/theory.md).
//
//   NyquistOptions options{.dim = 2, .bandwidth = 4};
//   NyquistExperiment e = run_nyquist_experiment(options);   // e.points: one row per (learner, m)
//   write_file_atomic("nyquist.csv", to_csv(points_table(e)));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "table/table.h"

namespace scalelab::theory {

struct NyquistOptions {
  int dim = 1;
  int bandwidth = 8;                 // B, the target's
  std::vector<int> learner_bandwidths;  // B' of the Nyquist learners; empty: B-1 (if >= 0), B, B+2
  std::uint64_t seed = 1;            // the target's; sample points and test points derive from it
  std::int64_t max_samples = 0;      // largest m; 0: 10 (2B+1)^d
  double growth = 1.25;              // ratio between successive m (near each (2B'+1)^d all of m-1, m, m+1)
  std::int64_t test_points = 4096;   // fresh uniform points the error is measured on
  double threshold = 1e-8;           // relative error (MSE / target variance) counted as reaching the floor
  bool grid = true;                  // the grid learners: FFT Nyquist learners and the Dirichlet interpolator
  bool random = true;                // the random-point learners: dense least squares and kernel ridge
  std::int64_t kernel_max_samples = 1500;  // kernel ridge costs O(m^3): not beyond this m
};

// One learner at one m.
struct NyquistPoint {
  std::string learner;     // nyquist-fft, nyquist-lsq, dirichlet, kernel-ridge (or added: mlp-...)
  std::string sampling;    // grid or random
  int learner_bandwidth;   // B' (dirichlet: floor(n/2) of its grid; kernel-ridge and added learners: -1)
  std::int64_t m;
  double relative_error;   // test MSE / target variance
};

// Per learner: the smallest m of the range from which every measured error is below the threshold.
struct NyquistReach {
  std::string learner, sampling;
  int learner_bandwidth;
  std::int64_t learner_count;           // (2B'+1)^d (0 for kernel ridge, the grid's m for dirichlet)
  std::optional<std::int64_t> reached;  // empty: never in the range
  std::int64_t largest_m;
  double error_at_largest_m;
  std::optional<double> error_at_ten_nyquist;  // at m = 10 (2B+1)^d, when measured there
};

struct NyquistExperiment {
  NyquistOptions options;      // as run (defaults filled in)
  std::int64_t nyquist_count;  // (2B+1)^d
  double target_variance;
  std::vector<NyquistPoint> points;
  std::vector<NyquistReach> reaches;
};

// Throws std::invalid_argument for options out of range (the CLI checks its flags first).
NyquistExperiment run_nyquist_experiment(NyquistOptions options);

// Adds measured points of another learner (MLP students trained by the sweep, on the same target and
// with the same error) and recomputes the reaches. Points of one learner must be in increasing m.
void add_learner_points(NyquistExperiment& e, const std::vector<NyquistPoint>& points);

// Columns: learner, sampling, learner_bandwidth, learner_index (the learner's row in reach_table, for
// `fit --fit-where`), m, relative_error, dim, bandwidth, nyquist_count.
Table points_table(const NyquistExperiment& e);
// Columns: learner_index, learner, sampling, learner_bandwidth, learner_count, reached_m ("never in range"
// when it does not), reached_over_nyquist, error_at_10x_nyquist (empty when m = 10 (2B+1)^d was not
// measured), largest_m, error_at_largest_m.
Table reach_table(const NyquistExperiment& e);

}  // namespace scalelab::theory
