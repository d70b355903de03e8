// The charts of a report, built from a sweep's store and a fit's JSON (report.h has the page and the
// export). Each chart kind is one function from the inputs to a Chart, so adding a kind is one function
// and one line in sweep_report(). Torch-free.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "fit/fit.h"
#include "report/report.h"
#include "table/table.h"

namespace scalelab {

// What a report is drawn from: a sweep's per-cell and per-run tables (either may be empty) and a fit of
// a law in (m, n) (rosenfeld2020 and its peers), when there is one.
struct ReportInputs {
  std::string name;                 // the sweep's directory name, or the fit file's
  Table cells, runs;                // results.h: cell_table and run_table
  std::optional<fit::FitResult> fit;
  std::string fit_source;           // where the fit came from
  // Or the theory lab's Nyquist experiment (`scalelab theory nyquist --csv`): one row per (learner, m).
  Table nyquist;
};

// Reads a sweep directory (its store, and DIR/fit.json when present), a fit JSON file, or the CSV of
// `scalelab theory nyquist --csv` (a .csv file with the columns learner, m, relative_error). Throws
// InputError naming the path when it is none of them.
ReportInputs read_report_inputs(const std::filesystem::path& path);

// Every chart the inputs allow, in reading order, and the header (what was swept, fitted, predicted).
Report build_report(const ReportInputs& inputs);

// The chart kinds (each returns nullopt when the inputs lack what it needs).
std::optional<Chart> error_against_data_chart(const ReportInputs& in);   // (a) a line per model size
std::optional<Chart> error_against_model_chart(const ReportInputs& in);  // (b) a line per data size
std::optional<Chart> divergence_chart(const ReportInputs& in);           // (c) against extrapolation distance
std::optional<Chart> parameters_chart(const ReportInputs& in);           // (d) with bootstrap intervals
std::optional<Chart> compute_chart(const ReportInputs& in);              // (e) what each cell cost
std::optional<Chart> seed_spread_chart(const ReportInputs& in);          // (f) every seed's error per cell
// Every measured target (test error, test loss) against data size, one at a time through a selector.
std::optional<Chart> targets_chart(const ReportInputs& in);
// A pruning sweep (docs/pruning.md): error against density per network with the joint law's curves, and
// the networks' errors against the fitted invariant m* = l^phi w^psi d (the collapse).
std::optional<Chart> pruning_curves_chart(const ReportInputs& in);
std::optional<Chart> pruning_collapse_chart(const ReportInputs& in);
// The Nyquist experiment (docs/theory.md): relative error against m, a line per learner, with (2B+1)^d
// and the 1e-8 floor marked.
std::optional<Chart> nyquist_chart(const ReportInputs& in);

}  // namespace scalelab
