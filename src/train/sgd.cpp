#include "train/sgd.h"

#include <torch/torch.h>  // the precompiled header: free here

namespace scalelab {

Sgd::Sgd(std::vector<at::Tensor> params, double momentum, double weight_decay)
    : params_(std::move(params)), momentum_(momentum), weight_decay_(weight_decay) {
  for (const auto& p : params_) buffers_.push_back(torch::zeros_like(p, at::MemoryFormat::Contiguous));
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
    if (p.is_cpu() && p.scalar_type() == at::kFloat && p.is_contiguous() && grad.is_contiguous()) {
      float* w = p.data_ptr<float>();
      float* b = buf.data_ptr<float>();
      const float* g = grad.data_ptr<float>();
      const float lr = float(lr_), m = float(momentum_), wd = float(weight_decay_);
      at::parallel_for(0, p.numel(), 1 << 15, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t j = begin; j < end; ++j) {
          b[j] = m * b[j] + (g[j] + wd * w[j]);
          w[j] -= lr * b[j];
        }
      });
    } else {
      buf.mul_(momentum_).add_(grad + weight_decay_ * p);
      p.add_(buf, -lr_);
    }
  }
}

}  // namespace scalelab
