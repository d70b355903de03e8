// `scalelab adapt --replay SWEEP --target PRED --budget F [--width W]`: the adaptive sweep's planner
// (fit/adaptive.h) replayed on a finished sweep's cells, against the spec's fixed fit set.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include <fmt/core.h>

#include "cli/adapt.h"
#include "cli/commands.h"
#include "cli/shared.h"
#include "fit/adaptive.h"
#include "sweep/results.h"
#include "sweep/spec.h"
#include "sweep/sweep.h"

namespace scalelab::cli {
namespace {

std::string cell_name(const Table& t, std::size_t r, const std::vector<std::string>& axes) {
  std::string s;
  for (const auto& a : axes) s += fmt::format("{}{}={}", s.empty() ? "" : " ", a, t.at(r, a));
  return s;
}

// Flags checked before anything is read, each refusal naming its flag (exit 2).
void check_flags(const AdaptFlags& flags) {
  if (!(flags.budget > 0 && flags.budget <= 1))
    throw InputError("--budget", 0, fmt::format("{}", flags.budget), "is not a fraction of the grid's compute in (0, 1]");
  if (!(flags.width >= 0) || !std::isfinite(flags.width))
    throw InputError("--width", 0, fmt::format("{}", flags.width), "is not a relative half-width >= 0");
  if (flags.levels < 1) throw InputError("--initial-levels", 0, std::to_string(flags.levels), "must be at least 1");
  if (flags.starts < 1) throw InputError("--starts", 0, std::to_string(flags.starts), "must be at least 1");
  if (flags.initial != "cheapest" && flags.initial != "corner")
    throw InputError("--initial", 0, flags.initial, "is neither 'cheapest' nor 'corner'");
  if (flags.strategy != "greedy" && flags.strategy != "random" && flags.strategy != "cheapest")
    throw InputError("--strategy", 0, flags.strategy, "is none of greedy, random, cheapest");
  if (flags.target.empty()) throw InputError("--target", 0, "", "name the target cells, e.g. 'width==0.5 && data_fraction==1'");
}

// The planner's options: the spec's law, inputs, target and givens, the flags' budget and design.
fit::AdaptiveOptions adaptive_options(const SweepSpec& spec, const AdaptFlags& flags, const std::string& where) {
  if (spec.prunes()) throw InputError(where, 0, spec.source, "the adaptive sweep is not built for pruning sweeps");
  fit::AdaptiveOptions o;
  o.fit = fit_options(sweep_fit(spec, spec.law));
  o.fit.normalize = flags.normalize;
  o.fit.starts = flags.starts;
  o.target_where = flags.target;
  o.budget = flags.budget;
  o.width = flags.width;
  o.initial_levels = flags.levels;
  o.strategy = flags.strategy == "random"     ? fit::AdaptiveOptions::Strategy::random
               : flags.strategy == "cheapest" ? fit::AdaptiveOptions::Strategy::cheapest
                                              : fit::AdaptiveOptions::Strategy::greedy;
  o.strategy_seed = flags.seed;
  o.initial = flags.initial == "corner" ? fit::AdaptiveOptions::Initial::corner : fit::AdaptiveOptions::Initial::cheapest;
  return o;
}

std::vector<std::string> axes_of(const Table& table) {
  std::vector<std::string> axes;
  for (const auto& name : {"width", "data_fraction", "depth"})
    if (table.has_column(name)) axes.emplace_back(name);
  return axes;
}

// The planner, its library errors renamed to the flags the user gave.
fit::AdaptiveResult plan(const Table& table, const fit::AdaptiveOptions& o, const AdaptFlags& flags,
                         const fit::MeasureCells& measure) {
  try {
    return fit::adaptive_design(table, o, measure);
  } catch (const InputError& e) {
    if (e.field() == "budget") throw InputError("--budget", 0, fmt::format("{}", flags.budget), e.message());
    if (e.field() == "target") throw InputError("--target", 0, flags.target, e.message());
    throw;
  }
}

void print_steps(const Table& table, const fit::AdaptiveResult& r, const AdaptFlags& flags) {
  const auto axes = axes_of(table);
  auto print_targets = [&](const std::vector<fit::AdaptiveTarget>& ts) {
    for (const auto& t : ts)
      fmt::print("    target {}: {:.4f} [{:.4f}, {:.4f}] half {:.1f}%\n", cell_name(table, t.row, axes), t.predicted, t.p05,
                 t.p95, 100 * t.half_width);
  };
  for (std::size_t i = 0; i < r.steps.size(); ++i) {
    const auto& s = r.steps[i];
    if (i == 0)
      fmt::print("step 0: initial design, {} cells ({} {} levels of every input)\n", s.rows.size(),
                 flags.initial == "corner" ? "the lowest" : "the cheapest spanning", flags.levels);
    else
      fmt::print("step {}: {}{}  gain {:.3g}\n", i, cell_name(table, s.rows[0], axes),
                 !s.fallback ? "" : flags.strategy == "greedy" ? " (fallback)" : " (" + flags.strategy + ")", s.gain);
    fmt::print("    spent {:.2f}% of the grid's compute; intervals calibrated on {} backtest predictions: s0 {:.4f}, s1 {:.4f}/octave, q {:.3f}\n",
               100 * s.fraction, s.backtests, s.s0, s.s1, s.multiplier);
    print_targets(s.targets);
  }
  for (std::size_t row : r.unmeasured)
    fmt::print("bought without a measurement (every run diverged or failed): {}\n", cell_name(table, row, axes));
  fmt::print("stopped: {}\n\n", r.stop_reason);
}

void run_adapt(const AdaptFlags& flags) {
  check_flags(flags);
  std::vector<std::string> warnings;
  const Table table = sweep_measurements(flags.replay, &warnings);
  for (const auto& w : warnings) fmt::print(stderr, "scalelab: warning: {}\n", w);
  const auto spec = load_spec(std::filesystem::path(flags.replay) / "spec.yaml");
  const fit::AdaptiveOptions o = adaptive_options(spec, flags, "--replay");
  const auto axes = axes_of(table);
  const fit::AdaptiveResult r = plan(table, o, flags, [&](const std::vector<std::size_t>&) { return table; });
  print_steps(table, r, flags);
  if (!flags.json.empty() && r.fit) write_file_atomic(flags.json, fit::to_json(*r.fit));

  // Against the spec's fixed split.
  const std::set<std::size_t> acquired(r.acquired.begin(), r.acquired.end());
  std::optional<fit::FitResult> fixed;
  double fixed_cost = 0;
  if (spec.has_fit()) {
    fit::FitOptions f = o.fit;
    f.fit_where = "in_fit==1";
    f.predictive_intervals = true;
    fixed = fit::fit_table(table, f);
    for (std::size_t row = 0; row < table.rows(); ++row)
      if (table.number(row, table.column("in_fit")) == 1) fixed_cost += table.number(row, table.column("cost"));
  }
  auto report = [&](const char* name, const fit::FitResult& fr, double fraction) {
    double held = 0, common = 0;
    int nh = 0, nc = 0, covered = 0;
    std::vector<double> halves;
    for (std::size_t row = 0; row < fr.points.size(); ++row) {
      const auto& p = fr.points[row];
      const double d = std::abs(p.divergence);
      if (!p.fitted) {
        held += d, ++nh;
        if (p.interval) {
          covered += p.measured >= p.interval->p05 && p.measured <= p.interval->p95;
          halves.push_back((p.interval->p95 - p.interval->p05) / 2 / p.predicted);
        }
      }
      const bool in_fixed = fixed && fixed->points[row].fitted;
      if (!acquired.count(row) && !in_fixed) common += d, ++nc;
    }
    std::sort(halves.begin(), halves.end());
    const std::size_t h = halves.size();
    const double median = h == 0 ? NAN : h % 2 ? halves[h / 2] : (halves[h / 2 - 1] + halves[h / 2]) / 2;
    fmt::print("{:<9} compute {:5.2f}%  held-out mean|d| {:.2f}% ({} cells)  on the {} cells neither trained {:.2f}%\n", name,
               100 * fraction, nh ? 100 * held / nh : 0.0, nh, nc, nc ? 100 * common / nc : 0.0);
    if (!halves.empty())
      fmt::print("          5-95% intervals cover {}/{} held-out cells, median half-width {:.1f}%\n", covered, h, 100 * median);
    for (std::size_t t : r.targets) {
      const auto& p = fr.points[t];
      fmt::print("    target {}: predicted {:.4f}, measured {:.4f} ({:+.2f}%), 5-95% [{:.4f}, {:.4f}]{}\n", cell_name(table, t, axes),
                 p.predicted, p.measured, 100 * p.divergence, p.interval ? p.interval->p05 : NAN, p.interval ? p.interval->p95 : NAN,
                 p.interval && p.measured >= p.interval->p05 && p.measured <= p.interval->p95 ? " covered" : " NOT covered");
    }
  };
  if (r.fit) report("adaptive", *r.fit, r.spent / r.total_cost);
  if (fixed) report("fixed", *fixed, fixed_cost / r.total_cost);
}

}  // namespace

void run_adaptive_sweep(const SweepSpec& spec, const std::filesystem::path& dir, const AdaptFlags& flags,
                        SweepOptions options) {
  check_flags(flags);
  const fit::AdaptiveOptions o = adaptive_options(spec, flags, "--target");
  // Every run planned (the cell table then lists every cell and its cost), none trained yet.
  options.cells.emplace();
  run_sweep(spec, dir, options);
  std::vector<std::string> warnings;
  const Table cells = cell_table(dir, &warnings);
  const auto keys = cell_keys(spec);
  auto name_of = [&](const Table& t, std::size_t r) {
    std::string s;
    for (const auto& key : keys) s += (s.empty() ? "" : " ") + key + "=" + t.at(r, key);
    return s;
  };
  int started = 0;
  // Trains the acquired cells' runs (those already finished are read, not retrained) and returns the
  // cell table in `cells`' rows and columns.
  auto measure = [&](const std::vector<std::size_t>& acquired) {
    options.cells.emplace();
    for (std::size_t r : acquired) options.cells->insert(name_of(cells, r));
    const SweepOutcome outcome = run_sweep(spec, dir, options);
    started += outcome.started;
    if (outcome.stopped) {
      print_outcome(outcome, dir);
      fmt::print(stderr, "stopped: run the same command again to resume (the planner repeats its choices, finished runs are kept)\n");
      exit_with(130);
    }
    std::vector<std::string> ignored;
    const Table now = cell_table(dir, &ignored);
    std::map<std::string, std::size_t> row_of;
    for (std::size_t r = 0; r < now.rows(); ++r) row_of[name_of(now, r)] = r;
    Table aligned(cells.header(), now.source());
    for (std::size_t r = 0; r < cells.rows(); ++r) {
      auto it = row_of.find(name_of(cells, r));
      if (it == row_of.end()) throw std::logic_error("adaptive sweep: a cell left the store: " + name_of(cells, r));
      std::vector<std::string> row;
      for (const auto& column : cells.header()) row.push_back(now.has_column(column) ? now.at(it->second, column) : "");
      aligned.add_row(std::move(row));
    }
    return aligned;
  };
  const fit::AdaptiveResult r = plan(cells, o, flags, measure);
  print_steps(cells, r, flags);
  fmt::print("bought {} of {} cells, {:.2f}% of the grid's planned compute ({} runs trained by this command)\n", r.acquired.size(),
             cells.rows(), 100 * r.spent / r.total_cost, started);
  if (r.fit) {
    write_file_atomic(dir / "fit.json", fit::to_json(*r.fit));
    fmt::print("the last fit (on the bought cells): {}\n", (dir / "fit.json").string());
  }
  fmt::print("the other cells stay planned: `scalelab sweep {}` without --target trains them all\n", spec.source);
}

void add_adapt_command(CLI::App& app) {
  auto flags = std::make_shared<AdaptFlags>();
  auto* cmd = app.add_subcommand("adapt", "the adaptive sweep's planner replayed on a finished sweep: which cells to train to "
                                          "predict the target cells within a budget (issue 19 part 3)");
  cmd->add_option("--replay", flags->replay, "a finished sweep directory whose cells are drawn instead of trained")->required();
  cmd->add_option("--target", flags->target, "the target cells, e.g. 'width==0.5 && data_fraction==1'")->required();
  cmd->add_option("--budget", flags->budget, "fraction of the grid's compute that may be spent (default 0.05)");
  cmd->add_option("--width", flags->width, "stop once every target's relative half-width is at most this (0: spend the budget)");
  cmd->add_option("--starts", flags->starts, "multi-start count of each refit (default 256)");
  cmd->add_option("--initial-levels", flags->levels, "the initial design spans this many levels of every input (default 4)");
  cmd->add_option("--initial", flags->initial,
                  "cheapest (default): the cheapest cells spanning --initial-levels values of every input, at least the law's "
                  "parameters + 2 cells; corner: every cell within the lowest --initial-levels levels of every input");
  cmd->add_option("--strategy", flags->strategy,
                  "after the initial design: greedy (default, the planner), or a baseline: random (a random affordable cell "
                  "each step, --seed) or cheapest (the cheapest affordable cell each step)");
  cmd->add_option("--seed", flags->seed, "the random baseline's seed (default 1)");
  cmd->add_option("--json", flags->json, "write the adaptive design's last fit (every cell predicted, with its interval) as JSON");
  cmd->callback([flags] { run_adapt(*flags); });
}

}  // namespace scalelab::cli
