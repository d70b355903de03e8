// Compute-optimal planning from a fitted law of parameters N and training tokens D (torch-free):
// for a budget C = k N D FLOPs (k = 6: a forward and a backward pass, Kaplan et al. 2020), the split
// (N, D) that minimises the law's predicted loss, and the inverse, the least compute whose optimum
// reaches a loss. The law's inputs are found by name: N (or n) the parameters, D (or m) the tokens
// (rosenfeld2020 takes m, n; kaplan2020 and chinchilla N, D), in the units the fit was made in (a
// language-model sweep: non-embedding parameters and tokens). Intervals: every bootstrap fit's own
// optimum, 5/50/95% over them.
#pragma once

#include <optional>
#include <string>

#include "fit/fit.h"

namespace scalelab::fit {

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

// The optimum over N on the line D = compute / (k N), from one parameter per token to one token per
// parameter. Throws InputError (field `compute` or `fit`) for a budget that is not a positive finite
// number, a law without parameter and token inputs, or a given that is not one constant.
Plan plan_for_compute(const FitResult& fit, double compute, double flops_per_param_token = 6);
// The least compute whose optimum predicts at most `loss`; InputError (field `loss`) when the fit's
// law never gets that low (at or below its irreducible loss) within 1e40 FLOPs.
Plan plan_for_loss(const FitResult& fit, double loss, double flops_per_param_token = 6);

// A readable answer: budget, N, D, D/N, loss, with intervals.
std::string format_plan(const Plan& plan, bool loss_asked);

}  // namespace scalelab::fit
