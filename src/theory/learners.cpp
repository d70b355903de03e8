#include "theory/learners.h"

#include <cmath>
#include <complex>
#include <numbers>
#include <stdexcept>
#include <string>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <unsupported/Eigen/FFT>

namespace scalelab::theory {

namespace {

// Non-negative residue of k modulo n.
int residue(int k, int n) { return ((k % n) + n) % n; }

// The d-dimensional DFT of grid samples (last axis fastest), divided by the number of samples: entry r
// is sum over k = r (mod n) of the interpolated series' complex coefficients c_k.
std::vector<std::complex<double>> grid_dft(int dim, int n, const std::vector<double>& values) {
  const std::int64_t total = int_power(n, dim);
  std::vector<std::complex<double>> data(values.begin(), values.end());
  if (n == 1) return data;  // the identity (and Eigen's kissfft fails on length 1)
  Eigen::FFT<double> fft;
  std::vector<std::complex<double>> line(static_cast<std::size_t>(n)), transformed;
  for (int axis = 0; axis < dim; ++axis) {
    const std::int64_t stride = int_power(n, dim - 1 - axis);
    for (std::int64_t start = 0; start < total; ++start) {
      if ((start / stride) % n != 0) continue;  // one line per start with this axis' index 0
      for (int j = 0; j < n; ++j) line[std::size_t(j)] = data[std::size_t(start + j * stride)];
      fft.fwd(transformed, line);
      for (int j = 0; j < n; ++j) data[std::size_t(start + j * stride)] = transformed[std::size_t(j)];
    }
  }
  for (auto& v : data) v /= double(total);
  return data;
}

}  // namespace

TrigSeries fit_trig_grid(int dim, int per_axis, const std::vector<double>& values, int bandwidth) {
  check_dim_bandwidth(dim, bandwidth);
  if (per_axis < 1) throw std::invalid_argument("a grid needs >= 1 point per axis");
  const std::int64_t total = int_power(per_axis, dim);
  if (std::int64_t(values.size()) != total)
    throw std::invalid_argument(std::to_string(values.size()) + " values for a grid of " + std::to_string(total));
  const auto dft = grid_dft(dim, per_axis, values);
  // How many basis frequencies in [-B, B] fall on each residue modulo n (1 each when n >= 2B + 1).
  std::vector<int> aliases(std::size_t(per_axis), 0);
  for (int k = -bandwidth; k <= bandwidth; ++k) ++aliases[std::size_t(residue(k, per_axis))];
  // The minimum-L2-norm solution shares a residue's coefficient equally among its aliases.
  auto coefficient = [&](const Eigen::VectorXi& k) {
    std::int64_t index = 0;
    double share = 1;
    for (int i = 0; i < dim; ++i) {
      const int r = residue(k[i], per_axis);
      index = index * per_axis + r;
      share *= aliases[std::size_t(r)];
    }
    return dft[std::size_t(index)] / share;
  };
  TrigSeries fitted = zero_trig_series(dim, bandwidth);
  fitted.a0 = coefficient(Eigen::VectorXi::Zero(dim)).real();
  for (std::size_t f = 0; f < fitted.frequencies.size(); ++f) {
    // c_k e^{i t} + conj(c_k) e^{-i t} = 2 Re(c_k) cos t - 2 Im(c_k) sin t
    const auto c = coefficient(fitted.frequencies[f]);
    fitted.a[Eigen::Index(f)] = 2 * c.real();
    fitted.b[Eigen::Index(f)] = -2 * c.imag();
  }
  return fitted;
}

TrigSeries fit_trig_points(const Points& x, const std::vector<double>& values, int bandwidth, double ridge) {
  const int dim = int(x.cols());
  check_dim_bandwidth(dim, bandwidth);
  if (x.rows() != Eigen::Index(values.size()))
    throw std::invalid_argument(std::to_string(values.size()) + " values for " + std::to_string(x.rows()) + " points");
  if (!(ridge >= 0)) throw std::invalid_argument("ridge >= 0");
  TrigSeries fitted = zero_trig_series(dim, bandwidth);
  const Eigen::Index half = Eigen::Index(fitted.frequencies.size());
  const Eigen::Index m = x.rows(), p = 1 + 2 * half;
  // Columns orthonormal in L2([0,1)^d) (1, sqrt2 cos, sqrt2 sin): the minimum-norm solution is then the
  // minimum-L2-norm function, as fit_trig_grid's.
  const Eigen::Index rows = ridge > 0 ? m + p : m;
  Eigen::MatrixXd design = Eigen::MatrixXd::Zero(rows, p);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(rows);
  for (Eigen::Index r = 0; r < m; ++r) {
    design(r, 0) = 1;
    for (Eigen::Index f = 0; f < half; ++f) {
      const double phase = 2 * std::numbers::pi * x.row(r).dot(fitted.frequencies[std::size_t(f)].cast<double>());
      design(r, 1 + f) = std::numbers::sqrt2 * std::cos(phase);
      design(r, 1 + half + f) = std::numbers::sqrt2 * std::sin(phase);
    }
    rhs[r] = values[std::size_t(r)];
  }
  if (ridge > 0) design.bottomRows(p).diagonal().setConstant(std::sqrt(ridge));
  const Eigen::VectorXd c = design.completeOrthogonalDecomposition().solve(rhs);
  fitted.a0 = c[0];
  fitted.a = std::numbers::sqrt2 * c.segment(1, half);
  fitted.b = std::numbers::sqrt2 * c.segment(1 + half, half);
  return fitted;
}

namespace {

// The periodic Dirichlet kernel of n points (see dirichlet_interpolate), period 1, value 1 at 0.
double dirichlet_kernel(int n, double t) {
  t -= std::round(t);  // [-1/2, 1/2]
  const double s = std::sin(std::numbers::pi * t);
  if (std::abs(s) < 1e-15) return 1.0;
  const double numerator = std::sin(std::numbers::pi * n * t);
  return n % 2 == 1 ? numerator / (n * s) : numerator * std::cos(std::numbers::pi * t) / (n * s);
}

}  // namespace

std::vector<double> dirichlet_interpolate(int dim, int per_axis, const std::vector<double>& values, const Points& at) {
  if (dim < 1 || per_axis < 1) throw std::invalid_argument("grid of dimension >= 1 and >= 1 point per axis");
  const std::int64_t total = int_power(per_axis, dim);
  if (std::int64_t(values.size()) != total || at.cols() != dim)
    throw std::invalid_argument("values or points do not match the grid");
  std::vector<double> out(std::size_t(at.rows()));
  Eigen::VectorXd weights(per_axis);
  Eigen::VectorXd level, contracted;
  for (Eigen::Index r = 0; r < at.rows(); ++r) {
    // Contract one axis at a time, the last (fastest) first: [n^(i), n] times the axis' kernel weights.
    level = Eigen::Map<const Eigen::VectorXd>(values.data(), Eigen::Index(total));
    for (int axis = dim - 1; axis >= 0; --axis) {
      for (int j = 0; j < per_axis; ++j) weights[j] = dirichlet_kernel(per_axis, at(r, axis) - double(j) / per_axis);
      Eigen::Map<const Eigen::MatrixXd> grid(level.data(), per_axis, level.size() / per_axis);  // column = one line
      contracted.noalias() = grid.transpose() * weights;
      level.swap(contracted);
    }
    out[std::size_t(r)] = level[0];
  }
  return out;
}

namespace {

Eigen::MatrixXd periodic_gaussian(const Points& a, const Points& b, double scale) {
  Eigen::MatrixXd k(a.rows(), b.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < b.rows(); ++j) {
      double exponent = 0;
      for (Eigen::Index axis = 0; axis < a.cols(); ++axis) {
        const double s = std::sin(std::numbers::pi * (a(i, axis) - b(j, axis)));
        exponent += s * s;
      }
      k(i, j) = std::exp(-2 * exponent / (scale * scale));
    }
  return k;
}

}  // namespace

KernelRidge fit_kernel_ridge(const Points& x, const std::vector<double>& values, const std::vector<double>& scales,
                             const std::vector<double>& ridges) {
  if (x.rows() != Eigen::Index(values.size()) || x.rows() == 0 || scales.empty() || ridges.empty())
    throw std::invalid_argument("kernel ridge: one value per point, >= 1 point, scale and ridge");
  const Eigen::Map<const Eigen::VectorXd> y(values.data(), Eigen::Index(values.size()));
  KernelRidge best;
  best.loo_error = INFINITY;
  for (double scale : scales) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(periodic_gaussian(x, x, scale));
    const Eigen::VectorXd spectrum = eigen.eigenvalues().cwiseMax(0.0);
    const Eigen::MatrixXd& v = eigen.eigenvectors();
    const Eigen::VectorXd projected = v.transpose() * y;
    const Eigen::MatrixXd v_squared = v.cwiseAbs2();
    for (double ridge : ridges) {
      const Eigen::VectorXd inverse = (spectrum.array() + ridge).inverse().matrix();
      const Eigen::VectorXd alpha = v * inverse.cwiseProduct(projected);
      // Leave-one-out residual of point i: alpha_i / [(K + ridge I)^-1]_ii.
      const Eigen::VectorXd diagonal = v_squared * inverse;
      const double loo = (alpha.array() / diagonal.array()).square().mean();
      if (loo < best.loo_error) {
        best.loo_error = loo;
        best.scale = scale;
        best.ridge = ridge;
        best.weights = alpha;
      }
    }
  }
  best.x = x;
  return best;
}

std::vector<double> KernelRidge::predict(const Points& at) const {
  const Eigen::VectorXd y = periodic_gaussian(at, x, scale) * weights;
  return {y.data(), y.data() + y.size()};
}

}  // namespace scalelab::theory
