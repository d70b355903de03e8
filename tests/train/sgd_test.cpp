// scalelab's fused SGD follows libtorch's SGD (momentum, weight decay) step for step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "train/sgd.h"

namespace scalelab {
namespace {

TEST(Sgd, MatchesLibtorchSgd) {
  torch::manual_seed(0);
  // A contiguous tensor takes the fused CPU pass; a transposed one the tensor-operation path.
  const auto start = torch::randn({300, 70});
  for (bool contiguous : {true, false}) {
    auto ours = (contiguous ? start.clone() : start.clone().t()).requires_grad_();
    auto theirs = (contiguous ? start.clone() : start.clone().t()).requires_grad_();
    Sgd sgd({ours}, 0.9, 5e-4);
    torch::optim::SGD reference({theirs}, torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
    for (int step = 0; step < 5; ++step) {
      const double lr = 0.1 / (step + 1);
      sgd.set_lr(lr);
      static_cast<torch::optim::SGDOptions&>(reference.param_groups()[0].options()).lr(lr);
      const auto target = torch::randn(ours.sizes());
      sgd.zero_grad();
      reference.zero_grad();
      (ours - target).pow(2).sum().backward();
      (theirs - target).pow(2).sum().backward();
      sgd.step();
      reference.step();
      EXPECT_TRUE(torch::allclose(ours, theirs, 1e-5, 1e-6)) << "step " << step << " contiguous " << contiguous;
    }
    EXPECT_FALSE(torch::allclose(ours, contiguous ? start : start.t()));  // it moved
  }
}

}  // namespace
}  // namespace scalelab
