// The worker's defaults (TrainConfig in src/train/train.h, docs/run-directory.md), torch-free, so that a
// run's id does not depend on whether a spec wrote a default out. tests/store/defaults_test.cpp checks
// this table against TrainConfig{} so the two cannot drift apart.
#pragma once

#include <array>
#include <string_view>

namespace scalelab {

struct WorkerDefault {
  std::string_view key;
  std::string_view value;  // in Hparams' canonical text
  // Core keys name the configuration: every sweep spec gives them (dataset, model, width, depth, the
  // data size, seed, epochs), and a run's id keeps them as written. The other keys are left out of
  // the id when they hold the default. So the ids of specs that never wrote an optional default are
  // exactly what they were.
  bool core;
};

inline constexpr std::array<WorkerDefault, 15> kWorkerDefaults = {{
    {"dataset", "fashion-mnist", true},
    {"model", "mlp", true},
    {"width", "1", true},
    {"depth", "2", true},
    {"data_fraction", "1", true},  // only when data_count is not given
    {"seed", "1", true},
    {"epochs", "10", true},
    {"batch_size", "128", false},
    {"lr", "0.05", false},
    {"momentum", "0.9", false},
    {"weight_decay", "0.0005", false},
    {"schedule", "cosine", false},
    {"val_count", "5000", false},
    {"early_stopping", "0", false},
    {"device", "cpu", false},
}};

}  // namespace scalelab
