// The defaults that run ids leave out (store/hparam_schema.h) are the worker's (TrainConfig in train.h):
// if one drifted, a spec writing that value out would name a different run than one leaving it out.
// train.h is torch-free and TrainConfig's defaults are inline, so this needs no libtorch.
#include <gtest/gtest.h>

#include <map>

#include "store/hparam_schema.h"
#include "store/hparams.h"
#include "train/train.h"

namespace scalelab {
namespace {

TEST(HparamsDefaults, EqualTrainConfigDefaults) {
  const TrainConfig d{};
  Hparams h;  // TrainConfig{} in Hparams' canonical text
  h.set("dataset", d.dataset);
  h.set("model", d.model.family);
  h.set("width", d.model.width);
  h.set("depth", static_cast<double>(d.model.depth));
  h.set("data_fraction", d.data_fraction.value_or(1.0));  // neither fraction nor count: all of it
  h.set("seed", static_cast<double>(d.seed));
  h.set("epochs", static_cast<double>(d.epochs));
  h.set("batch_size", static_cast<double>(d.batch_size));
  h.set("lr", d.lr);
  h.set("momentum", d.momentum);
  h.set("weight_decay", d.weight_decay);
  h.set("schedule", d.schedule);
  h.set("val_count", static_cast<double>(d.val_count));
  h.set("early_stopping", static_cast<double>(d.early_stopping));
  h.set("device", d.device);
  EXPECT_FALSE(d.data_count.has_value());
  Hparams table;  // the same canonical text: 0.0005 and 5e-4 are one value
  for (const auto& row : hparam_schema())
    if (!row.default_value.empty()) table.set(std::string(row.name), row.default_value);
  EXPECT_EQ(table.values(), h.values());
}

}  // namespace
}  // namespace scalelab
