// The theory lab's library: exact recovery of band-limited targets at the Nyquist count, failure one
// sample below it, and TwoNN on data of known intrinsic dimension.
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>

#include <Eigen/QR>
#include <gtest/gtest.h>

#include "theory/bandlimited.h"
#include "theory/learners.h"
#include "theory/twonn.h"

namespace scalelab::theory {
namespace {

double relative_error(const TrigSeries& fitted, const TrigSeries& target) {
  return fitted.mean_squared_distance(target) / target.variance();
}

std::int64_t nyquist_count(int dim, int bandwidth) { return std::llround(std::pow(2 * bandwidth + 1, dim)); }

TEST(BandLimited, SeriesHasTheStatedSizeAndIsDeterministicForASeed) {
  EXPECT_EQ(half_frequencies(1, 3).size(), 3u);
  EXPECT_EQ(half_frequencies(2, 2).size(), 12u);  // (25 - 1) / 2
  EXPECT_EQ(half_frequencies(3, 1).size(), 13u);  // (27 - 1) / 2
  const auto a = random_trig_series(2, 3, 7), b = random_trig_series(2, 3, 7), c = random_trig_series(2, 3, 8);
  EXPECT_EQ(a.coefficients(), 49);
  EXPECT_EQ(a.a, b.a);
  EXPECT_EQ(a.b, b.b);
  EXPECT_NE(a.a, c.a);
  EXPECT_EQ(grid_points(2, 3).rows(), 9);
  EXPECT_DOUBLE_EQ(grid_points(2, 3)(5, 0), 1.0 / 3);  // row 5 = digits (1, 2)
  EXPECT_DOUBLE_EQ(grid_points(2, 3)(5, 1), 2.0 / 3);
}

TEST(BandLimited, VarianceAndDistanceAgreeWithSampledMeans) {
  const auto target = random_trig_series(2, 3, 1);
  const auto x = uniform_points(2, 200000, 3);
  const auto y = target.evaluate(x);
  double mean = 0, square = 0;
  for (double v : y) mean += v, square += v * v;
  mean /= double(y.size());
  const double variance = square / double(y.size()) - mean * mean;
  EXPECT_NEAR(variance / target.variance(), 1.0, 0.02);
  EXPECT_NEAR(mean, target.a0, 0.02 * std::sqrt(target.variance()));
  const auto zero = zero_trig_series(2, 1);
  EXPECT_NEAR(target.mean_squared_distance(zero), target.variance() + target.a0 * target.a0, 1e-12);
}

// The matched learner on the (2B+1)^d grid recovers the target to floating-point accuracy; on the grid
// with 2B points per axis (for d = 1: one sample below) the top frequency aliases and it fails.
TEST(NyquistLearner, RecoversTheTargetExactlyOnTheNyquistGridAndFailsBelowIt) {
  for (int dim : {1, 2, 3})
    for (int bandwidth : {1, 3, 5}) {
      if (dim == 3 && bandwidth == 5) continue;
      SCOPED_TRACE(testing::Message() << "d=" << dim << " B=" << bandwidth);
      const auto target = random_trig_series(dim, bandwidth, 100 + dim * 10 + bandwidth);
      const int n = 2 * bandwidth + 1;
      const auto exact = fit_trig_grid(dim, n, target.evaluate(grid_points(dim, n)), bandwidth);
      EXPECT_LT(relative_error(exact, target), 1e-26);
      const auto below = fit_trig_grid(dim, n - 1, target.evaluate(grid_points(dim, n - 1)), bandwidth);
      EXPECT_GT(relative_error(below, target), 1e-3);
      // The Dirichlet interpolator of the same grid agrees at fresh points.
      const auto at = uniform_points(dim, 50, 9);
      const auto interpolated = dirichlet_interpolate(dim, n, target.evaluate(grid_points(dim, n)), at);
      const auto truth = target.evaluate(at);
      for (std::size_t i = 0; i < truth.size(); ++i) EXPECT_NEAR(interpolated[i], truth[i], 1e-10);
    }
}

// The dense solve on the same grid gives the FFT's answer; with one grid point removed the system has
// one unknown more than equations, and the minimum-norm solution misses the target.
TEST(NyquistLearner, DenseLeastSquaresMatchesTheFftAndFailsOneSampleBelow) {
  for (int dim : {1, 2}) {
    const int bandwidth = 3, n = 7;
    const auto target = random_trig_series(dim, bandwidth, 5);
    Points x = grid_points(dim, n);
    auto y = target.evaluate(x);
    const auto dense = fit_trig_points(x, y, bandwidth);
    const auto fft = fit_trig_grid(dim, n, y, bandwidth);
    EXPECT_LT(relative_error(dense, target), 1e-24);
    EXPECT_LT(dense.mean_squared_distance(fft) / target.variance(), 1e-24);
    const Points fewer = x.topRows(x.rows() - 1);
    y.pop_back();
    EXPECT_GT(relative_error(fit_trig_points(fewer, y, bandwidth), target), 1e-6);
  }
}

TEST(NyquistLearner, RandomPointsRecoverTheTargetFromTheNyquistCountOn) {
  const int dim = 2, bandwidth = 3;
  const auto target = random_trig_series(dim, bandwidth, 11);
  const std::int64_t p = nyquist_count(dim, bandwidth);
  const auto x = uniform_points(dim, 2 * p, 12);
  const auto fitted = fit_trig_points(x, target.evaluate(x), bandwidth);
  EXPECT_LT(relative_error(fitted, target), 1e-20);
  const Points fewer = x.topRows(p - 1);
  EXPECT_GT(relative_error(fit_trig_points(fewer, target.evaluate(fewer), bandwidth), target), 1e-6);
}

TEST(NyquistLearner, OnePointGivesTheConstantOfTheMinimumNormSolution) {
  const auto target = random_trig_series(2, 1, 3);
  const auto y = target.evaluate(grid_points(2, 1));
  const auto fitted = fit_trig_grid(2, 1, y, 1);
  // All 9 basis functions equal 1 at the origin: the minimum-norm solution shares y equally.
  EXPECT_NEAR(fitted.a0, y[0] / 9, 1e-14);
  EXPECT_NEAR(fitted.a[0], 2 * y[0] / 9, 1e-14);
  EXPECT_NEAR(fitted.b[0], 0, 1e-14);
}

TEST(NyquistLearner, TooNarrowALearnerKeepsTheMissingBandAsError) {
  const auto target = random_trig_series(1, 6, 21);
  const auto x = grid_points(1, 101);
  const auto narrow = fit_trig_grid(1, 101, target.evaluate(x), 4);
  // The error is exactly the variance of the frequencies 5 and 6, which the narrow basis cannot hold.
  const double missing = 0.5 * (target.a.tail(2).squaredNorm() + target.b.tail(2).squaredNorm());
  EXPECT_NEAR(narrow.mean_squared_distance(target), missing, 1e-12 * target.variance());
  // Too wide a learner on a grid fine enough still recovers the target.
  const auto wide = fit_trig_grid(1, 101, target.evaluate(x), 20);
  EXPECT_LT(relative_error(wide, target), 1e-26);
}

TEST(KernelRidge, FitsASmoothTargetAndPicksFromItsGrid) {
  const auto target = random_trig_series(1, 2, 31);
  const auto x = uniform_points(1, 200, 32);
  const auto model = fit_kernel_ridge(x, target.evaluate(x));
  const auto at = uniform_points(1, 500, 33);
  const auto predicted = model.predict(at);
  const auto truth = target.evaluate(at);
  double mse = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) mse += (predicted[i] - truth[i]) * (predicted[i] - truth[i]);
  mse /= double(truth.size());
  EXPECT_LT(mse / target.variance(), 1e-4);
  EXPECT_GT(model.scale, 0);
}

// Orthonormal columns of a random Gaussian matrix: a random isometric embedding R^k -> R^n.
Eigen::MatrixXd random_embedding(int from, int to, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd g(to, from);
  for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = normal(gen);
  return Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() * Eigen::MatrixXd::Identity(to, from);
}

TEST(TwoNN, EstimatesTheDimensionOfALinearSubspaceWithinTenPercent) {
  for (int dim : {2, 5}) {
    std::mt19937_64 gen(40 + dim);
    std::normal_distribution<double> normal;
    Eigen::MatrixXd z(3000, dim);
    for (Eigen::Index i = 0; i < z.size(); ++i) z.data()[i] = normal(gen);
    const Eigen::MatrixXd x = z * random_embedding(dim, 30, 50 + dim).transpose();
    const auto r = two_nn_dimension(x);
    std::printf("linear subspace d=%d in R^30, N=3000: TwoNN %.3f, MLE %.3f\n", dim, r.dimension, r.mle_dimension);
    EXPECT_NEAR(r.dimension / dim, 1.0, 0.1);
    EXPECT_EQ(r.points, 3000);
  }
}

TEST(TwoNN, EstimatesTheDimensionOfATorusEmbeddedInTwentyDimensions) {
  // The flat torus T^2: (cos u, sin u, cos v, sin v), rotated into R^20.
  std::mt19937_64 gen(60);
  std::uniform_real_distribution<double> angle(0, 2 * std::numbers::pi);
  Eigen::MatrixXd z(3000, 4);
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    const double u = angle(gen), v = angle(gen);
    z.row(i) << std::cos(u), std::sin(u), std::cos(v), std::sin(v);
  }
  const Eigen::MatrixXd x = z * random_embedding(4, 20, 61).transpose();
  const auto r = two_nn_dimension(x);
  std::printf("flat torus T^2 in R^20, N=3000: TwoNN %.3f, MLE %.3f\n", r.dimension, r.mle_dimension);
  EXPECT_NEAR(r.dimension / 2, 1.0, 0.1);
}

TEST(TwoNN, LeavesDuplicatesOut) {
  Eigen::MatrixXd x = uniform_points(2, 500, 70);
  x.row(1) = x.row(0);
  const auto r = two_nn_dimension(x);
  EXPECT_EQ(r.duplicates, 2);
  EXPECT_EQ(r.points, 498);
}

}  // namespace
}  // namespace scalelab::theory
