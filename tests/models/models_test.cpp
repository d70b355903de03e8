// The built modules: their parameter counts equal the torch-free parameter_count() for many
// configurations, and they map a batch to one logit vector an example.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include <fmt/core.h>

#include "data/catalogue.h"
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

// Every registered family, on every registered dataset's shape and classes: the torch-free count is
// the built module's count, and the module maps that dataset's inputs to one logit vector an example.
TEST(Models, BuiltCountEqualsParameterCountForEveryFamilyOnEveryDataset) {
  int checked = 0;
  for (const auto& family : model_families()) {
    for (const auto& data : dataset_catalogue()) {
      for (double width : {1.0 / 16, 0.3, 1.0}) {
        for (int depth : {family.example_depth, family.example_depth + 6}) {
          const ModelSpec spec{.family = std::string(family.name), .width = width, .depth = depth,
                               .input_channels = data.channels, .input_height = data.height,
                               .input_width = data.width, .classes = data.classes};
          const auto model = build_model(spec);
          const auto what = fmt::format("{} w={} d={} on {}", family.name, width, depth, data.name);
          EXPECT_EQ(count_parameters(*model), parameter_count(spec)) << what;
          torch::manual_seed(0);
          const auto y = model->forward(torch::randn({2, data.channels, data.height, data.width}));
          EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, data.classes})) << what;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, int(model_families().size() * dataset_catalogue().size()) * 3 * 2);
  EXPECT_GE(dataset_catalogue().size(), 2u);
}

// Every family of the torch-free registry has a libtorch builder and every builder a registry entry.
TEST(Models, EveryRegisteredFamilyHasABuilder) {
  std::vector<std::string> builders;
  for (const auto& [name, _] : model_builders()) builders.push_back(name);
  auto names = model_family_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(builders, names);
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
