// Predictive intervals: what the bootstrap of the fitted points leaves out.
//
// The bootstrap interval of a prediction holds only the parameters' uncertainty. A measured cell
// also differs from the law by (i) seed noise and (ii) the error of extrapolating a form that is not
// quite right, which grows with distance from the fit set. Measured on the demo sweep, the bootstrap
// 5-95% interval held 12 of 22 held-out cells. Here, in log space (so intervals stay positive):
//
//   sigma(cell) = sqrt(bootstrap^2 + seed^2 + extrapolation(distance)^2)     (relative, i.e. in log)
//   interval    = predicted * exp(+-multiplier * sigma)
//
// - bootstrap: log(p95 / p05) / 2 / 1.645 of the bootstrap interval (0 without a bootstrap).
// - seed: the root mean square of std/mean over the fit set's cells with >= 2 seeds (a single run's
//   relative seed std), divided by sqrt(seeds) where the cell says how many seeds its mean holds.
// - model error ("extrapolation" in the parts): s0 + s1 * distance + s2 * gap, each >= 0, fitted by
//   least squares to sqrt(pi/2) * |r| of backtests, r = log(measured / predicted):
//   extrapolation backtests refit the fit set without its largest 1-2 levels of each input (and of
//   several at once) and predict the dropped cells; interpolation backtests refit without one cell
//   that another fit cell dominates (up to kMaxInterpolationRefits of them) and predict it.
//   distance and gap: distance_from_cells, from the (backtest's) fit set.
// - multiplier: the (n+1) * level-th smallest |r| / sigma over the n backtest residuals, interpolated
//   between order statistics (split conformal's rank, not rounded up; see predictive.cpp). It is
//   calibrated on the same residuals sigma(d) was fitted to (too few for a held-apart split), so the
//   backtest coverage is near the nominal level by construction; held-out coverage is the test.
// Backtests that keep fewer than three levels of an input are skipped (their fits are much weaker
// than the real one), so a fit set needs four levels of an input for any backtest.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fit/fit.h"
#include "table/table.h"

namespace scalelab::fit {

// Adds the predictive interval of every point to `result` (a fit of `table` with `options`):
// PointResult::interval becomes it (the bootstrap one stays in interval_bootstrap), and
// result.predictive says how it was built. Needs a fit set with four levels of some input and more
// cells than parameters once its largest level is dropped; else a warning, and the bootstrap
// intervals stay. Without fit_where the fit set is every row (no held-out cells to score).
void add_predictive_intervals(const Table& table, const FitOptions& options, FitResult& result);

// A point's place relative to a fit set's cells, in octaves (log2 of input ratios, summed over inputs):
// - distance: beyond the set, the least over cells c of the sum of log2(input / c) where positive
//   (0 for a point that some cell dominates in every input; past a full grid's corner, the octaves
//   past its largest values);
// - gap: the least over cells of the sum of |log2(input / c)|, less the distance: the octaves of
//   the set's holes the prediction interpolates over (0 on a grid point or past a full grid; an
//   adaptive design or scattered points have holes).
// Both 0 for an empty set.
struct CellDistance {
  double distance = 0, gap = 0;
};
CellDistance distance_from_cells(const std::vector<double>& inputs, const std::vector<std::vector<double>>& cells);

// Law selection by extrapolation (issue 19): each candidate (law, loss) is fitted with predictive
// intervals (no bootstrap) and scored by its backtests' mean |relative error|, i.e. how well it
// extrapolated from the fit set less its largest levels, not how well it fits in sample.
struct LawCandidate {
  std::string law;
  std::optional<Loss> loss;  // unset: the law's default
  std::vector<std::pair<std::string, std::string>> inputs;  // law input -> column, this law's
  std::map<std::string, Given> givens;                      // this law's givens
};
struct LawComparison {
  std::string law;
  Loss loss = Loss::divergence;
  double backtest_error = 0;     // mean |pred - meas| / meas over the backtest predictions
  int backtests = 0;
  double in_sample = 0;          // mean |divergence| on the fit set
  std::optional<double> held_out;  // mean |divergence| on the held-out rows, when any
  std::string failure;           // non-empty: the fit or its backtests failed (ranked last)
};
// Ranked best first (least backtest error); failed candidates last, in the given order. Every
// option of `base` but law, loss, inputs and givens applies to each candidate's fit.
std::vector<LawComparison> compare_laws(const Table& table, const FitOptions& base,
                                        const std::vector<LawCandidate>& candidates);

}  // namespace scalelab::fit
