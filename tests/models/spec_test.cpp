// Model sizes without libtorch: hand-derived counts, FLOPs and validation.
#include <gtest/gtest.h>

#include "models/spec.h"
#include "table/table.h"

namespace scalelab {
namespace {

TEST(ModelSpec, MlpCountMatchesHandDerivation) {
  // 784-512-512-10: (784*512 + 512) + (512*512 + 512) + (512*10 + 10).
  EXPECT_EQ(parameter_count({.family = "mlp", .width = 1, .depth = 2}), 669706);
  // Width 1/16: 32 units. (784*32 + 32) + (32*10 + 10).
  EXPECT_EQ(parameter_count({.family = "mlp", .width = 1.0 / 16, .depth = 1}), 25450);
}

TEST(ModelSpec, WrnCountMatchesHandDerivation) {
  // WRN-10-1: channels 16, 16, 32, 64, one block a group.
  //   stem 1*16*9 = 144
  //   group 1 (16->16): bn 32 + conv 2304 + bn 32 + conv 2304                  = 4672
  //   group 2 (16->32, stride 2): bn 32 + 4608 + bn 64 + 9216 + shortcut 512    = 14432
  //   group 3 (32->64, stride 2): bn 64 + 18432 + bn 128 + 36864 + shortcut 2048 = 57536
  //   final bn 128, classifier 64*10 + 10 = 650
  EXPECT_EQ(parameter_count({.family = "wrn", .width = 1, .depth = 10}), 144 + 4672 + 14432 + 57536 + 128 + 650);
}

TEST(ModelSpec, PrunableWeightsMatchHandDerivation) {
  // 784-256-256-10 (issue 17's example): weights 784*256 + 256*256 + 256*10; the 522 biases stay.
  EXPECT_EQ(prunable_weights({.family = "mlp", .width = 0.5, .depth = 2}, true), 268800);
  EXPECT_EQ(parameter_count({.family = "mlp", .width = 0.5, .depth = 2}) - 268800, 256 + 256 + 10);
  // Without the ends: only the hidden-to-hidden matrix.
  EXPECT_EQ(prunable_weights({.family = "mlp", .width = 0.5, .depth = 2}, false), 256 * 256);
  EXPECT_EQ(prunable_weights({.family = "mlp", .width = 1, .depth = 3}, true), 784 * 512 + 2 * 512 * 512 + 512 * 10);
  // One hidden layer without its ends has nothing left to prune.
  EXPECT_EQ(prunable_weights({.family = "mlp", .width = 1.0 / 16, .depth = 1}, true), 784 * 32 + 32 * 10);
  EXPECT_EQ(prunable_weights({.family = "mlp", .width = 1.0 / 16, .depth = 1}, false), 0);
}

TEST(ModelSpec, WrnPrunableWeightsAreTheConvolutionsAndTheClassifier) {
  // WRN-10-1 (channels 16, 16, 32, 64), convolution kernels only, no batch norm, no classifier bias:
  //   stem 1*16*9 = 144
  //   group 1: 2304 + 2304                  = 4608
  //   group 2: 4608 + 9216 + shortcut 512   = 14336
  //   group 3: 18432 + 36864 + shortcut 2048 = 57344
  //   classifier 64*10 = 640
  const ModelSpec wrn{.family = "wrn", .width = 1, .depth = 10};
  EXPECT_EQ(prunable_weights(wrn, true), 144 + 4608 + 14336 + 57344 + 640);
  EXPECT_EQ(prunable_weights(wrn, false), 4608 + 14336 + 57344);
  // The rest is batch norm (2 a channel: 64 + 96 + 192 + final 128) and the classifier's 10 biases.
  EXPECT_EQ(parameter_count(wrn) - prunable_weights(wrn, true), 64 + 96 + 192 + 128 + 10);
  // WRN-16-2: two blocks a group, the second without a shortcut; the stem scales with k (32 channels).
  //   stem 1*32*9 = 288; group 1 (32->32): 4 * 9216 = 36864;
  //   group 2 (32->64): 18432 + 36864 + 2048 + 2 * 36864 = 131072;
  //   group 3 (64->128): 73728 + 147456 + 8192 + 2 * 147456 = 524288; classifier 128*10 = 1280
  const ModelSpec wrn16{.family = "wrn", .width = 2, .depth = 16};
  EXPECT_EQ(prunable_weights(wrn16, true), 288 + 36864 + 131072 + 524288 + 1280);
  EXPECT_EQ(prunable_weights(wrn16, false), 36864 + 131072 + 524288);
  EXPECT_THROW(prunable_weights({.family = "wrn", .depth = 11}, true), InputError);
}

TEST(ModelSpec, CountsGrowWithWidthAndDepth) {
  for (const char* family : {"mlp", "wrn"}) {
    const int depth = std::string(family) == "mlp" ? 2 : 10;
    std::int64_t previous = 0;
    for (double width : {1.0 / 16, 1.0 / 8, 0.25, 0.5, 1.0, 2.0}) {
      const auto n = parameter_count({.family = family, .width = width, .depth = depth});
      EXPECT_GT(n, previous) << family << " width " << width;
      previous = n;
    }
    EXPECT_GT(parameter_count({.family = family, .width = 0.5, .depth = depth + 6}),
              parameter_count({.family = family, .width = 0.5, .depth = depth}));
  }
}

TEST(ModelSpec, ForwardFlopsCountMultiplyAddsTwice) {
  EXPECT_DOUBLE_EQ(forward_flops({.family = "mlp", .width = 1, .depth = 2}), 2.0 * (784 * 512 + 512 * 512 + 512 * 10));
  // WRN-10-1 on 28x28: stem at 28x28, group 1 at 28x28, groups 2 and 3 at 14x14 and 7x7.
  const double macs = 784.0 * 16 * 9                                       // stem
                      + 784.0 * (16 * 16 * 9 * 2)                          // group 1
                      + 196.0 * (16 * 32 * 9 + 32 * 32 * 9 + 16 * 32)      // group 2
                      + 49.0 * (32 * 64 * 9 + 64 * 64 * 9 + 32 * 64)      // group 3
                      + 64 * 10;                                           // classifier
  EXPECT_DOUBLE_EQ(forward_flops({.family = "wrn", .width = 1, .depth = 10}), 2 * macs);
}

TEST(ModelSpec, ValidateNamesTheField) {
  auto field_of = [](ModelSpec spec) {
    try {
      validate(spec);
    } catch (const InputError& e) {
      return e.field();
    }
    return std::string("<accepted>");
  };
  EXPECT_EQ(field_of({.family = "lstm"}), "model");
  EXPECT_EQ(field_of({.family = "transformer", .width = 1, .depth = 0}), "depth");
  EXPECT_EQ(field_of({.family = "mlp", .width = 0}), "width");
  EXPECT_EQ(field_of({.family = "mlp", .width = -1}), "width");
  EXPECT_EQ(field_of({.family = "mlp", .width = 1, .depth = 0}), "depth");
  EXPECT_EQ(field_of({.family = "wrn", .width = 1, .depth = 12}), "depth");  // not 6n+4
  EXPECT_EQ(field_of({.family = "wrn", .width = 1, .depth = 4}), "depth");   // n = 0
  EXPECT_EQ(field_of({.family = "wrn", .width = 1, .depth = 16}), "<accepted>");
  EXPECT_THROW(parameter_count({.family = "wrn", .depth = 11}), InputError);
}

// The torch-free registry: every family validates its example depth and counts through its entry;
// unknown names are refused with the registry's names.
TEST(ModelSpec, RegistryHoldsEveryFamilyAndRefusesOthers) {
  ASSERT_GE(model_families().size(), 2u);
  for (const auto& family : model_families()) {
    EXPECT_EQ(find_model_family(family.name), &family);
    const ModelSpec spec{.family = std::string(family.name), .width = 0.25, .depth = family.example_depth};
    EXPECT_NO_THROW(validate(spec)) << family.name;
    EXPECT_EQ(parameter_count(spec), family.parameter_count(spec)) << family.name;
    EXPECT_EQ(forward_flops(spec), family.forward_flops(spec)) << family.name;
    EXPECT_EQ(prunable_weights(spec, true), family.prunable_weights(spec, true)) << family.name;
    EXPECT_LT(prunable_weights(spec, false), prunable_weights(spec, true)) << family.name;
    EXPECT_LT(prunable_weights(spec, true), parameter_count(spec)) << family.name;
  }
  EXPECT_EQ(find_model_family("resnet-9000"), nullptr);
  try {
    validate({.family = "resnet-9000"});
    ADD_FAILURE() << "validated an unknown family";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "model");
    for (const auto& name : model_family_names()) EXPECT_NE(e.message().find(name), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace scalelab
