#include "fit/plan.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "laws/laws.h"
#include "table/table.h"

namespace scalelab::fit {
namespace {

// The law at (N, D) for one parameter vector: inputs divided by the fit's scales, givens constant.
struct LawAt {
  const laws::LawInfo* law = nullptr;
  std::size_t params_index = 0, tokens_index = 0, inputs = 0;
  std::vector<double> scales, givens;

  double operator()(const std::vector<double>& p, double n, double d) const {
    std::vector<double> x(inputs);
    x[params_index] = n / scales[params_index];
    x[tokens_index] = d / scales[tokens_index];
    const double value = law->evaluate(p.data(), x.data(), givens.data());
    return std::isfinite(value) ? value : std::numeric_limits<double>::infinity();
  }
};

LawAt law_at(const FitResult& fit, Plan& plan) {
  LawAt at;
  at.law = laws::find(fit.law);
  if (!at.law) throw InputError("fit", 0, "law", fmt::format("unknown law '{}'", fit.law));
  at.inputs = fit.input_names.size();
  bool has_params = false, has_tokens = false;
  for (std::size_t i = 0; i < at.inputs; ++i) {
    const auto& name = fit.input_names[i];
    if (name == "N" || name == "n") at.params_index = i, has_params = true, plan.params_input = name;
    if (name == "D" || name == "m") at.tokens_index = i, has_tokens = true, plan.tokens_input = name;
  }
  if (!has_params || !has_tokens || at.inputs != 2)
    throw InputError("fit", 0, "law",
                     fmt::format("plan needs a law of parameters and tokens (inputs N and D, or n and m); {} has {}",
                                 fit.law, fmt::join(fit.input_names, ", ")));
  at.scales = fit.input_scales;
  if (at.scales.size() != at.inputs) at.scales.assign(at.inputs, 1.0);
  for (const auto& given : fit.givens) {
    if (!given.value) throw InputError("fit", 0, "givens", "plan needs every given of the law as one constant");
    at.givens.push_back(*given.value);
  }
  return at;
}

// The largest N whose one token fits the budget (cost.at(N) <= C): log N's upper end.
double largest_log_params(double compute, const PlanCost& cost) {
  if (!cost.per_token) return std::log(compute / cost.k);
  double lo = 0, hi = 1;
  while (cost.at(std::exp(hi)) <= compute && hi < 200) lo = hi, hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = 0.5 * (lo + hi);
    (cost.at(std::exp(mid)) <= compute ? lo : hi) = mid;
  }
  return lo;
}

// min over log N of law(N, C / cost(N)): a grid of 241 points over the admissible range, then golden
// section inside the best point's bracket. The loss along the line is unimodal for these laws (model
// term falls with N, data term rises); the grid guards against flat ends.
PlanPoint optimum(const LawAt& at, const std::vector<double>& p, double compute, const PlanCost& cost) {
  const double lo_n = 0, hi_n = largest_log_params(compute, cost);  // log N: N from 1 to D = 1
  auto tokens = [&](double n) { return compute / cost.at(n); };
  auto loss = [&](double log_n) {
    const double n = std::exp(log_n);
    return at(p, n, tokens(n));
  };
  constexpr int kGrid = 240;
  int best = 0;
  double best_loss = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= kGrid; ++i) {
    const double v = loss(lo_n + (hi_n - lo_n) * i / kGrid);
    if (v < best_loss) best_loss = v, best = i;
  }
  double a = lo_n + (hi_n - lo_n) * std::max(0, best - 1) / kGrid;
  double b = lo_n + (hi_n - lo_n) * std::min(kGrid, best + 1) / kGrid;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = loss(c), fd = loss(d);
  for (int i = 0; i < 100 && b - a > 1e-12; ++i) {
    if (fc < fd) {
      b = d, d = c, fd = fc, c = b - g * (b - a), fc = loss(c);
    } else {
      a = c, c = d, fc = fd, d = a + g * (b - a), fd = loss(d);
    }
  }
  const double log_n = 0.5 * (a + b);
  PlanPoint point;
  point.compute = compute;
  point.params = std::exp(log_n);
  point.tokens = tokens(point.params);
  point.loss = loss(log_n);
  if (best_loss < point.loss) {  // the refinement cannot lose to the grid; kept for flat, noisy ends
    point.params = std::exp(lo_n + (hi_n - lo_n) * best / kGrid);
    point.tokens = tokens(point.params);
    point.loss = best_loss;
  }
  return point;
}

constexpr double kMaxCompute = 1e40;

