#include "theory/inputs.h"

#include <cmath>
#include <numbers>
#include <random>

#include <Eigen/QR>
#include <fmt/core.h>

namespace scalelab::theory {

namespace {

Points normal_points(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  Points x(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < cols; ++c) x(r, c) = normal(gen);
  return x;
}

// A fixed isometric embedding R^from -> R^to: orthonormal columns of a seeded Gaussian matrix.
Eigen::MatrixXd isometry(int from, int to, std::uint64_t seed) {
  const Eigen::MatrixXd g = normal_points(to, from, seed);
  return Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() * Eigen::MatrixXd::Identity(to, from);
}

}  // namespace

std::optional<BandLimitedDataset> band_limited_dataset(std::string_view name) {
  if (name == "band-limited-1d") return BandLimitedDataset{1, 8, 1};
  if (name == "band-limited-2d") return BandLimitedDataset{2, 4, 1};
  return std::nullopt;
}

std::optional<GeneratedInputs> generated_inputs(std::string_view name, std::int64_t count, std::uint64_t seed) {
  if (count < 0) throw std::invalid_argument("a negative number of points");
  if (name == "teacher-student")
    return GeneratedInputs{normal_points(count, 16, seed), fmt::format("teacher-student: {} standard normal points in R^16", count)};
  if (name == "teacher-student-classify") {
    Points x = uniform_points(16, count, seed);
    x = 2 * x.array() - 1;
    return GeneratedInputs{x, fmt::format("teacher-student-classify: {} points uniform on [-1, 1]^16", count)};
  }
  if (auto b = band_limited_dataset(name))
    return GeneratedInputs{uniform_points(b->dim, count, seed),
                           fmt::format("{}: {} points uniform on [0, 1)^{}", name, count, b->dim)};
  if (name == "torus") {
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> angle(0, 2 * std::numbers::pi);
    Points z(count, 4);
    for (Eigen::Index r = 0; r < count; ++r) {
      const double u = angle(gen), v = angle(gen);
      z.row(r) << std::cos(u), std::sin(u), std::cos(v), std::sin(v);
    }
    return GeneratedInputs{z * isometry(4, 20, 7).transpose(),
                           fmt::format("torus: {} points of the flat torus T^2 in R^20 (intrinsic dimension 2)", count)};
  }
  if (name == "subspace")
    return GeneratedInputs{normal_points(count, 5, seed) * isometry(5, 30, 8).transpose(),
                           fmt::format("subspace: {} standard normal points of a 5-dimensional subspace of R^30", count)};
  return std::nullopt;
}

std::string generated_input_names() {
  return "teacher-student, teacher-student-classify, band-limited-1d, band-limited-2d, torus, subspace";
}

}  // namespace scalelab::theory
