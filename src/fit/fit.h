// Fitting a scaling law to a measurement table, and predicting from the fitted law.
//
//   scalelab::fit::FitOptions options;
//   options.law = "rosenfeld2020";
//   options.inputs = {{"m", "samples"}, {"n", "params"}};
//   options.target = "test_error";
//   options.givens = {{"eps0", Given::constant(0.9)}};
//   options.fit_where = "m<=3750 && n<=2e5";   // the other rows are predicted (extrapolation)
//   FitResult result = fit_table(table, options);
//   fmt::print("{}", format_report(result));
//   write_file_atomic("fit.json", to_json(result));
//
// Every parameter is bounded; the solver sees it through a smooth reparametrisation (logistic in log
// space for scale-like parameters, logistic in linear space for the others), so bounds hold without a
// constrained solver. Multi-start from a Latin hypercube over the bounds, deterministic for a seed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "table/table.h"

namespace scalelab::fit {

// What the solver minimises, summed over the fitted points:
//   divergence: ((pred - y) / y)^2               (the papers' choice for rosenfeld2020 / pruning2021)
//   huber_log:  huber_delta(log pred - log y)    (Chinchilla's; summed, never averaged)
//   lsq:        (pred - y)^2
enum class Loss { divergence, huber_log, lsq };
std::string_view to_string(Loss loss);
Loss parse_loss(std::string_view text);  // throws InputError naming the field `loss`

struct FitResult;

// A law's given quantity (eps0, eps_np): one number for every row, a column of the table, or the
// prediction of another fit on each row (e.g. eps_np from a rosenfeld2020 fit of the unpruned
// networks, so large unpruned networks need not be trained; our extension, not the paper's).
struct Given {
  std::optional<double> value;           // set: the same number for every row
  std::string column;                    // else if set: read per row from this column
  std::shared_ptr<const FitResult> fit;  // else: predicted per row; its inputs are read from the
                                         // same table columns it was fitted on
  static Given constant(double v) { return Given{v, {}, {}}; }
  static Given from_column(std::string c) { return Given{std::nullopt, std::move(c), {}}; }
  static Given from_fit(std::shared_ptr<const FitResult> f) { return Given{std::nullopt, {}, std::move(f)}; }
};

struct FitOptions {
  std::string law;                                          // a name from laws::registry()
  std::vector<std::pair<std::string, std::string>> inputs;  // law input -> table column
  std::string target;                                       // the measured error column
  std::map<std::string, Given> givens;                      // law given -> value or column
  std::string fit_where;        // Predicate text selecting the fitted rows; empty: all rows
  std::optional<Loss> loss;     // unset: the law's default
  double huber_delta = 1e-3;
  bool normalize = false;       // divide each input by its maximum over the table (paper's units)
  int starts = 64;              // multi-start count (Latin hypercube over the bounds)
  std::uint64_t seed = 1;
  int bootstrap = 0;            // resamples of the fitted rows; 0: no intervals
  // A given predicted by a fit that carries bootstrap samples: resample b takes it from that fit's
  // sample b (mod their count), so the intervals carry the inner fit's uncertainty too. False: every
  // resample takes the inner fit's point prediction.
  bool resample_given_fits = true;
  int bootstrap_starts = 4;     // extra starts per resample beside the warm start from the best fit
  int folds = 0;                // k-fold cross-validation on the fitted rows; 0: none
  double start_rtol = 1e-4;     // a start "reached the best" when its objective is this close
  // Warn when fewer than this share of starts reached the best. Typical rosenfeld2020 fits reach it
  // from 15-30% of starts (the rest strand on the flat ends of the bounds); BNSL fits that lose the
  // break, from 1-8%.
  double start_share_warning = 0.1;
  bool record_starts = false;   // keep the initial parameter vectors in the result (benchmarks)
  // Predictive intervals (fit/predictive.h): bootstrap, seed noise and the extrapolation error
  // measured by backtests inside the fit set, widened to `interval_level`. Needs a fit_where.
  bool predictive_intervals = false;
  double interval_level = 0.9;   // central coverage wanted: 0.9 is the printed 5-95%
  // Per-cell seed std of the target and the seed count; empty std_column: "<target>_std" when the
  // table has it (sweep tables do). Without one, no seed term.
  std::string std_column;
  std::string seeds_column = "seeds";
};

// Divergence statistics over a set of points, delta = (pred - y) / y.
struct Summary {
  int count = 0;
  double mean = 0;          // mean signed divergence (bias: > 0 means predictions too high)
  double std = 0;           // standard deviation of the divergence
  double mean_abs = 0;      // mean |delta|
  double max_abs = 0;       // max |delta|
};

struct Interval {
  double p05 = 0, p50 = 0, p95 = 0;
};
// The 5/50/95% quantiles of values (at least one), interpolated linearly between order statistics:
// how every bootstrap interval here is taken.
Interval interval_of(const std::vector<double>& values);

struct PointResult {
  int line = 0;                 // line in the source table (0 for built tables)
  std::vector<double> inputs;   // in the table's units, one per law input
  std::vector<double> givens;   // one per law given
  double measured = 0;
  double predicted = 0;
  double divergence = 0;        // (predicted - measured) / measured
  bool fitted = false;          // used by the fit (else held out by --fit-where)
  std::optional<Interval> interval;  // the printed interval: predictive when computed, else bootstrap
  std::optional<Interval> interval_bootstrap;  // bootstrap 5/50/95% of the prediction
  // How the predictive interval was built (relative terms, in log space; see fit/predictive.h).
  struct Parts {
    double bootstrap = 0, seed = 0, extrapolation = 0;
    double distance = 0;    // octaves beyond the fit set (fit/predictive.h, distance_from_cells)
    double gap = 0;         // octaves between fit set cells the prediction interpolates over
    double sigma = 0;       // the three combined in quadrature
    double half_width = 0;  // multiplier * sigma: interval = predicted * exp(+-half_width)
  };
  std::optional<Parts> parts;
};

// How the predictive intervals were built, and how they did.
struct PredictiveSummary {
  double level = 0.9;
  double seed_relative_std = 0;     // pooled single-run std/mean (0: no std column)
  int seed_cells = 0;               // fit set cells with >= 2 seeds it was pooled over
  double s0 = 0, s1 = 0, s2 = 0;    // model error sigma = s0 + s1 * distance + s2 * gap
  double multiplier = 0;            // conformal quantile of |r| / sigma over the backtests
  int backtest_fits = 0, backtests = 0;  // refits, and the predictions they made
  double backtest_coverage = 0;     // share of backtest predictions inside their intervals
  double backtest_mean_abs_error = 0;  // mean |predicted - measured| / measured of the backtests:
                                       // the extrapolation error `fit --compare` ranks laws by
  int held_out = 0;                 // held-out cells, and the share inside their intervals
  double held_out_coverage = 0;
  // What predict() needs for the interval at a new point (empty frontier: a fit JSON written before
  // these were kept; predict() then gives the bootstrap interval only).
  std::vector<double> frontier;     // the fit set's largest value of each input, in the table's units
  double seeds = 1;                 // seeds of a new cell's mean: the median over the fit set's cells
};

struct ParameterResult {
  std::string name;
  double value = 0;
  double lower = 0, upper = 0;
  bool at_bound = false;             // the optimum sits on a bound: the bound, not the data, decided it
  std::optional<Interval> interval;  // bootstrap 5/50/95%
};

struct FitResult {
  std::string law;
  std::string formula;
  Loss loss = Loss::divergence;
  double huber_delta = 1e-3;
  std::vector<std::string> input_names;    // law inputs, in the law's order
  std::vector<std::string> input_columns;  // the table column of each input
  std::vector<double> input_scales;        // inputs are divided by these before the law sees them
  std::string target;
  std::vector<std::string> given_names;
  std::vector<Given> givens;
  std::string fit_where;
  std::uint64_t seed = 1;

