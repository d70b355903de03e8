// The model families as libtorch modules. Every family maps an input batch [N, C, H, W] to logits
// [N, classes] (a language model: tokens [N, T] to logits [N, T, classes]); build_model() picks the family from a ModelSpec, so the trainer never names one.
// Adding a family: a module here, its registry entry and counts in spec.cpp, one entry in model_builders().
#pragma once

#include <functional>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "models/spec.h"

namespace scalelab {

// What the trainer holds: any family, called through one virtual forward.
class ClassifierImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

// depth hidden layers of 512*width units with ReLU, then a linear classifier.
class MLPImpl : public ClassifierImpl {
 public:
  explicit MLPImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::ModuleList hidden_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(MLP);

// Pre-activation residual block of a wide ResNet: BN-ReLU-conv3x3-BN-ReLU-conv3x3, plus the input
// (through a 1x1 convolution when the shape changes).
class WideBlockImpl : public torch::nn::Module {
 public:
  WideBlockImpl(int in_channels, int out_channels, int stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
};
TORCH_MODULE(WideBlock);

// WRN-(6n+4)-k (Zagoruyko & Komodakis 2016) sized for 28x28 inputs: a 3x3 stem, three groups of n
// blocks with 16k, 32k, 64k channels (the second and third halve the resolution: 28, 14, 7), batch
// norm, global average pooling and a linear classifier.
class WideResNetImpl : public ClassifierImpl {
 public:
  explicit WideResNetImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::Sequential groups_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(WideResNet);

// One pre-norm block: x + attention(LN(x)), then x + MLP(LN(x)) (4d hidden units, GELU). Attention is
// multi-head (transformer_d_model / kTransformerHeadDim heads) and causal: position t sees positions <= t.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int d_model, int depth);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& future);  // future: bool [T, T], true above the diagonal

 private:
  int heads_;
  torch::nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(TransformerBlock);

// Decoder-only transformer language model over `classes` tokens (bytes: 256): token embedding plus a
// learned position embedding of input_width positions, depth blocks, a final layer norm and the output
// layer tied to the token embedding (logits = h E^T, no bias). Input [N, T] token ids (any integer type,
// T <= input_width), output logits [N, T, classes]. GPT-2's initialisation: N(0, 0.02), residual
// projections scaled by 1/sqrt(2 depth).
class TransformerImpl : public ClassifierImpl {
 public:
  explicit TransformerImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x) override;

 private:
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};
TORCH_MODULE(Transformer);

// The libtorch builders, keyed by the family names of model_families() (models/spec.h).
using ModelBuilder = std::shared_ptr<ClassifierImpl> (*)(const ModelSpec&);
const std::map<std::string, ModelBuilder, std::less<>>& model_builders();

// Validates the spec (InputError) and builds its module with libtorch's default initialisation,
// drawn from torch's global generator: seed it (torch::manual_seed) first for a reproducible model.
std::shared_ptr<ClassifierImpl> build_model(const ModelSpec& spec);

// Trainable parameters of a built module (what parameter_count() predicts).
std::int64_t count_parameters(const torch::nn::Module& module);

}  // namespace scalelab
