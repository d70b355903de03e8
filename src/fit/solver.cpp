#include "fit/solver.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <ceres/jet.h>

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

// One (possibly repeated) row as the solver reads it, contiguous: the law's inputs (as logs when the
// law takes them so, see laws::logs_of), its givens and the measured value.
template <typename Law>
struct Row {
  static constexpr bool kLogs = requires(const double* p) { Law::from_logs(p, p, p); };
  std::array<double, Law::inputs.size()> x;
  std::array<double, Law::givens.size() == 0 ? 1 : Law::givens.size()> g;
  double measured;

  template <typename T>
  T predict(const T* params) const {
    if constexpr (kLogs) return Law::from_logs(params, x.data(), g.data());
    else return Law{}(params, x.data(), g.data());
  }
};

// Levenberg-Marquardt from many starts: ceres::TinySolver's algorithm step for step (same scaling,
// same trust-region updates, same stopping rules, same Eigen LDLT), but specialised to these
// problems. J^T J and J^T r are accumulated point by point from one Jet evaluation each, so neither
// the residual vector nor the (points x parameters) Jacobian is stored, and nothing has a dynamic
// size: TinySolver with a run-time residual count spent 30% of a rosenfeld2020 fit in Eigen's
// general matrix product and copies. Bit-for-bit equal to TinySolver it is not (J^T J is summed in
// another order), so trajectories from chaotic starts can differ at rounding level.
template <typename Law>
class LawSolver final : public Solver {
 public:
  static constexpr int N = static_cast<int>(Law::parameters.size());
  using Jet = ceres::Jet<double, N>;
  using Vector = Eigen::Matrix<double, N, 1>;
  using Matrix = Eigen::Matrix<double, N, N>;
  enum class Status { gradient_too_small, step_too_small, cost_too_small, max_iterations, cost_change_too_small };

  LawSolver(const Points& points, Loss loss, double delta) : loss_(loss), delta_(delta) {
    rows_.resize(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
      Row<Law>& row = rows_[i];
      const double* x = &points.inputs[i * points.num_inputs];
      for (std::size_t j = 0; j < row.x.size(); ++j) row.x[j] = Row<Law>::kLogs ? std::log(x[j]) : x[j];
      row.g.fill(0);
      for (std::size_t j = 0; j < Law::givens.size(); ++j) row.g[j] = points.givens[i * points.num_givens + j];
      row.measured = points.measured[i];
    }
    for (int k = 0; k < N; ++k) {
      const laws::Parameter& p = Law::parameters[k];
      log_scale_[k] = p.scale == laws::Scale::log;
      from_[k] = log_scale_[k] ? std::log(p.lower) : p.lower;
      span_[k] = log_scale_[k] ? std::log(p.upper) - std::log(p.lower) : p.upper - p.lower;
    }
  }

  std::vector<StartOutcome> solve(const std::vector<int>& rows,
                                  const std::vector<std::vector<double>>& starts,
                                  const Budget& budget) const override {
    std::vector<Row<Law>> points;
    points.reserve(rows.size());
    for (int r : rows) points.push_back(rows_[r]);

    std::vector<StartOutcome> outcomes;
    outcomes.reserve(starts.size());
    double best = std::numeric_limits<double>::infinity();
    const int chunk = budget.check_every > 0 ? budget.check_every : budget.max_iterations;
    for (const auto& start : starts) {
      Vector x = Eigen::Map<const Vector>(start.data());
      StartOutcome outcome;
      outcome.objective = std::numeric_limits<double>::infinity();
      Linearization at_x;
      linearize(points, x, at_x);
      if (at_x.finite) {
        // TinySolver compares the *absolute* change of the cost with function_tolerance; a fixed
        // value would stop good divergence fits (whole cost < 1e-6) at once, so it is scaled by this
        // start's own cost.
        const double function_tolerance = budget.relative_cost_change * at_x.sum_sq;
        for (int done = 0; done < budget.max_iterations; done += chunk) {
          const Status status = levenberg_marquardt(points, x, at_x, std::min(chunk, budget.max_iterations - done),
                                                    budget.trust_region, function_tolerance);
          if (status != Status::max_iterations) break;
          if (budget.abandon_ratio > 0 && 0.5 * at_x.sum_sq > budget.abandon_ratio * best) break;
        }
        if (at_x.finite) {
          outcome.objective = loss_ == Loss::huber_log ? 0.5 * at_x.sum_sq : at_x.sum_sq;
          best = std::min(best, 0.5 * at_x.sum_sq);
        }
      }
      outcome.unbounded.assign(x.data(), x.data() + N);
      outcomes.push_back(std::move(outcome));
    }
    return outcomes;
  }

 private:
  // The residuals at a point, summarised for Levenberg-Marquardt: J^T J, J^T r (unscaled), the sum
  // of squared residuals, and whether every residual was finite.
  struct Linearization {
    Matrix jtj;
    Vector jtr;
    double sum_sq = 0;
    bool finite = false;
  };

