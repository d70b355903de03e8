// The fitter on data generated from known parameters: recovery, extrapolation, intervals, start
// statistics, determinism, input errors and the JSON round trip.
#include <cmath>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fit/fit.h"
#include "laws/laws.h"
#include "synthetic.h"

namespace scalelab::fit {
namespace {

using testing::geometric;
using testing::grid;
using testing::Synthetic;
using testing::synthetic_table;

double param(const FitResult& r, const std::string& name) {
  for (const auto& p : r.parameters)
    if (p.name == name) return p.value;
  ADD_FAILURE() << "no parameter " << name;
  return NAN;
}

void expect_relative(const FitResult& r, const std::string& name, double truth, double tolerance) {
  EXPECT_NEAR(param(r, name), truth, tolerance * std::abs(truth)) << r.law << "." << name;
}

// ----------------------------------------------------------------------------------------------
// rosenfeld2020 on the paper's 6x6 layout: data and model as fractions 2^-5 .. 1, near CIFAR-10's
// reported parameters (science.md), with c_inf raised to 0.05 so the floor is visible in the data.
const std::vector<double> kRosenfeld = {0.66, 0.0587, 0.53, 0.05, 19.77};  // alpha, b, beta, c_inf, eta

Table rosenfeld_table(double noise, double data_scale = 1, double model_scale = 1) {
  Synthetic s;
  s.input_columns = {"samples", "params"};
  s.inputs = grid({geometric(1.0 / 32, 2, 6), geometric(1.0 / 32, 2, 6)});
  s.noise = noise;
  Table table = synthetic_table(*laws::find("rosenfeld2020"), kRosenfeld, s, {0.9});
  if (data_scale == 1 && model_scale == 1) return table;
  // The same errors at raw counts: m in samples, n in parameters.
  Table raw({"samples", "params", "y"}, "raw.csv");
  for (std::size_t r = 0; r < table.rows(); ++r)
    raw.add_row({format_number(table.number(r, 0) * data_scale), format_number(table.number(r, 1) * model_scale),
                 table.at(r, 2)},
                table.line_of(r));
  return raw;
}

FitOptions rosenfeld_options() {
  FitOptions o;
  o.law = "rosenfeld2020";
  o.inputs = {{"m", "samples"}, {"n", "params"}};
  o.target = "y";
  o.givens = {{"eps0", Given::constant(0.9)}};
  return o;
}

TEST(Rosenfeld2020, RecoversEveryParameterFromNoiselessData) {
  FitResult r = fit_table(rosenfeld_table(0), rosenfeld_options());
  // Noiseless and identifiable (a = 1): the optimum is the truth, up to the solver's tolerances.
  for (std::size_t k = 0; k < kRosenfeld.size(); ++k)
    expect_relative(r, r.parameters[k].name, kRosenfeld[k], 1e-5);
  EXPECT_LT(r.fitted.max_abs, 1e-7);
  EXPECT_EQ(r.fitted.count, 36);
  EXPECT_EQ(r.held_out.count, 0);
  // The landscape has local minima (objectives 2e-4, 0.07, 10.8, ...) and plateaus where the
  // envelope saturates at eps0 or collapses to 0; 14 of these 64 starts found the optimum.
  EXPECT_GE(r.starts_at_best, 8);
}

// Sum of squared divergences of `params` on the table: what the fitter minimises.
double divergence_objective(const Table& table, const std::vector<double>& params) {
  double sum = 0, eps0 = 0.9;
  for (std::size_t row = 0; row < table.rows(); ++row) {
    double x[] = {table.number(row, 0), table.number(row, 1)};
    double y = table.number(row, 2);
    double d = (laws::find("rosenfeld2020")->evaluate(params.data(), x, &eps0) - y) / y;
    sum += d * d;
  }
  return sum;
}

TEST(Rosenfeld2020, FindsAtLeastTheTruthsObjectiveAndItsExponentsUnderTwoPercentNoise) {
  // A stronger model term than CIFAR-10's (b = 0.5, not 0.0587): with the paper's b, the model term
  // is at most 0.38 against a data term up to 9.8, and under 2% noise beta trades off against b and
  // c_inf (a fit then lands at beta 0.70 with a *lower* objective than the truth's).
  std::vector<double> truth = kRosenfeld;
  truth[1] = 0.5;
  Synthetic s;
  s.input_columns = {"samples", "params"};
  s.inputs = grid({geometric(1.0 / 32, 2, 6), geometric(1.0 / 32, 2, 6)});
  s.noise = 0.02;
  Table table = synthetic_table(*laws::find("rosenfeld2020"), truth, s, {0.9});
  FitResult r = fit_table(table, rosenfeld_options());
  // The fitter is not the limit: its optimum is at least as good as the generating parameters.
  EXPECT_LE(r.objective, divergence_objective(table, truth));
  // Exponents came back within 9% over two noise draws (seeds 7, 8: alpha 0.630/0.682, beta
  // 0.577/0.563); 15% still fails when an exponent is lost or the two are swapped.
  expect_relative(r, "alpha", 0.66, 0.15);
  expect_relative(r, "beta", 0.53, 0.15);
  EXPECT_LT(r.fitted.std, 0.025);  // explains the data to about the noise
}

TEST(Rosenfeld2020, RawCountsWithNormalizeGiveThePaperUnitsParameters) {
  FitOptions o = rosenfeld_options();
  o.normalize = true;
  FitResult r = fit_table(rosenfeld_table(0, 50000, 1.2e6), o);
  ASSERT_EQ(r.input_scales.size(), 2u);
  EXPECT_DOUBLE_EQ(r.input_scales[0], 50000);
  EXPECT_DOUBLE_EQ(r.input_scales[1], 1.2e6);
  for (std::size_t k = 0; k < kRosenfeld.size(); ++k) expect_relative(r, r.parameters[k].name, kRosenfeld[k], 1e-5);
  // predict takes raw counts and applies the recorded scales.
  EXPECT_NEAR(predict(r, {{"m", 50000}, {"n", 1.2e6}}).value, r.points.back().measured, 1e-9);
}

TEST(Rosenfeld2020, RawCountsWithoutNormalizeFitEquallyWell) {
  // a = 1 in raw units is a different b, c_inf, eta, but the same predictions.
  FitResult r = fit_table(rosenfeld_table(0, 50000, 1.2e6), rosenfeld_options());
  expect_relative(r, "alpha", 0.66, 1e-4);
  expect_relative(r, "beta", 0.53, 1e-4);
  EXPECT_LT(r.fitted.max_abs, 1e-6);
}

TEST(Extrapolation, FitsSmallCellsAndReportsHeldOutLargeCellsSeparately) {
  FitOptions o = rosenfeld_options();
  o.fit_where = "m <= 0.25 && params <= 0.25";  // law input name and column name both work
  FitResult r = fit_table(rosenfeld_table(0), o);
  EXPECT_EQ(r.fitted.count, 16);  // 4 x 4 small cells
  EXPECT_EQ(r.held_out.count, 20);
  int held = 0;
  for (const auto& p : r.points) held += !p.fitted;
  EXPECT_EQ(held, 20);
  // Noiseless: the law is exact, so the extrapolation is too.
  EXPECT_LT(r.held_out.max_abs, 1e-5);
}

TEST(Extrapolation, NoisyFitPredictsLargeCellsWithinAFewPercent) {
  FitOptions o = rosenfeld_options();
  o.fit_where = "m <= 0.25 && n <= 0.25";
  o.bootstrap = 50;
  FitResult r = fit_table(rosenfeld_table(0.01), o);
  // 1% noise on 16 cells, extrapolating up to 4x in m and n: errors of a few percent are the
  // paper's own extrapolation quality (mean 4.5%); 10% max would mean a broken fit.
  EXPECT_LT(r.held_out.max_abs, 0.10);
  ASSERT_EQ(r.bootstrap_samples.size(), 50u);
  // Held-out intervals widen with distance from the fitted cells.
  const PointResult* nearest = nullptr;
  const PointResult* farthest = nullptr;
  for (const auto& p : r.points) {
    ASSERT_TRUE(p.interval);
    EXPECT_LE(p.interval->p05, p.interval->p95);
    if (p.inputs[0] == 0.5 && p.inputs[1] == 0.25) nearest = &p;
    if (p.inputs[0] == 1 && p.inputs[1] == 1) farthest = &p;
  }
  ASSERT_TRUE(nearest && farthest);
  auto width = [](const PointResult* p) { return (p->interval->p95 - p->interval->p05) / p->interval->p50; };
  EXPECT_GT(width(farthest), width(nearest));
}

// ----------------------------------------------------------------------------------------------
// Every other law recovers its parameters from noiseless data, and its exponents from noisy data.

struct Case {
  std::string law;
  std::vector<double> truth;
  Synthetic data;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::map<std::string, Given> givens;
  std::vector<double> constant_givens;
};

Case pruning_case() {
  Case c{"pruning2021", {0.9, 1.5, 2e-3}, {}, {{"d", "density"}}, {{"eps_np", Given::from_column("unpruned")}}, {}};
  c.data.input_columns = {"density"};
  c.data.given_columns = {"unpruned"};
  c.data.inputs = grid({geometric(1, 0.8, 41)});  // the paper's densities 0.8^i, i <= 40
  c.data.givens.assign(41, {0.08});
  return c;
}

Case pruning_joint_case() {
  Case c{"pruning2021_joint", {0.9, 1.5, 0.05, 0.8, 1.2}, {}, {{"d", "density"}, {"l", "depth"}, {"w", "width"}},
         {{"eps_np", Given::from_column("unpruned")}}, {}};
  c.data.input_columns = {"density", "depth", "width"};
  c.data.given_columns = {"unpruned"};
  c.data.inputs = grid({geometric(1, std::pow(0.8, 3), 12), {8, 14, 20, 32}, {0.25, 0.5, 1, 2}});
  for (const auto& x : c.data.inputs) c.data.givens.push_back({0.3 * std::pow(x[1] * x[2] * x[2], -0.3) + 0.04});
  return c;
}

Case powerlaw_case() {
  Case c{"powerlaw", {2.0, 0.45, 0.05}, {}, {{"x", "size"}}, {}, {}};
  c.data.input_columns = {"size"};
  c.data.inputs = grid({geometric(100, 2, 12)});
  return c;
}

Case kaplan_case() {
  Case c{"kaplan2020", {8.8e13, 0.076, 5.4e13, 0.095}, {}, {{"N", "params"}, {"D", "tokens"}}, {}, {}};
  c.data.input_columns = {"params", "tokens"};
  c.data.inputs = grid({geometric(1e6, 4, 7), geometric(1e8, 4, 7)});
  return c;
}

Case chinchilla_case() {
  Case c{"chinchilla", {1.69, 406.4, 0.34, 410.7, 0.28}, {}, {{"N", "params"}, {"D", "tokens"}}, {}, {}};
  c.data.input_columns = {"params", "tokens"};
  c.data.inputs = grid({geometric(7e7, 2, 8), geometric(1e9, 2, 8)});
  return c;
}

Case m4_case() {
  Case c{"m4", {0.05, 0.7, 3.0, -0.5}, {}, {{"x", "size"}}, {{"eps0", Given::constant(0.9)}}, {0.9}};
  c.data.input_columns = {"size"};
  c.data.inputs = grid({geometric(1, 2, 20)});
  return c;
}

FitResult fit_case(const Case& c, double noise, int starts = 64) {
  Synthetic data = c.data;
  data.noise = noise;
  FitOptions o;
  o.law = c.law;
  o.inputs = c.inputs;
  o.target = "y";
  o.givens = c.givens;
  o.starts = starts;
  return fit_table(synthetic_table(*laws::find(c.law), c.truth, data, c.constant_givens), o);
}

class EveryLaw : public ::testing::TestWithParam<Case> {};

TEST_P(EveryLaw, RecoversEveryParameterFromNoiselessData) {
  const Case& c = GetParam();
  FitResult r = fit_case(c, 0);
  // All of these parametrisations are identifiable on the chosen grids, so noiseless data pins
  // every parameter; 1e-3 allows for the solver's stopping tolerances on flat directions (Kaplan's
  // N_c enters only through (N_c/N)^(alpha_N/alpha_D), a shallow direction).
  for (std::size_t k = 0; k < c.truth.size(); ++k) expect_relative(r, r.parameters[k].name, c.truth[k], 1e-3);
  EXPECT_LT(r.fitted.max_abs, 1e-6) << c.law;
  EXPECT_GE(r.starts_at_best, 2) << c.law;
  // Every law's result passes from_json's checks and reads back unchanged.
  EXPECT_EQ(to_json(from_json(to_json(r), c.law + ".json")), to_json(r)) << c.law;
}

INSTANTIATE_TEST_SUITE_P(Laws, EveryLaw,
                         ::testing::Values(pruning_case(), pruning_joint_case(), powerlaw_case(), kaplan_case(),
                                           chinchilla_case(), m4_case()),
                         [](const auto& info) { return info.param.law; });

TEST(Noise, OneToThreePercentNoiseLeavesExponentsClose) {
  // Exponents carry the science; with 3% noise they come back within 10% on these grids (the data
  // span 2-4 decades). Coefficients trade off with exponents and are not checked.
  FitResult pruning = fit_case(pruning_case(), 0.03);
  expect_relative(pruning, "gamma", 1.5, 0.10);
  expect_relative(pruning, "eps_up", 0.9, 0.10);
  FitResult joint = fit_case(pruning_joint_case(), 0.03);
  expect_relative(joint, "gamma", 1.5, 0.10);
  expect_relative(joint, "phi", 0.8, 0.10);
  expect_relative(joint, "psi", 1.2, 0.10);
  FitResult chinchilla = fit_case(chinchilla_case(), 0.01);
  // 1% noise on losses near E = 1.69 hides most of the power-law terms at the largest sizes;
  // exponents within 25% is what 64 points over 2 decades support.
  expect_relative(chinchilla, "alpha", 0.34, 0.25);
  expect_relative(chinchilla, "beta", 0.28, 0.25);
  FitResult power = fit_case(powerlaw_case(), 0.02);
  expect_relative(power, "alpha", 0.45, 0.10);
  // Kaplan's exponents are small (0.076, 0.095): 1% noise moves them by ~1-4% here (0.0770,
  // 0.0987); 10% keeps them apart from each other.
  FitResult kaplan = fit_case(kaplan_case(), 0.01);
  expect_relative(kaplan, "alpha_N", 0.076, 0.10);
  expect_relative(kaplan, "alpha_D", 0.095, 0.10);
  // M4 over 20 doublings with 2% noise: c came back at -0.486 (3%), eps_inf at 0.0497.
  FitResult m4 = fit_case(m4_case(), 0.02);
  expect_relative(m4, "c", -0.5, 0.10);
  expect_relative(m4, "eps_inf", 0.05, 0.10);
}

TEST(GivenFromFit, PruningLawTakesEpsNpFromAFittedRosenfeldLaw) {
  // Unpruned errors on the 6x6 grid -> rosenfeld2020; pruned errors of three (m, n) cells over
  // densities 0.8^i -> pruning2021 with eps_np predicted per row by that fit (no unpruned run of
  // those exact cells is needed). Noiseless: both fits are exact, so the pruning parameters come
  // back to the inner fit's precision (1e-7), checked at 1e-4.
  FitResult unpruned = fit_table(rosenfeld_table(0), rosenfeld_options());
  const std::vector<double> pruning = {0.85, 1.5, 2e-3};  // eps_up, gamma, p
  Table t({"samples", "params", "density", "y"}, "pruned.csv");
  const double eps0 = 0.9;
  for (auto [m, n] : {std::pair{1.0, 1.0}, {0.25, 0.5}, {0.0625, 0.125}})
    for (int i = 0; i <= 40; i += 2) {
      double mn[] = {m, n}, d[] = {std::pow(0.8, i)};
      double eps_np = laws::find("rosenfeld2020")->evaluate(kRosenfeld.data(), mn, &eps0);
      double y = laws::find("pruning2021")->evaluate(pruning.data(), d, &eps_np);
      t.add_row({format_number(m), format_number(n), format_number(d[0]), format_number(y)}, 0);
    }
  FitOptions o;
  o.law = "pruning2021";
  o.inputs = {{"d", "density"}};
  o.target = "y";
  o.givens = {{"eps_np", Given::from_fit(std::make_shared<FitResult>(unpruned))}};
  FitResult r = fit_table(t, o);
  for (std::size_t k = 0; k < pruning.size(); ++k) expect_relative(r, r.parameters[k].name, pruning[k], 1e-4);

  // Saved and reloaded, the fit predicts a new cell from (d, m, n) alone.
  FitResult back = from_json(to_json(r), "pruned.json");
  double mn[] = {0.5, 2.0}, d[] = {0.01};
  double eps_np = laws::find("rosenfeld2020")->evaluate(kRosenfeld.data(), mn, &eps0);
  double expected = laws::find("pruning2021")->evaluate(pruning.data(), d, &eps_np);
  EXPECT_NEAR(predict(back, {{"d", 0.01}, {"samples", 0.5}, {"params", 2.0}}).value, expected, 1e-4 * expected);
  EXPECT_THROW(predict(back, {{"d", 0.01}, {"samples", 0.5}}), InputError);  // n is needed for eps_np
}

// Issue 17: eps_np from a rosenfeld2020 fit of the unpruned networks. Each bootstrap resample of the
// joint pruning fit takes one bootstrap sample of that inner fit, so the joint intervals carry the
// inner fit's uncertainty: the noisier the unpruned errors it was fitted on, the wider they are.
struct JointOnInnerFit {
  // Pruned errors of 3 depths x 3 widths (n = depth x width^2 / 4 as a model-size fraction, m = 1/2)
  // at densities 0.8^i, from pruning2021_joint with eps_np the true rosenfeld2020 error, 0.5% noise.
  static Table pruned() {
    const std::vector<double> joint = {0.85, 1.5, 2e-3, 0.5, 1.0};  // eps_up, gamma, p, phi, psi
    Table t({"samples", "params", "density", "depth", "width", "y"}, "pruned.csv");
    std::mt19937 engine(3);
    std::normal_distribution<double> normal(0.0, 0.005);
    const double eps0 = 0.9;
    for (double l : {1.0, 2.0, 4.0})
      for (double w : {0.25, 0.5, 1.0})
        for (int i = 0; i <= 30; i += 3) {
          const double m = 0.5, n = l * w * w / 4, d = std::pow(0.8, i);
          double mn[] = {m, n}, x[] = {d, l, w};
          double eps_np = laws::find("rosenfeld2020")->evaluate(kRosenfeld.data(), mn, &eps0);
          double y = laws::find("pruning2021_joint")->evaluate(joint.data(), x, &eps_np) * (1 + normal(engine));
          t.add_row({format_number(m), format_number(n), format_number(d), format_number(l), format_number(w),
                     format_number(y)});
        }
    return t;
  }
  static FitResult fit(const FitResult& inner, bool resample) {
    FitOptions o;
    o.law = "pruning2021_joint";
    o.inputs = {{"d", "density"}, {"l", "depth"}, {"w", "width"}};
    o.target = "y";
    o.givens = {{"eps_np", Given::from_fit(std::make_shared<FitResult>(inner))}};
    o.bootstrap = 40;
    o.resample_given_fits = resample;
    return fit_table(pruned(), o);
  }
  static FitResult inner(double noise) {
    FitOptions o = rosenfeld_options();
    o.bootstrap = 40;
    return fit_table(rosenfeld_table(noise), o);
  }
  static double width(const std::optional<Interval>& i) { return i->p95 - i->p05; }
};

TEST(GivenFromFit, TheJointBootstrapResamplesTheInnerFitAndWidensWithItsNoise) {
  const FitResult clean = JointOnInnerFit::inner(0.002), noisy = JointOnInnerFit::inner(0.05);
  const FitResult with_clean = JointOnInnerFit::fit(clean, true);
  const FitResult with_noisy = JointOnInnerFit::fit(noisy, true);
  const FitResult noisy_fixed = JointOnInnerFit::fit(noisy, false);
  ASSERT_EQ(with_noisy.bootstrap_samples.size(), 40u);
  // Resample b took the inner fit's sample b; without resampling, none is recorded.
  ASSERT_EQ(with_noisy.given_fit_samples.size(), 40u);
  for (int b = 0; b < 40; ++b) EXPECT_EQ(with_noisy.given_fit_samples[b], b);
  EXPECT_TRUE(noisy_fixed.given_fit_samples.empty());

  // The unpruned plateau (density 1) is eps_np itself: its interval is the inner fit's, widest with
  // the noisy inner fit, narrow with the clean one, and narrowest when the inner fit is held fixed.
  const auto& dense = with_noisy.points.front();
  ASSERT_EQ(dense.inputs[0], 1.0);
  const double noisy_width = JointOnInnerFit::width(dense.interval);
  const double clean_width = JointOnInnerFit::width(with_clean.points.front().interval);
  const double fixed_width = JointOnInnerFit::width(noisy_fixed.points.front().interval);
  EXPECT_GT(noisy_width, 5 * clean_width) << noisy_width << " " << clean_width;
  EXPECT_GT(noisy_width, 5 * fixed_width) << noisy_width << " " << fixed_width;
  // The global constants' intervals widen too: the plateau eps_up and the slope gamma.
  for (const char* name : {"eps_up", "gamma"}) {
    auto interval = [&](const FitResult& r) {
      for (const auto& p : r.parameters)
        if (p.name == name) return JointOnInnerFit::width(p.interval);
      return 0.0;
    };
    EXPECT_GT(interval(with_noisy), interval(with_clean)) << name;
    EXPECT_GT(interval(with_noisy), interval(noisy_fixed)) << name;
  }

  // Saved and read back, predict pairs each sample with the inner sample it was fitted with: the
  // same interval as the fit's own point.
  FitResult back = from_json(to_json(with_noisy), "joint.json");
  EXPECT_EQ(back.given_fit_samples, with_noisy.given_fit_samples);
  auto prediction = predict(back, {{"d", 1.0}, {"l", 1.0}, {"w", 0.25}, {"samples", 0.5}, {"params", 0.25 * 0.25 / 4}});
  ASSERT_TRUE(prediction.interval);
  EXPECT_NEAR(prediction.interval->p05, dense.interval->p05, 1e-12);
  EXPECT_NEAR(prediction.interval->p95, dense.interval->p95, 1e-12);
  EXPECT_NE(format_report(with_noisy).find("each bootstrap fit takes one of its 40 bootstrap samples"), std::string::npos);
}

// ----------------------------------------------------------------------------------------------
// Broken neural scaling law, noiseless simulation from Caballero et al. (science.md section 5).
const std::vector<double> kBnsl = {0.41388, 2.27727, 0.055077, 5.66290, 612.584, 0.059193};

FitResult fit_bnsl_below(double limit, std::uint64_t seed, int bootstrap = 0) {
  Synthetic s;
  s.input_columns = {"x"};
  for (int x = 1; x <= 4095; ++x) s.inputs.push_back({static_cast<double>(x)});
  FitOptions o;
  o.law = "bnsl";
  o.inputs = {{"x", "x"}};
  o.target = "y";
  o.fit_where = "x < " + std::to_string(limit);
  o.starts = 100;
  o.seed = seed;
  o.bootstrap = bootstrap;
  return fit_table(synthetic_table(*laws::find("bnsl"), kBnsl, s), o);
}

// What we observed over seeds 1..10, 100 starts each (runs while writing this test):
// - x < 405 and x < 390 alike: 10 of 10 seeds predict x = 4095 within 1%. The limit a, b, c0 and
//   f1 are pinned; far beyond the break the bend term is ~1e-5 of the error.
// - The break itself is not: c1 against d1 is a long, nearly flat valley while x ~ 612 is unseen.
//   The fitter stops in it (objective ~1e-16, where the true parameters give ~1e-29), usually with
//   c1 near its upper bound 20 (true 5.66), and mispredicts the break region 600..1000 by up to
//   43%. Rerun with the cached-Jacobian cost function (same starts): 3 seeds of 10 found the bottom
//   on x < 405 (seeds 1, 5, 8), none on x < 390; x = 4095 within 0.008% for all 20 fits.
// - Warnings: the start statistics flag every one of these fits (2 to 8 of 100 starts reach the
//   best objective, under the 10% threshold); c1 also sits on its bound and is flagged in 5 of the
//   10 fits on x < 390 (seed 7 among them) and 4 of 10 on x < 405. The bootstrap does not warn:
//   resampling noiseless points leaves the fit where it was, so its intervals are narrow and
//   exclude the truth in the break region.
TEST(Bnsl, FittedBelow405ExtrapolatesTo4095WithinOnePercent) {
  FitResult r = fit_bnsl_below(405, 1);
  EXPECT_EQ(r.fitted.count, 404);
  EXPECT_EQ(r.points.back().inputs[0], 4095);
  EXPECT_LT(std::abs(r.points.back().divergence), 0.01);
  EXPECT_LT(r.starts_at_best, 20);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.front().find("starts reached the best objective"), std::string::npos);
}

TEST(Bnsl, FittedBelow390TheBreakIsLostAndTheFitIsFlaggedButNotByTheBootstrap) {
  FitResult r = fit_bnsl_below(390, 7, 20);
  EXPECT_EQ(r.fitted.count, 389);
  EXPECT_LT(std::abs(r.points.back().divergence), 0.01);  // x = 4095 is still right
  EXPECT_GT(r.held_out.max_abs, 0.3);                      // the break region is not
  bool start_warning = false, c1_at_bound = false;
  for (const auto& w : r.warnings) {
    start_warning |= w.find("starts reached the best objective") != std::string::npos;
    c1_at_bound |= w.rfind("c1 = ", 0) == 0 && w.find("sits on its bound") != std::string::npos;
  }
  EXPECT_TRUE(start_warning);
  EXPECT_TRUE(c1_at_bound);
  const PointResult& at_800 = r.points[799];
  ASSERT_EQ(at_800.inputs[0], 800);
  ASSERT_TRUE(at_800.interval);
  EXPECT_GT(std::abs(at_800.divergence), 0.2);
  EXPECT_TRUE(at_800.measured < at_800.interval->p05 || at_800.measured > at_800.interval->p95);
}

// ----------------------------------------------------------------------------------------------
TEST(Determinism, SameSeedSameResultDifferentSeedDifferentResamples) {
  FitOptions o = rosenfeld_options();
  o.bootstrap = 10;
  o.folds = 3;
  Table table = rosenfeld_table(0.02);
  FitResult a = fit_table(table, o), b = fit_table(table, o);
  EXPECT_EQ(to_json(a), to_json(b));
  o.seed = 2;
  FitResult c = fit_table(table, o);
  EXPECT_NE(a.bootstrap_samples, c.bootstrap_samples);
  // The optimum does not depend on the seed, only which starts find it.
  EXPECT_NEAR(a.objective, c.objective, 1e-6 * a.objective);
}

TEST(StartStatistics, CountsStartsThatReachTheBestAndFlagsRareOptima) {
  FitOptions o = rosenfeld_options();
  o.starts = 1;
  FitResult one = fit_table(rosenfeld_table(0), o);
  EXPECT_EQ(one.starts, 1);
  EXPECT_EQ(one.starts_at_best, 1);
  // With the share threshold above 100% every multi-start fit is flagged: the flag is wired to the count.
  o.starts = 16;
  o.start_share_warning = 1.01;
  FitResult flagged = fit_table(rosenfeld_table(0), o);
  ASSERT_FALSE(flagged.warnings.empty());
  EXPECT_NE(flagged.warnings.front().find(std::to_string(flagged.starts_at_best) + " of 16 starts"), std::string::npos)
      << flagged.warnings.front();
}

TEST(CrossValidation, OutOfFoldDivergenceCoversEveryFittedRow) {
  FitOptions o = rosenfeld_options();
  o.folds = 6;
  FitResult r = fit_table(rosenfeld_table(0.02), o);
  ASSERT_TRUE(r.cross_validation);
  EXPECT_EQ(r.cross_validation->count, 36);
  // Out-of-fold errors are larger than in-sample ones (the fit did not see those points).
  EXPECT_GE(r.cross_validation->std, r.fitted.std);
  EXPECT_LT(r.cross_validation->std, 0.05);
}

TEST(HuberLog, ObjectiveIsTheSummedHuberLossOfLogResiduals) {
  Case c = chinchilla_case();
  Synthetic data = c.data;
  data.noise = 0.01;
  FitOptions o;
  o.law = "chinchilla";
  o.inputs = c.inputs;
  o.target = "y";
  FitResult r = fit_table(synthetic_table(*laws::find("chinchilla"), c.truth, data), o);
  EXPECT_EQ(r.loss, Loss::huber_log);  // the law's default
  double sum = 0;
  for (const auto& p : r.points) {
    double e = std::abs(std::log(p.predicted) - std::log(p.measured));
    sum += e <= 1e-3 ? 0.5 * e * e : 1e-3 * (e - 0.5e-3);
  }
  EXPECT_NEAR(r.objective, sum, 1e-9 * sum);
}

// ----------------------------------------------------------------------------------------------
TEST(Json, RoundTripPredictsTheSameWithTheSameInterval) {
  FitOptions o = rosenfeld_options();
  o.bootstrap = 20;
  o.normalize = true;
  FitResult r = fit_table(rosenfeld_table(0.02, 50000, 1.2e6), o);
  FitResult back = from_json(to_json(r), "fit.json");
  EXPECT_EQ(to_json(back), to_json(r));
  std::map<std::string, double> at{{"m", 200000}, {"params", 5e6}};
  Prediction direct = predict(r, at), loaded = predict(back, at);
  EXPECT_DOUBLE_EQ(direct.value, loaded.value);
  ASSERT_TRUE(direct.interval && loaded.interval);
  EXPECT_DOUBLE_EQ(direct.interval->p05, loaded.interval->p05);
  EXPECT_DOUBLE_EQ(direct.interval->p95, loaded.interval->p95);
  EXPECT_LT(direct.interval->p05, direct.value);
  EXPECT_GT(direct.interval->p95, direct.value);
}

// A value at a log-scale bound comes out of exp(log(bound)) a few ulps off: still accepted; a value
// clearly beyond the bound, or bounds wider than the law's, are not.
TEST(Json, BoundsCheckToleratesRoundingButNotTampering) {
  FitResult r = fit_table(rosenfeld_table(0, 50000, 1.2e6), rosenfeld_options());
  auto with = [&](double c_inf, double lower) {
    auto j = nlohmann::json::parse(to_json(r));
    j["parameters"][3]["value"] = c_inf;
    j["parameters"][3]["lower"] = lower;
    return j.dump();
  };
  EXPECT_NO_THROW(from_json(with(1e-12 * (1 - 1e-13), 1e-12), "fit.json"));
  EXPECT_NO_THROW(from_json(with(std::exp(std::log(1e-12)), 1e-12), "fit.json"));
  try {
    from_json(with(0.9e-12, 1e-12), "fit.json");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "fit.json");
    EXPECT_EQ(e.field(), "parameters.c_inf.value");
  }
  try {
    from_json(with(1e-13, 1e-14), "fit.json");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "parameters.c_inf");
  }
}

