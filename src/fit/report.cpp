// The terminal report of a fit: what a person reads after `scalelab fit`.
#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "fit/fit.h"

namespace scalelab::fit {

namespace {

std::string percent(double x) { return fmt::format("{:+.2f}%", 100 * x); }

std::string summary_line(const char* label, const Summary& s) {
  if (s.count == 0) return fmt::format("  {:<18} (no points)\n", label);
  return fmt::format("  {:<18} n={:<4} mean {:>8}  std {:>7.2f}%  mean|d| {:>6.2f}%  max|d| {:>6.2f}%\n", label,
                     s.count, percent(s.mean), 100 * s.std, 100 * s.mean_abs, 100 * s.max_abs);
}

}  // namespace

std::string format_report(const FitResult& r) {
  std::string out;
  out += fmt::format("law       {}: {}\n", r.law, r.formula);
  std::string inputs;
  for (std::size_t i = 0; i < r.input_names.size(); ++i) {
    inputs += fmt::format("{}{}={}", i ? ", " : "", r.input_names[i], r.input_columns[i]);
    if (r.input_scales[i] != 1.0) inputs += fmt::format(" (/{:.6g})", r.input_scales[i]);
  }
  out += fmt::format("inputs    {}   measured: {}\n", inputs, r.target);
  for (std::size_t g = 0; g < r.given_names.size(); ++g) {
    const Given& given = r.givens[g];
    std::string source = given.value ? fmt::format("{:.6g}", *given.value)
                         : given.fit ? fmt::format("predicted by a {} fit of {}", given.fit->law, given.fit->target)
                                     : "column " + given.column;
    if (given.fit && !r.given_fit_samples.empty() && !given.fit->bootstrap_samples.empty())
      source += fmt::format(" (each bootstrap fit takes one of its {} bootstrap samples)", given.fit->bootstrap_samples.size());
    out += fmt::format("given     {} = {}\n", r.given_names[g], source);
  }
  out += fmt::format("loss      {}{}   objective {:.6g}\n", to_string(r.loss),
                     r.loss == Loss::huber_log ? fmt::format(" (delta {:g})", r.huber_delta) : "", r.objective);
  out += fmt::format("starts    {} of {} reached the best objective (seed {})\n", r.starts_at_best, r.starts, r.seed);
  if (!r.fit_where.empty()) out += fmt::format("fit where {}\n", r.fit_where);

  out += "\nparameter        value";
  if (!r.bootstrap_samples.empty())
    out += fmt::format("       5%          50%          95%     ({} bootstrap fits)", r.bootstrap_samples.size());
  out += "\n";
  for (const auto& p : r.parameters) {
    out += fmt::format("  {:<10} {:>12.6g}", p.name, p.value);
    if (p.interval) out += fmt::format(" {:>12.6g} {:>12.6g} {:>12.6g}", p.interval->p05, p.interval->p50, p.interval->p95);
    if (p.at_bound) out += "  (at bound)";
    out += "\n";
  }

  out += "\n";
  std::string header = " line  set ";
  for (const auto& name : r.input_names) header += fmt::format(" {:>12}", name);
  header += fmt::format(" {:>11} {:>11} {:>9}", "measured", "predicted", "delta");
  const bool intervals = std::any_of(r.points.begin(), r.points.end(), [](const PointResult& p) { return p.interval.has_value(); });
  if (intervals) header += fmt::format(" {:>11} {:>11}", "5%", "95%");
  out += header + "\n";
  for (const auto& p : r.points) {
    std::string line = fmt::format("{:>5}  {:<4}", p.line, p.fitted ? "fit" : "held");
    for (double x : p.inputs) line += fmt::format(" {:>12.6g}", x);
    line += fmt::format(" {:>11.5g} {:>11.5g} {:>9}", p.measured, p.predicted, percent(p.divergence));
    if (p.interval) line += fmt::format(" {:>11.5g} {:>11.5g}", p.interval->p05, p.interval->p95);
    out += line + "\n";
  }

  if (r.predictive) {
    const PredictiveSummary& q = *r.predictive;
    out += fmt::format("\nintervals predictive, nominal {:.0f}% (5-95%): predicted * exp(+-{:.3g} * sigma), sigma^2 = "
                       "bootstrap^2 + seed^2 + ({:.3g} + {:.3g} * distance + {:.3g} * gap)^2 (log space; octaves beyond "
                       "the fit set, and between its cells)\n",
                       100 * q.level, q.multiplier, q.s0, q.s1, q.s2);
    out += fmt::format("  seed std/mean {:.2f}% (pooled over {} fit cells)   backtests: {} predictions from {} refits, "
                       "coverage {:.0f}%\n",
                       100 * q.seed_relative_std, q.seed_cells, q.backtests, q.backtest_fits, 100 * q.backtest_coverage);
    if (q.held_out > 0)
      out += fmt::format("  held-out coverage {:.0f}% ({} of {} cells inside their intervals)\n", 100 * q.held_out_coverage,
                         static_cast<int>(std::lround(q.held_out_coverage * q.held_out)), q.held_out);
  } else if (!r.bootstrap_samples.empty()) {
    out += "\nintervals: bootstrap 5-95% of the fitted points only (no seed noise, no extrapolation error)\n";
  }
  out += "\ndivergence (predicted - measured) / measured\n";
  out += summary_line("fitted", r.fitted);
  if (r.held_out.count > 0) out += summary_line("held out (extrap.)", r.held_out);
  if (r.cross_validation) out += summary_line(fmt::format("{}-fold CV", r.folds).c_str(), *r.cross_validation);
  for (const auto& w : r.warnings) out += fmt::format("\nWARNING: {}\n", w);
  return out;
}

}  // namespace scalelab::fit
