// The design query's closed form against a brute-force search of the same law, its infeasible
// cases, and the candidates, measured answer and verification spec it derives from a sweep's rows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "prune/design.h"
#include "sweep/spec.h"
#include "table/table.h"

namespace scalelab::prune {
namespace {

// The smallest density of a fine log grid (1e5 points over [1e-8, 1]) where the law's error is within
// the bound, and the grid point below it; {NaN, NaN} when none is.
std::pair<double, double> brute_force_density(const JointLaw& law, double depth, double width, double eps_np, double bound) {
  constexpr int kPoints = 100000;
  double previous = NAN;
  for (int i = 0; i < kPoints; ++i) {
    const double d = std::pow(10.0, -8.0 + 8.0 * i / (kPoints - 1));
    if (law.error(d, depth, width, eps_np) <= bound) return {d, previous};
    previous = d;
  }
  return {NAN, NAN};
}

JointLaw law(double eps_up, double gamma, double p, double phi, double psi) {
  JointLaw l;
  return l.with({eps_up, gamma, p, phi, psi});
}

TEST(DesignClosedForm, MatchesABruteForceSearchOfTheSameLaw) {
  struct Case {
    JointLaw law;
    double depth, width, eps_np, bound;
  };
  JointLaw scaled = law(0.9, 1.5, 0.006, 0.5, 1.0);
  scaled.l_scale = 4, scaled.w_scale = 0.5, scaled.d_scale = 1;  // a fit with --normalize
  const std::vector<Case> cases = {
      {law(0.9, 1.5, 0.006, 0.5, 1.0), 2, 0.25, 0.11, 0.15},
      {law(0.9, 1.5, 0.006, 0.5, 1.0), 4, 0.5, 0.10, 0.5},
      {law(0.9, 1.5, 0.006, 0.5, 1.0), 1, 0.0625, 0.12, 0.14},
      {law(0.85, 0.3, 1e-3, 1.2, 0.7), 16, 2, 0.05, 0.08},    // small gamma: K^(2/gamma) = 17^6.7
      {law(0.9, 6.0, 0.02, -0.3, 1.5), 10, 0.125, 0.2, 0.6},  // a steep law, a negative depth exponent
      {scaled, 2, 0.25, 0.11, 0.15},
  };
  for (const auto& c : cases) {
    const Density d = density_for(c.law, c.depth, c.width, c.eps_np, c.bound);
    ASSERT_EQ(d.kind, Density::pruned) << c.depth << " " << c.width;
    const auto [above, below] = brute_force_density(c.law, c.depth, c.width, c.eps_np, c.bound);
    // d_k lies between the last grid density that misses the bound and the first that meets it.
    EXPECT_LE(d.value, above * (1 + 1e-12)) << c.depth << " " << c.width;
    EXPECT_GT(d.value, below * (1 - 1e-12)) << c.depth << " " << c.width;
    EXPECT_NEAR(c.law.error(d.value, c.depth, c.width, c.eps_np), c.bound, 1e-9 * c.bound);
  }
}

TEST(DesignClosedForm, InfeasibleBoundsSayWhichWay) {
  const JointLaw l = law(0.9, 1.5, 0.006, 0.5, 1.0);
  // eps_np at or above the bound: no density helps.
  EXPECT_EQ(density_for(l, 2, 0.25, 0.11, 0.11).kind, Density::unreachable);
  EXPECT_EQ(density_for(l, 2, 0.25, 0.11, 0.10).kind, Density::unreachable);
  EXPECT_EQ(density_for(l, 2, 0.25, NAN, 0.2).kind, Density::unreachable);
  // At or above the high-error plateau: every density meets it, the law names none.
  EXPECT_EQ(density_for(l, 2, 0.25, 0.11, 0.9).kind, Density::unbounded);
  EXPECT_EQ(density_for(l, 2, 0.25, 0.11, 0.95).kind, Density::unbounded);
  EXPECT_FALSE(density_for(l, 2, 0.25, 0.11, 0.95).feasible());
  // A bound just above eps_np: the law reaches it only beyond density 1 (d_k = 2.2 here; its error at
  // density 1 is 0.10005, a hair above eps_np). The dense network, measured below it, is the answer.
  const Density dense = density_for(l, 4, 0.5, 0.1, 0.10001);
  EXPECT_EQ(dense.kind, Density::dense);
  EXPECT_EQ(dense.value, 1.0);
  EXPECT_TRUE(dense.feasible());
  EXPECT_GE(l.error(1.0, 4, 0.5, 0.1), 0.10001);
  EXPECT_LE(l.error(2.2, 4, 0.5, 0.1), 0.10001);
}

// A pruning sweep of 4 widths x 3 depths, and rows as sweep_measurements gives them: level 0 of every
// cell (eps_np falling with width) and, for the measured answer, every level of the widest networks.
struct SweepRows {
  SweepSpec spec = parse_spec(
      "name: d\ndataset: fashion-mnist\nmodel: mlp\nfixed: {epochs: 2, batch_size: 128}\n"
      "grid:\n  width: [0.0625, 0.125, 0.25, 0.5]\n  depth: [1, 2, 4]\n  data_fraction: [0.25, 1]\n  seed: [1, 2]\n"
      "prune: {levels: 12}\n",
      "d.yaml");
  JointLaw truth = law(0.9, 1.5, 0.006, 0.5, 1.0);
  Table rows{{"role", "in_fit", "width", "depth", "data_fraction", "level", "density", "remaining_weights",
              "remaining_params", "params", "samples", "seeds", "test_error", "test_error_std", "eps_np"}};