TEST(Json, RejectsWhatIsNotAFit) {
  EXPECT_THROW(from_json("{", "x.json"), InputError);
  EXPECT_THROW(from_json(R"({"format": "other"})", "x.json"), InputError);
  EXPECT_THROW(from_json(R"({"format": "scalelab-fit/1", "law": "rosenfeld2020"})", "x.json"), InputError);
}

// ----------------------------------------------------------------------------------------------
// Bad input: InputError naming where.
void expect_input_error(const Table& table, const FitOptions& o, const std::string& needle, int line = -1) {
  try {
    fit_table(table, o);
    ADD_FAILURE() << "no InputError; expected one mentioning " << needle;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    if (line >= 0) EXPECT_EQ(e.line(), line) << e.what();
  }
}

Table small_table(const std::vector<std::array<std::string, 3>>& rows) {
  Table t({"samples", "params", "y"}, "runs.csv");
  int line = 2;
  for (const auto& r : rows) t.add_row({r[0], r[1], r[2]}, line++);
  return t;
}

TEST(InputErrors, NameTheColumnAndLine) {
  FitOptions o = rosenfeld_options();
  std::vector<std::array<std::string, 3>> good;
  for (int i = 0; i < 6; ++i) good.push_back({std::to_string(1000 << i), std::to_string(5000 << i), "0.3"});

  auto bad = good;
  bad[2][0] = "-5";
  expect_input_error(small_table(bad), o, "must be positive", 4);
  bad = good;
  bad[3][1] = "0";
  expect_input_error(small_table(bad), o, "'params'", 5);
  bad = good;
  bad[1][2] = "nan";
  expect_input_error(small_table(bad), o, "measured error is nan", 3);
  bad = good;
  bad[4][2] = "0.95";
  expect_input_error(small_table(bad), o, "above eps0", 6);
  bad = good;
  bad[0][2] = "0";
  expect_input_error(small_table(bad), o, "must be positive", 2);

  expect_input_error(small_table({good.begin(), good.begin() + 4}), o, "4 rows to fit, but law rosenfeld2020 has 5");
  FitOptions where = o;
  where.fit_where = "m < 3000";
  expect_input_error(small_table(good), where, "2 rows to fit");
  where.fit_where = "size < 3000";
  expect_input_error(small_table(good), where, "size");

  FitOptions wrong = o;
  wrong.law = "rosenfeld";
  expect_input_error(small_table(good), wrong, "unknown law");
  wrong = o;
  wrong.target = "error";
  expect_input_error(small_table(good), wrong, "no such column");
  wrong = o;
  wrong.givens.clear();
  expect_input_error(small_table(good), wrong, "needs 'eps0'");
  wrong = o;
  wrong.inputs.pop_back();
  expect_input_error(small_table(good), wrong, "needs input 'n'");
  wrong = o;
  wrong.inputs.push_back({"d", "samples"});
  expect_input_error(small_table(good), wrong, "no input 'd'");
}

