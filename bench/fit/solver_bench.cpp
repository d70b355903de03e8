// Why the fitter has its own solver: the same multi-start problems solved with scalelab's solver
// (ceres::TinySolver's Levenberg-Marquardt, specialised: see src/fit/solver.cpp) and with one
// ceres::Problem per start (libceres), from the same starts in the same reparametrisation. Also
// Huber on log residuals: scalelab's solver with the
// sqrt-Huber residual against ceres::Problem with ceres::HuberLoss.
//
//   build-fit/bench/fit_solver_bench [REPEATS]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include <ceres/ceres.h>

#include "fit/fit.h"
#include "fit/solver.h"
#include "laws/laws.h"

using namespace scalelab;

namespace {

template <typename T>
T bounded(const T& u, const laws::Parameter& p) {
  using std::exp;
  T s = laws::value_of(u) >= 0 ? T(1.0 / (1.0 + exp(-u))) : T(exp(u) / (1.0 + exp(u)));
  if (p.scale == laws::Scale::linear) return p.lower + (p.upper - p.lower) * s;
  return exp(std::log(p.lower) + (std::log(p.upper) - std::log(p.lower)) * s);
}

// One residual block of all points, for ceres::Problem. `log_residual`: log pred - log y (the
// robust loss is then applied by Ceres); otherwise the divergence (pred - y) / y.
template <typename Law>
struct CeresResiduals {
  static constexpr int N = static_cast<int>(Law::parameters.size());
  const fit::detail::Points& points;
  bool log_residual;
  template <typename T>
  bool operator()(const T* const u, T* out) const {
    using std::log;
    T p[N];
    for (int k = 0; k < N; ++k) p[k] = bounded(u[k], Law::parameters[k]);
    for (std::size_t i = 0; i < points.size(); ++i) {
      T pred = Law{}(p, &points.inputs[i * points.num_inputs],
                     points.num_givens ? &points.givens[i * points.num_givens] : nullptr);
      out[i] = log_residual ? log(pred) - std::log(points.measured[i]) : (pred - points.measured[i]) / points.measured[i];
    }
    return true;
  }
};

struct Problem {
  fit::detail::Points points;
  std::vector<std::vector<double>> starts;  // unbounded
};

template <typename Law>
Problem make_problem(const std::vector<std::vector<double>>& inputs, const std::vector<double>& truth,
                     std::vector<double> givens, double noise, int num_starts) {
  Problem problem;
  problem.points.num_inputs = static_cast<int>(Law::inputs.size());
  problem.points.num_givens = static_cast<int>(givens.size());
  std::mt19937 engine(1);
  std::normal_distribution<double> normal(0, 1);
  for (const auto& x : inputs) {
    problem.points.inputs.insert(problem.points.inputs.end(), x.begin(), x.end());
    problem.points.givens.insert(problem.points.givens.end(), givens.begin(), givens.end());
    problem.points.measured.push_back(Law{}(truth.data(), x.data(), givens.data()) * (1 + noise * normal(engine)));
  }
  // Latin hypercube over the bounds, as the fitter draws it.
  const int n = static_cast<int>(Law::parameters.size());
  problem.starts.assign(num_starts, std::vector<double>(n));
  for (int k = 0; k < n; ++k) {
    std::vector<int> strata(num_starts);
    for (int i = 0; i < num_starts; ++i) strata[i] = i;
    std::shuffle(strata.begin(), strata.end(), engine);
    for (int i = 0; i < num_starts; ++i) {
      double s = 0.005 + 0.99 * (strata[i] + std::uniform_real_distribution<>(0, 1)(engine)) / num_starts;
      problem.starts[i][k] = std::log(s / (1 - s));
    }
  }
  return problem;
}

template <typename F>
double median_ms(int repeats, F&& f) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double huber(double r, double delta) {
  double a = std::abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

// Loss of the best start, evaluated the same way for both solvers.
template <typename Law>
double loss_at(const Problem& problem, const std::vector<double>& u, fit::Loss loss, double delta) {
  const int n = static_cast<int>(Law::parameters.size());
  std::vector<double> p(n);
  for (int k = 0; k < n; ++k) p[k] = bounded(u[k], Law::parameters[k]);
  double sum = 0;
  for (std::size_t i = 0; i < problem.points.size(); ++i) {
    double pred = Law{}(p.data(), &problem.points.inputs[i * problem.points.num_inputs],
                        problem.points.num_givens ? &problem.points.givens[i * problem.points.num_givens] : nullptr);
    double y = problem.points.measured[i];
    sum += loss == fit::Loss::huber_log ? huber(std::log(pred) - std::log(y), delta) : std::pow((pred - y) / y, 2);
  }
  return std::isfinite(sum) ? sum : INFINITY;
}

template <typename Law>
void compare(const char* name, const Problem& problem, fit::Loss loss, int repeats) {
  const double delta = 1e-3;
  auto solver = fit::detail::make_solver(laws::describe<Law>(), problem.points, loss, delta);
  std::vector<int> rows(problem.points.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int>(i);
  const fit::detail::Budget budget{.max_iterations = 200, .trust_region = 0.1, .relative_cost_change = 1e-12};

  double tiny_best = INFINITY;
  double tiny_ms = median_ms(repeats, [&] {
    auto outcomes = solver->solve(rows, problem.starts, budget);
    tiny_best = INFINITY;
    for (const auto& o : outcomes) tiny_best = std::min(tiny_best, loss_at<Law>(problem, o.unbounded, loss, delta));
  });

  double ceres_best = INFINITY;
  double ceres_ms = median_ms(repeats, [&] {
    ceres_best = INFINITY;
    for (const auto& start : problem.starts) {
      std::vector<double> u = start;
      ceres::Problem cp;
      auto* cost = new ceres::AutoDiffCostFunction<CeresResiduals<Law>, ceres::DYNAMIC, Law::parameters.size()>(
          new CeresResiduals<Law>{problem.points, loss == fit::Loss::huber_log}, static_cast<int>(problem.points.size()));
      cp.AddResidualBlock(cost, loss == fit::Loss::huber_log ? new ceres::HuberLoss(delta) : nullptr, u.data());
      ceres::Solver::Options options;
      options.linear_solver_type = ceres::DENSE_QR;
      options.max_num_iterations = 200;
      options.initial_trust_region_radius = 0.1;
      options.function_tolerance = 1e-12;
      options.parameter_tolerance = 1e-10;
      options.gradient_tolerance = 1e-14;
      options.logging_type = ceres::SILENT;
      ceres::Solver::Summary summary;
      ceres::Solve(options, &cp, &summary);
      ceres_best = std::min(ceres_best, loss_at<Law>(problem, u, loss, delta));
    }
  });

  std::printf("%-34s %5zu starts  TinySolver   %8.2f ms (best %.8g)   ceres::Problem %8.2f ms (best %.8g)   %.1fx\n", name,
              problem.starts.size(), tiny_ms, tiny_best, ceres_ms, ceres_best, ceres_ms / tiny_ms);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 11;
  std::vector<std::vector<double>> grid6;
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) grid6.push_back({std::ldexp(1.0, i - 5), std::ldexp(1.0, j - 5)});
  auto rosenfeld = make_problem<laws::Rosenfeld2020>(grid6, {0.66, 0.5, 0.53, 0.05, 19.77}, {0.9}, 0.01, 100);
  compare<laws::Rosenfeld2020>("rosenfeld2020 6x6, divergence", rosenfeld, fit::Loss::divergence, repeats);

  std::vector<std::vector<double>> grid8;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) grid8.push_back({7e7 * std::ldexp(1.0, i), 1e9 * std::ldexp(1.0, j)});
  auto chinchilla = make_problem<laws::Chinchilla>(grid8, {1.69, 406.4, 0.34, 410.7, 0.28}, {}, 0.01, 100);
  compare<laws::Chinchilla>("chinchilla 8x8, huber-log 1e-3", chinchilla, fit::Loss::huber_log, repeats);
  return 0;
}
