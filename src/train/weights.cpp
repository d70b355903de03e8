#include "train/weights.h"

#include <algorithm>

#include <torch/torch.h>  // the precompiled header: free here

#include "table/table.h"

namespace scalelab {

namespace {

std::string with(std::string text, char from, char to) {
  std::replace(text.begin(), text.end(), from, to);
  return text;
}

void check_exists(const std::filesystem::path& path, const char* what) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path.string(), 0, "", std::string(what) + " file not found");
}

}  // namespace

void save_archive(torch::serialize::OutputArchive& archive, const std::filesystem::path& path) {
  const auto temporary = path.string() + ".tmp";
  archive.save_to(temporary);
  std::filesystem::rename(temporary, path);
}

void save_weights(torch::nn::Module& model, const std::filesystem::path& path) {
  torch::serialize::OutputArchive archive;
  model.save(archive);
  save_archive(archive, path);
}

void load_weights(torch::nn::Module& model, const std::filesystem::path& path) {
  check_exists(path, "weights");
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  torch::NoGradGuard no_grad;
  model.load(archive);
}

void save_masks(const Masks& masks, const std::filesystem::path& path) {
  torch::serialize::OutputArchive archive;
  for (const auto& [name, mask] : masks) archive.write(with(name, '.', '/'), mask);
  save_archive(archive, path);
}

Masks load_masks(const std::filesystem::path& path) {
  check_exists(path, "mask");
  torch::serialize::InputArchive archive;
  archive.load_from(path.string());
  Masks masks;
  for (const auto& key : archive.keys()) {
    torch::Tensor mask;
    archive.read(key, mask);
    masks[with(key, '/', '.')] = mask;
  }
  return masks;
}

}  // namespace scalelab
