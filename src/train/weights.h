// Weights and masks as libtorch archives: files of a run directory, so each is written beside its name
// and renamed. Internal to train/ and prune/ (it needs torch headers).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

namespace scalelab {

void save_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& path);
void save_weights(torch::nn::Module& model, const std::filesystem::path& path);
// Throws InputError naming the file when it is missing.
void load_weights(torch::nn::Module& model, const std::filesystem::path& path);

// Masks (float 0/1) by parameter name. An archive key is one level, so the names' dots are stored as '/'.
using Masks = std::map<std::string, torch::Tensor>;
void save_masks(const Masks& masks, const std::filesystem::path& path);
Masks load_masks(const std::filesystem::path& path);  // InputError naming the file when it is missing

}  // namespace scalelab
