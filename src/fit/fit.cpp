// fit_table: table -> validated points -> multi-start fit -> bootstrap / cross-validation -> report.
#include "fit/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include <fmt/core.h>

#include "fit/predictive.h"
#include "fit/solver.h"
#include "laws/laws.h"

namespace scalelab::fit {

using detail::Points;
using detail::StartOutcome;

std::string_view to_string(Loss loss) {
  switch (loss) {
    case Loss::divergence: return "divergence";
    case Loss::huber_log: return "huber-log";
    case Loss::lsq: return "lsq";
  }
  return "?";
}

Loss parse_loss(std::string_view text) {
  if (text == "divergence") return Loss::divergence;
  if (text == "huber-log" || text == "huber_log") return Loss::huber_log;
  if (text == "lsq") return Loss::lsq;
  throw InputError("loss", 0, std::string(text), "unknown loss (choose divergence, huber-log or lsq)");
}

namespace {

const laws::LawInfo& law_named(const std::string& name) {
  if (const auto* law = laws::find(name)) return *law;
  std::string known;
  for (const auto& l : laws::registry()) known += (known.empty() ? "" : ", ") + std::string(l.name);
  throw InputError("law", 0, name, fmt::format("unknown law (known: {})", known));
}

// Deterministic random numbers: the same seed gives the same starts and resamples everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  int below(int n) { return static_cast<int>(engine_() % static_cast<std::uint64_t>(n)); }

 private:
  std::mt19937_64 engine_;
};

// Latin hypercube over the start ranges (the bounds unless the law narrows them): each parameter's
// range (linear or log, see laws::Scale) is cut into `count` equal strata and every stratum gets
// exactly one start, in a random pairing.
using InputRanges = std::vector<std::pair<double, double>>;  // per law input: min, max over fitted rows

std::vector<std::vector<double>> latin_hypercube(const laws::LawInfo& law, int count, const InputRanges& ranges,
                                                 Random& random) {
  const std::size_t dims = law.parameters.size();
  std::vector<std::vector<double>> starts(count, std::vector<double>(dims));
  std::vector<int> strata(count);
  for (std::size_t k = 0; k < dims; ++k) {
    std::iota(strata.begin(), strata.end(), 0);
    for (int i = count - 1; i > 0; --i) std::swap(strata[i], strata[random.below(i + 1)]);
    const laws::Parameter& p = law.parameters[k];
    // Keep away from the very edges of the bounds, where the logistic map is flat.
    double from = 0.005, to = 0.995;
    if (p.start_within_input >= 0) {
      from = std::max(from, detail::bound_fraction(ranges[p.start_within_input].first, p));
      to = std::min(to, detail::bound_fraction(ranges[p.start_within_input].second, p));
    } else if (p.start_upper > p.start_lower) {
      from = detail::bound_fraction(p.start_lower, p);
      to = detail::bound_fraction(p.start_upper, p);
    }
    for (int i = 0; i < count; ++i) {
      double s = from + (to - from) * (strata[i] + random.uniform()) / count;
      starts[i][k] = std::log(s / (1 - s));
    }
  }
  return starts;
}

std::vector<double> bounded_params(const laws::LawInfo& law, const std::vector<double>& unbounded) {
  std::vector<double> out(unbounded.size());
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = detail::to_bounded(unbounded[k], law.parameters[k]);
  return out;
}

std::size_t best_of(const std::vector<StartOutcome>& outcomes) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < outcomes.size(); ++i)
    if (outcomes[i].objective < outcomes[best].objective) best = i;
  return best;
}

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  double position = q * (values.size() - 1);
  std::size_t below = static_cast<std::size_t>(std::floor(position));
  std::size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - below) * (values[above] - values[below]);
}


Summary summarise(const std::vector<PointResult>& points, bool fitted) {
  Summary s;
  double sum = 0, sum_sq = 0, sum_abs = 0;
  for (const auto& p : points) {
    if (p.fitted != fitted) continue;
    if (p.measured == 0) continue;  // a measured 0 (lsq only) has no relative divergence
    ++s.count;
    sum += p.divergence;
    sum_sq += p.divergence * p.divergence;
    sum_abs += std::abs(p.divergence);
    s.max_abs = std::max(s.max_abs, std::abs(p.divergence));
  }
  if (s.count == 0) return s;
  s.mean = sum / s.count;
  s.mean_abs = sum_abs / s.count;
  s.std = std::sqrt(std::max(0.0, sum_sq / s.count - s.mean * s.mean));
  return s;
}

double evaluate(const laws::LawInfo& law, const std::vector<double>& params, const double* inputs,
                const double* givens) {
  return law.evaluate(params.data(), inputs, givens);
}

