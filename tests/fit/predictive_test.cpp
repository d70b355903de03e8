// Predictive intervals (fit/predictive.h) on synthetic sweeps drawn from a known law with known seed
// noise: coverage of the held-out cells, the seed term, the extrapolation term growing with distance.
#include <algorithm>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "fit/fit.h"
#include "fit/predictive.h"
#include "laws/laws.h"
#include "synthetic.h"

namespace scalelab::fit {
namespace {

using testing::geometric;
using testing::grid;

// rosenfeld2020 near CIFAR-10's parameters (as in fit_test.cpp), c_inf raised so the floor shows.
const std::vector<double> kTruth = {0.66, 0.0587, 0.53, 0.05, 19.77};  // alpha, b, beta, c_inf, eta
constexpr int kSeeds = 3;
constexpr double kRunNoise = 0.03;  // one run's relative seed noise

// A sweep's cell table on a 6x6 grid of (samples, params) fractions 1/32 .. 1: per cell the mean of
// kSeeds runs, each truth(samples, params) times (1 + noise * N(0,1)), their sample std and the seed
// count; the columns a sweep table has.
template <typename Truth>
Table law_table(unsigned seed, const char* source, double noise, Truth truth) {
  Table table({"samples", "params", "y", "y_std", "seeds"}, source);
  std::mt19937 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  int line = 2;
  for (const auto& x : grid({geometric(1.0 / 32, 2, 6), geometric(1.0 / 32, 2, 6)})) {
    const double mean_truth = truth(x[0], x[1]);
    double sum = 0, sum_sq = 0;
    for (int s = 0; s < kSeeds; ++s) {
      const double y = mean_truth * (1 + noise * normal(engine));
      sum += y, sum_sq += y * y;
    }
    const double mean = sum / kSeeds;
    const double sd = std::sqrt(std::max(0.0, (sum_sq - kSeeds * mean * mean) / (kSeeds - 1)));
    table.add_row({format_number(x[0]), format_number(x[1]), format_number(mean), format_number(sd),
                   std::to_string(kSeeds)},
                  line++);
  }
  return table;
}

// rosenfeld2020 at kTruth, kRunNoise per run, times exp(curvature * log2(m * 32)^2) (0: the law exactly).
Table sweep_table(unsigned seed, double curvature = 0) {
  return law_table(seed, "synthetic-sweep.csv", kRunNoise, [curvature](double m, double n) {
    const laws::LawInfo& law = *laws::find("rosenfeld2020");
    const double eps0 = 0.9, x[2] = {m, n};
    return law.evaluate(kTruth.data(), x, &eps0) * std::exp(curvature * std::pow(std::log2(m * 32), 2));
  });
}

// Fitted on the small cells (m, n <= 1/4: 16 cells), the other 20 predicted, up to 4 octaves out.
FitOptions small_cells_options(std::uint64_t seed) {
  FitOptions o;
  o.law = "rosenfeld2020";
  o.inputs = {{"m", "samples"}, {"n", "params"}};
  o.target = "y";
  o.givens = {{"eps0", Given::constant(0.9)}};
  o.fit_where = "m<=0.25 && n<=0.25";
  o.starts = 48;
  o.bootstrap = 40;
  o.seed = seed;
  o.predictive_intervals = true;
  return o;
}

bool inside(const PointResult& p) { return p.measured >= p.interval->p05 && p.measured <= p.interval->p95; }

TEST(PredictiveIntervals, CoverNinetyPercentOfHeldOutCellsOverFortyGrids) {
  int held = 0, covered = 0, covered_bootstrap = 0;
  double seed_std_sum = 0;
  // Width diagnostics: held-out half-widths and |errors| (log), each term's share of sigma^2, q.
  std::vector<double> halves, errors;
  double share_b = 0, share_s = 0, share_e = 0, q_sum = 0;
  for (unsigned g = 0; g < 40; ++g) {
    const FitResult r = fit_table(sweep_table(100 + g), small_cells_options(g + 1));
    ASSERT_TRUE(r.predictive) << "grid " << g;
    q_sum += r.predictive->multiplier;
    for (const auto& p : r.points) {
      if (p.fitted || !p.parts || !(p.parts->sigma > 0)) continue;
      halves.push_back(p.parts->half_width);
      errors.push_back(std::abs(std::log(p.measured / p.predicted)));
      const double v = p.parts->sigma * p.parts->sigma;
      share_b += p.parts->bootstrap * p.parts->bootstrap / v;
      share_s += p.parts->seed * p.parts->seed / v;
      share_e += p.parts->extrapolation * p.parts->extrapolation / v;
    }
    EXPECT_EQ(r.predictive->held_out, 20);
    EXPECT_EQ(r.predictive->seed_cells, 16);
    EXPECT_GE(r.predictive->backtest_coverage, 0.85);  // calibrated on them: near 90% by construction
    seed_std_sum += r.predictive->seed_relative_std;
    for (const auto& p : r.points) {
      ASSERT_TRUE(p.interval && p.interval_bootstrap && p.parts);
      if (p.fitted) continue;
      ++held;
      covered += inside(p);
      covered_bootstrap += p.measured >= p.interval_bootstrap->p05 && p.measured <= p.interval_bootstrap->p95;
    }
  }
  const double coverage = static_cast<double>(covered) / held;
  const double coverage_bootstrap = static_cast<double>(covered_bootstrap) / held;
  RecordProperty("coverage", std::to_string(coverage));
  std::printf("held-out coverage: predictive %.3f, bootstrap only %.3f over %d cells; pooled seed std %.4f\n",
              coverage, coverage_bootstrap, held, seed_std_sum / 40);
  std::sort(halves.begin(), halves.end());
  std::sort(errors.begin(), errors.end());
  const double n = static_cast<double>(halves.size());
  std::printf("held-out median half-width %.4f, median |log error| %.4f, 90th percentile |log error| %.4f; "
              "share of sigma^2: bootstrap %.3f seed %.3f extrapolation %.3f; mean multiplier %.3f\n",
              halves[halves.size() / 2], errors[errors.size() / 2], errors[errors.size() * 9 / 10], share_b / n,
              share_s / n, share_e / n, q_sum / 40);
  EXPECT_EQ(held, 800);
  EXPECT_GE(coverage, 0.85);
  EXPECT_LE(coverage, 0.95);
  EXPECT_LT(coverage_bootstrap, coverage);
  // The pooled std is that of one run, recovered within 15% from 16 cells x 3 seeds, 40 times over.
  EXPECT_NEAR(seed_std_sum / 40, kRunNoise, 0.15 * kRunNoise);
}

// Curvature in log m the law cannot follow: its extrapolation error grows with distance, and so must
// the intervals. Versus the same grids drawn from the law itself.
TEST(PredictiveIntervals, ExtrapolationTermGrowsWithDistanceWhenTheLawIsMisspecified) {
  double s1_exact = 0, s1_bent = 0;
  int held = 0, covered = 0;
  for (unsigned g = 0; g < 5; ++g) {
    s1_exact += fit_table(sweep_table(300 + g), small_cells_options(g + 1)).predictive->s1;
    const FitResult r = fit_table(sweep_table(300 + g, -0.02), small_cells_options(g + 1));
    s1_bent += r.predictive->s1;
    // Among held-out cells, the relative half-width rises with distance: farthest > 2x nearest.
    double near = INFINITY, far = 0;
    for (const auto& p : r.points) {
      if (p.fitted) continue;
      ++held;
      covered += inside(p);
      if (p.parts->distance == 1) near = std::min(near, p.parts->half_width);
      if (p.parts->distance == 4) far = std::max(far, p.parts->half_width);
      EXPECT_GE(p.parts->extrapolation, r.predictive->s0 + r.predictive->s1 * p.parts->distance - 1e-12);
    }
    EXPECT_GT(far, 2 * near) << "grid " << g;
  }
  std::printf("s1 exact law %.4f, bent %.4f; bent held-out coverage %.3f\n", s1_exact / 5, s1_bent / 5,
              static_cast<double>(covered) / held);
  EXPECT_GT(s1_bent, 2 * s1_exact);
  EXPECT_GE(static_cast<double>(covered) / held, 0.8);
}

// A fit set with five levels of each input (m, n <= 1/2: 25 cells, 11 held out, 1-2 octaves away)
// allows backtests that drop two levels; only the one-level ones are used when they give enough
// predictions. Exact law and misspecified law (as below), 40 grids each.
TEST(PredictiveIntervals, FiveLevelFitSetsCoverWithOneLevelBacktests) {
  for (const double curvature : {0.0, -0.02}) {
    int held = 0, covered = 0;
    double half_width_sum = 0;
    for (unsigned g = 0; g < 40; ++g) {
      FitOptions o = small_cells_options(g + 1);
      o.fit_where = "m<=0.5 && n<=0.5";
      const FitResult r = fit_table(sweep_table(500 + g, curvature), o);
      ASSERT_TRUE(r.predictive) << "grid " << g;
      for (const auto& p : r.points) {
        if (p.fitted) continue;
        ++held;
        covered += inside(p);
        half_width_sum += p.parts->half_width;
      }
    }
    const double coverage = static_cast<double>(covered) / held;
    std::printf("five-level fit sets, curvature %g: held-out coverage %.3f over %d cells, mean half-width %.4f\n",
                curvature, coverage, held, half_width_sum / held);
    EXPECT_EQ(held, 440);
    // Exact law: 87.3% (94.5% with the two-level backtests too). Misspecified: 73.0% (65.0% with
    // them): below nominal, a known gap: the error of this bend grows faster than linearly in the
    // distance, and one-octave backtests see little of it.
    EXPECT_GE(coverage, curvature == 0 ? 0.85 : 0.7);
  }
}

// Law selection by extrapolation: grids drawn from one law, fitted by every candidate; the backtests'
// extrapolation error must pick the law the data came from. Chinchilla's E + A / N^a + B / D^b (no
// saturation), on sizes 1..32, 1% run noise.
Table chinchilla_table(unsigned seed) {
  return law_table(seed, "synthetic-chinchilla.csv", 0.01, [](double d, double n) {
    return 0.1 + 0.3 / std::pow(32 * n, 0.35) + 0.3 / std::pow(32 * d, 0.3);
  });
}

// Kaplan et al.'s form, L = ((N_c / N)^(a_N / a_D) + D_c / D)^a_D, in the grid's units (N_c, D_c
// above every input, as the law's bounds once asked). Its losses are above 1.
Table kaplan_table(unsigned seed) {
  return law_table(seed, "synthetic-kaplan.csv", 0.01,
                   [](double d, double n) { return std::pow(std::pow(4.0 / n, 0.3 / 0.4) + 8.0 / d, 0.4); });
}

// eps0: rosenfeld2020's random-guess level, above every measurement.
std::vector<LawCandidate> candidates(double eps0 = 0.9) {
  return {{"rosenfeld2020", std::nullopt, {{"m", "samples"}, {"n", "params"}}, {{"eps0", Given::constant(eps0)}}},
          {"chinchilla", std::nullopt, {{"N", "params"}, {"D", "samples"}}, {}},
          {"kaplan2020", std::nullopt, {{"N", "params"}, {"D", "samples"}}, {}}};
}

TEST(CompareLaws, BacktestErrorPicksTheLawTheDataCameFrom) {
  int right = 0, grids = 0;
  for (unsigned g = 0; g < 4; ++g) {
    FitOptions o = small_cells_options(g + 1);
    o.fit_where = "samples<=0.5 && params<=0.5";  // columns, not law inputs: the same for every law
    o.normalize = true;
    struct Source {
      const char* law;
      Table table;
      double eps0;
    };
    const std::vector<Source> sources = {{"rosenfeld2020", sweep_table(700 + g), 0.9},
                                         {"chinchilla", chinchilla_table(800 + g), 0.9},
                                         {"kaplan2020", kaplan_table(900 + g), 20}};
    for (const auto& source : sources) {
      const auto rows = compare_laws(source.table, o, candidates(source.eps0));
      ASSERT_EQ(rows.size(), 3u);
      for (const auto& row : rows) {
        std::printf("grid %u %s data: %s backtest %.4f (%d) in-sample %.4f %s\n", g, source.law, row.law.c_str(),
                    row.backtest_error, row.backtests, row.in_sample, row.failure.c_str());
        // Every candidate fits (kaplan2020 has no floor, so it fits the others' data worse, but it fits).
        EXPECT_TRUE(row.failure.empty()) << row.failure;
      }
      grids += 1;
      right += rows.front().law == source.law;
    }
  }
  EXPECT_EQ(right, grids);
}

TEST(PredictiveIntervals, OffByDefaultAndTheJsonKeepsEveryPart) {
  FitOptions o = small_cells_options(1);
  o.predictive_intervals = false;
  const Table table = sweep_table(7);
  const FitResult plain = fit_table(table, o);
  EXPECT_FALSE(plain.predictive);
  for (const auto& p : plain.points) {
    EXPECT_FALSE(p.parts);
    EXPECT_EQ(p.interval->p05, p.interval_bootstrap->p05);
  }
  const FitResult r = fit_table(table, small_cells_options(1));
  const FitResult back = from_json(to_json(r), "fit.json");
  ASSERT_TRUE(back.predictive);
  EXPECT_EQ(back.predictive->backtests, r.predictive->backtests);
  EXPECT_DOUBLE_EQ(back.predictive->multiplier, r.predictive->multiplier);
  for (std::size_t i = 0; i < r.points.size(); ++i) {
    EXPECT_DOUBLE_EQ(back.points[i].parts->half_width, r.points[i].parts->half_width);
    EXPECT_DOUBLE_EQ(back.points[i].interval_bootstrap->p95, r.points[i].interval_bootstrap->p95);
  }
}

// predict() at new points gives the predictive interval at the point's own distance from the fit
// set's frontier (kept in the JSON): at a fit set cell and at a held-out cell exactly the interval the
// fit gave that cell; beyond the grid, wider by the formula.
TEST(PredictiveIntervals, PredictGivesTheIntervalAtThePointsOwnDistance) {
  // The misspecified law (as in ExtrapolationTermGrowsWithDistance...), so s1 > 0 (on the exact law
  // with this seed the backtests fit s1 = 0 and only the bootstrap term grows with distance).
  const FitResult fit = fit_table(sweep_table(7, -0.02), small_cells_options(1));
  ASSERT_TRUE(fit.predictive);
  const PredictiveSummary& q = *fit.predictive;
  ASSERT_EQ(q.frontier.size(), 2u);
  EXPECT_DOUBLE_EQ(q.frontier[0], 0.25);
  EXPECT_DOUBLE_EQ(q.frontier[1], 0.25);
  EXPECT_EQ(q.seeds, kSeeds);
  // From the JSON, as `scalelab predict` reads it.
  const FitResult back = from_json(to_json(fit), "fit.json");
  ASSERT_TRUE(back.predictive);
  EXPECT_EQ(back.predictive->frontier, q.frontier);
  for (const auto& p : fit.points) {
    if (!(p.inputs[0] == 0.125 && p.inputs[1] == 0.125) && !(p.inputs[0] == 1 && p.inputs[1] == 1)) continue;
    const Prediction at = predict(back, {{"m", p.inputs[0]}, {"n", p.inputs[1]}});
    ASSERT_TRUE(at.parts);
    EXPECT_DOUBLE_EQ(at.parts->distance, p.parts->distance);
    EXPECT_NEAR(at.parts->half_width, p.parts->half_width, 1e-12);
    EXPECT_NEAR(at.interval->p05, p.interval->p05, 1e-12 * p.predicted);
    EXPECT_NEAR(at.interval->p95, p.interval->p95, 1e-12 * p.predicted);
    EXPECT_EQ(at.interval_bootstrap->p95, p.interval_bootstrap->p95);
  }
  const Prediction near = predict(back, {{"m", 0.125}, {"n", 0.125}});
  const Prediction far = predict(back, {{"m", 4}, {"n", 2}});  // 4 + 3 octaves beyond m, n <= 1/4
  EXPECT_EQ(near.parts->distance, 0);
  EXPECT_DOUBLE_EQ(far.parts->distance, 7);
  for (const Prediction* at : {&near, &far}) {
    const auto& parts = *at->parts;
    EXPECT_DOUBLE_EQ(parts.seed, q.seed_relative_std / std::sqrt(3.0));
    EXPECT_DOUBLE_EQ(parts.extrapolation, q.s0 + q.s1 * parts.distance);
    const double b = std::log(at->interval_bootstrap->p95 / at->interval_bootstrap->p05) / 2 / 1.6448536269514722;
    EXPECT_DOUBLE_EQ(parts.bootstrap, b);
    const double sigma = std::sqrt(b * b + parts.seed * parts.seed + parts.extrapolation * parts.extrapolation);
    EXPECT_DOUBLE_EQ(parts.half_width, q.multiplier * sigma);
    EXPECT_DOUBLE_EQ(at->interval->p95, at->value * std::exp(q.multiplier * sigma));
    EXPECT_DOUBLE_EQ(at->interval->p05, at->value * std::exp(-q.multiplier * sigma));
  }
  // Measured on this grid: s0 = 0, s1 = 0.0265 per octave, q = 1.201, seed std 3.12%; half-width
  // 0.0222 (log) at the fit set, 0.2257 at 7 octaves. The far one holds at least q * (s0 + 7 s1).
  EXPECT_GT(q.s1, 0);
  EXPECT_GE(far.parts->half_width, q.multiplier * (q.s0 + 7 * q.s1));
  EXPECT_GT(far.parts->half_width, near.parts->half_width);

  // A fit JSON without the frontier (written before it was kept): the bootstrap interval, as before.
  FitResult old = back;
  old.predictive->frontier.clear();
  const Prediction plain = predict(old, {{"m", 4}, {"n", 2}});
  EXPECT_FALSE(plain.parts);
  EXPECT_EQ(plain.interval->p95, plain.interval_bootstrap->p95);
  // Tampered: a frontier of the wrong size, a negative one, or seeds without a frontier.
  std::string json = to_json(fit);
  const auto at = json.find("\"frontier\": [");
  ASSERT_NE(at, std::string::npos);
  std::string wrong = json;
  wrong.replace(at, std::string("\"frontier\": [").size(), "\"frontier\": [0.5, ");
  EXPECT_THROW(from_json(wrong, "fit.json"), InputError);
  std::string negative = json;
  negative.insert(negative.find_first_of("0123456789", at), "-");
  EXPECT_THROW(from_json(negative, "fit.json"), InputError);
}

TEST(PredictiveIntervals, ALevelOutsideZeroToOneIsAnInputError) {
  FitOptions o = small_cells_options(1);
  o.interval_level = 1.0;
  EXPECT_THROW(fit_table(sweep_table(7), o), InputError);
}

}  // namespace
}  // namespace scalelab::fit
