// Fits on published measurements from ../shared/data (see its PROVENANCE.md). Labelled `external`;
// each test skips with a message when the data is absent.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "fit/fit.h"
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
    Table raw = read_csv(addition);
    Table t({"x", "loss", "fit"}, raw.source());
    for (std::size_t r = 0; r < raw.rows(); ++r)
      t.add_row({raw.at(r, "dataset_size"), raw.at(r, "loss"), raw.at(r, "split") == "fit" ? "1" : "0"}, raw.line_of(r));
    for (const char* law : {"powerlaw", "bnsl"})
      scores.push_back(score("4-digit addition (BNSL split)", t, loss_curve_options(law, "fit == 1")));
  }

  const fs::path nmt = kData / "revisiting_neural_scaling_laws" / "benchmark.lang.NMT-subset.csv";
  if (fs::exists(nmt)) {
    Table raw = read_csv(nmt);
    std::map<std::string, Table> by_model;
    for (std::size_t r = 0; r < raw.rows(); ++r) {
      auto [it, _] = by_model.try_emplace(raw.at(r, "Model"), Table({"x", "loss", "Training"}, raw.source()));
      it->second.add_row({raw.at(r, "Seen Examples"), raw.at(r, "Loss"), raw.at(r, "Training")}, raw.line_of(r));
    }
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

}  // namespace
}  // namespace scalelab::fit