// Defined with predict() below: a fit's inputs at `at` in its units, and its givens there (with
// `resample` >= 0, those predicted by fits with bootstrap samples from sample `resample` mod their count).
std::vector<double> scaled_inputs(const FitResult& fit, const std::map<std::string, double>& at);
std::vector<double> given_values(const FitResult& fit, const std::map<std::string, double>& at, int resample = -1);

// What a fit that predicts a given reads from one table row: the columns it was fitted on (its inputs
// and column givens).
std::map<std::string, double> row_values(const FitResult& fit, const Table& table, std::size_t row) {
  std::map<std::string, double> at;
  for (const auto& column : fit.input_columns) at[column] = table.number(row, table.column(column));
  for (const auto& given : fit.givens)
    if (!given.value && !given.fit) at[given.column] = table.number(row, table.column(given.column));
  return at;
}

// A given predicted by another fit on one row.
double predict_given(const FitResult& fit, const Table& table, std::size_t row, const std::string& name) {
  try {
    return predict(fit, row_values(fit, table, row)).value;
  } catch (const InputError& e) {
    throw InputError(table.source(), table.line_of(row), name, fmt::format("predicting it: {}", e.message()));
  }
}

// A given predicted by a fit that carries bootstrap samples, resampled with the fit that takes it
// (FitOptions::resample_given_fits): per row the inner law's scaled inputs and givens, so that any of
// its samples gives the row's value in one evaluation.
struct ResampledGiven {
  std::size_t given = 0;  // its index among the law's givens
  const FitResult* fit = nullptr;
  const laws::LawInfo* law = nullptr;
  std::vector<std::vector<double>> inputs, givens;  // per row
};

std::vector<ResampledGiven> resampled_givens(const Table& table, const FitResult& result, const FitOptions& options) {
  std::vector<ResampledGiven> out;
  if (!options.resample_given_fits || options.bootstrap == 0) return out;
  for (std::size_t g = 0; g < result.givens.size(); ++g) {
    const Given& given = result.givens[g];
    if (!given.fit || given.fit->bootstrap_samples.empty()) continue;
    ResampledGiven r{g, given.fit.get(), laws::find(given.fit->law), {}, {}};
    for (std::size_t row = 0; row < table.rows(); ++row) {
      const auto at = row_values(*given.fit, table, row);  // predict_given has checked every row already
      r.inputs.push_back(scaled_inputs(*given.fit, at));
      r.givens.push_back(given_values(*given.fit, at));
    }
    out.push_back(std::move(r));
  }
  return out;
}

// The givens of every row for resample b: each resampled given from its fit's sample b (mod their
// count). False when one is not a usable error (that resample is dropped).
bool resample_givens(const std::vector<ResampledGiven>& resampled, int b, Points& points) {
  for (const auto& r : resampled) {
    const auto& sample = r.fit->bootstrap_samples[b % r.fit->bootstrap_samples.size()];
    for (std::size_t row = 0; row < r.inputs.size(); ++row) {
      const double value = r.law->evaluate(sample.data(), r.inputs[row].data(), r.givens[row].data());
      if (!(std::isfinite(value) && value > 0)) return false;
      points.givens[row * points.num_givens + r.given] = value;
    }
  }
  return true;
}

// Reads and checks every row: the law's inputs (scaled), givens and the measured error.
struct Prepared {
  Points points;
  std::vector<PointResult> rows;  // one per table row, inputs in table units
  std::vector<int> fit_rows;
};

// Where each of the law's inputs, givens and the target is read from in the table.
struct Columns {
  std::vector<std::size_t> inputs;
  std::vector<std::optional<std::size_t>> givens;  // none: a constant or another fit's prediction
  std::size_t target = 0;
};

// Inputs: every law input mapped to a column, nothing else.
std::vector<std::size_t> input_columns(const Table& table, const laws::LawInfo& law, FitResult& result,
                                       const FitOptions& options) {
  for (const auto& [name, column] : options.inputs)
    if (std::find(law.inputs.begin(), law.inputs.end(), name) == law.inputs.end())
      throw InputError("inputs", 0, name, fmt::format("law {} has no input '{}'", law.name, name));
  std::vector<std::size_t> input_cols;
  for (auto input : law.inputs) {
    auto it = std::find_if(options.inputs.begin(), options.inputs.end(),
                           [&](const auto& pair) { return pair.first == input; });
    if (it == options.inputs.end())
      throw InputError("inputs", 0, std::string(input),
                       fmt::format("law {} needs input '{}' (map it to a column in inputs)", law.name, input));
    result.input_names.emplace_back(input);
    result.input_columns.push_back(it->second);
    input_cols.push_back(table.column(it->second));
  }
  return input_cols;
}

