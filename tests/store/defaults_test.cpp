// The defaults that run ids leave out (store/hparam_schema.h) are the worker's (TrainConfig in train.h):
// if one drifted, a spec writing that value out would name a different run than one leaving it out.
// train.h is torch-free and TrainConfig's defaults are inline, so this needs no libtorch.
#include <gtest/gtest.h>

#include <map>
#include <string_view>
#include <type_traits>

#include "store/hparam_schema.h"
#include "store/hparams.h"
#include "train/config_fields.h"
#include "train/train.h"

namespace scalelab {
namespace {

TEST(HparamsDefaults, EqualTrainConfigDefaults) {
  const TrainConfig d{};
  Hparams h;  // TrainConfig{} in Hparams' canonical text, member by member (train/config_fields.h)
  for_each_field(d, [&](std::string_view name, const auto& member) {
    const std::string key(name);
    using T = std::decay_t<decltype(member)>;
    if constexpr (std::is_same_v<T, std::string>) {
      h.set(key, std::string_view(member));
    } else if constexpr (std::is_arithmetic_v<T>) {
      h.set(key, static_cast<double>(member));
    } else if (member) {  // an optional key, given
      h.set(key, static_cast<double>(*member));
    } else if (!find_hparam(name)->alternative.empty() && !find_hparam(name)->default_value.empty()) {
      h.set(key, 1.0);  // neither data_fraction nor data_count: all of it
    }
  });
  EXPECT_FALSE(d.data_count.has_value());
  Hparams table;  // the same canonical text: 0.0005 and 5e-4 are one value
  for (const auto& row : hparam_schema())
    if (!row.default_value.empty()) table.set(std::string(row.name), row.default_value);
  EXPECT_EQ(table.values(), h.values());
}

}  // namespace
}  // namespace scalelab
