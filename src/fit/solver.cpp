// TinySolver forms J'J for an N x 5 Jacobian with N known only at run time; Eigen sends such products
// to its blocked matrix-matrix kernel (packing and all) once N + 10 >= 20. For the tall, thin
// Jacobians here the plain coefficient-wise product is cheaper: 12% of a 100-start rosenfeld2020
// fit went into packing. Defined before any Eigen header, in the only file that solves.
#define EIGEN_GEMM_TO_COEFFBASED_THRESHOLD 1000
#include "fit/solver.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ceres/tiny_solver.h>

namespace scalelab::fit::detail {

namespace {

// 1 / (1 + exp(-u)), written so that neither the value nor the derivative overflows: far out on
// either side (|u| ~ 1000 happens after a bold Gauss-Newton step) the naive form gives inf / inf =
// NaN derivatives, which TinySolver does not detect; the start then burns its whole budget.
template <typename T>
T logistic(const T& u) {
  using std::exp;
  if (laws::value_of(u) >= 0) return 1.0 / (1.0 + exp(-u));
  T e = exp(u);
  return e / (1.0 + e);
}

// The bounded value the law sees for a solver variable u.
template <typename T>
T bounded(const T& u, const laws::Parameter& p) {
  using std::exp;
  if (p.scale == laws::Scale::linear) return p.lower + (p.upper - p.lower) * logistic(u);
  const double log_lower = std::log(p.lower), log_upper = std::log(p.upper);
  return exp(log_lower + (log_upper - log_lower) * logistic(u));
}

// The residual whose square (halved, summed) is the loss. For huber_log, r = log pred - log y and
// sign(r) * sqrt(2 huber(r)) squares back to the Huber loss: least squares then minimises exactly
// Chinchilla's summed Huber objective, and the residual stays smooth (C1) at |r| = delta.
template <typename T>
T residual(const T& predicted, double measured, Loss loss, double delta) {
  using std::log;
  using std::sqrt;
  switch (loss) {
    case Loss::divergence:
      return (predicted - measured) / measured;
    case Loss::lsq:
      return predicted - measured;
    case Loss::huber_log: {
      T r = log(predicted) - std::log(measured);
      double magnitude = std::abs(laws::value_of(r));
      if (magnitude <= delta) return r;
      T root = sqrt(2.0 * delta * (r < 0.0 ? -r : r) - delta * delta);
      return laws::value_of(r) < 0 ? -root : root;
    }
  }
  return predicted;
}

// Laws that see their inputs only through log x take the logs once per fit, not once per evaluation
// (two libm log calls per point and evaluation were 15% of a rosenfeld2020 fit).
template <typename Law>
concept TakesLogs = requires(const double* p, const double* x) { Law::from_logs(p, x, x); };

template <typename Law>
std::vector<double> law_inputs(const Points& points) {
  if constexpr (!TakesLogs<Law>) return points.inputs;
  std::vector<double> logs(points.inputs.size());
  for (std::size_t i = 0; i < logs.size(); ++i) logs[i] = std::log(points.inputs[i]);
  return logs;
}

// The least-squares problem: one residual per (possibly repeated) row.
template <typename Law>
struct Residuals {
  static constexpr int kParameters = static_cast<int>(Law::parameters.size());
  const Points& points;
  const std::vector<double>& inputs;  // law_inputs(points): the inputs, or their logs
  const std::vector<int>& rows;
  Loss loss;
  double delta;

  int size() const { return static_cast<int>(rows.size()); }

  // Residual i for the law's (bounded) parameters.
  template <typename T>
  T at(const T* params, int i) const {
    const int row = rows[i];
    const double* x = &inputs[row * points.num_inputs];
    const double* g = &points.givens[row * points.num_givens];
    T predicted;
    if constexpr (TakesLogs<Law>)
      predicted = Law::from_logs(params, x, g);
    else
      predicted = Law{}(params, x, g);
    return residual(predicted, points.measured[row], loss, delta);
  }
};

// The cost function TinySolver calls: residuals, and their Jacobian by automatic differentiation
// of the law (ceres::Jet). It does the work of ceres::TinySolverAutoDiffFunction at 40% fewer
// instructions per fit (bench/fit/README.md), for three reasons:
// - Every evaluation computes the Jacobian too and keeps it. TinySolver first asks for the residuals
//   at a trial step and, when it accepts the step (most steps), for residuals and Jacobian at the
//   same point: the second call is then a copy. Rejected steps pay for a Jacobian they don't use,
//   which costs less than evaluating accepted points twice.
// - The bounds transform is differentiated once per parameter (Jet<double, 1>), then seeds the
//   law's Jets, instead of running on full Jets.
// - `flatten` inlines the Jet arithmetic into this loop; left to itself GCC kept Eigen's 5-element
//   loops as calls, and whether it did changed with unrelated edits (47M vs 63M instructions).
template <typename Law>
class LawFunction {
 public:
  static constexpr int kParameters = Residuals<Law>::kParameters;
  using Scalar = double;
  enum { NUM_PARAMETERS = kParameters, NUM_RESIDUALS = Eigen::Dynamic };

  explicit LawFunction(const Residuals<Law>& residuals)
      : residuals_(residuals), values_(residuals.size()), jacobian_(residuals.size() * kParameters) {}

  int NumResiduals() const { return residuals_.size(); }