// Givens: every law given a positive number, a column or a fit, nothing else.
std::vector<std::optional<std::size_t>> given_columns(const Table& table, const laws::LawInfo& law, FitResult& result,
                                                      const FitOptions& options) {
  for (const auto& [name, given] : options.givens)
    if (std::find(law.givens.begin(), law.givens.end(), name) == law.givens.end())
      throw InputError("givens", 0, name, fmt::format("law {} takes no given '{}'", law.name, name));
  std::vector<std::optional<std::size_t>> given_cols;
  for (auto name : law.givens) {
    auto it = options.givens.find(std::string(name));
    if (it == options.givens.end())
      throw InputError("givens", 0, std::string(name),
                       fmt::format("law {} needs '{}' (give it in givens: a number, a column or a fit)", law.name, name));
    const Given& given = it->second;
    if (given.value && !(std::isfinite(*given.value) && *given.value > 0))
      throw InputError("givens", 0, std::string(name),
                       fmt::format("must be a positive number, got {}", *given.value));
    result.given_names.emplace_back(name);
    result.givens.push_back(given);
    given_cols.push_back(given.value || given.fit ? std::nullopt : std::optional(table.column(given.column)));
  }
  return given_cols;
}

// The fit set's predicate: it may name the law's inputs and any column.
std::optional<Predicate> parse_fit_where(const Table& table, const FitResult& result, const std::string& fit_where) {
  if (fit_where.empty()) return std::nullopt;
  std::optional<Predicate> where = Predicate::parse(fit_where);
  for (const auto& name : where->names())
    if (std::find(result.input_names.begin(), result.input_names.end(), name) == result.input_names.end() &&
        !table.has_column(name))
      throw InputError("fit_where", 0, name, "names neither a law input nor a column");
  return where;
}

// One row: its inputs, givens and measured error, each checked, and whether it is in the fit set.
PointResult read_point(const Table& table, std::size_t row, const Columns& columns, const FitResult& result,
                       int eps0_index, const std::optional<Predicate>& where) {
  const int line = table.line_of(row);
  auto positive = [&](std::size_t col, const char* what) {
    double v = table.number(row, col);
    if (!std::isfinite(v))
      throw InputError(table.source(), line, table.header()[col], fmt::format("{} is {}", what, v));
    if (v <= 0)
      throw InputError(table.source(), line, table.header()[col], fmt::format("{} must be positive, got {}", what, v));
    return v;
  };
  PointResult point;
  point.line = line;
  for (auto col : columns.inputs) point.inputs.push_back(positive(col, "input"));
  for (std::size_t g = 0; g < columns.givens.size(); ++g) {
    const Given& given = result.givens[g];
    if (columns.givens[g]) point.givens.push_back(positive(*columns.givens[g], "given"));
    else if (given.value) point.givens.push_back(*given.value);
    else point.givens.push_back(predict_given(*given.fit, table, row, result.given_names[g]));
  }
  const std::size_t target_col = columns.target;
  // A target may be zero or negative (a regression error near zero, a log loss) where the loss
  // allows it: lsq does; divergence divides by it and huber-log takes its log.
  if (result.loss == Loss::lsq) {
    point.measured = table.number(row, target_col);
    if (!std::isfinite(point.measured))
      throw InputError(table.source(), line, table.header()[target_col],
                       fmt::format("measured error is {}", point.measured));
  } else {
    point.measured = table.number(row, target_col);
    if (std::isfinite(point.measured) && point.measured <= 0)
      throw InputError(table.source(), line, table.header()[target_col],
                       fmt::format("measured error must be positive for the {} loss ({}), got {}; a target that "
                                   "may be zero or negative needs loss lsq",
                                   to_string(result.loss),
                                   result.loss == Loss::divergence ? "it divides by the measured value"
                                                                   : "it takes the measured value's log",
                                   point.measured));
    point.measured = positive(target_col, "measured error");
  }
  if (eps0_index >= 0 && point.measured > point.givens[eps0_index])
    throw InputError(table.source(), line, table.header()[target_col],
                     fmt::format("measured error {} is above eps0 = {} (the random-guess error)", point.measured,
                                 point.givens[eps0_index]));
  point.fitted = !where || (*where)([&](std::string_view name) {
    for (std::size_t i = 0; i < result.input_names.size(); ++i)
      if (result.input_names[i] == name) return point.inputs[i];
    return table.number(row, table.column(name));
  });
  return point;
}

// Units: raw, or each input as a fraction of its largest value in the table (the paper's units).
void scale_inputs(Prepared& prepared, FitResult& result, std::size_t num_inputs, bool normalize) {
  result.input_scales.assign(num_inputs, 1.0);
  if (normalize) {
    std::fill(result.input_scales.begin(), result.input_scales.end(), 0.0);
    for (const auto& point : prepared.rows)
      for (std::size_t i = 0; i < point.inputs.size(); ++i)
        result.input_scales[i] = std::max(result.input_scales[i], point.inputs[i]);
  }
  for (const auto& point : prepared.rows) {
    for (std::size_t i = 0; i < point.inputs.size(); ++i)
      prepared.points.inputs.push_back(point.inputs[i] / result.input_scales[i]);
    prepared.points.givens.insert(prepared.points.givens.end(), point.givens.begin(), point.givens.end());
    prepared.points.measured.push_back(point.measured);
  }
}