  static double eps_np_of(double width, double fraction) { return (0.12 - 0.004 * std::log2(width / 0.0625)) * (fraction < 1 ? 1.2 : 1); }

  SweepRows() {
    for (const auto& run : expand(spec)) {
      if (run.hparams.text("seed") != "1") continue;
      const double w = run.hparams.number("width"), l = run.hparams.number("depth");
      const double fraction = run.hparams.number("data_fraction"), eps_np = eps_np_of(w, fraction);
      for (int level = 0; level <= 12; ++level) {
        const double kept = std::round(std::pow(0.8, level) * run.prunable), d = kept / run.prunable;
        const double error = level == 0 ? eps_np : truth.error(d, l, w, eps_np);
        rows.add_row({"held_out", "0", run.hparams.text("width"), run.hparams.text("depth"), run.hparams.text("data_fraction"),
                      std::to_string(level), format_number(d), format_number(kept),
                      format_number(kept + run.params - run.prunable), format_number(run.params), "1", "2",
                      format_number(error), "0", format_number(eps_np)});
      }
    }
  }
  fit::FitResult joint(int samples = 0) const {
    fit::FitResult f;
    f.law = "pruning2021_joint";
    f.input_names = {"d", "l", "w"};
    f.input_columns = {"density", "depth", "width"};
    f.input_scales = {1, 1, 1};
    f.target = "test_error";
    const std::vector<double> values = {truth.eps_up, truth.gamma, truth.p, truth.phi, truth.psi};
    for (std::size_t k = 0; k < values.size(); ++k) f.parameters.push_back({std::string(1, "egppp"[k]), values[k]});
    // Bootstrap samples spread around the truth: p and psi by -+2% .. +2%.
    for (int s = 0; s < samples; ++s) {
      const double t = -0.02 + 0.04 * s / std::max(1, samples - 1);
      f.bootstrap_samples.push_back({truth.eps_up, truth.gamma, truth.p * (1 + t), truth.phi, truth.psi * (1 - t)});
    }
    return f;
  }
};

TEST(Design, TheBestCandidateIsTheBruteForceMinimumOverTheSweepsNetworks) {
  SweepRows sweep;
  for (double bound : {0.15, 0.2, 0.3}) {
    const Design d = design(sweep.rows, sweep.spec, sweep.joint(21), {.max_error = bound});
    EXPECT_EQ(d.data_axis, "data_fraction");
    EXPECT_EQ(d.data_size, "1");  // the largest, by default
    ASSERT_EQ(d.candidates.size(), 12u);
    ASSERT_NE(d.best(), nullptr);
    // Brute force: every candidate network at every density of the fine grid.
    double fewest = INFINITY;
    std::string where;
    for (const auto& run : expand(sweep.spec)) {
      if (run.hparams.text("seed") != "1" || run.hparams.text("data_fraction") != "1") continue;
      const double w = run.hparams.number("width"), l = run.hparams.number("depth");
      const double above = brute_force_density(sweep.truth, l, w, SweepRows::eps_np_of(w, 1), bound).first;
      const double remaining = run.prunable * std::min(1.0, above) + run.params - run.prunable;
      if (remaining < fewest) fewest = remaining, where = run.cell;
    }
    EXPECT_EQ(d.best()->cell, where) << bound;
    EXPECT_NEAR(d.best()->remaining, fewest, 2e-4 * fewest) << bound;
    EXPECT_NEAR(d.best()->predicted, bound, 1e-9);
    // Sorted: fewest remaining parameters first.
    for (std::size_t i = 1; i < d.candidates.size(); ++i) EXPECT_LE(d.candidates[i - 1].remaining, d.candidates[i].remaining);
    // The interval over the bootstrap samples holds the point answer.
    ASSERT_TRUE(d.best()->remaining_interval);
    EXPECT_EQ(d.best()->samples, 21);
    EXPECT_LT(d.best()->remaining_interval->p05, d.best()->remaining);
    EXPECT_GT(d.best()->remaining_interval->p95, d.best()->remaining);
  }
}

TEST(Design, TheMeasuredAnswerIsTheSmallestMeasuredPointWithinTheBound) {
  SweepRows sweep;
  const Design d = design(sweep.rows, sweep.spec, sweep.joint(), {.max_error = 0.2, .data_size = "0.25"});
  EXPECT_EQ(d.data_size, "0.25");
  ASSERT_TRUE(d.measured);
  double fewest = INFINITY;
  for (std::size_t row = 0; row < sweep.rows.rows(); ++row)
    if (sweep.rows.at(row, "data_fraction") == "0.25" && sweep.rows.number(row, sweep.rows.column("test_error")) <= 0.2)
      fewest = std::min(fewest, sweep.rows.number(row, sweep.rows.column("remaining_params")));
  EXPECT_EQ(d.measured->remaining, fewest);
  EXPECT_LE(d.measured->error, 0.2);
  // The law the rows follow predicts fewer parameters than any level reaches (levels are discrete).
  EXPECT_LT(d.best()->remaining, d.measured->remaining);
  EXPECT_GT(d.best()->remaining, 0.7 * d.measured->remaining);
}

TEST(Design, InfeasibleCandidatesAreFlaggedWithWhy) {
  SweepRows sweep;
  // Every eps_np at 1/4 of the data is 0.1296 or more: a bound of 0.125 is out of reach for all.
  const Design none = design(sweep.rows, sweep.spec, sweep.joint(), {.max_error = 0.125, .data_size = "0.25"});
  EXPECT_EQ(none.best(), nullptr);
  for (const auto& c : none.candidates) {
    EXPECT_FALSE(c.density.feasible());
    EXPECT_NE(c.why.find("is not below the bound"), std::string::npos) << c.why;
  }
  // On all the data (eps_np 0.108 .. 0.12) the two widest reach 0.115: they come first, the rest flagged.
  const Design some = design(sweep.rows, sweep.spec, sweep.joint(), {.max_error = 0.115});
  ASSERT_NE(some.best(), nullptr);
  ASSERT_EQ(some.candidates.size(), 12u);
  for (std::size_t i = 0; i < some.candidates.size(); ++i) {
    EXPECT_EQ(some.candidates[i].density.feasible(), i < 6) << some.candidates[i].cell;
    EXPECT_EQ(some.candidates[i].why.empty(), i < 6) << some.candidates[i].cell;
  }
  const Design plateau = design(sweep.rows, sweep.spec, sweep.joint(), {.max_error = 0.95});
  EXPECT_EQ(plateau.best(), nullptr);
  EXPECT_NE(plateau.candidates[0].why.find("high-error plateau"), std::string::npos) << plateau.candidates[0].why;
}

TEST(Design, BadRequestsNameTheirField) {
  SweepRows sweep;
  auto field_of = [&](const fit::FitResult& joint, const DesignOptions& options) {
    try {
      design(sweep.rows, sweep.spec, joint, options);
    } catch (const InputError& e) {
      return e.source();
    }
    return std::string("<accepted>");
  };
  EXPECT_EQ(field_of(sweep.joint(), {.max_error = 0}), "max_error");
  EXPECT_EQ(field_of(sweep.joint(), {.max_error = NAN}), "max_error");
  EXPECT_EQ(field_of(sweep.joint(), {.max_error = 0.2, .data_size = "0.3"}), "data_fraction");
  EXPECT_EQ(field_of(sweep.joint(), {.max_error = 0.2, .data_size = "0.250"}), "<accepted>");  // as the grid's 0.25
  fit::FitResult other = sweep.joint();
  other.law = "pruning2021";
  EXPECT_EQ(field_of(other, {.max_error = 0.2}), "fit");
}

// The verification sweep: the best network's configuration, the sweep's seeds, and levels to two past
// its density: 0.8^8 = 0.168 is the first level at or below 0.17, so 10 levels.
TEST(Design, TheVerificationSpecPrunesTheBestNetworkTwoLevelsPastItsDensity) {
  SweepRows sweep;
  Design d = design(sweep.rows, sweep.spec, sweep.joint(), {.max_error = 0.2});
  d.candidates[0].density.value = 0.17;
  EXPECT_EQ(verify_levels(sweep.spec, d), 10);
  d.candidates[0].density.value = std::pow(0.8, 5);  // exactly level 5
  EXPECT_EQ(verify_levels(sweep.spec, d), 7);
  d.candidates[0].density = {Density::dense, 1.0};
  EXPECT_EQ(verify_levels(sweep.spec, d), 2);
  d.candidates[0].density.value = 0.17;
  const SweepSpec verify = parse_spec(verify_spec_yaml(sweep.spec, d), "verify.yaml");
  EXPECT_EQ(verify.fixed.text("prune_levels"), "10");
  EXPECT_EQ(verify.fixed.text("prune_rate"), "0.2");
  const auto runs = expand(verify);
  ASSERT_EQ(runs.size(), 2u);  // the sweep's seeds
  EXPECT_EQ(runs[0].hparams.text("seed"), "1");
  EXPECT_EQ(runs[1].hparams.text("seed"), "2");
  const std::string best = d.best()->cell;
  for (const char* key : {"width", "depth", "data_fraction"})
    EXPECT_NE(best.find(std::string(key) + "=" + runs[0].hparams.text(key)), std::string::npos) << key << " " << best;
}

}  // namespace
}  // namespace scalelab::prune
