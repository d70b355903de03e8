// The files of a run directory (docs/run-directory.md) as text: hparams.yaml in, and hparams.yaml,
// metrics.jsonl and result.json out. The worker writes them with write_file_atomic.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "train/train.h"

namespace scalelab {

// A flat YAML map of the keys of TrainConfig (model, width, depth, ... as in the docs); missing keys
// keep their defaults. An unknown key or a bad value is an InputError naming the source and key.
// `threads` is accepted and returned through *threads (it is not a hyperparameter).
TrainConfig parse_hparams(std::string_view yaml, const std::string& source, int* threads = nullptr);
TrainConfig read_hparams(const std::filesystem::path& path, int* threads = nullptr);
std::string hparams_yaml(const TrainConfig& config);
// Sets the TrainConfig member of hyperparameter `key` (store/hparam_schema.h) from its text, as
// hparams.yaml's reader does; InputError names source, line and key (unknown key, bad value).
void set_hparam(TrainConfig& config, std::string_view key, const std::string& text, const std::string& source,
                int line);
// Leaves an optional hyperparameter (data_fraction, data_count) unset; others keep their value.
void clear_hparam(TrainConfig& config, std::string_view key);

std::string metrics_jsonl(const std::vector<EpochMetrics>& history);  // one JSON object a line
std::string result_json(const TrainConfig& config, const RunResult& result);

}  // namespace scalelab