Prepared prepare(const Table& table, const laws::LawInfo& law, FitResult& result, const FitOptions& options) {
  Columns columns;
  columns.inputs = input_columns(table, law, result, options);
  columns.givens = given_columns(table, law, result, options);
  result.target = options.target;
  columns.target = table.column(options.target);
  const std::optional<Predicate> where = parse_fit_where(table, result, options.fit_where);

  const int eps0_index = [&] {
    auto it = std::find(law.givens.begin(), law.givens.end(), "eps0");
    return it == law.givens.end() ? -1 : static_cast<int>(it - law.givens.begin());
  }();

  Prepared prepared;
  prepared.points.num_inputs = static_cast<int>(law.inputs.size());
  prepared.points.num_givens = static_cast<int>(law.givens.size());
  if (table.rows() == 0) throw InputError(table.source(), 0, "", "the table has no rows");
  for (std::size_t row = 0; row < table.rows(); ++row) {
    PointResult point = read_point(table, row, columns, result, eps0_index, where);
    if (point.fitted) prepared.fit_rows.push_back(static_cast<int>(row));
    prepared.rows.push_back(std::move(point));
  }
  if (prepared.fit_rows.size() < law.parameters.size())
    throw InputError(options.fit_where.empty() ? table.source() : "fit_where", 0, "",
                     fmt::format("{} rows to fit, but law {} has {} parameters: need at least as many rows",
                                 prepared.fit_rows.size(), law.name, law.parameters.size()));

  scale_inputs(prepared, result, law.inputs.size(), options.normalize);
  return prepared;
}

struct MultiStart {
  std::vector<double> unbounded;
  double objective = 0;
  int starts_at_best = 0;
};

// Every start runs a short Levenberg-Marquardt budget with cautious first steps; the most promising
// tenth then continues with a long budget and Gauss-Newton-sized steps. Why both:
// - From far away, TinySolver's default first step (trust region 1e4, nearly Gauss-Newton) throws
//   many starts onto the flat ends of the logistic bounds, where they stay. Measured on a
//   rosenfeld2020 6x6 grid, 64 starts: 6 reached the optimum with 1e4, 10 with 1, 11 with 0.1,
//   14 with 0.01; 0.1 also kept BNSL's x < 405 extrapolation right for 10 of 10 seeds.
// - Near an optimum in a near-degenerate valley (BNSL's c1 against d1 before the break is seen),
//   reaching the bottom takes thousands of large steps; spending those on every start costs 10x.
// - A start still 10x worse than the best so far after 50 steps is abandoned, and short runs stop
//   when a step gains less than 1e-12 of the start's loss: together 13 -> 8 ms CPU on a 100-start
//   rosenfeld2020 6x6 fit, 16 instead of 20 starts reaching the same optimum, BNSL unchanged
//   (checking every 25 steps saved more but lost BNSL's x < 405 extrapolation for 2 of 10 seeds).
//   Pulling stranded starts back inside the bounds doubled the starts reaching the optimum (16 ->
//   34 of 100) but also the time: no better than asking for twice the starts, so not done.
constexpr detail::Budget kShortBudget{
    .max_iterations = 200, .trust_region = 0.1, .relative_cost_change = 1e-12, .check_every = 50, .abandon_ratio = 10};
constexpr detail::Budget kLongBudget{.max_iterations = 5000, .trust_region = 1e4};

MultiStart multi_start(const detail::Solver& solver, const std::vector<int>& rows,
                       const std::vector<std::vector<double>>& starts, double rtol, std::size_t num_points) {
  auto outcomes = solver.solve(rows, starts, kShortBudget);
  std::vector<std::size_t> order(outcomes.size());
  std::iota(order.begin(), order.end(), 0);
  const std::size_t polished = std::max<std::size_t>(1, (outcomes.size() + 9) / 10);
  std::partial_sort(order.begin(), order.begin() + polished, order.end(),
                    [&](auto a, auto b) { return outcomes[a].objective < outcomes[b].objective; });
  std::vector<std::size_t> promising;
  std::vector<std::vector<double>> promising_starts;
  for (std::size_t i = 0; i < polished; ++i)
    if (std::isfinite(outcomes[order[i]].objective)) {
      promising.push_back(order[i]);
      promising_starts.push_back(outcomes[order[i]].unbounded);
    }
  auto refined = solver.solve(rows, promising_starts, kLongBudget);
  for (std::size_t i = 0; i < refined.size(); ++i)
    if (refined[i].objective <= outcomes[promising[i]].objective) outcomes[promising[i]] = std::move(refined[i]);
  std::size_t best = best_of(outcomes);
  MultiStart out{outcomes[best].unbounded, outcomes[best].objective, 0};
  // "Reached the best": within rtol of it, or (noiseless data, objective ~ 0) within a tiny absolute
  // amount per point.
  double tolerance = std::max(rtol * out.objective, 1e-14 * num_points);
  for (const auto& o : outcomes)
    if (o.objective <= out.objective + tolerance) ++out.starts_at_best;
  return out;
}

}  // namespace