  std::vector<ParameterResult> parameters;
  double objective = 0;   // the minimised loss at the best start
  int starts = 0;
  int starts_at_best = 0; // starts whose objective came within start_rtol of the best
  std::vector<std::string> warnings;  // fit-quality flags a user must see (rare optimum, bounds, ...)
  std::vector<std::vector<double>> start_points;  // initial parameters, when options.record_starts

  std::vector<std::vector<double>> bootstrap_samples;  // parameter vectors, one per resample
  // Where the bootstrap resampled given fits (FitOptions::resample_given_fits): per bootstrap sample,
  // the resample b whose givens it was fitted with (each given fit's sample b mod its count); predict()
  // pairs them the same way. Empty: every sample was fitted with the givens' point values.
  std::vector<int> given_fit_samples;
  std::vector<PointResult> points;
  Summary fitted, held_out;
  std::optional<Summary> cross_validation;  // out-of-fold divergence on the fitted rows
  int folds = 0;
  std::optional<PredictiveSummary> predictive;  // when FitOptions::predictive_intervals worked
};

// Limits on the counts a user asks for: beyond them a fit runs out of memory or never ends.
inline constexpr int kMaxStarts = 100000;
inline constexpr int kMaxBootstrap = 100000;
// Checks the options that need no table (starts, bootstrap, huber delta); InputError naming the field
// (`starts`, `bootstrap`, `huber_delta`): errors from this library name FitOptions' fields, never
// command-line flags (the CLI maps one to the other).
// fit_table calls it; the CLI calls it first too, so bad flags fail before any data is read.
void check_options(const FitOptions& options);

// Throws InputError (field `law`) listing the known laws when `name` is none of them.
void check_law(const std::string& name);

// Fits options.law to the table. Throws InputError (naming column and line) for unusable input:
// unknown law, column or given; NaN; non-positive inputs or errors; errors above eps0; fewer fitted
// points than parameters.
FitResult fit_table(const Table& table, const FitOptions& options);

struct Prediction {
  double value = 0;
  // Predictive when the fit carries its predictive model (FitResult::predictive with a frontier):
  // predicted * exp(+-multiplier * sigma), sigma^2 = bootstrap^2 + (seed std / sqrt(seeds))^2 +
  // (s0 + s1 * distance + s2 * gap)^2, this point's own distance and gap from the fit set's cells.
  // Else the bootstrap interval, when the fit carries bootstrap samples.
  std::optional<Interval> interval;
  std::optional<Interval> interval_bootstrap;  // when the fit carries bootstrap samples
  std::optional<PointResult::Parts> parts;     // when the interval is predictive
};
// Predicts at one point. `at` names law inputs (m, n) or their table columns, in the table's units,
// plus any given that the fit read from a column. Throws InputError for a missing or bad value (not
// finite, not positive, subnormal, or subnormal once scaled), and for a prediction that is not a
// finite positive error (the law used far outside where it means anything).
Prediction predict(const FitResult& fit, const std::map<std::string, double>& at);

// A readable terminal report: parameters, start statistics, warnings, per-point table, summaries.
std::string format_report(const FitResult& result);
// The whole result as JSON (pretty-printed); from_json reads it back for `scalelab predict`, checking
// every field against the law (names and order of inputs, givens and parameters; values and bounds
// within the law's bounds; finite positive scales and constant givens; the type of each field) and
// throwing InputError naming the field, so a hand-edited file never predicts nonsense.
std::string to_json(const FitResult& result);
FitResult from_json(std::string_view text, const std::string& source);

}  // namespace scalelab::fit
