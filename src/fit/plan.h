// Compute-optimal planning from a fitted law of parameters N and training tokens D (torch-free):
// for a budget C = k N D FLOPs (k = 6: a forward and a backward pass, Kaplan et al. 2020), the split
// (N, D) that minimises the law's predicted loss, and the inverse, the least compute whose optimum
// reaches a loss. The law's inputs are found by name: N (or n) the parameters, D (or m) the tokens
// (rosenfeld2020 takes m, n; kaplan2020 and chinchilla N, D), in the units the fit was made in (a
// language-model sweep: non-embedding parameters and tokens). Intervals: every bootstrap fit's own
// optimum, 5/50/95% over them.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "fit/fit.h"

namespace scalelab::fit {

// What a budget buys: C = k N D by default, or C = D x per_token(N), a family's own training FLOPs per
// token at N parameters (increasing in N), when set.
struct PlanCost {
  double k = 6;
  std::function<double(double params)> per_token;
  double at(double params) const { return per_token ? per_token(params) : k * params; }
};

struct PlanPoint {
  double compute = 0, params = 0, tokens = 0, loss = 0;
};

struct Plan {
  PlanPoint best;  // with the fit's parameters
  // 5/50/95% of the bootstrap fits' own optima (absent without bootstrap samples). For a loss asked
  // for, samples whose law never reaches it are left out and counted.
  std::optional<Interval> compute, params, tokens, loss;
  int samples = 0, unreachable = 0;
  std::string params_input, tokens_input;  // the law's input names used as N and D
};

// The optimum over N on the line D = compute / cost.at(N), from one parameter to one token. Throws InputError (field `compute` or `fit`) for a budget that is not a positive finite
// number, a law without parameter and token inputs, or a given that is not one constant.
Plan plan_for_compute(const FitResult& fit, double compute, const PlanCost& cost = {});
// The least compute whose optimum predicts at most `loss`; InputError (field `loss`) when the fit's
// law never gets that low (at or below its irreducible loss) within 1e40 FLOPs.
Plan plan_for_loss(const FitResult& fit, double loss, const PlanCost& cost = {});

// A readable answer: budget, N, D, D/N, loss, with intervals.
std::string format_plan(const Plan& plan, bool loss_asked);

}  // namespace scalelab::fit