void check_options(const FitOptions& options) {
  if (options.starts < 1) throw InputError("starts", 0, "", "need at least one start");
  if (options.starts > kMaxStarts)
    throw InputError("starts", 0, "", fmt::format("{} is more than the {} allowed", options.starts, kMaxStarts));
  if (options.bootstrap < 0) throw InputError("bootstrap", 0, "", "cannot be negative");
  if (options.bootstrap > kMaxBootstrap)
    throw InputError("bootstrap", 0, "",
                     fmt::format("{} is more than the {} allowed", options.bootstrap, kMaxBootstrap));
  if (!(options.interval_level > 0 && options.interval_level < 1))
    throw InputError("interval_level", 0, "", fmt::format("must be between 0 and 1, got {}", options.interval_level));
  if (!(options.huber_delta > 0 && std::isfinite(options.huber_delta)))
    throw InputError("huber_delta", 0, "", "must be a finite positive number");
}

void check_law(const std::string& name) { law_named(name); }

Interval interval_of(const std::vector<double>& values) {
  return Interval{quantile(values, 0.05), quantile(values, 0.5), quantile(values, 0.95)};
}

namespace {

// The fitted rows' range of each (scaled) input: where starts of range-bound parameters are drawn.
InputRanges input_ranges(const Prepared& prepared, std::size_t num_inputs) {
  InputRanges ranges(num_inputs, {std::numeric_limits<double>::max(), 0.0});
  for (int row : prepared.fit_rows)
    for (std::size_t i = 0; i < num_inputs; ++i) {
      double x = prepared.points.inputs[row * num_inputs + i];
      ranges[i] = {std::min(ranges[i].first, x), std::max(ranges[i].second, x)};
    }
  return ranges;
}

// A row's scaled inputs and its givens (none: the law takes no givens) in the prepared points.
const double* row_inputs(const Points& points, const laws::LawInfo& law, std::size_t row) {
  return &points.inputs[row * law.inputs.size()];
}
const double* row_givens(const Points& points, const laws::LawInfo& law, std::size_t row) {
  return law.givens.empty() ? nullptr : &points.givens[row * law.givens.size()];
}

// (predicted - measured) / measured; a measured 0 (lsq only) has none.
double relative_divergence(double predicted, double measured) {
  return measured == 0 ? NAN : (predicted - measured) / measured;
}

// The fit itself: the best of the multi-start fit, its parameters, and which sit on a bound.
MultiStart fit_all_rows(const Table& table, const laws::LawInfo& law, const Prepared& prepared,
                        const detail::Solver& solver, const InputRanges& ranges, Random& random,
                        const FitOptions& options, FitResult& result) {
  const auto starts = latin_hypercube(law, options.starts, ranges, random);
  if (options.record_starts)
    for (const auto& start : starts) result.start_points.push_back(bounded_params(law, start));
  MultiStart best = multi_start(solver, prepared.fit_rows, starts, options.start_rtol, prepared.fit_rows.size());
  if (!std::isfinite(best.objective))
    throw InputError(table.source(), 0, options.target, "no start gave a finite loss: the law cannot describe these rows");
  const std::vector<double> params = bounded_params(law, best.unbounded);
  result.objective = best.objective;
  result.starts = options.starts;
  result.starts_at_best = best.starts_at_best;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& p = law.parameters[k];
    // "On the bound": within 0.1% of the range (linear, or in decades for log scales) of an end.
    double where = detail::bound_fraction(params[k], p);
    result.parameters.push_back({std::string(p.name), params[k], p.lower, p.upper, where < 1e-3 || where > 1 - 1e-3, {}});
  }
  return best;
}

// Bootstrap: resample the fitted rows with replacement and refit, warm-started from the best fit
// plus a few fresh starts (a resample's optimum is near the full fit's, but not always). With given
// fits resampled, resample b also takes its givens from their sample b: its own problem, whose givens
// (all rows, for the prediction intervals) land in `sample_givens`.
void bootstrap(const laws::LawInfo& law, const Prepared& prepared, const detail::Solver& solver,
               const InputRanges& ranges, Random& random, const MultiStart& best, const FitOptions& options,
               const std::vector<ResampledGiven>& resampled, FitResult& result,
               std::vector<std::vector<double>>& sample_givens) {
  const std::size_t n_fit = prepared.fit_rows.size();
  for (int b = 0; b < options.bootstrap; ++b) {
    std::vector<int> rows(n_fit);
    for (auto& r : rows) r = prepared.fit_rows[random.below(static_cast<int>(n_fit))];
    auto resample_starts = latin_hypercube(law, options.bootstrap_starts, ranges, random);
    resample_starts.insert(resample_starts.begin(), best.unbounded);
    Points points;
    std::unique_ptr<detail::Solver> own;
    if (!resampled.empty()) {
      points = prepared.points;
      if (!resample_givens(resampled, b, points)) continue;
      own = detail::make_solver(law, points, result.loss, result.huber_delta);
    }
    MultiStart refit = multi_start(own ? *own : solver, rows, resample_starts, options.start_rtol, n_fit);
    if (!std::isfinite(refit.objective)) continue;
    result.bootstrap_samples.push_back(bounded_params(law, refit.unbounded));
    if (!resampled.empty()) {
      result.given_fit_samples.push_back(b);
      sample_givens.push_back(std::move(points.givens));
    }
  }
}

