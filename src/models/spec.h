// A model configuration and its exact size, without libtorch: the sweep orders cells by cost and the
// demo reports compute shares from these, in the `scalelab` process that never loads torch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

// The first family of the registry (model_families() below).
std::string_view default_model_family();

struct ModelSpec {
  std::string family = std::string(default_model_family());  // a name in model_families()
  double width = 1.0;          // width factor (mlp: times 512 units; wrn: k, times 16/32/64 channels)
  int depth = 2;               // mlp: hidden layers; wrn: total depth, 6*blocks + 4
  int input_channels = 1;
  int input_height = 28;
  int input_width = 28;
  int classes = 10;  // outputs: the classes of a classification dataset, the targets of a regression one
};

// The registry of model families, torch-free: each family's name, its own checks, its exact size and
// cost. The libtorch builder of the same name is in models.cpp (build_model), on the worker side;
// tests/models checks that every family here has one, with the same parameter count on every dataset.
// Adding a family: its module (models.cpp / models.h), its entry in model_families() (spec.cpp) with its
// counts, and its builder entry in models.cpp's builders().
struct ModelFamily {
  std::string_view name;
  std::string_view width_help;  // what the width factor and depth mean, for --help and messages
  std::string_view depth_help;
  int example_depth;            // a valid depth (tests, examples)
  // Family-specific checks of width/depth (InputError naming the field); the shared ones run first.
  void (*validate)(const ModelSpec&);
  std::int64_t (*parameter_count)(const ModelSpec&);
  double (*forward_flops)(const ModelSpec&);
  // Weights iterative magnitude pruning may remove (docs/pruning.md): the weight matrices and kernels
  // of the linear and convolution layers, never biases or batch norm; with `ends` false, without the
  // first layer's and the output layer's (prune_ends 0 keeps them dense).
  std::int64_t (*prunable_weights)(const ModelSpec&, bool ends);
  // Parameters outside the token and position embeddings (Kaplan et al. 2020's N): the size a scaling law
  // of a language model counts. nullptr: the family has no embeddings, all of parameter_count.
  std::int64_t (*non_embedding_parameters)(const ModelSpec&) = nullptr;
};
const std::vector<ModelFamily>& model_families();
// A family with embeddings reads token sequences: it trains on language-model datasets only, and the
// other families on the others (DatasetEntry::tokens_per_example > 1 marks a language-model dataset).
inline bool is_language_model_family(const ModelFamily& family) { return family.non_embedding_parameters != nullptr; }
const ModelFamily* find_model_family(std::string_view name);  // nullptr when unknown
std::vector<std::string> model_family_names();
std::string model_family_list();  // "mlp, wrn": for messages and --help

// Throws InputError (field named) for an unknown family or an impossible width/depth.
void validate(const ModelSpec& spec);
// Exact number of trainable parameters of the module that models/ builds for this spec.
std::int64_t parameter_count(const ModelSpec& spec);
// Parameters outside the embeddings (ModelFamily::non_embedding_parameters): what a sweep counts as n.
std::int64_t non_embedding_parameter_count(const ModelSpec& spec);
// Multiply-adds of one forward pass of one sample, times 2 (FLOPs); a training step costs about 3x.
// For a transformer a sample is a block of input_width tokens (transformer_flops_per_token times that).
// Counts the linear and convolution layers only (batch norm, ReLU and pooling are a few percent).
double forward_flops(const ModelSpec& spec);
// Exact number of weights IMP may prune in that module (ModelFamily::prunable_weights); the rest of
// parameter_count() is never pruned.
std::int64_t prunable_weights(const ModelSpec& spec, bool ends);

// The layer sizes both the builder (models.cpp) and the counts above use, so they cannot disagree.
// A width factor scales every layer and is rounded to the nearest whole unit, never below 1.
int scaled_units(double base, double width);
int mlp_hidden_units(const ModelSpec& spec);                // 512 * width
std::vector<int> wrn_channels(const ModelSpec& spec);       // stem, group 1, 2, 3: 16k, 16k, 32k, 64k
int wrn_blocks_per_group(const ModelSpec& spec);            // (depth - 4) / 6

// transformer (decoder-only, pre-norm; docs/language-models.md): d_model = 64 * width, rounded to a
// multiple of kTransformerHeadDim (one head per 16 channels), depth blocks, context input_width, vocabulary
// `classes`, learned positions, the output layer tied to the token embedding.
inline constexpr int kTransformerHeadDim = 16;
int transformer_d_model(const ModelSpec& spec);
// Forward FLOPs per token: 2 x (depth x (12 d^2 + 2 T d) + vocab d): the weight matrices, the attention
// scores and their weighted sum over the whole (masked) context, and the tied output layer.
double transformer_flops_per_token(const ModelSpec& spec);
// The same count for a transformer of `non_embedding` parameters, d_model solved from
// depth (12 d^2 + 13 d) + 2 d = non_embedding as a real number (no rounding to 16): for planning over a
// continuum of sizes (`scalelab plan --family transformer`). Equals transformer_flops_per_token at the
// family's own sizes.
double transformer_flops_per_token_at(double non_embedding, int depth, int context, int vocab);

}  // namespace scalelab
