#include "theory/bandlimited.h"

#include <cmath>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>

namespace scalelab::theory {

void check_dim_bandwidth(int dim, int bandwidth) {
  if (dim < 1 || bandwidth < 0) throw std::invalid_argument("dimension >= 1 and bandwidth >= 0");
  double size = 1;
  for (int i = 0; i < dim; ++i) size *= 2.0 * bandwidth + 1;
  if (size > double(1 << 22))
    throw std::invalid_argument("(2B+1)^d = " + std::to_string(size) + " coefficients: more than 2^22");
}

std::vector<Eigen::VectorXi> half_frequencies(int dim, int bandwidth) {
  check_dim_bandwidth(dim, bandwidth);
  std::vector<Eigen::VectorXi> half;
  const int side = 2 * bandwidth + 1;
  std::int64_t total = 1;
  for (int i = 0; i < dim; ++i) total *= side;
  Eigen::VectorXi k(dim);
  for (std::int64_t r = 0; r < total; ++r) {
    std::int64_t rest = r;
    for (int i = dim - 1; i >= 0; --i, rest /= side) k[i] = int(rest % side) - bandwidth;
    int first = 0;  // the first nonzero coordinate decides which of {k, -k} is kept
    for (int i = 0; i < dim && first == 0; ++i) first = k[i];
    if (first > 0) half.push_back(k);
  }
  return half;
}

TrigSeries zero_trig_series(int dim, int bandwidth) {
  TrigSeries s;
  s.dim = dim;
  s.bandwidth = bandwidth;
  s.frequencies = half_frequencies(dim, bandwidth);
  s.a = Eigen::VectorXd::Zero(Eigen::Index(s.frequencies.size()));
  s.b = s.a;
  return s;
}

TrigSeries random_trig_series(int dim, int bandwidth, std::uint64_t seed) {
  TrigSeries s = zero_trig_series(dim, bandwidth);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  s.a0 = normal(gen);
  for (Eigen::Index i = 0; i < s.a.size(); ++i) {
    s.a[i] = normal(gen);
    s.b[i] = normal(gen);
  }
  return s;
}

std::vector<double> TrigSeries::evaluate(const Points& x) const {
  if (x.cols() != dim) throw std::invalid_argument("points of dimension " + std::to_string(x.cols()) +
                                                   " for a series of dimension " + std::to_string(dim));
  std::vector<double> y(std::size_t(x.rows()), a0);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    double sum = a0;
    for (std::size_t f = 0; f < frequencies.size(); ++f) {
      const double phase = 2 * std::numbers::pi * x.row(r).dot(frequencies[f].cast<double>());
      sum += a[Eigen::Index(f)] * std::cos(phase) + b[Eigen::Index(f)] * std::sin(phase);
    }
    y[std::size_t(r)] = sum;
  }
  return y;
}

double TrigSeries::variance() const { return 0.5 * (a.squaredNorm() + b.squaredNorm()); }

double TrigSeries::mean_squared_distance(const TrigSeries& other) const {
  if (other.dim != dim) throw std::invalid_argument("series of different dimensions");
  const TrigSeries& wide = bandwidth >= other.bandwidth ? *this : other;
  const TrigSeries& narrow = bandwidth >= other.bandwidth ? other : *this;
  // The narrow series' frequencies are those of the wide one with every |k_i| <= its bandwidth.
  double sum = 0;
  std::size_t j = 0;
  for (std::size_t f = 0; f < wide.frequencies.size(); ++f) {
    double da = wide.a[Eigen::Index(f)], db = wide.b[Eigen::Index(f)];
    if (j < narrow.frequencies.size() && narrow.frequencies[j] == wide.frequencies[f]) {
      da -= narrow.a[Eigen::Index(j)];
      db -= narrow.b[Eigen::Index(j)];
      ++j;
    }
    sum += 0.5 * (da * da + db * db);
  }
  const double d0 = a0 - other.a0;
  return d0 * d0 + sum;
}

Points grid_points(int dim, int per_axis) {
  if (dim < 1 || per_axis < 1) throw std::invalid_argument("grid of dimension >= 1 and >= 1 point per axis");
  std::int64_t total = 1;
  for (int i = 0; i < dim; ++i) total *= per_axis;
  Points x(total, dim);
  for (std::int64_t r = 0; r < total; ++r) {
    std::int64_t rest = r;
    for (int i = dim - 1; i >= 0; --i, rest /= per_axis) x(r, i) = double(rest % per_axis) / per_axis;
  }
  return x;
}

Points uniform_points(int dim, std::int64_t count, std::uint64_t seed) {
  if (dim < 1 || count < 0) throw std::invalid_argument("points of dimension >= 1, count >= 0");
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Points x(count, dim);
  for (std::int64_t r = 0; r < count; ++r)
    for (int i = 0; i < dim; ++i) x(r, i) = uniform(gen);
  return x;
}

}  // namespace scalelab::theory