// Per-point predictions, with bootstrap intervals (sample s with its own givens where the bootstrap
// resampled them), and the divergence summaries.
void predict_points(const laws::LawInfo& law, const Prepared& prepared,
                    const std::vector<std::vector<double>>& sample_givens, FitResult& result) {
  std::vector<double> params;
  for (const auto& p : result.parameters) params.push_back(p.value);
  result.points = prepared.rows;
  for (std::size_t i = 0; i < result.points.size(); ++i) {
    auto& point = result.points[i];
    const double* x = row_inputs(prepared.points, law, i);
    const double* g = row_givens(prepared.points, law, i);
    point.predicted = evaluate(law, params, x, g);
    point.divergence = relative_divergence(point.predicted, point.measured);
    if (!result.bootstrap_samples.empty()) {
      std::vector<double> predictions;
      for (std::size_t s = 0; s < result.bootstrap_samples.size(); ++s)
        predictions.push_back(evaluate(law, result.bootstrap_samples[s], x,
                                       sample_givens.empty() ? g : &sample_givens[s][i * law.givens.size()]));
      point.interval = interval_of(predictions);
      point.interval_bootstrap = point.interval;
    }
  }
  if (!result.bootstrap_samples.empty())
    for (std::size_t k = 0; k < params.size(); ++k) {
      std::vector<double> values;
      for (const auto& sample : result.bootstrap_samples) values.push_back(sample[k]);
      result.parameters[k].interval = interval_of(values);
    }
  result.fitted = summarise(result.points, true);
  result.held_out = summarise(result.points, false);
}

// k-fold cross-validation on the fitted rows: each fold predicted by a fit on the others.
void cross_validate(const laws::LawInfo& law, const Prepared& prepared, const detail::Solver& solver,
                    const InputRanges& ranges, Random& random, const FitOptions& options, FitResult& result) {
  std::vector<int> order = prepared.fit_rows;
  for (int i = static_cast<int>(order.size()) - 1; i > 0; --i) std::swap(order[i], order[random.below(i + 1)]);
  std::vector<PointResult> out_of_fold;
  for (int fold = 0; fold < options.folds; ++fold) {
    std::vector<int> train, test;
    for (std::size_t i = 0; i < order.size(); ++i)
      (static_cast<int>(i % options.folds) == fold ? test : train).push_back(order[i]);
    if (train.size() < law.parameters.size())
      throw InputError("folds", 0, "", fmt::format("a fold leaves {} rows to fit, fewer than the {} parameters",
                                                     train.size(), law.parameters.size()));
    auto fold_starts = latin_hypercube(law, options.starts, ranges, random);
    MultiStart fold_fit = multi_start(solver, train, fold_starts, options.start_rtol, train.size());
    auto fold_params = bounded_params(law, fold_fit.unbounded);
    for (int row : test) {
      PointResult point = result.points[row];
      point.predicted = evaluate(law, fold_params, row_inputs(prepared.points, law, row),
                                 row_givens(prepared.points, law, row));
      point.divergence = relative_divergence(point.predicted, point.measured);
      out_of_fold.push_back(point);
    }
  }
  result.cross_validation = summarise(out_of_fold, true);
  result.folds = options.folds;
}

// Flags a user must see.
void add_warnings(const FitOptions& options, FitResult& result) {
  const double share = static_cast<double>(result.starts_at_best) / result.starts;
  if (result.starts > 1 && share < options.start_share_warning)
    result.warnings.push_back(fmt::format(
        "only {} of {} starts reached the best objective ({:.0f}% < {:.0f}%): the optimum is hard to find and "
        "may not be the global one; try more starts",
        result.starts_at_best, result.starts, 100 * share, 100 * options.start_share_warning));
  for (const auto& p : result.parameters)
    if (p.at_bound)
      result.warnings.push_back(fmt::format("{} = {:.4g} sits on its bound [{:.4g}, {:.4g}]: the bound, not the data, "
                                            "decided it",
                                            p.name, p.value, p.lower, p.upper));
  if (options.bootstrap > 0 && static_cast<int>(result.bootstrap_samples.size()) < options.bootstrap)
    result.warnings.push_back(fmt::format("{} of {} bootstrap refits failed and were dropped",
                                          options.bootstrap - result.bootstrap_samples.size(), options.bootstrap));
}

}  // namespace

