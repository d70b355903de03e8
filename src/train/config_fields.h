// The binding between the hyperparameter schema (store/hparam_schema.h) and TrainConfig: each row's
// TrainConfig member, named once. Reading hparams.yaml, writing it and result.json's "hparams", the
// worker's flags and validate() all go through for_each_field; tests/train/schema_walk_test.cpp checks
// that it binds exactly the schema's rows, in the schema's order. Torch-free.
#pragma once

#include "train/train.h"

namespace scalelab {

// Calls f(name, member) for every hyperparameter of `config` (TrainConfig or const TrainConfig), in the
// schema's order. Members are std::string, double, int, std::int64_t, std::uint64_t, or an
// std::optional of a number (a key that may be left out).
template <class Config, class F>
void for_each_field(Config& c, F&& f) {
  f("dataset", c.dataset);
  f("model", c.model.family);
  f("width", c.model.width);
  f("depth", c.model.depth);
  f("data_fraction", c.data_fraction);
  f("data_count", c.data_count);
  f("seed", c.seed);
  f("epochs", c.epochs);
  f("batch_size", c.batch_size);
  f("lr", c.lr);
  f("momentum", c.momentum);
  f("weight_decay", c.weight_decay);
  f("schedule", c.schedule);
  f("optimizer", c.optimizer);
  f("warmup", c.warmup);
  f("val_count", c.val_count);
  f("early_stopping", c.early_stopping);
  f("device", c.device);
  f("precision", c.precision);
  f("prune_levels", c.prune_levels);
  f("prune_rate", c.prune_rate);
  f("prune_rewind", c.prune_rewind);
  f("prune_ends", c.prune_ends);
}

}  // namespace scalelab