  bool operator()(const double* unbounded, double* out, double* jacobian) const {
    if (!cached_ || !std::equal(unbounded, unbounded + kParameters, at_)) differentiate(unbounded);
    std::copy(values_.begin(), values_.end(), out);
    if (jacobian != nullptr) std::copy(jacobian_.begin(), jacobian_.end(), jacobian);
    return true;
  }

 private:
  // Residuals and Jacobian (column-major, as TinySolver stores it) at `unbounded`, into the cache.
  __attribute__((flatten)) void differentiate(const double* unbounded) const {
    using Jet = ceres::Jet<double, kParameters>;
    Jet params[kParameters];
    for (int k = 0; k < kParameters; ++k) {
      const auto p = bounded(ceres::Jet<double, 1>(unbounded[k], 0), Law::parameters[k]);
      params[k] = Jet(p.a);
      params[k].v[k] = p.v[0];
    }
    const int n = NumResiduals();
    for (int i = 0; i < n; ++i) {
      const Jet r = residuals_.at(params, i);
      values_[i] = r.a;
      for (int k = 0; k < kParameters; ++k) jacobian_[i + k * n] = r.v[k];
    }
    std::copy(unbounded, unbounded + kParameters, at_);
    cached_ = true;
  }

  const Residuals<Law>& residuals_;
  mutable bool cached_ = false;
  mutable double at_[kParameters] = {};
  mutable std::vector<double> values_, jacobian_;
};

template <typename Law>
class LawSolver final : public Solver {
 public:
  static constexpr int kParameters = Residuals<Law>::kParameters;
  using Function = LawFunction<Law>;
  using Vector = Eigen::Matrix<double, kParameters, 1>;

  LawSolver(const Points& points, Loss loss, double delta)
      : points_(points), inputs_(law_inputs<Law>(points)), loss_(loss), delta_(delta) {}

  std::vector<StartOutcome> solve(const std::vector<int>& rows,
                                  const std::vector<std::vector<double>>& starts,
                                  const Budget& budget) const override {
    Residuals<Law> residuals{points_, inputs_, rows, loss_, delta_};
    Function function(residuals);
    ceres::TinySolver<Function> solver;
    solver.options.parameter_tolerance = 1e-10;
    solver.options.gradient_tolerance = 1e-14;
    solver.options.cost_threshold = 1e-30;
    solver.options.max_num_iterations = budget.max_iterations;
    solver.options.initial_trust_region_radius = budget.trust_region;

    std::vector<StartOutcome> outcomes;
    outcomes.reserve(starts.size());
    Eigen::VectorXd values(residuals.size());
    double best = std::numeric_limits<double>::infinity();
    const int chunk = budget.check_every > 0 ? budget.check_every : budget.max_iterations;
    for (const auto& start : starts) {
      Vector x = Eigen::Map<const Vector>(start.data());
      StartOutcome outcome;
      outcome.objective = std::numeric_limits<double>::infinity();
      if (evaluate(function, x, values)) {
        // TinySolver 2.1 compares the *absolute* change of the cost with function_tolerance; a
        // fixed value would stop good divergence fits (whole cost < 1e-6) at once, so it is scaled
        // by this start's own cost.
        solver.options.function_tolerance = budget.relative_cost_change * values.squaredNorm();
        for (int done = 0; done < budget.max_iterations; done += chunk) {
          solver.options.max_num_iterations = std::min(chunk, budget.max_iterations - done);
          solver.Solve(function, &x);
          const bool still_running = solver.summary.status == ceres::TinySolver<Function>::HIT_MAX_ITERATIONS;
          if (!still_running) break;
          if (budget.abandon_ratio > 0 && solver.summary.final_cost > budget.abandon_ratio * best) break;
        }
        if (evaluate(function, x, values)) {
          outcome.objective = objective(values);
          best = std::min(best, 0.5 * values.squaredNorm());
        }
      }
      outcome.unbounded.assign(x.data(), x.data() + kParameters);
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

 private:
  // Through the cost function, whose cache usually holds these values already (the last accepted
  // point) or will need them next (TinySolver starts by differentiating at the start).
  static bool evaluate(const Function& function, const Vector& x, Eigen::VectorXd& values) {
    function(x.data(), values.data(), nullptr);
    return values.allFinite();
  }
  // The loss as reported: sum of squared residuals, or for huber_log the summed Huber loss.
  double objective(const Eigen::VectorXd& values) const {
    return loss_ == Loss::huber_log ? 0.5 * values.squaredNorm() : values.squaredNorm();
  }

  const Points& points_;
  std::vector<double> inputs_;
  Loss loss_;
  double delta_;
};

}  // namespace

double to_bounded(double u, const laws::Parameter& p) { return bounded(u, p); }

double bound_fraction(double value, const laws::Parameter& p) {
  if (p.scale == laws::Scale::linear) return (value - p.lower) / (p.upper - p.lower);
  return (std::log(value) - std::log(p.lower)) / (std::log(p.upper) - std::log(p.lower));
}

double to_unbounded(double value, const laws::Parameter& p) {
  double s = std::clamp(bound_fraction(value, p), 1e-12, 1 - 1e-12);
  return std::log(s / (1 - s));
}

std::unique_ptr<Solver> make_solver(const laws::LawInfo& law, const Points& points, Loss loss, double huber_delta) {
  std::unique_ptr<Solver> solver;
  laws::visit(law.name, [&](auto l) { solver = std::make_unique<LawSolver<decltype(l)>>(points, loss, huber_delta); });
  return solver;
}

}  // namespace scalelab::fit::detail