FitResult fit_table(const Table& table, const FitOptions& options) {
  const laws::LawInfo& law = law_named(options.law);
  check_options(options);

  FitResult result;
  result.law = law.name;
  result.formula = law.formula;
  result.loss = options.loss.value_or(parse_loss(law.default_loss));
  result.huber_delta = options.huber_delta;
  result.fit_where = options.fit_where;
  result.seed = options.seed;
  Prepared prepared = prepare(table, law, result, options);
  if (options.folds == 1 || options.folds < 0 ||
      options.folds > static_cast<int>(prepared.fit_rows.size()))
    throw InputError("folds", 0, "", fmt::format("must be 0 or between 2 and the {} fitted rows",
                                                   prepared.fit_rows.size()));

  auto solver = detail::make_solver(law, prepared.points, result.loss, result.huber_delta);
  Random random(options.seed);
  const InputRanges ranges = input_ranges(prepared, law.inputs.size());

  // One random stream, drawn in this order: the fit's starts, the resamples, the folds.
  const MultiStart best = fit_all_rows(table, law, prepared, *solver, ranges, random, options, result);
  std::vector<std::vector<double>> sample_givens;
  bootstrap(law, prepared, *solver, ranges, random, best, options, resampled_givens(table, result, options), result,
            sample_givens);
  predict_points(law, prepared, sample_givens, result);
  if (options.folds >= 2) cross_validate(law, prepared, *solver, ranges, random, options, result);
  add_warnings(options, result);
  if (options.predictive_intervals) add_predictive_intervals(table, options, result);
  return result;
}

namespace {

// Every name in `at` must be one the fit takes: an input or given (by name or column), or an input
// of a fit that predicts a given.
void check_known_names(const FitResult& fit, const std::map<std::string, double>& at) {
  for (const auto& [name, value] : at) {
    bool known = false;
    for (std::size_t i = 0; i < fit.input_names.size(); ++i)
      known |= name == fit.input_names[i] || name == fit.input_columns[i];
    for (std::size_t g = 0; g < fit.given_names.size(); ++g) {
      const Given& given = fit.givens[g];
      known |= name == fit.given_names[g] || (!given.column.empty() && name == given.column);
      if (given.fit)
        for (std::size_t i = 0; i < given.fit->input_names.size(); ++i)
          known |= name == given.fit->input_names[i] || name == given.fit->input_columns[i];
    }
    if (!known) throw InputError("at", 0, name, fmt::format("law {} takes no input or given '{}'", fit.law, name));
  }
}

// A value of `at` by its name, else by its column: a positive number the law can compute with.
double look_up(const std::map<std::string, double>& at, const std::string& name, const std::string& column) {
  auto it = at.find(name);
  if (it == at.end() && !column.empty()) it = at.find(column);
  if (it == at.end())
    throw InputError("at", 0, name, column.empty() || column == name
                                          ? fmt::format("missing value for '{}'", name)
                                          : fmt::format("missing value for '{}' (column {})", name, column));
  if (!(std::isfinite(it->second) && it->second > 0))
    throw InputError("at", 0, it->first, fmt::format("must be a positive number, got {}", it->second));
  // A subnormal size (1e-320) loses its precision and turns the law's logs into nonsense.
  if (it->second < std::numeric_limits<double>::min())
    throw InputError("at", 0, it->first, fmt::format("{} is too small to compute with", it->second));
  return it->second;
}

// The law's inputs at `at`, in the fit's units.
std::vector<double> scaled_inputs(const FitResult& fit, const std::map<std::string, double>& at) {
  std::vector<double> inputs;
  for (std::size_t i = 0; i < fit.input_names.size(); ++i) {
    double x = look_up(at, fit.input_names[i], fit.input_columns[i]) / fit.input_scales[i];
    if (!(std::isfinite(x) && x >= std::numeric_limits<double>::min()))
      throw InputError("at", 0, fit.input_names[i],
                       fmt::format("{} over the fit's scale {} is outside what the law can compute with ({})",
                                   fit.input_names[i], fit.input_scales[i], x));
    inputs.push_back(x);
  }
  return inputs;
}

// The law's givens at `at`: constants, values given, or predicted by their own fits (from their
// sample `resample` mod their count, when resample >= 0 and they carry samples).
std::vector<double> given_values(const FitResult& fit, const std::map<std::string, double>& at, int resample) {
  std::vector<double> givens;
  for (std::size_t g = 0; g < fit.given_names.size(); ++g) {
    const Given& given = fit.givens[g];
    if (given.value) {
      givens.push_back(*given.value);
    } else if (given.fit && !at.count(fit.given_names[g])) {
      // Predicted by the inner fit, from whichever of `at` it takes (a value given directly wins).
      std::map<std::string, double> inner;
      for (std::size_t i = 0; i < given.fit->input_names.size(); ++i)
        for (const auto& key : {given.fit->input_names[i], given.fit->input_columns[i]})
          if (at.count(key)) inner[key] = at.at(key);
      const auto& samples = given.fit->bootstrap_samples;
      if (resample >= 0 && !samples.empty()) {
        givens.push_back(law_named(given.fit->law).evaluate(samples[resample % samples.size()].data(),
                                                            scaled_inputs(*given.fit, inner).data(),
                                                            given_values(*given.fit, inner).data()));
      } else {
        givens.push_back(predict(*given.fit, inner).value);
      }
    } else {
      givens.push_back(look_up(at, fit.given_names[g], given.column));
    }
  }
  return givens;
}

}  // namespace

