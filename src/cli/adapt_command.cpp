// `scalelab adapt --replay SWEEP --target PRED --budget F [--width W]`: the adaptive sweep's planner
// (fit/adaptive.h) replayed on a finished sweep's cells, against the spec's fixed fit set.
#include <cmath>
#include <set>
#include <string>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/shared.h"
#include "fit/adaptive.h"
#include "sweep/results.h"
#include "sweep/spec.h"

namespace scalelab::cli {
namespace {

struct AdaptFlags {
  std::string replay, target;
  double budget = 0.05, width = 0;
  int starts = 256, levels = 4;
  std::string initial = "cheapest", strategy = "greedy";
  unsigned seed = 1;
  bool normalize = true;
};

std::string cell_name(const Table& t, std::size_t r, const std::vector<std::string>& axes) {
  std::string s;
  for (const auto& a : axes) s += fmt::format("{}{}={}", s.empty() ? "" : " ", a, t.at(r, a));
  return s;
}

void run_adapt(const AdaptFlags& flags) {
  // Flags checked before anything is read, each refusal naming its flag (exit 2).
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
  std::vector<std::string> warnings;
  const Table table = sweep_measurements(flags.replay, &warnings);
  for (const auto& w : warnings) fmt::print(stderr, "scalelab: warning: {}\n", w);
  const auto spec = load_spec(std::filesystem::path(flags.replay) / "spec.yaml");
  if (spec.prunes()) throw InputError("--replay", 0, flags.replay, "not built for pruning sweeps");
  const SweepFit defaults = sweep_fit(spec, spec.law);
  fit::AdaptiveOptions o;
  o.fit.law = spec.law;
  o.fit.inputs = defaults.inputs;
  o.fit.target = defaults.target;
  for (const auto& [name, value] : defaults.givens) o.fit.givens[name] = fit::Given::constant(value);
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
  std::vector<std::string> axes;
  for (const auto& name : {"width", "data_fraction", "depth"})
    if (table.has_column(name)) axes.emplace_back(name);

  fit::AdaptiveResult r;
  try {
    r = fit::adaptive_replay(table, o);
  } catch (const InputError& e) {
    // The library names its option; the user gave a flag.
    if (e.field() == "budget") throw InputError("--budget", 0, fmt::format("{}", flags.budget), e.message());
    if (e.field() == "target") throw InputError("--target", 0, flags.target, e.message());
    throw;
  }
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
    fmt::print("    spent {:.2f}% of the grid's compute\n", 100 * s.fraction);
    print_targets(s.targets);
  }
  fmt::print("stopped: {}\n\n", r.stop_reason);

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
    int nh = 0, nc = 0;
    for (std::size_t row = 0; row < fr.points.size(); ++row) {
      const double d = std::abs(fr.points[row].divergence);
      if (!fr.points[row].fitted) held += d, ++nh;
      const bool in_fixed = fixed && fixed->points[row].fitted;
      if (!acquired.count(row) && !in_fixed) common += d, ++nc;
    }
    fmt::print("{:<9} compute {:5.2f}%  held-out mean|d| {:.2f}% ({} cells)  on the {} cells neither trained {:.2f}%\n", name,
               100 * fraction, nh ? 100 * held / nh : 0.0, nh, nc, nc ? 100 * common / nc : 0.0);
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
  cmd->callback([flags] { run_adapt(*flags); });
}

}  // namespace scalelab::cli
