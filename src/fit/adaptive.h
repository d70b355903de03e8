// The adaptive sweep's planner (issue 19 part 3): which cells to train, in what order, to predict
// target cells within a budget. Torch-free: it works on a table of cells and buys a cell's
// measurement through a callback, `MeasureCells`: `scalelab sweep --target` trains the cells there;
// replay mode reveals the measurements of a table where they are already known (a finished sweep's
// cells, or any CSV) to the fit only once the planner has "trained" (acquired) the cell.
//
//   1. Initial design (AdaptiveOptions::initial): by default the cheapest cells that span
//      `initial_levels` distinct values of every law input; or the cells within the lowest
//      `initial_levels` levels of every input (the corner). Target cells excluded. When the fit there has no predictive interval (too
//      few levels or cells), the cheapest affordable cells are added one at a time until it has.
//   2. Greedy step: for each affordable cell not yet acquired (targets excluded), a proxy of how much
//      it narrows the targets' predictive intervals (fit/predictive.h) with the current calibration
//      (s0, s1, multiplier, seed and bootstrap terms kept): the fit set's frontier moves to include
//      the cell, so each target's distance beyond it, and its half-width
//      multiplier * sqrt(b^2 + seed^2 + (s0 + s1 * distance)^2), shrink. The cell with the largest
//      (sum over targets of the half-width reduction) / cost is acquired and the law refitted (which
//      recalibrates s0, s1 and the multiplier on the new fit set's backtests).
//      When no cell narrows a target by the proxy (s1 = 0: the backtests saw no growth with
//      distance), the cell that brings the frontier closest to the targets per unit cost is taken
//      (else the cheapest), marked `fallback`.
//   3. Stop when every target's relative half-width is at most `width`, or when no cell fits in
//      what is left of the budget.
// A cell is acquired at most once and the cost spent never exceeds budget * (the table's total cost).
// Cells only, with all their seeds: extra seeds of an acquired cell are not candidates yet.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fit/fit.h"
#include "table/table.h"

namespace scalelab::fit {

struct AdaptiveOptions {
  // law, inputs, target, givens, loss, normalize, starts, seed... fit_where is replaced at each step
  // (the acquired cells); predictive_intervals is forced on; bootstrap as given (0 is fastest).
  FitOptions fit;
  std::string target_where;         // predicate selecting the target cells (columns and law inputs)
  std::string cost_column = "cost";
  double budget = 0.05;             // fraction of the table's total cost that may be spent, in (0, 1]
  double width = 0;                 // stop once every target's relative half-width <= this; 0: never
  // The initial design. `cheapest` (default): the cheapest set of cells that spans `initial_levels`
  // distinct values of every input and has at least (the law's parameters + 2) cells: cells are
  // added by cost per new value they bring to an input that still lacks values, then the cheapest
  // cells until the count is reached. `corner`: every cell within the lowest `initial_levels`
  // levels of every input (a full grid corner; costly when small-data cells train more epochs).
  enum class Initial { cheapest, corner };
  Initial initial = Initial::cheapest;
  int initial_levels = 4;           // the initial design's distinct values (levels) of every input
  int max_steps = 10000;
  // After the initial design: `greedy` (the planner above), or a baseline for comparison, with the
  // same initial design and budget: `random` (a uniformly random affordable cell each step, from
  // `strategy_seed`) or `cheapest` (the cheapest affordable cell each step). Baselines never refit
  // for planning; they refit only to report the targets after each step.
  enum class Strategy { greedy, random, cheapest };
  Strategy strategy = Strategy::greedy;
  unsigned strategy_seed = 1;
};

struct AdaptiveTarget {
  std::size_t row = 0;
  double predicted = 0, p05 = 0, p95 = 0;
  double half_width = 0;  // (p95 - p05) / 2 / predicted; infinite when the fit has no interval
  double measured = 0;    // known to the replay only (NaN when not measured); never seen by the planner
};

struct AdaptiveStep {
  std::vector<std::size_t> rows;  // the cells acquired at this step (the initial design: several)
  double cost = 0;                // cumulative cost after it
  double fraction = 0;            // cost / total cost of the table
  double gain = 0;                // the proxy's half-width reduction per unit cost (0: initial/fallback)
  bool fallback = false;          // not by the half-width proxy (no interval yet, or the proxy flat)
  std::vector<AdaptiveTarget> targets;  // after refitting with it
  // The calibration after refitting with it (0 when the fit has no predictive interval): backtest
  // predictions the multiplier was calibrated on, s0, s1 and the multiplier.
  int backtests = 0;
  double s0 = 0, s1 = 0, multiplier = 0;
};

struct AdaptiveResult {
  std::vector<AdaptiveStep> steps;
  std::vector<std::size_t> acquired;  // rows, in the order acquired
  std::vector<std::size_t> targets;   // target rows
  std::vector<std::size_t> unmeasured;  // acquired rows that `measure` returned without a measurement
  double total_cost = 0, spent = 0;
  std::string stop_reason;
  std::optional<FitResult> fit;       // the last fit (fit set = acquired cells), when one succeeded
};

// Buys cells: called with every row acquired so far (the newest last), it trains (or reveals) them
// and returns the table again, same rows in the same order, with the measurements of the acquired
// rows filled in. A row it could not measure (every run diverged or failed) has an empty or
// non-finite target there: it stays bought (never bought twice) and out of the fit. Rows not
// acquired may be empty: the planner never reads them (it fills a placeholder the fit needs).
using MeasureCells = std::function<Table(const std::vector<std::size_t>& acquired)>;

// The planner over `cells` (one row per cell: the law's input columns, the cost column; the target
// column where already known), buying cells through `measure`. Throws InputError for a missing cost
// column, non-positive or non-finite costs, an empty target set, a budget outside (0, 1], or an
// initial design that alone exceeds the budget; std::logic_error when `measure` changes the rows.
AdaptiveResult adaptive_design(const Table& cells, const AdaptiveOptions& options, const MeasureCells& measure);

// Replay: the table's measurements are all known and revealed to the fit only once acquired.
AdaptiveResult adaptive_replay(const Table& table, const AdaptiveOptions& options);

}  // namespace scalelab::fit