Prediction predict(const FitResult& fit, const std::map<std::string, double>& at) {
  const laws::LawInfo& law = law_named(fit.law);
  check_known_names(fit, at);
  const std::vector<double> inputs = scaled_inputs(fit, at);
  const std::vector<double> givens = given_values(fit, at);

  std::vector<double> params;
  for (const auto& p : fit.parameters) params.push_back(p.value);
  Prediction prediction;
  // Every law predicts an error: a value that is not finite and positive (underflow to 0, inf/inf)
  // means the inputs are far outside where the law means anything. Never hand it on as a number.
  auto check = [&](double value, const char* what) {
    if (!(std::isfinite(value) && value > 0)) {
      std::string where;
      for (std::size_t i = 0; i < fit.input_names.size(); ++i)
        where += fmt::format("{}{}={}", where.empty() ? "" : ",", fit.input_names[i], inputs[i] * fit.input_scales[i]);
      throw InputError("at", 0, "",
                       fmt::format("law {} gives {} {} at {}: not a usable error, the inputs are out of its range",
                                   fit.law, what, value, where));
    }
    return value;
  };
  prediction.value = check(evaluate(law, params, inputs.data(), givens.data()), "the prediction");
  if (!fit.bootstrap_samples.empty()) {
    std::vector<double> values;
    for (std::size_t s = 0; s < fit.bootstrap_samples.size(); ++s) {
      // Each sample with the givens its resample took, where the bootstrap resampled given fits.
      const auto sample_givens = fit.given_fit_samples.empty() ? givens : given_values(fit, at, fit.given_fit_samples[s]);
      values.push_back(check(evaluate(law, fit.bootstrap_samples[s], inputs.data(), sample_givens.data()),
                             "a bootstrap prediction"));
    }
    prediction.interval_bootstrap = prediction.interval = interval_of(values);
  }
  // The predictive interval at this point's own distance from the fit set's frontier, built exactly
  // as add_predictive_intervals builds a held-out cell's (fit/predictive.cpp).
  if (fit.predictive && fit.predictive->frontier.size() == inputs.size()) {
    const PredictiveSummary& q = *fit.predictive;
    PointResult::Parts parts;
    if (prediction.interval_bootstrap && prediction.interval_bootstrap->p05 > 0)
      parts.bootstrap = std::log(prediction.interval_bootstrap->p95 / prediction.interval_bootstrap->p05) / 2 / 1.6448536269514722;
    parts.seed = q.seed_relative_std / std::sqrt(q.seeds);
    // Octaves from the nearest fit set cell (as fit/predictive.cpp); beyond the frontier when the
    // result carries no fitted points (equal to it beyond a full grid).
    std::vector<double> scaled(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) scaled[i] = inputs[i] * fit.input_scales[i];
    std::vector<std::vector<double>> cells;
    for (const auto& p : fit.points)
      if (p.fitted && p.inputs.size() == inputs.size()) cells.push_back(p.inputs);
    if (cells.empty()) {
      parts.distance = 0;
      for (std::size_t i = 0; i < inputs.size(); ++i) parts.distance += std::max(0.0, std::log2(scaled[i] / q.frontier[i]));
    } else {
      const CellDistance where = distance_from_cells(scaled, cells);
      parts.distance = where.distance, parts.gap = where.gap;
    }
    parts.extrapolation = q.s0 + q.s1 * parts.distance + q.s2 * parts.gap;
    parts.sigma = std::sqrt(parts.bootstrap * parts.bootstrap + parts.seed * parts.seed +
                            parts.extrapolation * parts.extrapolation);
    parts.half_width = q.multiplier * parts.sigma;
    prediction.interval = Interval{prediction.value * std::exp(-parts.half_width), prediction.value,
                                   prediction.value * std::exp(parts.half_width)};
    prediction.parts = parts;
  }
  return prediction;
}

}  // namespace scalelab::fit
