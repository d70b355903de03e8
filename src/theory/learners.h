// Learners of band-limited targets (docs/theory.md states every choice):
//   - the Nyquist learner: least squares over the trigonometric basis with |k|_inf <= B'
//     (fit_trig_grid: an FFT of samples on a uniform grid; fit_trig_points: a dense solve on any points);
//   - the Dirichlet-kernel (periodic sinc) interpolator of grid samples;
//   - kernel ridge regression with a periodic Gaussian kernel, its scale and ridge chosen by
//     leave-one-out error (the baseline).
//
//   TrigSeries fitted = fit_trig_grid(dim, per_axis, values, /*bandwidth=*/B);   // values on grid_points
//   double error = fitted.mean_squared_distance(target) / target.variance();
#pragma once

#include <vector>

#include "theory/bandlimited.h"

namespace scalelab::theory {

// Least squares over the basis of TrigSeries(dim, bandwidth) from samples on grid_points(dim, per_axis)
// (values in that order), through a d-dimensional FFT (Eigen's). With per_axis >= 2*bandwidth + 1 the
// basis is orthogonal on the grid and this is the unique least-squares solution; with fewer points per
// axis the system is underdetermined and this returns its minimum-norm solution (each grid frequency's
// DFT coefficient shared equally among the basis frequencies that alias onto it). No regularisation.
TrigSeries fit_trig_grid(int dim, int per_axis, const std::vector<double>& values, int bandwidth);

// Least squares over the same basis from samples at any points: the minimum-norm least-squares
// solution of the dense [m, (2B+1)^d] system (Eigen's CompleteOrthogonalDecomposition, rank decided
// by its default threshold), optionally with a ridge: minimise |A c - y|^2 + ridge * |c|^2 (ridge 0:
// none, the default).
TrigSeries fit_trig_points(const Points& x, const std::vector<double>& values, int bandwidth, double ridge = 0);

// The trigonometric interpolant of grid samples, evaluated at `at`: sum over the grid of
// value_j * prod_i D_n(at_i - j_i/n), with the periodic Dirichlet kernel D_n(t) = sin(pi n t) /
// (n sin(pi t)) for odd n, and sin(pi n t) / (n tan(pi t)) for even n (the Nyquist frequency n/2
// split equally between +n/2 and -n/2). Equal to fit_trig_grid with bandwidth (n-1)/2 for odd n.
std::vector<double> dirichlet_interpolate(int dim, int per_axis, const std::vector<double>& values, const Points& at);

// Kernel ridge regression with the periodic Gaussian kernel k(x, y) = prod_i exp(-2 sin^2(pi (x_i -
// y_i)) / scale^2): the scale from `scales` and the ridge (times the kernel's diagonal, 1) from
// `ridges` that give the lowest leave-one-out squared error on the training points (exact, from one
// eigendecomposition of the kernel matrix per scale).
struct KernelRidge {
  Points x;
  Eigen::VectorXd weights;
  double scale = 0, ridge = 0, loo_error = 0;
  std::vector<double> predict(const Points& at) const;
};
KernelRidge fit_kernel_ridge(const Points& x, const std::vector<double>& values,
                             const std::vector<double>& scales = {0.02, 0.05, 0.1, 0.2, 0.5},
                             const std::vector<double>& ridges = {1e-12, 1e-9, 1e-6, 1e-3});

}  // namespace scalelab::theory
