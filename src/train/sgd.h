// SGD with momentum and weight decay: PyTorch's update rule (dampening 0, no Nesterov),
//   g = grad + weight_decay * p;   buf = momentum * buf + g;   p -= lr * buf
// (buf starts at zero, so the first step sets it to g, as PyTorch does). On the CPU it makes one fused
// pass over each float tensor, where libtorch's SGD makes four tensor operations a parameter (and one
// allocation): for small models those calls, not the arithmetic, were the cost of the update.
// Elsewhere (CUDA, other dtypes) it runs the same rule with tensor operations. Internal to train/.
//
// Masks (iterative magnitude pruning, src/prune): a parameter given a mask (float 0/1, its shape) keeps
// exactly zero where the mask is zero, weight and momentum both, after every step. Without this,
// momentum and weight decay revive pruned weights (one public IMP implementation ended 98% dense).
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

namespace scalelab {

// What the training loop asks of an optimizer (Sgd below, AdamW in adamw.h).
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void set_lr(double lr) = 0;
  virtual void zero_grad() = 0;
  virtual void step() = 0;
};

class Sgd : public Optimizer {
 public:
  // masks: empty, or one per parameter (an undefined tensor: not masked).
  Sgd(std::vector<at::Tensor> params, double momentum, double weight_decay, std::vector<at::Tensor> masks = {});
  void set_lr(double lr) override { lr_ = lr; }
  double lr() const { return lr_; }
  // Drops the gradients (PyTorch's set_to_none): backward then writes them fresh instead of adding
  // into zeros.
  void zero_grad() override;
  void step() override;

 private:
  std::vector<at::Tensor> params_, buffers_, masks_;
  double lr_ = 0, momentum_, weight_decay_;
};

}  // namespace scalelab
