#include "theory/twonn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace scalelab::theory {

TwoNNResult two_nn_dimension(const Eigen::MatrixXd& points, double discard) {
  const Eigen::Index n = points.rows();
  if (n < 3) throw std::invalid_argument("TwoNN needs at least 3 points");
  if (!(discard >= 0 && discard < 1)) throw std::invalid_argument("TwoNN discard fraction in [0, 1)");
  const Eigen::VectorXd norms = points.rowwise().squaredNorm();
  std::vector<double> ratios;
  ratios.reserve(std::size_t(n));
  TwoNNResult result;
  constexpr Eigen::Index kBlock = 256;
  for (Eigen::Index start = 0; start < n; start += kBlock) {
    const Eigen::Index rows = std::min(kBlock, n - start);
    // Squared distances |a|^2 + |b|^2 - 2 a.b of this block's points to all.
    Eigen::MatrixXd d2 = -2.0 * (points.middleRows(start, rows) * points.transpose());
    d2.colwise() += norms.segment(start, rows);
    d2.rowwise() += norms.transpose();
    for (Eigen::Index i = 0; i < rows; ++i) {
      double r1 = std::numeric_limits<double>::infinity(), r2 = r1;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (j == start + i) continue;
        const double d = std::max(d2(i, j), 0.0);
        if (d < r1) r2 = r1, r1 = d;
        else if (d < r2) r2 = d;
      }
      // Rounding in the Gram form leaves ~1e-16 |a|^2 of noise: below that a neighbour is a duplicate.
      if (r1 <= 1e-12 * norms[start + i] || r1 == 0) {
        ++result.duplicates;
        continue;
      }
      ratios.push_back(std::sqrt(r2 / r1));
    }
  }
  const std::size_t kept_points = ratios.size();
  if (kept_points < 3) throw std::invalid_argument("TwoNN: fewer than 3 points without a duplicate");
  result.points = std::int64_t(kept_points);
  double log_sum = 0;
  for (double mu : ratios) log_sum += std::log(mu);
  result.mle_dimension = double(kept_points - 1) / log_sum;
  // Empirical F(mu_(i)) = i / N over the sorted ratios (i from 1); fit -log(1 - F) = d log(mu) on the first
  // (1 - discard) N of them.
  std::sort(ratios.begin(), ratios.end());
  const auto fitted = std::size_t(std::floor(double(kept_points) * (1 - discard)));
  double xy = 0, xx = 0;
  for (std::size_t i = 0; i < fitted; ++i) {
    const double x = std::log(ratios[i]);
    const double y = -std::log(1 - double(i + 1) / double(kept_points));  // F = i / N, 1-based
    xy += x * y;
    xx += x * x;
  }
  result.dimension = xy / xx;
  return result;
}

}  // namespace scalelab::theory
