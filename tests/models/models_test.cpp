// The built modules: their parameter counts equal the torch-free parameter_count() for many
// configurations, and they map a batch to one logit vector an example.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "models/models.h"

namespace scalelab {
namespace {

TEST(Models, BuiltCountEqualsParameterCount) {
  int checked = 0;
  for (double width : {1.0 / 32, 1.0 / 16, 0.1, 1.0 / 8, 0.25, 0.3, 0.5, 1.0, 1.5}) {
    for (int depth : {1, 2, 3, 5}) {
      const ModelSpec spec{.family = "mlp", .width = width, .depth = depth};
      EXPECT_EQ(count_parameters(*build_model(spec)), parameter_count(spec)) << "mlp w=" << width << " d=" << depth;
      ++checked;
    }
    for (int depth : {10, 16, 22}) {
      const ModelSpec spec{.family = "wrn", .width = width, .depth = depth};
      EXPECT_EQ(count_parameters(*build_model(spec)), parameter_count(spec)) << "wrn w=" << width << " d=" << depth;
      ++checked;
    }
  }
  // Other input shapes and class counts (a CIFAR-like 3x32x32, 100 classes).
  for (const char* family : {"mlp", "wrn"}) {
    const ModelSpec spec{.family = family, .width = 0.5, .depth = std::string(family) == "mlp" ? 2 : 10,
                         .input_channels = 3, .input_height = 32, .input_width = 32, .classes = 100};
    EXPECT_EQ(count_parameters(*build_model(spec)), parameter_count(spec)) << family;
    ++checked;
  }
  EXPECT_EQ(checked, 9 * 7 + 2);
}

TEST(Models, ForwardGivesOneLogitVectorAnExample) {
  torch::manual_seed(0);
  const auto x = torch::randn({5, 1, 28, 28});
  for (const ModelSpec& spec : {ModelSpec{.family = "mlp", .width = 0.25, .depth = 2},
                                ModelSpec{.family = "wrn", .width = 0.25, .depth = 10}}) {
    auto model = build_model(spec);
    const auto y = model->forward(x);
    EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{5, 10})) << spec.family;
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>()) << spec.family;
  }
}

TEST(Models, SameSeedBuildsTheSameWeights) {
  const ModelSpec spec{.family = "wrn", .width = 0.25, .depth = 10};
  torch::manual_seed(7);
  auto a = build_model(spec);
  torch::manual_seed(7);
  auto b = build_model(spec);
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

}  // namespace
}  // namespace scalelab
