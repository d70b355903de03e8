// Band-limited targets on the periodic cube [0,1)^d and the points they are sampled at (docs/theory.md).
//
//   TrigSeries target = random_trig_series(/*dim=*/2, /*bandwidth=*/4, /*seed=*/1);
//   Points x = uniform_points(2, 500, /*seed=*/2);          // or grid_points(2, 9): 81 points j/9
//   std::vector<double> y = target.evaluate(x);
//   double variance = target.variance();                     // over x uniform on [0,1)^d
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace scalelab::theory {

// Points as rows: [m, d], each coordinate in [0, 1).
using Points = Eigen::MatrixXd;

// The frequencies k in Z^d with |k|_inf <= bandwidth, one of each pair {k, -k}, zero left out: the
// first nonzero coordinate of k is positive. (2B+1)^d = 1 + 2 * half_frequencies(d, B).size().
std::vector<Eigen::VectorXi> half_frequencies(int dim, int bandwidth);

// A real trigonometric polynomial of maximum frequency `bandwidth` (in |k|_inf):
//   f(x) = a0 + sum over k in half_frequencies(dim, bandwidth) of a_k cos(2 pi k.x) + b_k sin(2 pi k.x).
struct TrigSeries {
  int dim = 1;
  int bandwidth = 0;
  double a0 = 0;
  std::vector<Eigen::VectorXi> frequencies;  // half_frequencies(dim, bandwidth)
  Eigen::VectorXd a, b;                      // one cosine and one sine coefficient per frequency

  // The number of real coefficients: (2B+1)^d.
  std::int64_t coefficients() const { return 1 + 2 * std::int64_t(frequencies.size()); }
  std::vector<double> evaluate(const Points& x) const;
  // Variance of f(x) for x uniform on [0,1)^d: sum of (a_k^2 + b_k^2) / 2 (Parseval).
  double variance() const;
  // Mean squared difference over [0,1)^d from another series (Parseval; any two bandwidths).
  double mean_squared_distance(const TrigSeries& other) const;
};

// A series of zero coefficients with this dimension and bandwidth.
TrigSeries zero_trig_series(int dim, int bandwidth);

// The random target: a0 and every a_k, b_k independent standard normal (a flat spectrum up to B, so
// the top frequencies are present with probability 1 and B is the exact bandwidth), from a seeded
// std::mt19937_64. The same (dim, bandwidth, seed) always gives the same series.
TrigSeries random_trig_series(int dim, int bandwidth, std::uint64_t seed);

// base^exponent in integers (grid sizes n^d, basis sizes (2B+1)^d).
inline std::int64_t int_power(std::int64_t base, int exponent) {
  std::int64_t p = 1;
  for (int i = 0; i < exponent; ++i) p *= base;
  return p;
}

// The uniform grid with n points per axis: all (j_1/n, ..., j_d/n), j_i in [0, n), the last axis
// varying fastest (row r holds the digits of r in base n, most significant first).
Points grid_points(int dim, int per_axis);
// m points independent and uniform on [0,1)^d from a seeded std::mt19937_64.
Points uniform_points(int dim, std::int64_t count, std::uint64_t seed);

// Throws std::invalid_argument unless dim >= 1, bandwidth >= 0 and (2B+1)^d <= 2^22 (the dense
// learners hold matrices of that width).
void check_dim_bandwidth(int dim, int bandwidth);

}  // namespace scalelab::theory