  template <typename T>
  void parameters(const T* u, T* params) const {
    for (int k = 0; k < N; ++k) {
      T inside = from_[k] + span_[k] * logistic(u[k]);
      if (log_scale_[k]) {
        using std::exp;
        params[k] = exp(inside);
      } else {
        params[k] = inside;
      }
    }
  }

  // One Jet evaluation of every point at x. Every trial step is evaluated this way, not in plain
  // doubles first: most steps are accepted, and an accepted step needs the derivatives at once
  // (measured on rosenfeld2020 6x6: 1878 trial steps, 1390 accepted).
  [[gnu::flatten]] void linearize(const std::vector<Row<Law>>& points, const Vector& x, Linearization& out) const {
    Jet u[N], params[N];
    for (int k = 0; k < N; ++k) u[k] = Jet(x[k], k);
    parameters(u, params);
    Matrix jtj = Matrix::Zero();
    Vector jtr = Vector::Zero();
    double sum = 0;
    bool finite = true;
    for (const auto& row : points) {
      const Jet r = residual(row.predict(params), row.measured, loss_, delta_);
      finite &= std::isfinite(r.a);
      sum += r.a * r.a;
      for (int j = 0; j < N; ++j) {
        jtr[j] += r.v[j] * r.a;
        for (int i = j; i < N; ++i) jtj(i, j) += r.v[i] * r.v[j];
      }
    }
    for (int j = 0; j < N; ++j)
      for (int i = j + 1; i < N; ++i) jtj(j, i) = jtj(i, j);
    out.jtj = jtj;
    out.jtr = jtr;
    out.sum_sq = sum;
    out.finite = finite;
  }

  // ceres::TinySolver::Solve with parameter_tolerance 1e-10, gradient_tolerance 1e-14 and
  // cost_threshold 1e-30 (the fitter's settings), from x with its linearization at_x; both are
  // updated to the last accepted step. Like TinySolver, every call rescales the columns of J and
  // restarts the trust region.
  Status levenberg_marquardt(const std::vector<Row<Law>>& points, Vector& x, Linearization& at_x,
                             int max_iterations, double radius, double function_tolerance) const {
    constexpr double parameter_tolerance = 1e-10, gradient_tolerance = 1e-14, cost_threshold = 1e-30;
    Matrix jtj, regularized;
    Vector g, lm_step, dx, x_new;
    const Vector scaling = (1.0 + at_x.jtj.diagonal().array().sqrt()).inverse().matrix();
    Linearization at_new;
    Eigen::LDLT<Matrix> ldlt;
    auto update = [&] {
      jtj = scaling.asDiagonal() * at_x.jtj * scaling.asDiagonal();
      g = -(scaling.array() * at_x.jtr.array()).matrix();
      return g.array().abs().maxCoeff();
    };
    double gradient_max_norm = update();
    double cost = at_x.sum_sq / 2;
    if (gradient_max_norm < gradient_tolerance) return Status::gradient_too_small;
    if (cost < cost_threshold) return Status::cost_too_small;

    double u = 1.0 / radius, v = 2;
    for (int iteration = 1; iteration < max_iterations; ++iteration) {
      regularized = jtj;
      for (int i = 0; i < N; ++i) {
        const double lm_diagonal = std::sqrt(u * std::min(std::max(jtj(i, i), 1e-6), 1e32));
        regularized(i, i) += lm_diagonal * lm_diagonal;
      }
      ldlt.compute(regularized);
      lm_step = ldlt.solve(g);
      dx = scaling.cwiseProduct(lm_step);
      if (dx.norm() < parameter_tolerance * (x.norm() + parameter_tolerance)) return Status::step_too_small;
      x_new = x + dx;
      linearize(points, x_new, at_new);
      const double cost_change = 2 * cost - at_new.sum_sq;
      const double model_cost_change = lm_step.dot(2 * g - jtj * lm_step);
      const double rho = cost_change / model_cost_change;
      if (rho > 0) {
        x = x_new;
        at_x = at_new;
        if (std::abs(cost_change) < function_tolerance) return Status::cost_change_too_small;
        gradient_max_norm = update();
        cost = at_x.sum_sq / 2;
        if (gradient_max_norm < gradient_tolerance) return Status::gradient_too_small;
        if (cost < cost_threshold) return Status::cost_too_small;
        const double tmp = 2 * rho - 1;
        u *= std::max(1 / 3., 1 - tmp * tmp * tmp);
        v = 2;
      } else {
        if (std::abs(cost_change) < function_tolerance) return Status::cost_change_too_small;
        u *= v;
        v *= 2;
      }
    }
    return Status::max_iterations;
  }

  std::vector<Row<Law>> rows_;
  std::array<double, N> from_, span_;
  std::array<bool, N> log_scale_;
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
