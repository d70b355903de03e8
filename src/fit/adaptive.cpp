#include "fit/adaptive.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include <fmt/core.h>

#include "laws/laws.h"

namespace scalelab::fit {
namespace {

constexpr const char* kAcquired = "adaptive_acquired";

double distance_beyond(const std::vector<double>& inputs, const std::vector<double>& frontier) {
  double d = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) d += std::max(0.0, std::log2(inputs[i] / frontier[i]));
  return d;
}

struct Attempt {
  std::optional<FitResult> fit;
  std::vector<AdaptiveTarget> targets;
  bool has_interval = false;  // every target has a predictive interval
};

// `table` with column `col` replaced by `values` (rows and their source lines kept).
Table with_column(const Table& table, std::size_t col, const std::vector<std::string>& values) {
  Table out(table.header(), table.source());
  for (std::size_t r = 0; r < table.rows(); ++r) {
    std::vector<std::string> row;
    for (std::size_t c = 0; c < table.cols(); ++c) row.push_back(c == col ? values[r] : table.at(r, c));
    out.add_row(std::move(row), table.line_of(r));
  }
  return out;
}

}  // namespace

AdaptiveResult adaptive_replay(const Table& table, const AdaptiveOptions& options) {
  return adaptive_design(table, options, [&](const std::vector<std::size_t>&) { return table; });
}

