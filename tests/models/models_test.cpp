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
      // A language-model family reads token sequences, the others images: each on its own datasets.
      if (is_language_model_family(family) != (data.tokens_per_example > 1)) continue;
      for (double width : {1.0 / 16, 0.3, 1.0}) {
        for (int depth : {family.example_depth, family.example_depth + 6}) {
          const ModelSpec spec{.family = std::string(family.name), .width = width, .depth = depth,
                               .input_channels = data.channels, .input_height = data.height,
                               .input_width = data.width, .classes = data.classes};
          const auto model = build_model(spec);
          const auto what = fmt::format("{} w={} d={} on {}", family.name, width, depth, data.name);
          EXPECT_EQ(count_parameters(*model), parameter_count(spec)) << what;
          torch::manual_seed(0);
          if (is_language_model_family(family)) {
            const auto y = model->forward(torch::randint(data.classes, {2, data.width}, torch::kInt64));
            EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, data.width, data.classes})) << what;
          } else {
            const auto y = model->forward(torch::randn({2, data.channels, data.height, data.width}));
            EXPECT_EQ(y.sizes(), (std::vector<std::int64_t>{2, data.classes})) << what;
          }
          ++checked;
        }
      }
    }
  }
  int pairs = 0;
  for (const auto& family : model_families())
    for (const auto& data : dataset_catalogue()) pairs += is_language_model_family(family) == (data.tokens_per_example > 1);
  EXPECT_EQ(checked, pairs * 3 * 2);
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

// The transformer: total and non-embedding counts, and the FLOPs per token, from the built module's
// own parameters; the torch-free functions never build it.
TEST(Transformer, CountsAndFlopsEqualTheBuiltModule) {
  int checked = 0;
  for (double width : {0.25, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    for (int depth : {1, 2, 4}) {
      for (int context : {16, 64}) {
        const ModelSpec spec{.family = "transformer", .width = width, .depth = depth, .input_channels = 1,
                             .input_height = 1, .input_width = context, .classes = 256};
        const auto model = build_model(spec);
        const auto what = fmt::format("w={} d={} T={}", width, depth, context);
        std::int64_t embedding = 0, other = 0;
        double macs_per_token = 0;
        const double d = transformer_d_model(spec);
        for (const auto& p : model->named_parameters()) {
          const bool is_embedding = p.key().find("embedding") != std::string::npos;
          (is_embedding ? embedding : other) += p.value().numel();
          // Every matrix of a block is applied once per token; the tied token embedding once more as the
          // output layer; the position embedding is a lookup.
          if (p.value().dim() == 2 && p.key().rfind("blocks.", 0) == 0) macs_per_token += double(p.value().numel());
          if (p.key() == "token_embedding.weight") macs_per_token += double(p.value().numel());
        }
        macs_per_token += depth * 2 * context * d;  // scores and weighted sum over the whole masked context
        EXPECT_EQ(embedding + other, parameter_count(spec)) << what;
        EXPECT_EQ(other, non_embedding_parameter_count(spec)) << what;
        EXPECT_EQ(2 * macs_per_token, transformer_flops_per_token(spec)) << what;
        EXPECT_EQ(forward_flops(spec), transformer_flops_per_token(spec) * context) << what;
        // The continuous form `plan --family transformer` uses, at the family's own sizes.
        EXPECT_NEAR(transformer_flops_per_token_at(double(other), depth, context, 256) / transformer_flops_per_token(spec), 1,
                    1e-12)
            << what;
        EXPECT_EQ(int(d) % kTransformerHeadDim, 0) << what;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 36);
  // Other families have no embeddings: all their parameters count.
  const ModelSpec mlp{.family = "mlp", .width = 0.5, .depth = 2};
  EXPECT_EQ(non_embedding_parameter_count(mlp), parameter_count(mlp));
}

// Causal masking: a position's output depends on no later token. Changing the token at position k
// leaves the logits at positions < k exactly as they were and changes those at k.
TEST(Transformer, LaterTokensDoNotChangeEarlierOutputs) {
  const ModelSpec spec{.family = "transformer", .width = 1, .depth = 2, .input_channels = 1, .input_height = 1,
                       .input_width = 32, .classes = 256};
  torch::manual_seed(3);
  auto model = build_model(spec);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randint(256, {3, 32}, torch::kInt64);
  const auto y = model->forward(x);
  for (int k : {1, 10, 31}) {
    auto changed = x.clone();
    changed.slice(1, k).random_(256);
    changed.index_put_({torch::indexing::Slice(), k}, (x.select(1, k) + 1) % 256);
    const auto z = model->forward(changed);
    EXPECT_TRUE(torch::equal(y.slice(1, 0, k), z.slice(1, 0, k))) << "k=" << k;
    EXPECT_GT((y.select(1, k) - z.select(1, k)).abs().max().item<double>(), 1e-4) << "k=" << k;
  }
}

}  // namespace
}  // namespace scalelab
