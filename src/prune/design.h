// The design question of the pruning law (science.md section 2): of a pruning sweep's networks, which
// one, pruned to which density, meets an error bound with the fewest remaining parameters. From the
// fitted pruning2021_joint, in closed form, with the bootstrap's spread, beside the sweep's own answer.
//
//   Design d = design(sweep_measurements(dir, &warnings), spec, joint_fit, {.max_error = 0.15});
//   const Candidate* best = d.best();   // null when no candidate can meet the bound
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fit/fit.h"
#include "sweep/spec.h"
#include "table/table.h"

namespace scalelab::prune {

// pruning2021_joint's five constants, and the units the fit saw its inputs in (FitResult::input_scales).
struct JointLaw {
  double eps_up = 0, gamma = 0, p = 0, phi = 0, psi = 0;
  double d_scale = 1, l_scale = 1, w_scale = 1;
  // The law of a fit (its parameters, or bootstrap sample `sample` of them). InputError naming `fit`
  // unless the fit is pruning2021_joint's.
  static JointLaw of(const fit::FitResult& fit);
  JointLaw with(const std::vector<double>& parameters) const;  // eps_up, gamma, p, phi, psi
  // The law's error of a network of depth l and width w (the sweep's units), unpruned error eps_np,
  // at this density.
  double error(double density, double depth, double width, double eps_np) const;
};

// The density at which the law's error reaches `max_error`: with K = eps_up / eps_np and
// r = max_error / eps_np, m*_k = p * sqrt((K^(2/gamma) - r^(2/gamma)) / (r^(2/gamma) - 1)) and
// d_k = m*_k / (l^phi w^psi), computed in logs (K^(2/gamma) overflows for small gamma).
struct Density {
  enum Kind {
    pruned,       // 1 < r < K and d_k < 1: prune to `value`
    // 1 < r < K and d_k >= 1: the law reaches the bound only at density 1 or beyond (its error at
    // density 1 sits a little above eps_np); the dense network, measured below the bound, meets it.
    // `value` is 1.
    dense,
    unreachable,  // r <= 1: the unpruned network's error is at or above the bound
    unbounded,    // r >= K: the bound is at or above the law's high-error plateau; it names no density
  } kind = unreachable;
  double value = 0;
  bool feasible() const { return kind == pruned || kind == dense; }
};
Density density_for(const JointLaw& law, double depth, double width, double eps_np, double max_error);

struct Candidate {
  std::string cell;  // its cell in the sweep, "width=0.5 depth=2 data_fraction=1"
  double depth = 0, width = 0;
  double eps_np = 0;              // its measured level-0 mean
  double prunable = 0, params = 0;  // weights IMP may prune (models/spec.h), and all its parameters
  Density density;
  double remaining = 0;  // feasible: prunable x density + the never-pruned parameters
  double predicted = 0;  // feasible: the law's error at that density
  std::string why;       // infeasible: why
  // The best candidate's remaining parameters over the joint fit's bootstrap samples, and how many
  // samples gave no density (their law cannot reach the bound).
  std::optional<fit::Interval> remaining_interval;
  int samples = 0, samples_without_answer = 0;
};

// The sweep's own answer: of every measured (configuration, level) point at the design's data size
// whose mean error is within the bound, the one with the fewest remaining parameters.
struct MeasuredPoint {
  std::string cell;
  int level = 0;
  double density = 0, remaining = 0, error = 0;
};

struct DesignOptions {
  double max_error = 0;
  // The data size the candidates share, as written on the grid's data_fraction or data_count axis;
  // empty: the largest. InputError (field `data_fraction`) when it is not on the grid.
  std::string data_size;
};

struct Design {
  double max_error = 0;
  std::string data_axis, data_size;  // e.g. data_fraction, 1 (data_axis empty: one data size)
  std::string target;                // the measured metric (test_error)
  JointLaw law;
  std::vector<Candidate> candidates;  // feasible ones first, fewest remaining parameters first
  std::optional<MeasuredPoint> measured;
  const Candidate* best() const { return !candidates.empty() && candidates[0].density.feasible() ? &candidates[0] : nullptr; }
};

// `rows`: sweep_measurements of the pruning sweep; `joint`: pruning2021_joint fitted to it (its
// bootstrap samples give the best candidate's interval). InputError naming the field for a bound that
// is no error (max_error), a data size not on the grid, a fit of another law.
Design design(const Table& rows, const SweepSpec& spec, const fit::FitResult& joint, const DesignOptions& options);

// The verification sweep of the best candidate (DIR/verify/spec.yaml): its configuration (the sweep's
// fixed hyperparameters and its own grid values), the sweep's seeds, and IMP levels enough to reach
// two levels past its density.
std::string verify_spec_yaml(const SweepSpec& spec, const Design& design);
int verify_levels(const SweepSpec& spec, const Design& design);

// What the verification measured beside what the design predicted, per level.
struct VerifiedLevel {
  int level = 0;
  double density = 0, remaining = 0, measured = 0, predicted = 0;
};
struct Verification {
  double eps_np = 0;  // the verification's own level-0 mean
  std::vector<VerifiedLevel> levels;
  std::optional<VerifiedLevel> smallest_within;  // fewest remaining parameters with measured error <= bound
};
Verification verification(const Table& verify_rows, const Design& design);

// Everything above as JSON (`scalelab design --json`); `verified` null when there was no verification.
std::string design_json(const Design& design, const Verification* verified);

}  // namespace scalelab::prune