AdaptiveResult adaptive_design(const Table& source, const AdaptiveOptions& options, const MeasureCells& measure) {
  if (!(options.budget > 0 && options.budget <= 1))
    throw InputError(source.source(), 0, "budget", fmt::format("{} is not a fraction in (0, 1]", options.budget));
  if (!source.has_column(options.cost_column))
    throw InputError(source.source(), 0, options.cost_column, "no such column: the cells' cost is needed");
  if (options.fit.inputs.empty()) throw InputError(source.source(), 0, "inputs", "map the law's inputs to columns");
  const std::size_t rows = source.rows();
  std::vector<double> cost(rows);
  AdaptiveResult out;
  for (std::size_t r = 0; r < rows; ++r) {
    cost[r] = source.number(r, source.column(options.cost_column));
    if (!std::isfinite(cost[r]) || cost[r] <= 0)
      throw InputError(source.source(), source.line_of(r), options.cost_column, "cost must be a positive number");
    out.total_cost += cost[r];
  }
  const double budget = options.budget * out.total_cost;

  // Inputs per row (table units), and their levels.
  const std::size_t k = options.fit.inputs.size();
  std::vector<std::vector<double>> x(rows, std::vector<double>(k));
  std::vector<std::vector<std::size_t>> level(rows, std::vector<std::size_t>(k));
  for (std::size_t i = 0; i < k; ++i) {
    const std::size_t col = source.column(options.fit.inputs[i].second);
    std::vector<double> values;
    for (std::size_t r = 0; r < rows; ++r) values.push_back(x[r][i] = source.number(r, col));
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (std::size_t r = 0; r < rows; ++r)
      level[r][i] = std::lower_bound(values.begin(), values.end(), x[r][i]) - values.begin();
  }

  // Target cells.
  const Predicate where = Predicate::parse(options.target_where, "target");
  std::vector<bool> is_target(rows, false);
  for (std::size_t r = 0; r < rows; ++r) {
    auto lookup = [&](std::string_view name) {
      for (std::size_t i = 0; i < k; ++i)
        if (options.fit.inputs[i].first == name) return x[r][i];
      return source.number(r, source.column(name));
    };
    if (where(lookup)) is_target[r] = true, out.targets.push_back(r);
  }
  if (out.targets.empty()) throw InputError(source.source(), 0, "target", fmt::format("no cell matches '{}'", options.target_where));

  Table table;
  std::vector<bool> acquired(rows, false);
  std::vector<double> measured(rows, std::numeric_limits<double>::quiet_NaN());  // of the acquired rows
  auto set_acquired = [&](std::size_t r) {
    if (acquired[r]) throw std::logic_error("adaptive: a cell acquired twice");
    acquired[r] = true;
    out.acquired.push_back(r);
    out.spent += cost[r];
  };
  const std::size_t target_col = source.column(options.fit.target);
  Table latest = source;  // the last table `measure` returned: the acquired cells' means, stds, seeds
  // Buys what was acquired since the last call, and reads back the measurements.
  auto buy = [&] {
    Table got = measure(out.acquired);
    if (got.rows() != rows || got.header() != source.header())
      throw std::logic_error("adaptive: the measured table's rows or columns are not the cells'");
    for (std::size_t i = 0; i < k; ++i) {
      const std::size_t col = got.column(options.fit.inputs[i].second);
      for (std::size_t r = 0; r < rows; ++r)
        if (got.number(r, col) != x[r][i]) throw std::logic_error("adaptive: the measured table's cells moved");
    }
    out.unmeasured.clear();
    for (std::size_t r : out.acquired) {
      measured[r] = got.number(r, target_col);
      if (!std::isfinite(measured[r])) out.unmeasured.push_back(r);
    }
    latest = std::move(got);
  };
  // The table the fit sees: the acquired rows' measurements, and where nothing is known a placeholder
  // (the mean of the measured ones) so that every row reads as a point; only acquired, measured rows
  // are fitted.
  auto rebuild = [&] {
    double sum = 0;
    int n = 0;
    for (std::size_t r : out.acquired)
      if (std::isfinite(measured[r])) sum += measured[r], ++n;
    const std::string placeholder = n ? fmt::format("{:.17g}", sum / n) : "1";
    std::vector<std::string> values, flags;
    for (std::size_t r = 0; r < rows; ++r) {
      const bool usable = acquired[r] && std::isfinite(measured[r]);
      // A row not acquired keeps what the source knows (a replay: the fit's held-out divergences);
      // the fit reads it only there.
      values.push_back(usable                      ? fmt::format("{:.17g}", measured[r])
                       : !acquired[r] && std::isfinite(source.number(r, target_col)) ? source.at(r, target_col)
                                                                                     : placeholder);
      flags.emplace_back(usable ? "1" : "0");
    }
    // From the measured table, not `source`: the seed noise term reads the cells' std and seed columns.
    table = with_column(latest, target_col, values);
    table.add_column(kAcquired, std::move(flags));
  };

  FitOptions fit_options = options.fit;
  fit_options.fit_where = fmt::format("{}==1", kAcquired);
  fit_options.predictive_intervals = true;
  auto refit = [&]() {
    rebuild();
    Attempt a;
    try {
      a.fit = fit_table(table, fit_options);
    } catch (const InputError&) {
      return a;  // too few cells for the law yet
    }
    if (a.fit->points.size() != rows) throw std::logic_error("adaptive: the fit's points are not the table's rows");
    a.has_interval = a.fit->predictive.has_value();
    for (std::size_t r : out.targets) {
      const auto& p = a.fit->points[r];
      AdaptiveTarget t{r, p.predicted, 0, 0, std::numeric_limits<double>::infinity(), source.number(r, target_col)};
      if (p.parts && p.interval) {
        t.p05 = p.interval->p05, t.p95 = p.interval->p95;
        t.half_width = (t.p95 - t.p05) / 2 / p.predicted;
      } else {
        a.has_interval = false;
      }
      a.targets.push_back(t);
    }
    return a;
  };
  auto affordable = [&](std::size_t r) { return !acquired[r] && !is_target[r] && out.spent + cost[r] <= budget * (1 + 1e-12); };

  // 1. The initial design.
  AdaptiveStep first;
  const std::size_t want_levels = static_cast<std::size_t>(std::max(1, options.initial_levels));
  std::string design;
  if (options.initial == AdaptiveOptions::Initial::corner) {
    for (std::size_t r = 0; r < rows; ++r) {
      bool corner = !is_target[r];
      for (std::size_t i = 0; i < k; ++i) corner = corner && level[r][i] < want_levels;
      if (corner) first.rows.push_back(r);
    }
    design = fmt::format("{} cells within the lowest {} levels of every input", first.rows.size(), options.initial_levels);
  } else {
    const laws::LawInfo* law = laws::find(options.fit.law);
    const std::size_t want_cells = (law ? law->parameters.size() : 0) + 2;
    std::vector<std::set<std::size_t>> spanned(k);
    std::vector<bool> in(rows, false);
    auto lacking = [&] {
      for (std::size_t i = 0; i < k; ++i)
        if (spanned[i].size() < want_levels) return true;
      return false;
    };
    auto take = [&](std::size_t r) {
      in[r] = true;
      first.rows.push_back(r);
      for (std::size_t i = 0; i < k; ++i) spanned[i].insert(level[r][i]);
    };
    while (lacking()) {
      std::optional<std::size_t> best;
      double best_ratio = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        if (in[r] || is_target[r]) continue;
        int brings = 0;
        for (std::size_t i = 0; i < k; ++i) brings += spanned[i].size() < want_levels && !spanned[i].count(level[r][i]);
        if (brings == 0) continue;
        const double ratio = cost[r] / brings;
        if (!best || ratio < best_ratio) best = r, best_ratio = ratio;
      }
      if (!best) break;  // fewer levels than asked (the fit will say whether it suffices)
      take(*best);
    }
    std::vector<std::size_t> order;
    for (std::size_t r = 0; r < rows; ++r)
      if (!in[r] && !is_target[r]) order.push_back(r);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] < cost[b]; });
    for (std::size_t j = 0; j < order.size() && first.rows.size() < want_cells; ++j) take(order[j]);
    std::sort(first.rows.begin(), first.rows.end());
    design = fmt::format("{} cheapest cells spanning {} values of every input", first.rows.size(), options.initial_levels);
  }
  double first_cost = 0;
  for (std::size_t r : first.rows) first_cost += cost[r];
  if (first_cost > budget)
    throw InputError(source.source(), 0, "budget",
                     fmt::format("the initial design ({}) costs {:.3g}% of the table, more than the budget {:.3g}%", design,
                                 100 * first_cost / out.total_cost, 100 * options.budget));
  for (std::size_t r : first.rows) set_acquired(r);
  buy();
  Attempt current = refit();
  auto record = [&](AdaptiveStep step) {
    step.cost = out.spent;
    step.fraction = out.spent / out.total_cost;
    step.targets = current.targets;
    if (current.fit && current.fit->predictive) {
      const PredictiveSummary& ps = *current.fit->predictive;
      step.backtests = ps.backtests, step.s0 = ps.s0, step.s1 = ps.s1, step.multiplier = ps.multiplier;
    }
    out.steps.push_back(std::move(step));
  };
  record(std::move(first));

  std::mt19937 engine(options.strategy_seed);
  for (int n = 0;; ++n) {
    if (current.has_interval && options.width > 0 &&
        std::all_of(current.targets.begin(), current.targets.end(), [&](const auto& t) { return t.half_width <= options.width; })) {
      out.stop_reason = fmt::format("every target's half-width is at most {:.3g}%", 100 * options.width);
      break;
    }
    if (n >= options.max_steps) {
      out.stop_reason = "max steps";
      break;
    }
    std::optional<std::size_t> best;
    double best_gain = 0;
    bool fallback = false;
    if (options.strategy != AdaptiveOptions::Strategy::greedy) {
      std::vector<std::size_t> candidates;
      for (std::size_t r = 0; r < rows; ++r)
        if (affordable(r)) candidates.push_back(r);
      if (!candidates.empty()) {
        if (options.strategy == AdaptiveOptions::Strategy::random) {
          best = candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(engine)];
        } else {
          best = *std::min_element(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) { return cost[a] < cost[b]; });
        }
      }
      fallback = true;
    } else if (!current.has_interval) {
      // No interval to narrow yet: the cheapest affordable cell.
      for (std::size_t r = 0; r < rows; ++r)
        if (affordable(r) && (!best || cost[r] < cost[*best])) best = r;
      fallback = true;
    } else {
      const PredictiveSummary& ps = *current.fit->predictive;
      std::optional<std::size_t> by_distance, cheapest;
      double best_distance_gain = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        if (!affordable(r)) continue;
        std::vector<double> frontier = ps.frontier;
        for (std::size_t i = 0; i < k; ++i) frontier[i] = std::max(frontier[i], x[r][i]);
        double reduction = 0, closer = 0;
        for (const auto& t : current.targets) {
          closer += distance_beyond(x[t.row], ps.frontier) - distance_beyond(x[t.row], frontier);
          const auto& parts = *current.fit->points[t.row].parts;
          const double e = ps.s0 + ps.s1 * distance_beyond(x[t.row], frontier);
          const double half = ps.multiplier * std::sqrt(parts.bootstrap * parts.bootstrap + parts.seed * parts.seed + e * e);
          reduction += parts.half_width - half;
        }
        const double gain = reduction / (cost[r] / out.total_cost);  // per unit of the table's cost
        if (gain > best_gain * (1 + 1e-12) + 1e-15) best = r, best_gain = gain;
        const double distance_gain = closer / (cost[r] / out.total_cost);
        if (distance_gain > best_distance_gain * (1 + 1e-12) + 1e-15) by_distance = r, best_distance_gain = distance_gain;
        if (!cheapest || cost[r] < cost[*cheapest]) cheapest = r;
      }
      // s1 = 0 (the backtests saw no growth with distance): the half-width proxy is flat. The
      // budget is still to be spent (or the width reached): bring the frontier closer to the
      // targets per unit cost, else the cheapest cell; the refit recalibrates.
      if (!best) best = by_distance ? by_distance : cheapest, fallback = true;
    }
    if (!best) {
      bool any = false;
      for (std::size_t r = 0; r < rows; ++r) any = any || affordable(r);
      out.stop_reason = any ? "no affordable cell is left" : "the budget is spent: no cell fits in what is left";
      break;
    }
    set_acquired(*best);
    buy();
    current = refit();
    AdaptiveStep step;
    step.rows = {*best};
    step.gain = best_gain;
    step.fallback = fallback;
    record(std::move(step));
  }
  out.fit = std::move(current.fit);
  return out;
}

}  // namespace scalelab::fit
