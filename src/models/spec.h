// A model configuration and its exact size, without libtorch: the sweep orders cells by cost and the
// demo reports compute shares from these, in the `scalelab` process that never loads torch.
#pragma once

#include <cstdint>
#include <string>

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
double forward_flops(const ModelSpec& spec);

}  // namespace scalelab
