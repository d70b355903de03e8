#include "prune/masks.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/core.h>
#include <torch/torch.h>  // the precompiled header: free here

#include "table/table.h"

namespace scalelab {

std::vector<std::pair<std::string, torch::Tensor>> prunable_parameters(torch::nn::Module& model, bool ends) {
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    const bool is_weight = name == "weight" || (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0);
    if (is_weight && item.value().dim() >= 2) weights.emplace_back(name, item.value());
  }
  if (!ends && !weights.empty()) {
    weights.erase(weights.begin());
    if (!weights.empty()) weights.pop_back();
  }
  return weights;
}

Masks magnitude_masks(const std::vector<std::pair<std::string, torch::Tensor>>& weights, const Masks& current,
                      std::int64_t keep) {
  // Every surviving weight as (magnitude, position over all layers); the largest `keep` stay.
  struct Candidate {
    float magnitude;
    std::int64_t position;
  };
  std::vector<Candidate> candidates;
  std::vector<torch::Tensor> values;
  std::int64_t offset = 0;
  for (const auto& [name, weight] : weights) {
    const auto w = weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const float* v = w.data_ptr<float>();
    const float* m = nullptr;
    torch::Tensor mask;
    if (auto it = current.find(name); it != current.end()) {
      mask = it->second.to(torch::kCPU, torch::kFloat32).contiguous();
      if (mask.numel() != w.numel()) throw std::logic_error(fmt::format("mask of {} has the wrong size", name));
      m = mask.data_ptr<float>();
    } else if (!current.empty()) {
      throw std::logic_error(fmt::format("no mask for prunable parameter {}", name));
    }
    for (std::int64_t j = 0; j < w.numel(); ++j)
      if (!m || m[j] != 0) candidates.push_back({std::abs(v[j]), offset + j});
    values.push_back(w);
    offset += w.numel();
  }
  if (keep < 0 || keep > std::int64_t(candidates.size()))
    throw std::logic_error(fmt::format("cannot keep {} of {} remaining weights", keep, candidates.size()));
  auto larger = [](const Candidate& a, const Candidate& b) {
    return a.magnitude != b.magnitude ? a.magnitude > b.magnitude : a.position < b.position;
  };
  std::nth_element(candidates.begin(), candidates.begin() + keep, candidates.end(), larger);

  Masks masks;
  std::vector<float*> data;
  std::vector<std::int64_t> starts;
  offset = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    auto mask = torch::zeros(weights[i].second.sizes(), torch::kFloat32);
    data.push_back(mask.data_ptr<float>());
    starts.push_back(offset);
    offset += mask.numel();
    masks[weights[i].first] = mask;
  }
  for (std::int64_t k = 0; k < keep; ++k) {
    const std::int64_t position = candidates[k].position;
    const auto layer = std::upper_bound(starts.begin(), starts.end(), position) - starts.begin() - 1;
    data[layer][position - starts[layer]] = 1;
  }
  return masks;
}

std::int64_t kept_count(const Masks& masks) {
  std::int64_t n = 0;
  for (const auto& [_, mask] : masks) n += mask.count_nonzero().item<std::int64_t>();
  return n;
}

}  // namespace scalelab
