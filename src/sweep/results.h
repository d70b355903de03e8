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

// Every function here returns its warnings (the index rebuilt or read from the run directories, runs
// left out) in `warnings`, for the caller to show; nothing is printed. Null: the caller drops them.

// Throws InputError naming the directory unless it is a sweep's: a directory with store.sqlite or
// runs/ (or nothing there yet is not one either).
void check_sweep_directory(const std::filesystem::path& sweep_dir);

// One row per run: id, status, role, the cell's axes, seed, params, samples, epochs, test_error,
// val_error, wall_s, attempts, message.
Table run_table(const std::filesystem::path& sweep_dir, std::vector<std::string>* warnings);

// One row per cell: role, in_fit, the cell's axes, params (n), samples (m), seeds (finished runs
// averaged), test_error (mean), test_error_std, diverged, failed, unfinished, cost (training FLOPs of
// all its seeds), then for each further metric (the spec's target when it is not test_error, then
// `metrics`, any numeric field of result.json) its mean and its std over the finished runs: NAME,
// NAME_std. A mean is empty where a finished run lacks the field (or has no number there); cells
// without a finished run have empty means.
Table cell_table(const std::filesystem::path& sweep_dir, std::vector<std::string>* warnings,
                 const std::vector<std::string>& metrics = {});

// The cells a law can be fitted to: cell_table without the cells that have no finished run. Diverged
// runs are left out of the means; each exclusion adds a line to `warnings`.
Table sweep_measurements(const std::filesystem::path& sweep_dir, std::vector<std::string>* warnings,
                         const std::vector<std::string>& metrics = {});

}  // namespace scalelab
