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

const std::map<std::string, ModelBuilder, std::less<>>& model_builders() {
  // Keyed by the names of models/spec.cpp's registry; tests/models checks both hold the same names.
  static const std::map<std::string, ModelBuilder, std::less<>> builders = {
      {"mlp", [](const ModelSpec& spec) -> std::shared_ptr<ClassifierImpl> { return MLP(spec).ptr(); }},
      {"wrn", [](const ModelSpec& spec) -> std::shared_ptr<ClassifierImpl> { return WideResNet(spec).ptr(); }},
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
