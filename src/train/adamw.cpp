#include "train/adamw.h"

#include <torch/torch.h>  // the precompiled header: free here

namespace scalelab {

AdamW::AdamW(const std::vector<at::Tensor>& params, double weight_decay) {
  std::vector<at::Tensor> decayed, kept;
  for (const auto& p : params) (p.dim() >= 2 ? decayed : kept).push_back(p);
  auto options = [](double decay) {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, options(weight_decay));
  if (!kept.empty()) groups.emplace_back(kept, options(0));
  adamw_ = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(1e-3));
}

AdamW::~AdamW() = default;

void AdamW::set_lr(double lr) {
  for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

void AdamW::zero_grad() { adamw_->zero_grad(); }

void AdamW::step() { adamw_->step(); }

}  // namespace scalelab
