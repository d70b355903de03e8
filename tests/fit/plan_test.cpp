// `plan` against the closed-form optimum of a chinchilla law with known parameters, the inverse
// question, the other laws' input names, intervals from bootstrap samples, and refused input.
#include <cmath>

#include <gtest/gtest.h>

#include "fit/plan.h"
#include "laws/laws.h"
#include "table/table.h"

namespace scalelab::fit {
namespace {

FitResult law_with(const std::string& law, std::vector<std::string> inputs, std::vector<double> values) {
  FitResult fit;
  fit.law = law;
  fit.input_names = std::move(inputs);
  fit.input_scales.assign(fit.input_names.size(), 1.0);
  const auto* info = laws::find(law);
  for (std::size_t i = 0; i < values.size(); ++i)
    fit.parameters.push_back({std::string(info->parameters[i].name), values[i], 0, 0, false, std::nullopt});
  return fit;
}

// L = E + A N^-alpha + B D^-beta under C = 6 N D: N* = G (C/6)^(beta/(alpha+beta)), D* = (C/6) / N*,
// G = (alpha A / (beta B))^(1/(alpha+beta)) (Hoffmann et al. 2022, eq. 4).
struct Closed {
  double n, d, loss;
};
Closed closed_form(double e, double a, double alpha, double b, double beta, double c) {
  const double g = std::pow(alpha * a / (beta * b), 1 / (alpha + beta));
  const double n = g * std::pow(c / 6, beta / (alpha + beta));
  const double d = c / 6 / n;
  return {n, d, e + a * std::pow(n, -alpha) + b * std::pow(d, -beta)};
}

TEST(Plan, ChinchillaMatchesTheClosedFormOptimum) {
  const double e = 1.69, a = 406.4, alpha = 0.34, b = 410.7, beta = 0.28;  // Hoffmann et al.'s fit
  const FitResult fit = law_with("chinchilla", {"N", "D"}, {e, a, alpha, b, beta});
  for (double c : {1e15, 1e18, 5.76e23, 1e26}) {
    const Plan plan = plan_for_compute(fit, c);
    const Closed want = closed_form(e, a, alpha, b, beta, c);
    EXPECT_NEAR(plan.best.params / want.n, 1, 1e-6) << c;
    EXPECT_NEAR(plan.best.tokens / want.d, 1, 1e-6) << c;
    EXPECT_NEAR(plan.best.loss / want.loss, 1, 1e-12) << c;
    EXPECT_DOUBLE_EQ(6 * plan.best.params * plan.best.tokens, c);
    EXPECT_EQ(plan.params_input, "N");
    EXPECT_FALSE(plan.params);  // no bootstrap samples, no intervals
  }
  // The inverse: the least compute reaching the loss found at 5.76e23 is 5.76e23.
  const Closed at = closed_form(e, a, alpha, b, beta, 5.76e23);
  const Plan back = plan_for_loss(fit, at.loss);
  EXPECT_NEAR(back.best.compute / 5.76e23, 1, 1e-6);
  EXPECT_NEAR(back.best.params / at.n, 1, 1e-5);
  // A loss at or below the irreducible E is never reached: refused, naming the field.
  try {
    plan_for_loss(fit, e);
    FAIL() << "a loss at E was planned";
  } catch (const InputError& error) {
    EXPECT_EQ(error.field(), "loss");
  }
}

TEST(Plan, OtherFactorOfComputeAndScaledInputs) {
  const double e = 1.8, a = 482, alpha = 0.35, b = 2085, beta = 0.37;
  FitResult fit = law_with("chinchilla", {"N", "D"}, {e, a, alpha, b, beta});
  // The fit saw inputs divided by scales (--normalize): the law's parameters are in those units.
  FitResult scaled = fit;
  scaled.input_scales = {1e6, 1e9};
  scaled.parameters[1].value = a * std::pow(1e6, -alpha);
  scaled.parameters[3].value = b * std::pow(1e9, -beta);
  const Plan p = plan_for_compute(fit, 1e21, {.k = 8}), q = plan_for_compute(scaled, 1e21, {.k = 8});
  EXPECT_NEAR(q.best.params / p.best.params, 1, 1e-6);
  EXPECT_NEAR(8 * p.best.params * p.best.tokens / 1e21, 1, 1e-12);
  const Closed want = closed_form(e, a, alpha, b, beta, 1e21 * 6 / 8);  // k = 8: as C' = 6/8 C at k = 6
  EXPECT_NEAR(p.best.params / want.n, 1, 1e-6);
}

// A cost given per token (a family's own FLOPs) plans on D = C / cost(N): with cost 6 N it is the k = 6
// plan; with a cost that grows faster than N (an attention term), the optimum moves to fewer parameters.
TEST(Plan, CostPerTokenOfAFamily) {
  const FitResult fit = law_with("chinchilla", {"N", "D"}, {1.69, 406.4, 0.34, 410.7, 0.28});
  const Plan linear = plan_for_compute(fit, 1e18, {.k = 6, .per_token = [](double n) { return 6 * n; }});
  const Plan plain = plan_for_compute(fit, 1e18);
  EXPECT_NEAR(linear.best.params / plain.best.params, 1, 1e-6);  // the optimum is flat: N to 1e-6
  EXPECT_NEAR(linear.best.tokens / plain.best.tokens, 1, 1e-6);
  const auto heavier = [](double n) { return 6 * n + 1e6; };  // a fixed per-token cost besides 6N
  const Plan h = plan_for_compute(fit, 1e18, {.k = 6, .per_token = heavier});
  EXPECT_NEAR(h.best.tokens * heavier(h.best.params) / 1e18, 1, 1e-12);
  EXPECT_LT(h.best.tokens, plain.best.tokens);
  EXPECT_GT(h.best.loss, plain.best.loss);  // the same budget buys less
  const Plan back = plan_for_loss(fit, h.best.loss, {.k = 6, .per_token = heavier});
  EXPECT_NEAR(back.best.compute / 1e18, 1, 1e-6);
}

TEST(Plan, IntervalsAreTheBootstrapFitsOwnOptima) {
  FitResult fit = law_with("chinchilla", {"N", "D"}, {1.69, 406.4, 0.34, 410.7, 0.28});
  for (double beta : {0.26, 0.27, 0.28, 0.29, 0.30}) fit.bootstrap_samples.push_back({1.69, 406.4, 0.34, 410.7, beta});
  const Plan plan = plan_for_compute(fit, 1e22);
  ASSERT_TRUE(plan.params && plan.tokens && plan.loss);
  EXPECT_EQ(plan.samples, 5);
  EXPECT_NEAR(plan.params->p50 / plan.best.params, 1, 1e-6);  // the middle sample is the point fit
  EXPECT_LT(plan.params->p05, plan.params->p95);
  EXPECT_LT(plan.tokens->p05, plan.tokens->p95);
}

TEST(Plan, RosenfeldAndKaplanByTheirInputNames) {
  // rosenfeld2020's inputs are m (data) and n (parameters), with eps0 given.
  FitResult r = law_with("rosenfeld2020", {"m", "n"}, {});
  const auto* info = laws::find("rosenfeld2020");
  ASSERT_NE(info, nullptr);
  for (const auto& p : info->parameters) {
    const double mid = p.scale == laws::Scale::log ? std::sqrt(std::max(p.lower, 1e-12) * p.upper) : 0.5 * (p.lower + p.upper);
    r.parameters.push_back({std::string(p.name), mid, 0, 0, false, std::nullopt});
  }
  r.given_names = {"eps0"};
  r.givens = {Given::constant(std::log(256.0))};
  const Plan plan = plan_for_compute(r, 1e15);
  EXPECT_EQ(plan.params_input, "n");
  EXPECT_EQ(plan.tokens_input, "m");
  EXPECT_NEAR(6 * plan.best.params * plan.best.tokens / 1e15, 1, 1e-12);
  EXPECT_LT(plan.best.loss, std::log(256.0));
  const FitResult k = law_with("kaplan2020", {"N", "D"}, {8.8e13, 0.076, 5.4e13, 0.095});
  EXPECT_TRUE(std::isfinite(plan_for_compute(k, 1e20).best.loss));
  // A law of one input cannot plan.
  EXPECT_THROW(plan_for_compute(law_with("powerlaw", {"x"}, {1, 0.5, 0.1}), 1e15), InputError);
  EXPECT_THROW(plan_for_compute(law_with("chinchilla", {"N", "D"}, {1, 1, 0.3, 1, 0.3}), -1), InputError);
}

}  // namespace
}  // namespace scalelab::fit
