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

namespace {

// One fused pass over a tensor. Plain functions with restrict pointers, not the loop inside
// parallel_for's lambda: through the lambda's captured references GCC could prove nothing about
// aliasing and left both loops scalar.
void update(float* __restrict w, float* __restrict b, const float* __restrict g, std::int64_t n, float lr,
            float m, float wd) {
  for (std::int64_t j = 0; j < n; ++j) {
    b[j] = m * b[j] + (g[j] + wd * w[j]);
    w[j] -= lr * b[j];
  }
}

// Where a mask holds (keep: 1 or 0): pruned entries stay exactly zero, weight and momentum. Multiplied,
// not branched: a branch on a random 80% mask mispredicts, and it ran 6x slower than the unmasked
// pass. (A non-finite gradient at a pruned entry makes it NaN, and the run is then caught as diverged.)
void masked_update(float* __restrict w, float* __restrict b, const float* __restrict g,
                   const float* __restrict keep, std::int64_t n, float lr, float m, float wd) {
  for (std::int64_t j = 0; j < n; ++j) {
    b[j] = (m * b[j] + (g[j] + wd * w[j])) * keep[j];
    w[j] = (w[j] - lr * b[j]) * keep[j];
  }
}

}  // namespace

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
        if (keep) masked_update(w + begin, b + begin, g + begin, keep + begin, end - begin, lr, m, wd);
        else update(w + begin, b + begin, g + begin, end - begin, lr, m, wd);
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
