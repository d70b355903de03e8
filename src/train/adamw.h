// AdamW (Loshchilov & Hutter 2019), libtorch's, as language models are trained: betas (0.9, 0.95),
// eps 1e-8, decoupled weight decay on the weight matrices and embeddings only (a parameter of two or
// more dimensions), never on biases or layer norms. No masks: pruning trains with Sgd. Internal to train/.
#pragma once

#include <memory>
#include <vector>

#include "train/sgd.h"

namespace torch::optim {
class AdamW;
}

namespace scalelab {

class AdamW : public Optimizer {
 public:
  AdamW(const std::vector<at::Tensor>& params, double weight_decay);
  ~AdamW() override;
  void set_lr(double lr) override;
  void zero_grad() override;
  void step() override;

 private:
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

}  // namespace scalelab
