// A model configuration and its exact size, without libtorch: the sweep orders cells by cost and the
// demo reports compute shares from these, in the `scalelab` process that never loads torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scalelab {

struct ModelSpec {
  std::string family = "mlp";  // "mlp" or "wrn"
  double width = 1.0;          // width factor (mlp: times 512 units; wrn: k, times 16/32/64 channels)
  int depth = 2;               // mlp: hidden layers; wrn: total depth, 6*blocks + 4
  int input_channels = 1;
  int input_height = 28;
  int input_width = 28;
  int classes = 10;
};

// Throws InputError (field named) for an unknown family or an impossible width/depth.
void validate(const ModelSpec& spec);
// Exact number of trainable parameters of the module that models/ builds for this spec.
std::int64_t parameter_count(const ModelSpec& spec);
// Multiply-adds of one forward pass of one sample, times 2 (FLOPs); a training step costs about 3x.
// Counts the linear and convolution layers only (batch norm, ReLU and pooling are a few percent).
double forward_flops(const ModelSpec& spec);

// The layer sizes both the builder (models.cpp) and the counts above use, so they cannot disagree.
// A width factor scales every layer and is rounded to the nearest whole unit, never below 1.
int scaled_units(double base, double width);
int mlp_hidden_units(const ModelSpec& spec);                // 512 * width
std::vector<int> wrn_channels(const ModelSpec& spec);       // stem, group 1, 2, 3: 16k, 16k, 32k, 64k
int wrn_blocks_per_group(const ModelSpec& spec);            // (depth - 4) / 6

}  // namespace scalelab
