#include "models/models.h"

#include <torch/torch.h>  // the precompiled header: free here

namespace scalelab {
namespace F = torch::nn::functional;

MLPImpl::MLPImpl(const ModelSpec& spec) {
  const int64_t inputs = int64_t{spec.input_channels} * spec.input_height * spec.input_width;
  const int64_t units = mlp_hidden_units(spec);
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  for (int i = 0; i < spec.depth; ++i)
    hidden_->push_back(torch::nn::Linear(i == 0 ? inputs : units, units));
  classifier_ = register_module("classifier", torch::nn::Linear(units, spec.classes));
}

torch::Tensor MLPImpl::forward(torch::Tensor x) {
  x = x.flatten(1);
  for (auto& layer : *hidden_) x = torch::relu(layer->as<torch::nn::Linear>()->forward(x));
  return classifier_->forward(x);
}

namespace {
torch::nn::Conv2d conv(int in, int out, int kernel, int stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}
}  // namespace

WideBlockImpl::WideBlockImpl(int in_channels, int out_channels, int stride) {
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(in_channels));
  conv1_ = register_module("conv1", conv(in_channels, out_channels, 3, stride));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(out_channels));
  conv2_ = register_module("conv2", conv(out_channels, out_channels, 3, 1));
  if (in_channels != out_channels || stride != 1)
    shortcut_ = register_module("shortcut", conv(in_channels, out_channels, 1, stride));
}

torch::Tensor WideBlockImpl::forward(torch::Tensor x) {
  auto pre = torch::relu(bn1_->forward(x));
  // A projection shortcut reads the pre-activated input, as in the reference WRN.
  auto residual = shortcut_ ? shortcut_->forward(pre) : x;
  auto y = conv1_->forward(pre);
  y = conv2_->forward(torch::relu(bn2_->forward(y)));
  return y + residual;
}

WideResNetImpl::WideResNetImpl(const ModelSpec& spec) {
  const auto channels = wrn_channels(spec);
  const int blocks = wrn_blocks_per_group(spec);
  stem_ = register_module("stem", conv(spec.input_channels, channels[0], 3, 1));
  groups_ = register_module("groups", torch::nn::Sequential());
  int in = channels[0];
  for (int g = 0; g < 3; ++g) {
    for (int b = 0; b < blocks; ++b) {
      const int stride = (b == 0 && g > 0) ? 2 : 1;
      groups_->push_back(WideBlock(in, channels[g + 1], stride));
      in = channels[g + 1];
    }
  }
  bn_ = register_module("bn", torch::nn::BatchNorm2d(in));
  classifier_ = register_module("classifier", torch::nn::Linear(in, spec.classes));
  // He initialisation for the convolutions, as the reference WRN does (libtorch's default is
  // PyTorch's kaiming_uniform with a=sqrt(5), tuned for linear layers).
  for (auto& module : modules(/*include_self=*/false))
    if (auto* c = module->as<torch::nn::Conv2d>())
      torch::nn::init::kaiming_normal_(c->weight, 0, torch::kFanOut, torch::kReLU);
}

torch::Tensor WideResNetImpl::forward(torch::Tensor x) {
  x = groups_->forward(stem_->forward(x));
  x = torch::relu(bn_->forward(x));
  x = x.mean({2, 3});  // global average pooling
  return classifier_->forward(x);
}

TransformerBlockImpl::TransformerBlockImpl(int d_model, int depth) : heads_(d_model / kTransformerHeadDim) {
  const std::vector<std::int64_t> shape{d_model};
  ln1_ = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions(shape)));
  qkv_ = register_module("qkv", torch::nn::Linear(d_model, 3 * d_model));
  proj_ = register_module("proj", torch::nn::Linear(d_model, d_model));
  ln2_ = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions(shape)));
  fc1_ = register_module("fc1", torch::nn::Linear(d_model, 4 * d_model));
  fc2_ = register_module("fc2", torch::nn::Linear(4 * d_model, d_model));
  torch::NoGradGuard no_grad;
  for (auto* linear : {&qkv_, &proj_, &fc1_, &fc2_}) {
    const bool residual = linear == &proj_ || linear == &fc2_;  // GPT-2: keeps the residual stream's variance
    (*linear)->weight.normal_(0, residual ? 0.02 / std::sqrt(2.0 * depth) : 0.02);
    (*linear)->bias.zero_();
  }
}

torch::Tensor TransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& future) {
  const auto n = x.size(0), t = x.size(1), d = x.size(2);
  const auto head_dim = d / heads_;
  auto qkv = qkv_->forward(ln1_->forward(x)).view({n, t, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0], k = qkv[1], v = qkv[2];  // [N, heads, T, head_dim]
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(head_dim));
  scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  auto attended = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({n, t, d});
  x = x + proj_->forward(attended);
  return x + fc2_->forward(torch::gelu(fc1_->forward(ln2_->forward(x))));
}

TransformerImpl::TransformerImpl(const ModelSpec& spec) {
  const int d = transformer_d_model(spec);
  token_embedding_ = register_module("token_embedding", torch::nn::Embedding(spec.classes, d));
  position_embedding_ = register_module("position_embedding", torch::nn::Embedding(spec.input_width, d));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int i = 0; i < spec.depth; ++i) blocks_->push_back(TransformerBlock(d, spec.depth));
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions(std::vector<std::int64_t>{d})));
  torch::NoGradGuard no_grad;
  token_embedding_->weight.normal_(0, 0.02);
  position_embedding_->weight.normal_(0, 0.02);
}

torch::Tensor TransformerImpl::forward(torch::Tensor x) {
  x = x.to(torch::kInt64);
  const auto t = x.size(1);
  const auto positions = torch::arange(t, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
  auto h = token_embedding_->forward(x) + position_embedding_->forward(positions);
  const auto future = torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
  for (auto& block : *blocks_) h = block->as<TransformerBlock>()->forward(h, future);
  return torch::matmul(ln_f_->forward(h), token_embedding_->weight.t());  // tied output layer
}

const std::map<std::string, ModelBuilder, std::less<>>& model_builders() {
  // Keyed by the names of models/spec.cpp's registry; tests/models checks both hold the same names.
  static const std::map<std::string, ModelBuilder, std::less<>> builders = {
      {"mlp", [](const ModelSpec& spec) -> std::shared_ptr<ClassifierImpl> { return MLP(spec).ptr(); }},
      {"wrn", [](const ModelSpec& spec) -> std::shared_ptr<ClassifierImpl> { return WideResNet(spec).ptr(); }},
      {"transformer",
       [](const ModelSpec& spec) -> std::shared_ptr<ClassifierImpl> { return Transformer(spec).ptr(); }},
  };
  return builders;
}

std::shared_ptr<ClassifierImpl> build_model(const ModelSpec& spec) {
  validate(spec);
  const auto it = model_builders().find(spec.family);
  if (it == model_builders().end())
    throw std::logic_error("model family '" + spec.family + "' is registered without a libtorch builder");
  return it->second(spec);
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters())
    if (p.requires_grad()) n += p.numel();
  return n;
}

}  // namespace scalelab
