// Which weights iterative magnitude pruning may remove, and global magnitude selection across layers.
// Internal to src/prune and its tests (it needs torch headers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>

#include "train/weights.h"

namespace scalelab {

// The prunable weights of a model, by parameter name, in registration order: every linear and
// convolution weight (a parameter named `weight` with two or more dimensions); never a bias or a
// normalisation parameter. With `ends` false the first of them (the input layer) and the last (the
// output layer) are left out.
std::vector<std::pair<std::string, torch::Tensor>> prunable_parameters(torch::nn::Module& model, bool ends);

// Masks by parameter name (train/weights.h, which saves and loads them): float tensors of 0 and 1,
// one per prunable parameter.

// Global magnitude pruning: among the weights the current masks keep (all when `current` is empty),
// keeps the `keep` of largest magnitude across every layer at once and drops the rest. Ties go to the
// earlier weight (parameter order, then position), so the result is deterministic.
Masks magnitude_masks(const std::vector<std::pair<std::string, torch::Tensor>>& weights, const Masks& current,
                      std::int64_t keep);

std::int64_t kept_count(const Masks& masks);  // ones over all masks

}  // namespace scalelab
