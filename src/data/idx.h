// The torch-free part of reading datasets: where they live, gzip files, and the IDX files Fashion-MNIST
// comes in.
// `scalelab theory intrinsic-dim` reads the images here without loading libtorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace scalelab {

// Where datasets live unless told otherwise: $SCALELAB_DATA_DIR, else /usr/share/datasets.
std::filesystem::path default_data_root();

// One IDX file (gzip-compressed, unsigned bytes): its dimensions and its bytes, checked against the
// expected magic number and rank. Throws InputError naming the file for a missing or corrupt one.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;
};
IdxArray read_idx_gz(const std::filesystem::path& path, int expected_rank);

// The whole decompressed content of a gzip file (a dictzip .dz file is one). Throws InputError naming the
// file, with `missing_hint` for a file that is not there.
std::vector<std::uint8_t> read_gz_bytes(const std::filesystem::path& path, const std::string& missing_hint);

}  // namespace scalelab
