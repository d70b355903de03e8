// The pruning law fitted to a pruning sweep (docs/pruning.md): pruning2021_joint over every (cell,
// level) row, pruning2021 per configuration, and eps_np either measured (each cell's level-0 mean) or
// predicted by a rosenfeld2020 fit of the level-0 cells, resampled with the joint fit's bootstrap.
//
//   auto spec = load_spec(dir / "spec.yaml");
//   PruningFitOptions options{pruning_fit_options(spec)};
//   options.joint.bootstrap = 100;
//   PruningFits fits = fit_pruning_sweep(sweep_measurements(dir, &warnings), spec, options);
//   fmt::print("{}{}", fit::format_report(fits.joint), format_pruning_report(fits));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fit/fit.h"
#include "sweep/spec.h"
#include "table/table.h"

namespace scalelab::prune {

// Where the joint fit's eps_np comes from.
enum class EpsNp {
  measured,  // each row's eps_np column: its cell's level-0 mean over seeds (the paper's)
  fit,       // a rosenfeld2020 fit (the spec's eps0) of the fit set's level-0 cells, predicted per row
};
EpsNp parse_eps_np(const std::string& text);  // "measured" or "fit"; InputError naming `eps_np`

struct PruningFitOptions {
  fit::FitOptions joint;  // the fit of every row; its starts, seed and bootstrap serve the others too
  EpsNp eps_np = EpsNp::measured;
  bool per_configuration = true;  // also fit pruning2021 to each configuration's levels
};

// What `fit --sweep` takes from a pruning spec: its law (pruning2021_joint unless it names another),
// the inputs mapped to density, depth and width, eps_np from the rows, the target, and the spec's
// fit set as in_fit==1. InputError (field `law`) when the spec does not prune.
fit::FitOptions pruning_fit_options(const SweepSpec& spec);

// pruning2021 fitted to one configuration's levels (eps_np given, its measured level-0 mean).
struct ConfigurationFit {
  std::string cell;                // "width=0.25 depth=2"
  int points = 0;                  // its levels with a mean error
  std::vector<double> parameters;  // eps_up, gamma, p; empty when it was not fitted (see note)
  double mean_abs = 0;             // mean |divergence| over its levels
  std::string note;
};

struct PruningFits {
  fit::FitResult joint;
  std::optional<fit::FitResult> inner;  // the rosenfeld2020 fit eps_np came from (EpsNp::fit)
  EpsNp eps_np = EpsNp::measured;
  std::vector<ConfigurationFit> configurations;
  // Every fitted configuration's points together: how many, and the mean and std of |divergence|.
  int points = 0;
  double mean_abs = 0, std_abs = 0;
};

// `rows`: sweep_measurements of the sweep (one row per cell and level). InputError for what cannot be
// fitted, naming the field (FitOptions') or the row.
PruningFits fit_pruning_sweep(const Table& rows, const SweepSpec& spec, const PruningFitOptions& options);

// The per-configuration table and its summary (the joint fit has fit::format_report).
std::string format_pruning_report(const PruningFits& fits);
// The joint fit's JSON (fit::to_json, readable by `scalelab predict` and `design --fit`) with a
// "pruning" object: eps_np's source, the per-configuration fits and their summary.
std::string pruning_json(const PruningFits& fits);

}  // namespace scalelab::prune
