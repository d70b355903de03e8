// Fits on published measurements from ../shared/data (see its PROVENANCE.md). Labelled `external`;
// each test skips with a message when the data is absent.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fit/fit.h"
#include "fit/plan.h"
#include "fit/predictive.h"
#include "laws/laws.h"

namespace scalelab::fit {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(SCALELAB_SOURCE_DIR) / ".." / "shared" / "data";

#define REQUIRE_FILE(path)                                                           \
  if (!fs::exists(path)) GTEST_SKIP() << "external data not found: " << (path).string()

double laws_chinchilla(const double* params, const double* inputs) {
  return laws::find("chinchilla")->evaluate(params, inputs, nullptr);
}

double param(const FitResult& r, const std::string& name) {
  for (const auto& p : r.parameters)
    if (p.name == name) return p.value;
  return NAN;
}

// Epoch's extraction of Chinchilla's Fig. 4 runs, as N (parameters), D (tokens = FLOP / 6N), C, loss.
Table chinchilla_table() {
  Table raw = read_csv(kData / "analyzing-chinchilla" / "svg_extracted_data.csv");
  Table t({"N", "D", "C", "loss"}, raw.source());
  for (std::size_t r = 0; r < raw.rows(); ++r) {
    double n = raw.number(r, raw.column("Model Size")), c = raw.number(r, raw.column("Training FLOP"));
    t.add_row({format_number(n), format_number(c / (6 * n)), format_number(c), raw.at(r, "loss")}, raw.line_of(r));
  }
  return t;
}

FitOptions chinchilla_options(const std::string& law) {
  FitOptions o;
  o.law = law;
  o.inputs = {{"N", "N"}, {"D", "D"}};
  o.target = "loss";
  o.loss = Loss::huber_log;
  o.starts = 100;
  return o;
}

TEST(ExternalChinchilla, HuberFitOnEpochsPointsMatchesTheirRefit) {
  const fs::path file = kData / "analyzing-chinchilla" / "svg_extracted_data.csv";
  REQUIRE_FILE(file);
  FitResult r = fit_table(chinchilla_table(), chinchilla_options("chinchilla"));
  std::printf("chinchilla on %d points: E %.4g A %.4g alpha %.4g B %.4g beta %.4g (objective %.4g, %d/%d starts)\n",
              r.fitted.count, param(r, "E"), param(r, "A"), param(r, "alpha"), param(r, "B"), param(r, "beta"),
              r.objective, r.starts_at_best, r.starts);
  EXPECT_EQ(r.fitted.count, 245);
  // Besiroglu et al. 2024 refit the same 245 points with the same loss (Huber, delta 1e-3, log
  // residuals, summed) and published E 1.8172, A 482.01, alpha 0.3478, B 2085.43, beta 0.3658.
  // On this table their parameters score 0.001932; ours must do at least as well (we found
  // 0.001826, with alpha 0.349 but beta 0.453: B and beta trade off along a shallow valley).
  const double epoch[] = {1.8172, 482.01, 0.3478, 2085.43, 0.3658};
  const Table t = chinchilla_table();
  double epoch_objective = 0;
  for (std::size_t row = 0; row < t.rows(); ++row) {
    double x[] = {t.number(row, 0), t.number(row, 1)};
    double e = std::abs(std::log(laws_chinchilla(epoch, x)) - std::log(t.number(row, 3)));
    epoch_objective += e <= 1e-3 ? 0.5 * e * e : 1e-3 * (e - 0.5e-3);
  }
  EXPECT_NEAR(epoch_objective, 0.001932, 0.000001);
  EXPECT_LE(r.objective, epoch_objective);
  // The parameter exponent is well pinned, and agrees with both Epoch (0.348) and Hoffmann (0.34).
  EXPECT_NEAR(param(r, "alpha"), 0.348, 0.03);
  EXPECT_NEAR(param(r, "E"), 1.82, 0.1);
}

// `plan` on Chinchilla's budget (5.76e23 FLOPs, C = 6ND): with Epoch's published refit (Besiroglu et al.
// 2024: E 1.8172, A 482.01, alpha 0.3478, B 2085.43, beta 0.3658) it must give their closed-form optimum,
// 72.2B parameters and 1.33T tokens (18.4 tokens a parameter; Chinchilla itself: 70B, 1.4T); with our own
// refit of the same 245 points (Huber on log residuals, 64 bootstrap resamples) it gives its own
// optimum, printed, and its interval.
TEST(ExternalChinchilla, PlanAtChinchillasBudget) {
  const fs::path file = kData / "analyzing-chinchilla" / "svg_extracted_data.csv";
  REQUIRE_FILE(file);
  constexpr double kBudget = 5.76e23;
  FitOptions o = chinchilla_options("chinchilla");
  o.bootstrap = 64;
  const FitResult ours = fit_table(chinchilla_table(), o);
  FitResult epoch = ours;
  epoch.bootstrap_samples.clear();
  const double published[] = {1.8172, 482.01, 0.3478, 2085.43, 0.3658};
  for (std::size_t i = 0; i < 5; ++i) epoch.parameters[i].value = published[i];
  const Plan theirs = plan_for_compute(epoch, kBudget);
  EXPECT_NEAR(theirs.best.params / 72.2487e9, 1, 1e-4);
  EXPECT_NEAR(theirs.best.tokens / 1.32874e12, 1, 1e-4);
  EXPECT_NEAR(theirs.best.loss, 1.97444, 1e-4);
  const Plan plan = plan_for_compute(ours, kBudget);
  std::printf("plan at %.3g FLOPs: Epoch's refit N %.4g D %.4g (D/N %.3g) loss %.4g; ours N %.4g [%.4g, %.4g] "
              "D %.4g [%.4g, %.4g] (D/N %.3g) loss %.4g [%.4g, %.4g]\n",
              kBudget, theirs.best.params, theirs.best.tokens, theirs.best.tokens / theirs.best.params,
              theirs.best.loss, plan.best.params, plan.params->p05, plan.params->p95, plan.best.tokens,
              plan.tokens->p05, plan.tokens->p95, plan.best.tokens / plan.best.params, plan.best.loss, plan.loss->p05,
              plan.loss->p95);
  ASSERT_TRUE(plan.params && plan.tokens && plan.loss);
  // Our refit's beta is larger (0.45 against 0.37, along the B-beta valley the fit test describes), so
  // its optimum leans to parameters; the predicted loss there is what both fits agree on.
  EXPECT_NEAR(plan.best.loss / theirs.best.loss, 1, 0.02);
  EXPECT_GT(plan.best.params, theirs.best.params / 3);
  EXPECT_LT(plan.best.params, theirs.best.params * 3);
  // And the inverse: the least compute reaching Epoch's optimal loss is Chinchilla's budget.
  EXPECT_NEAR(plan_for_loss(epoch, theirs.best.loss).best.compute / kBudget, 1, 1e-5);
}

// Fit the small scales, predict the large ones, for several laws: the number that matters.
struct Score {
  std::string data, law;
  int fitted, held;
  double mean_abs, max_abs, rmse_log;
};

Score score(const std::string& data, const Table& table, FitOptions o) {
  FitResult r = fit_table(table, o);
  double sum = 0;
  for (const auto& p : r.points)
    if (!p.fitted) sum += std::pow(std::log(p.predicted) - std::log(p.measured), 2);
  return {data, o.law, r.fitted.count, r.held_out.count, r.held_out.mean_abs, r.held_out.max_abs,
          std::sqrt(sum / std::max(1, r.held_out.count))};
}

void print(const std::vector<Score>& scores) {
  std::printf("\n%-30s %-12s %5s %5s %10s %10s %10s\n", "data (fit -> predict)", "law", "fit", "held", "mean|d|",
              "max|d|", "RMSE log");
  for (const auto& s : scores)
    std::printf("%-30s %-12s %5d %5d %9.2f%% %9.2f%% %10.4f\n", s.data.c_str(), s.law.c_str(), s.fitted, s.held,
                100 * s.mean_abs, 100 * s.max_abs, s.rmse_log);
}

// A learning curve: loss against one size column x, fitted where `fit_where` holds.
FitOptions loss_curve_options(const char* law, const char* fit_where) {
  FitOptions o;
  o.law = law;
  o.inputs = {{"x", "x"}};
  o.target = "loss";
  o.fit_where = fit_where;
  o.starts = 100;
  return o;
}

// BNSL's 4-digit addition curve: x (dataset size), loss, fit (1 on their fit split).
Table addition_table(const fs::path& file) {
  const Table raw = read_csv(file);
  Table t({"x", "loss", "fit"}, raw.source());
  for (std::size_t r = 0; r < raw.rows(); ++r)
    t.add_row({raw.at(r, "dataset_size"), raw.at(r, "loss"), raw.at(r, "split") == "fit" ? "1" : "0"}, raw.line_of(r));
  return t;
}

// The NMT learning curves, one table per model: x (seen examples), loss, Training (1 on the fit part).
std::map<std::string, Table> nmt_tables(const fs::path& file) {
  const Table raw = read_csv(file);
  std::map<std::string, Table> by_model;
  for (std::size_t r = 0; r < raw.rows(); ++r) {
    auto [it, _] = by_model.try_emplace(raw.at(r, "Model"), Table({"x", "loss", "Training"}, raw.source()));
    it->second.add_row({raw.at(r, "Seen Examples"), raw.at(r, "Loss"), raw.at(r, "Training")}, raw.line_of(r));
  }
  return by_model;
}

TEST(ExternalScorecard, ExtrapolationToLargerScales) {
  std::vector<Score> scores;

  const fs::path chinchilla = kData / "analyzing-chinchilla" / "svg_extracted_data.csv";
  if (fs::exists(chinchilla)) {
    Table t = chinchilla_table();
    for (const char* law : {"chinchilla", "kaplan2020"}) {
      FitOptions o = chinchilla_options(law);
      o.fit_where = "C <= 1e21";
      scores.push_back(score("chinchilla C<=1e21 -> >1e21", t, o));
    }
  }

  const fs::path addition = kData / "broken_neural_scaling_laws" / "four_digit_addition.csv";
  if (fs::exists(addition)) {
    const Table t = addition_table(addition);
    for (const char* law : {"powerlaw", "bnsl"})
      scores.push_back(score("4-digit addition (BNSL split)", t, loss_curve_options(law, "fit == 1")));
  }

  const fs::path nmt = kData / "revisiting_neural_scaling_laws" / "benchmark.lang.NMT-subset.csv";
  if (fs::exists(nmt)) {
    const auto by_model = nmt_tables(nmt);
    for (const auto& [model, t] : by_model)
      for (const char* law : {"powerlaw", "bnsl"}) {
        try {
          scores.push_back(score("NMT " + model, t, loss_curve_options(law, "Training == 1")));
        } catch (const InputError& e) {  // too few training points for this law's parameters
          std::printf("NMT %s %s: %s\n", model.c_str(), law, e.what());
        }
      }
  }

  if (scores.empty()) GTEST_SKIP() << "no external data under " << kData.string();
  print(scores);
  for (const auto& s : scores) {
    EXPECT_GT(s.held, 0) << s.data << " " << s.law;
    EXPECT_TRUE(std::isfinite(s.rmse_log)) << s.data << " " << s.law;
  }
  // The Chinchilla form was designed on these runs; extrapolating a decade of compute, it stays
  // within a few percent of the measured losses.
  for (const auto& s : scores)
    if (s.law == "chinchilla") EXPECT_LT(s.mean_abs, 0.05) << s.data;
}


// Issue 19, part 4: the predictive intervals (fit/predictive.h) on published measurements: fit the
// smaller scales, predict the larger, and report how many held-out points the 5-95% intervals hold,
// how wide they are and how far off the predictions are. Only what must hold is asserted (the
// machinery runs; coverage and widths are finite): nothing here is tuned to a data set. These tables
// have no seed std column, so the seed term is 0. The bootstrap (50 resamples) gives the parameter
// term and the intervals scalelab printed before (bootstrap only): their coverage is the "before".
struct Coverage {
  std::string data, law;
  int fitted = 0, held = 0, backtests = 0;
  double s0 = NAN, s1 = NAN, multiplier = NAN, backtest_coverage = NAN, coverage = NAN, median_half = NAN,
         max_half = NAN, mean_abs = NAN, max_abs = NAN, bootstrap_coverage = NAN, bootstrap_median_half = NAN;
  std::string failure;
};

Coverage coverage(const std::string& data, const Table& table, FitOptions o) {
  o.predictive_intervals = true;
  o.bootstrap = 50;
  Coverage c{data, o.law};
  FitResult r;
  try {
    r = fit_table(table, o);
  } catch (const InputError& e) {
    c.failure = e.what();
    return c;
  }
  c.fitted = r.fitted.count, c.held = r.held_out.count, c.mean_abs = r.held_out.mean_abs, c.max_abs = r.held_out.max_abs;
  if (!r.predictive) {
    c.failure = r.warnings.empty() ? "no predictive intervals" : r.warnings.back();
    return c;
  }
  const PredictiveSummary& q = *r.predictive;
  c.backtests = q.backtests, c.s0 = q.s0, c.s1 = q.s1, c.multiplier = q.multiplier;
  c.backtest_coverage = q.backtest_coverage, c.coverage = q.held_out_coverage;
  std::vector<double> halves, boot_halves;  // relative half-width (p95 - p05) / 2 / predicted, held out
  int boot_in = 0, boot_n = 0;
  for (const auto& p : r.points) {
    if (p.fitted) continue;
    if (p.interval) halves.push_back((p.interval->p95 - p.interval->p05) / 2 / p.predicted);
    if (p.interval_bootstrap) {
      ++boot_n, boot_in += p.measured >= p.interval_bootstrap->p05 && p.measured <= p.interval_bootstrap->p95;
      boot_halves.push_back((p.interval_bootstrap->p95 - p.interval_bootstrap->p05) / 2 / p.predicted);
    }
  }
  if (boot_n) {
    std::sort(boot_halves.begin(), boot_halves.end());
    c.bootstrap_coverage = static_cast<double>(boot_in) / boot_n;
    c.bootstrap_median_half = boot_halves[boot_halves.size() / 2];
  }
  if (!halves.empty()) {
    std::sort(halves.begin(), halves.end());
    c.median_half = halves[halves.size() / 2];
    c.max_half = halves.back();
  }
  return c;
}

// Per (N, D) the lowest loss over the learning rates tried (the tuned run, as scaling studies take).
Table best_per_size(const Table& raw, const std::string& n_col, const std::string& d_col, const std::string& loss_col,
                    const std::string& only_column = "", const std::string& only_value = "") {
  std::map<std::pair<double, double>, std::pair<double, int>> best;
  for (std::size_t r = 0; r < raw.rows(); ++r) {
    if (!only_column.empty() && raw.at(r, only_column) != only_value) continue;
    const std::pair key{raw.number(r, raw.column(n_col)), raw.number(r, raw.column(d_col))};
    const double loss = raw.number(r, raw.column(loss_col));
    auto [it, fresh] = best.try_emplace(key, loss, raw.line_of(r));
    if (!fresh && loss < it->second.first) it->second = {loss, raw.line_of(r)};
  }
  Table t({"N", "D", "loss"}, raw.source());
  for (const auto& [key, value] : best)
    t.add_row({format_number(key.first), format_number(key.second), format_number(value.first)}, value.second);
  return t;
}

TEST(ExternalPredictive, CoverageOfLargerScales) {
  std::vector<Coverage> rows;
  auto chinchilla_law = [](const char* fit_where) {
    FitOptions o = chinchilla_options("chinchilla");
    o.fit_where = fit_where;
    o.starts = 64;
    return o;
  };

  const fs::path chinchilla = kData / "analyzing-chinchilla" / "svg_extracted_data.csv";
  if (fs::exists(chinchilla)) rows.push_back(coverage("chinchilla C<=1e21 -> >1e21", chinchilla_table(), chinchilla_law("C <= 1e21")));

  const fs::path misfitting = kData / "misfitting-scaling_laws" / "scaling_results_last_ckpt_only.csv";
  if (fs::exists(misfitting))
    rows.push_back(coverage("misfitting N<=1.8e8 -> larger", best_per_size(read_csv(misfitting), "N", "D", "C4 Eval Loss"),
                            chinchilla_law("N <= 1.8e8")));

  const fs::path gadre = kData / "mlfoundations-scaling" / "models_flat.csv";
  if (fs::exists(gadre)) {
    const Table raw = read_csv(gadre);
    for (const char* dataset : {"c4_original", "rpj", "rw_original"})
      rows.push_back(coverage(std::string("gadre ") + dataset + " N<=4.2e8 -> larger",
                              best_per_size(raw, "params", "tokens", "loss_c4_val", "dataset", dataset),
                              chinchilla_law("N <= 4.2e8")));
  }

  const fs::path addition = kData / "broken_neural_scaling_laws" / "four_digit_addition.csv";
  if (fs::exists(addition)) {
    const Table t = addition_table(addition);
    for (const char* law : {"powerlaw", "bnsl"})
      rows.push_back(coverage("4-digit addition (BNSL split)", t, loss_curve_options(law, "fit == 1")));
  }

  const fs::path nmt = kData / "revisiting_neural_scaling_laws" / "benchmark.lang.NMT-subset.csv";
  if (fs::exists(nmt)) {
    const auto by_model = nmt_tables(nmt);
    for (const auto& [model, t] : by_model) rows.push_back(coverage("NMT " + model, t, loss_curve_options("powerlaw", "Training == 1")));
  }

  if (rows.empty()) GTEST_SKIP() << "no external data under " << kData.string();
  std::printf("\n%-38s %-10s %4s %4s %4s %8s %8s %6s %7s %9s %9s %9s %9s %9s %9s\n", "data (fit -> predict)", "law", "fit",
              "held", "bt", "s0", "s1", "q", "bt cov", "held cov", "med half", "boot cov", "boot half", "mean|d|", "max|d|");
  int covered_runs = 0;
  for (const auto& c : rows) {
    if (!c.failure.empty()) {
      std::printf("%-38s %-10s %4d %4d  no intervals: %s (held-out mean|d| %.2f%%)\n", c.data.c_str(), c.law.c_str(),
                  c.fitted, c.held, c.failure.c_str(), 100 * c.mean_abs);
      continue;
    }
    std::printf("%-38s %-10s %4d %4d %4d %8.4f %8.4f %6.3f %6.0f%% %8.0f%% %8.2f%% %8.0f%% %8.2f%% %8.2f%% %8.2f%%\n",
                c.data.c_str(), c.law.c_str(), c.fitted, c.held, c.backtests, c.s0, c.s1, c.multiplier,
                100 * c.backtest_coverage, 100 * c.coverage, 100 * c.median_half, 100 * c.bootstrap_coverage,
                100 * c.bootstrap_median_half, 100 * c.mean_abs, 100 * c.max_abs);
    ++covered_runs;
    EXPECT_GT(c.held, 0) << c.data;
    EXPECT_TRUE(c.coverage >= 0 && c.coverage <= 1) << c.data;
    EXPECT_TRUE(std::isfinite(c.median_half) && c.median_half > 0) << c.data;
    EXPECT_TRUE(std::isfinite(c.max_half)) << c.data;
    EXPECT_TRUE(std::isfinite(c.mean_abs)) << c.data;
  }
  // The machinery must run somewhere: at least one data set with backtests.
  EXPECT_GT(covered_runs, 0);
}

}  // namespace
}  // namespace scalelab::fit
