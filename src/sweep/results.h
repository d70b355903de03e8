// A sweep directory's runs as tables, in the shape pandas reads (`pd.read_csv`): one row per run, or
// one row per cell with the mean and standard deviation over seeds.
//
// Cells are told apart by the spec's grid axes (SWEEP/spec.yaml). Column `role` says whether the cell
// is in the spec's fit set (`fit`) or held out for prediction (`held_out`); `in_fit` is the same as
// 1/0, so a fitter can select the rows with `in_fit==1`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "table/table.h"

namespace scalelab {

// One row per run: id, status, role, the cell's axes, seed, params, samples, epochs, test_error,
// val_error, wall_s, attempts, message.
Table run_table(const std::filesystem::path& sweep_dir);

// One row per cell: role, in_fit, the cell's axes, params (n), samples (m), seeds (finished runs
// averaged), test_error (mean), test_error_std, diverged, failed, unfinished, cost (training FLOPs of
// all its seeds). Cells without a finished run have an empty test_error.
Table cell_table(const std::filesystem::path& sweep_dir);

// The cells a law can be fitted to: cell_table without the cells that have no finished run. Diverged
// runs are left out of the means; each exclusion adds a line to `warnings` (stderr when null).
Table sweep_measurements(const std::filesystem::path& sweep_dir, std::vector<std::string>* warnings = nullptr);

}  // namespace scalelab