// The least compute whose optimum is at most `target`, by bisection on log C; nullopt when even
// kMaxCompute does not reach it.
std::optional<PlanPoint> least_compute(const LawAt& at, const std::vector<double>& p, double target,
                                       const PlanCost& cost) {
  if (!(optimum(at, p, kMaxCompute, cost).loss <= target)) return std::nullopt;
  double lo = std::log(cost.at(1)), hi = std::log(kMaxCompute);  // one parameter, one token
  if (optimum(at, p, std::exp(lo), cost).loss <= target) return optimum(at, p, std::exp(lo), cost);
  for (int i = 0; i < 200 && hi - lo > 1e-10; ++i) {
    const double mid = 0.5 * (lo + hi);
    (optimum(at, p, std::exp(mid), cost).loss <= target ? hi : lo) = mid;
  }
  return optimum(at, p, std::exp(hi), cost);
}

std::vector<double> point_parameters(const FitResult& fit) {
  std::vector<double> p;
  for (const auto& parameter : fit.parameters) p.push_back(parameter.value);
  return p;
}

void check_cost(const PlanCost& cost) {
  if (!(std::isfinite(cost.k) && cost.k > 0))
    throw InputError("plan", 0, "flops_per_param_token", fmt::format("{} is not a positive number", cost.k));
  if (!(std::isfinite(cost.at(1)) && cost.at(1) > 0))
    throw InputError("plan", 0, "family", "the family's FLOPs per token are not positive at one parameter");
}

void add_intervals(Plan& plan, const std::vector<PlanPoint>& points) {
  if (points.empty()) return;
  std::vector<double> c, n, d, l;
  for (const auto& q : points) c.push_back(q.compute), n.push_back(q.params), d.push_back(q.tokens), l.push_back(q.loss);
  plan.compute = interval_of(c);
  plan.params = interval_of(n);
  plan.tokens = interval_of(d);
  plan.loss = interval_of(l);
}

}  // namespace

Plan plan_for_compute(const FitResult& fit, double compute, const PlanCost& cost) {
  check_cost(cost);
  if (!(std::isfinite(compute) && compute >= cost.at(1) && compute <= kMaxCompute))
    throw InputError("plan", 0, "compute",
                     fmt::format("{} FLOPs is not a budget in [{}, {}]", compute, cost.at(1), kMaxCompute));
  Plan plan;
  const LawAt at = law_at(fit, plan);
  plan.best = optimum(at, point_parameters(fit), compute, cost);
  std::vector<PlanPoint> points;
  for (const auto& sample : fit.bootstrap_samples) points.push_back(optimum(at, sample, compute, cost));
  plan.samples = int(points.size());
  add_intervals(plan, points);
  return plan;
}

Plan plan_for_loss(const FitResult& fit, double loss, const PlanCost& cost) {
  check_cost(cost);
  if (!(std::isfinite(loss) && loss > 0))
    throw InputError("plan", 0, "loss", fmt::format("{} is not a positive loss", loss));
  Plan plan;
  const LawAt at = law_at(fit, plan);
  const auto best = least_compute(at, point_parameters(fit), loss, cost);
  if (!best)
    throw InputError("plan", 0, "loss",
                     fmt::format("the fitted {} never predicts {} or less within {:g} FLOPs (its floor is above it)",
                                 fit.law, loss, kMaxCompute));
  plan.best = *best;
  std::vector<PlanPoint> points;
  for (const auto& sample : fit.bootstrap_samples) {
    if (auto q = least_compute(at, sample, loss, cost)) points.push_back(*q);
    else ++plan.unreachable;
  }
  plan.samples = int(fit.bootstrap_samples.size());
  add_intervals(plan, points);
  return plan;
}

std::string format_plan(const Plan& plan, bool loss_asked) {
  auto with = [](double value, const std::optional<Interval>& i) {
    return i ? fmt::format("{:.4g}  (5-95%: {:.4g} .. {:.4g})", value, i->p05, i->p95) : fmt::format("{:.4g}", value);
  };
  std::string out;
  out += fmt::format("compute    {} FLOPs{}\n", with(plan.best.compute, loss_asked ? plan.compute : std::nullopt),
                     loss_asked ? " (the least reaching the loss)" : "");
  out += fmt::format("params     {}   ({})\n", with(plan.best.params, plan.params), plan.params_input);
  out += fmt::format("tokens     {}   ({})\n", with(plan.best.tokens, plan.tokens), plan.tokens_input);
  out += fmt::format("tokens/param {:.4g}\n", plan.best.tokens / plan.best.params);
  out += fmt::format("loss       {}\n", with(plan.best.loss, loss_asked ? std::nullopt : plan.loss));
  if (plan.samples > 0)
    out += fmt::format("intervals: each of {} bootstrap fits' own optimum{}\n", plan.samples,
                       plan.unreachable ? fmt::format(" ({} never reach the loss: left out)", plan.unreachable) : "");
  else
    out += "no intervals: the fit has no bootstrap samples (fit with --bootstrap N)\n";
  return out;
}

}  // namespace scalelab::fit
