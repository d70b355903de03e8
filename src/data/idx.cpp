#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include "table/table.h"

namespace scalelab {

std::filesystem::path default_data_root() {
  if (const char* env = std::getenv("SCALELAB_DATA_DIR"); env && *env) return env;
  return "/usr/share/datasets";
}

std::vector<std::uint8_t> read_gz_bytes(const std::filesystem::path& path, const std::string& missing_hint) {
  const std::string source = path.string();
  auto fail = [&](const std::string& message) { throw InputError(source, 0, "", message); };
  if (!std::filesystem::is_regular_file(path)) fail("file not found (" + missing_hint + ")");

  gzFile file = gzopen(source.c_str(), "rb");
  if (!file) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  gzbuffer(file, 1 << 20);
  std::vector<std::uint8_t> raw;
  int got = 0;
  constexpr std::size_t kChunk = 1 << 22;
  do {  // straight into the vector: the training images are 47 MB
    const std::size_t used = raw.size();
    raw.resize(used + kChunk);
    got = gzread(file, raw.data() + used, unsigned(kChunk));
    raw.resize(used + std::size_t(std::max(got, 0)));
  } while (got > 0);
  int status = Z_OK;
  const std::string zlib_message = gzerror(file, &status);
  gzclose(file);
  if (got < 0 || (status != Z_OK && status != Z_STREAM_END))
    fail(fmt::format("corrupt or truncated gzip data ({})", zlib_message));
  return raw;
}

IdxArray read_idx_gz(const std::filesystem::path& path, int expected_rank) {
  const std::string source = path.string();
  auto fail = [&](const std::string& message) -> IdxArray { throw InputError(source, 0, "", message); };
  std::vector<std::uint8_t> raw =
      read_gz_bytes(path, "install dataset-fashion-mnist, or point SCALELAB_DATA_DIR at a copy");

  // IDX: two zero bytes, a type byte (0x08 = unsigned byte), the rank, then one big-endian
  // 32-bit size per dimension, then the data.
  const std::size_t header = 4 + 4 * std::size_t(expected_rank);
  if (raw.size() < header) fail(fmt::format("truncated: {} bytes, shorter than an IDX header", raw.size()));
  if (raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08 || raw[3] != expected_rank)
    fail(fmt::format("not an IDX file of unsigned bytes with {} dimensions (magic {:02x}{:02x}{:02x}{:02x})",
                     expected_rank, raw[0], raw[1], raw[2], raw[3]));
  IdxArray array;
  std::int64_t elements = 1;
  for (int d = 0; d < expected_rank; ++d) {
    const std::uint8_t* p = &raw[4 + 4 * d];
    array.dims.push_back((std::int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
    elements *= array.dims.back();
  }
  if (raw.size() - header != std::size_t(elements))
    fail(fmt::format("{}: header promises {} bytes of data, file holds {}",
                     raw.size() - header < std::size_t(elements) ? "truncated" : "trailing bytes", elements,
                     raw.size() - header));
  raw.erase(raw.begin(), raw.begin() + std::ptrdiff_t(header));
  array.bytes = std::move(raw);
  return array;
}

}  // namespace scalelab
