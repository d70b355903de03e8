// One SGD step on one batch: the inner loop of the trainer, shared with bench/train so the benchmark
// times exactly the code that trains. Internal to train/ and the bench (it needs torch headers).
#pragma once

#include <torch/nn/functional/loss.h>

#include "models/models.h"
#include "train/sgd.h"

namespace scalelab {

struct StepStats {
  double loss = 0;         // mean over the batch; not finite means the run diverged (no update made)
  std::int64_t wrong = 0;  // misclassified examples of the batch
};

inline StepStats train_step(ClassifierImpl& model, Sgd& optimizer, const torch::Tensor& x, const torch::Tensor& y) {
  optimizer.zero_grad();
  const auto logits = model.forward(x);
  const auto loss = torch::nn::functional::cross_entropy(logits, y);
  // One host transfer a step for both numbers (a sync on CUDA; divergence must stop the step it occurs).
  const auto stats =
      torch::stack({loss.detach().to(torch::kFloat64), logits.argmax(1).ne(y).sum().to(torch::kFloat64)}).cpu();
  const double batch_loss = stats[0].item<double>();
  if (!std::isfinite(batch_loss)) return {batch_loss, 0};
  loss.backward();
  optimizer.step();
  return {batch_loss, std::int64_t(stats[1].item<double>())};
}

// The regression step (data/dataset.h Task::regression): mean squared error over examples and outputs.
inline StepStats regression_step(ClassifierImpl& model, Sgd& optimizer, const torch::Tensor& x, const torch::Tensor& y) {
  optimizer.zero_grad();
  const auto loss = torch::nn::functional::mse_loss(model.forward(x), y);
  const double batch_loss = loss.detach().to(torch::kFloat64).item<double>();
  if (!std::isfinite(batch_loss)) return {batch_loss, 0};
  loss.backward();
  optimizer.step();
  return {batch_loss, 0};
}

}  // namespace scalelab