// Errors name FitOptions' fields, never a command-line flag: the CLI maps one to the other.
TEST(InputErrors, NameTheFieldNotAFlag) {
  FitOptions o = rosenfeld_options();
  std::vector<std::array<std::string, 3>> good;
  for (int i = 0; i < 6; ++i) good.push_back({std::to_string(1000 << i), std::to_string(5000 << i), "0.3"});
  auto source_of = [&](const FitOptions& options) {
    try {
      fit_table(small_table(good), options);
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
      return e.source();
    }
    ADD_FAILURE() << "no InputError";
    return std::string();
  };
  FitOptions wrong = o;
  wrong.inputs.pop_back();
  EXPECT_EQ(source_of(wrong), "inputs");
  wrong = o;
  wrong.givens.clear();
  EXPECT_EQ(source_of(wrong), "givens");
  wrong = o;
  wrong.folds = 1;
  EXPECT_EQ(source_of(wrong), "folds");
  wrong = o;
  wrong.starts = 0;
  EXPECT_EQ(source_of(wrong), "starts");
  wrong = o;
  wrong.law = "nope";
  EXPECT_EQ(source_of(wrong), "law");
}

// A target may be zero or negative (a regression error near zero, a log loss) where the loss allows
// it: lsq fits it; divergence (which divides by it) and huber-log (its log) refuse it, saying why.
TEST(ZeroOrNegativeTargets, FitWithLsqAndAreRefusedByTheRelativeLosses) {
  Table t({"x", "y"}, "runs.csv");
  for (int i = 0; i < 8; ++i) t.add_row({std::to_string(1 << (i + 1)), format_number(-0.5 + 2.0 / (1 << i))}, i + 2);
  ASSERT_EQ(t.at(2, "y"), "0");  // a zero among them
  FitOptions o;
  o.law = "bnsl";
  o.inputs = {{"x", "x"}};
  o.target = "y";
  o.loss = Loss::lsq;
  o.starts = 8;
  FitResult r = fit_table(t, o);
  EXPECT_EQ(r.points.size(), 8u);
  EXPECT_EQ(r.points[2].measured, 0);
  EXPECT_TRUE(std::isnan(r.points[2].divergence));  // no relative divergence from 0
  EXPECT_EQ(r.fitted.count, 7);                       // and none in the summary
  EXPECT_TRUE(std::isfinite(r.fitted.mean_abs));

  for (Loss loss : {Loss::divergence, Loss::huber_log}) {
    o.loss = loss;
    try {
      fit_table(t, o);
      ADD_FAILURE() << "fitted a non-positive target with " << to_string(loss);
    } catch (const InputError& e) {
      EXPECT_EQ(e.line(), 4) << e.what();  // the first non-positive row: y = 0
      EXPECT_EQ(e.field(), "y");
      EXPECT_NE(std::string(e.what()).find(std::string(to_string(loss)) + " loss"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("lsq"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace scalelab::fit
