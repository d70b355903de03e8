#include "train/sgd.h"

#include <torch/torch.h>  // the precompiled header: free here

namespace scalelab {

Sgd::Sgd(std::vector<at::Tensor> params, double momentum, double weight_decay, std::vector<at::Tensor> masks)
    : params_(std::move(params)), masks_(std::move(masks)), momentum_(momentum), weight_decay_(weight_decay) {
  for (const auto& p : params_) buffers_.push_back(torch::zeros_like(p, at::MemoryFormat::Contiguous));
  if (masks_.empty()) masks_.resize(params_.size());
  TORCH_CHECK(masks_.size() == params_.size(), "Sgd: one mask per parameter (undefined: none)");
  for (std::size_t i = 0; i < masks_.size(); ++i)
    if (masks_[i].defined()) {
      masks_[i] = masks_[i].to(params_[i].options()).contiguous();
      TORCH_CHECK(masks_[i].sizes() == params_[i].sizes(), "Sgd: a mask has its parameter's shape");
      torch::NoGradGuard no_grad;
      params_[i].mul_(masks_[i]);  // pruned weights start at zero
    }
}

void Sgd::zero_grad() {
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
}

void Sgd::step() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    auto& buf = buffers_[i];
    const auto& mask = masks_[i];
    if (p.is_cpu() && p.scalar_type() == at::kFloat && p.is_contiguous() && grad.is_contiguous()) {
      float* w = p.data_ptr<float>();
      float* b = buf.data_ptr<float>();
      const float* g = grad.data_ptr<float>();
      const float* keep = mask.defined() ? mask.data_ptr<float>() : nullptr;
      const float lr = float(lr_), m = float(momentum_), wd = float(weight_decay_);
      at::parallel_for(0, p.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
        if (keep) {
          for (std::int64_t j = begin; j < end; ++j) {
            if (keep[j] == 0) {  // pruned: stays exactly zero, and so does its momentum
              b[j] = 0;
              w[j] = 0;
              continue;
            }
            b[j] = m * b[j] + (g[j] + wd * w[j]);
            w[j] -= lr * b[j];
          }
          return;
        }
        for (std::int64_t j = begin; j < end; ++j) {
          b[j] = m * b[j] + (g[j] + wd * w[j]);
          w[j] -= lr * b[j];
        }
      });
    } else {
      buf.mul_(momentum_).add_(grad + weight_decay_ * p);
      if (mask.defined()) buf.mul_(mask);
      p.add_(buf, -lr_);
      if (mask.defined()) p.mul_(mask);
    }
  }
}

}  // namespace scalelab
