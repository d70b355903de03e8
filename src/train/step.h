// One optimizer step on one batch: the inner loop of the trainer, shared with bench/train so the benchmark
// times exactly the code that trains. Internal to train/ and the bench (it needs torch headers).
#pragma once

#include <utility>

#include <torch/nn/functional/loss.h>

#include "models/models.h"
#include "train/sgd.h"

namespace scalelab {

struct StepStats {
  double loss = 0;         // mean over the batch's predictions; not finite means the run diverged (no update made)
  std::int64_t wrong = 0;  // wrong predictions of the batch
  std::int64_t predictions = 0;  // an example's label, or a language model's every next token
};

// A batch's logits as one row per prediction and its labels as int64: a classifier's [N, classes] and
// [N] are left as they are, a language model's [N, T, classes] and uint8 [N, T] become [N T, classes]
// and [N T].
inline std::pair<torch::Tensor, torch::Tensor> predictions_of(const torch::Tensor& logits, const torch::Tensor& y) {
  return {logits.flatten(0, -2), y.flatten().to(torch::kInt64)};
}

inline StepStats train_step(ClassifierImpl& model, Optimizer& optimizer, const torch::Tensor& x, const torch::Tensor& y) {
  optimizer.zero_grad();
  const auto [logits, labels] = predictions_of(model.forward(x), y);
  const auto loss = torch::nn::functional::cross_entropy(logits, labels);
  // One host transfer a step for both numbers (a sync on CUDA; divergence must stop the step it occurs).
  const auto stats =
      torch::stack({loss.detach().to(torch::kFloat64), logits.argmax(1).ne(labels).sum().to(torch::kFloat64)}).cpu();
  const double batch_loss = stats[0].item<double>();
  if (!std::isfinite(batch_loss)) return {batch_loss, 0, labels.numel()};
  loss.backward();
  optimizer.step();
  return {batch_loss, std::int64_t(stats[1].item<double>()), labels.numel()};
}

// The regression step (data/dataset.h Task::regression): mean squared error over examples and outputs.
inline StepStats regression_step(ClassifierImpl& model, Optimizer& optimizer, const torch::Tensor& x, const torch::Tensor& y) {
  optimizer.zero_grad();
  const auto loss = torch::nn::functional::mse_loss(model.forward(x), y);
  const double batch_loss = loss.detach().to(torch::kFloat64).item<double>();
  if (!std::isfinite(batch_loss)) return {batch_loss, 0, x.size(0)};
  loss.backward();
  optimizer.step();
  return {batch_loss, 0, x.size(0)};
}

}  // namespace scalelab
