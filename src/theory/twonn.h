// The TwoNN intrinsic-dimension estimator (Facco, d'Errico, Rodriguez & Laio 2017, "Estimating the
// intrinsic dimension of datasets by a minimal neighborhood information", Sci. Rep. 7:12140).
//
// For each point, mu = r2 / r1, the ratio of the distances to its second and first nearest neighbours.
// On a d-dimensional manifold with locally uniform density mu follows a Pareto law, F(mu) = 1 - mu^-d,
// so -log(1 - F(mu)) = d log(mu): the estimate is the slope of that line through the origin, fitted by
// least squares over the empirical F after discarding the largest `discard` fraction of the mu (the
// paper's 10%: they are the most affected by density changes and noise). The maximum-likelihood
// estimate (N - 1) / sum log(mu) (no discarding) is returned beside it.
//
//   Eigen::MatrixXd points = ...;   // [N, D], one point a row
//   TwoNNResult r = two_nn_dimension(points);   // r.dimension
#pragma once

#include <cstdint>

#include <Eigen/Core>

namespace scalelab::theory {

struct TwoNNResult {
  double dimension = 0;       // the paper's linear fit
  double mle_dimension = 0;   // (N - 1) / sum log(mu)
  std::int64_t points = 0;    // used (duplicates, whose r1 = 0, are left out)
  std::int64_t duplicates = 0;
};

// Exact nearest neighbours by brute force (Euclidean, through one Gram matrix per block of rows), so
// O(N^2 D): a few seconds for N = 5000 points of 784 coordinates. Needs N >= 3.
TwoNNResult two_nn_dimension(const Eigen::MatrixXd& points, double discard = 0.1);

}  // namespace scalelab::theory
