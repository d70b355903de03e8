#include "table/table.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/core.h>

namespace scalelab {

namespace {

std::string where(const std::string& source, int line, const std::string& field) {
  std::string out = source;
  if (line > 0) out += fmt::format(":{}", line);
  if (!field.empty()) out += fmt::format(": field '{}'", field);
  return out;
}

}  // namespace

InputError::InputError(std::string source, int line, std::string field, std::string message)
    : std::runtime_error(where(source, line, field) + ": " + message),
      source_(std::move(source)),
      field_(std::move(field)),
      message_(std::move(message)),
      line_(line) {}

Table::Table(std::vector<std::string> header, std::string source)
    : source_(std::move(source)), header_(std::move(header)) {}

bool Table::has_column(std::string_view name) const {
  for (const auto& h : header_)
    if (h == name) return true;
  return false;
}

std::size_t Table::column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return i;
  std::string known;
  for (const auto& h : header_) {
    if (h.empty()) continue;
    known += known.empty() ? h : ", " + h;
  }
  throw InputError(source_, 1, std::string(name), fmt::format("no such column (columns: {})", known));
}

double Table::number(std::size_t row, std::size_t col) const {
  const std::string& text = cells_[row][col];
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty() || s == "nan" || s == "NaN" || s == "NA") return std::numeric_limits<double>::quiet_NaN();
  if (s.front() == '+') s.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    if (s == "inf" || s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-inf" || s == "-Infinity") return -std::numeric_limits<double>::infinity();
    throw InputError(source_, lines_[row], header_[col], fmt::format("'{}' is not a number", text));
  }
  return value;
}

std::vector<double> Table::numbers(std::string_view name) const {
  std::size_t col = column(name);
  std::vector<double> out(rows());
  for (std::size_t r = 0; r < rows(); ++r) out[r] = number(r, col);
  return out;
}

void Table::add_row(std::vector<std::string> cells, int line) {
  if (cells.size() != header_.size())
    throw InputError(source_, line, "",
                     fmt::format("row has {} fields, the header has {}", cells.size(), header_.size()));
  cells_.push_back(std::move(cells));
  lines_.push_back(line);
}

void Table::add_column(std::string name, std::vector<std::string> values) {
  if (values.size() != rows())
    throw std::invalid_argument(fmt::format("column '{}' has {} values for {} rows", name, values.size(), rows()));
  header_.push_back(std::move(name));
  for (std::size_t r = 0; r < rows(); ++r) cells_[r].push_back(std::move(values[r]));
}

Table parse_csv(std::string_view text, const std::string& source) {
  // A small RFC 4180 reader: quoted fields may hold commas, doubled quotes and newlines.
  std::vector<std::vector<std::string>> records;
  std::vector<int> record_lines;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false, field_quoted = false, any = false;
  int line = 1, record_line = 1;
  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      records.push_back(std::move(record));
      record_lines.push_back(record_line);
    }
    record.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    any = true;
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty()) throw InputError(source, line, "", "quote in the middle of an unquoted field");
        in_quotes = field_quoted = true;
        break;
      case ',': end_field(); break;
      case '\r': break;
      case '\n':
        end_record();
        ++line;
        record_line = line;
        break;
      default: field += c;
    }
  }
  if (in_quotes) throw InputError(source, record_line, "", "quoted field is never closed");
  if (any && (!field.empty() || !record.empty() || field_quoted)) end_record();
  if (records.empty()) throw InputError(source, 1, "", "empty file: expected a header row");

  // A repeated column name would make every lookup silently take the first one (a constant column
  // named like the target once fitted to objective 4e-15): refuse it. Unnamed columns (pandas' index)
  // may repeat, nobody looks them up.
  std::map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < records[0].size(); ++i) {
    if (records[0][i].empty()) continue;
    auto [it, fresh] = seen.emplace(records[0][i], i);
    if (!fresh)
      throw InputError(source, 1, records[0][i],
                       fmt::format("column name appears twice (columns {} and {})", it->second + 1, i + 1));
  }
  Table table(records[0], source);
  for (std::size_t i = 1; i < records.size(); ++i) table.add_row(std::move(records[i]), record_lines[i]);
  return table;
}

namespace {

// Reads at most max_bytes: a device or FIFO (/dev/zero) would otherwise be read until memory runs out.
// Text files (CSV) also refuse a NUL byte at once, which ends /dev/zero after its first block.
std::string read_bounded(const std::filesystem::path& path, std::size_t max_bytes, bool text) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw InputError(path.string(), 0, "", fmt::format("cannot open file ({})", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) throw InputError(path.string(), 0, "", "is a directory, not a file");
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw InputError(path.string(), 0, "",
                     fmt::format("is {} bytes, more than the {} bytes scalelab reads", st.st_size, max_bytes));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw InputError(path.string(), 0, "", fmt::format("cannot open file ({})", std::strerror(errno)));
  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw InputError(path.string(), 0, "", fmt::format("cannot read ({})", std::strerror(err)));
    }
    if (n == 0) break;
    if (text && std::memchr(buffer, '\0', static_cast<std::size_t>(n))) {
      ::close(fd);
      throw InputError(path.string(), 0, "", "holds a NUL byte: not a text file");
    }
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      throw InputError(path.string(), 0, "", fmt::format("is longer than the {} bytes scalelab reads", max_bytes));
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  return read_bounded(path, max_bytes, false);
}

std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  return read_bounded(path, max_bytes, true);
}

Table read_csv(const std::filesystem::path& path) { return parse_csv(read_text_file(path), path.string()); }

namespace {
std::string quote_csv(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string to_csv(const Table& table) {
  std::string out;
  auto line = [&](auto&& get, std::size_t n) {
    for (std::size_t c = 0; c < n; ++c) {
      if (c) out += ',';
      out += quote_csv(get(c));
    }
    out += '\n';
  };
  line([&](std::size_t c) { return table.header()[c]; }, table.cols());
  for (std::size_t r = 0; r < table.rows(); ++r) line([&](std::size_t c) { return table.at(r, c); }, table.cols());
  return out;
}

std::string format_number(double value) {
  if (std::isnan(value)) return "";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

namespace {

// Replaces an existing regular file `path` by `tmp` in one step, as rename does, but by exchanging
// the two names (renameat2 RENAME_EXCHANGE) and then removing `tmp`, which now holds the old
// contents. Why not plain rename: ext4 (Debian's default) starts writeback of the new file's data
// before a rename that replaces an existing file (its auto_da_alloc rule), and the caller waits for
// it: 0.6-0.7 ms against 0.24 ms a replacement here, about 1 ms of a 9 ms `scalelab fit --json`.
// Readers still see the old or the new file, never neither. False when it did nothing (no such
// file, not a regular file, or a file system without exchange): the caller then renames.
bool swap_into_place(const std::filesystem::path& tmp, const std::filesystem::path& path) {
#ifdef RENAME_EXCHANGE
  struct stat target;
  if (::lstat(path.c_str(), &target) != 0 || !S_ISREG(target.st_mode)) return false;
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) != 0) return false;
  ::unlink(tmp.c_str());
  return true;
#else
  (void)tmp;
  (void)path;
  return false;
#endif
}

}  // namespace

namespace {

// Writes all of `contents` to fd; false (errno set) on failure.
bool write_all(int fd, std::string_view contents) {
  while (!contents.empty()) {
    ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

[[noreturn]] void fail_write(const std::filesystem::path& path, const char* what, int err) {
  throw std::runtime_error(fmt::format("{}: {} ({})", path.string(), what, std::strerror(err)));
}

// Devices, FIFOs, /dev/stdout: opened and written, never replaced by a regular file.
void write_through(const std::filesystem::path& path, std::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail_write(path, "cannot write", errno);
  bool ok = write_all(fd, contents);
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) fail_write(path, "write failed", err);
}

// /dev/stdout, /dev/fd/N, /proc/self/fd/N (directly or through links): the descriptor N this process
// already has. Writing to it, not to a fresh open of the path, keeps the shell's `> file` offset and
// order: a fresh open would start at offset 0 and the report printed after it would overwrite it.
std::optional<int> own_descriptor(std::filesystem::path path) {
  for (int hops = 0; hops < 40; ++hops) {
    std::string text = path.lexically_normal().string();
    for (std::string_view prefix : {"/proc/self/fd/", "/dev/fd/"}) {
      if (text.rfind(prefix, 0) != 0) continue;
      std::string_view rest = std::string_view(text).substr(prefix.size());
      int fd = -1;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), fd);
      if (ec == std::errc() && end == rest.data() + rest.size() && fd >= 0) return fd;
    }
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return std::nullopt;
    std::error_code ec;
    auto target = std::filesystem::read_symlink(path, ec);
    if (ec) return std::nullopt;
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  return std::nullopt;
}

// The file a symlink chain ends at (the path itself when it is no link). A link into /proc (as
// /dev/stdout -> /proc/self/fd/1) has no usable path of its own: nullopt, the caller writes through.
std::optional<std::filesystem::path> resolve_links(std::filesystem::path path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    std::error_code ec;
    auto target = std::filesystem::read_symlink(path, ec);
    if (ec) fail_write(path, "cannot read the symbolic link", ec.value());
    path = target.is_absolute() ? target : path.parent_path() / target;
    if (path.lexically_normal().string().rfind("/proc/", 0) == 0) return std::nullopt;
  }
  fail_write(path, "cannot write", ELOOP);
}

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// `.NAME.tmp.PID.N` files of writers that were killed before they renamed them: removed when their
// process is gone (a live one may still be writing).
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string entry = it->path().filename().string();
    if (entry.rfind(prefix, 0) != 0) continue;
    std::string_view rest = std::string_view(entry).substr(prefix.size());
    long pid = 0;
    auto [p, err] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (err != std::errc() || p == rest.data() + rest.size() || *p != '.') continue;
    unsigned n = 0;
    auto [q, err2] = std::from_chars(p + 1, rest.data() + rest.size(), n);
    if (err2 != std::errc() || q != rest.data() + rest.size()) continue;
    if (!process_alive(pid)) ::unlink(it->path().c_str());
  }
}

}  // namespace

void check_output_path(const std::filesystem::path& output, const std::string& flag,
                       const std::vector<std::filesystem::path>& inputs) {
  if (output.empty()) throw InputError(flag, 0, "", "the output path is empty");
  struct stat out;
  if (::stat(output.c_str(), &out) != 0) {  // does not exist yet: nothing to overwrite, but its folder must
    auto parent = output.has_parent_path() ? output.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    if (!std::filesystem::is_directory(parent, ec))
      throw InputError(flag, 0, "", fmt::format("'{}': the folder '{}' does not exist", output.string(), parent.string()));
    return;
  }
  if (S_ISDIR(out.st_mode)) throw InputError(flag, 0, "", fmt::format("'{}' is a directory", output.string()));
  for (const auto& input : inputs) {
    struct stat in;
    if (::stat(input.c_str(), &in) == 0 && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
      throw InputError(flag, 0, "",
                       fmt::format("'{}' is the input '{}': writing it would destroy the data", output.string(),
                                   input.string()));
  }
}

void write_file_atomic(const std::filesystem::path& given, std::string_view contents) {
  if (given.empty()) throw InputError("<output>", 0, "", "the output path is empty");
  if (auto fd = own_descriptor(given)) {
    std::fflush(nullptr);  // what this process printed before comes first
    if (!write_all(*fd, contents)) fail_write(given, "write failed", errno);
    return;
  }
  struct stat st;
  if (::stat(given.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw InputError(given.string(), 0, "", "is a directory, cannot write it as a file");
    if (!S_ISREG(st.st_mode)) return write_through(given, contents);
  }
  auto resolved = resolve_links(given);
  if (!resolved) return write_through(given, contents);
  const std::filesystem::path& path = *resolved;

  static std::atomic<unsigned> counter{0};
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const std::string name = path.filename().string();
  remove_stale_temporaries(dir, name);
  auto tmp = dir / fmt::format(".{}.tmp.{}.{}", name, getpid(), counter++);

  // Preferably an unnamed file (O_TMPFILE): a process killed while writing leaves nothing. It gets its
  // temporary name only once complete, for the exchange below.
  bool named = false;
  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) {
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) fail_write(path, "cannot write", errno);
    named = true;
  }
  // No fsync: the rename alone means no reader (and no process killed midway) ever sees half a
  // file. Only a machine crash could leave an empty file, and every reader of our files checks
  // them (a run directory that fails the check is rerun). fsync cost 1-5 ms a `scalelab fit`.
  bool ok = write_all(fd, contents);
  int err = errno;
  if (ok && !named) {
    auto proc = fmt::format("/proc/self/fd/{}", fd);
    // Nothing at the path yet: link the finished file there directly, so it never has another name
    // (linkat does not replace: if someone created the path meanwhile, go the exchange way).
    struct stat existing;
    if (::lstat(path.c_str(), &existing) != 0 && errno == ENOENT &&
        ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      ::close(fd);
      return;
    }
    ok = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0;
    err = errno;
    named = ok;
    if (!ok) {  // no /proc to link through: write a named temporary after all
      ::close(fd);
      fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0) fail_write(path, "cannot write", errno);
      named = true;
      ok = write_all(fd, contents);
      err = errno;
    }
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    if (named) ::unlink(tmp.c_str());
    fail_write(path, "write failed", err);
  }
  std::error_code ec;
  if (!swap_into_place(tmp, path)) std::filesystem::rename(tmp, path, ec);
  if (ec) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot rename into place ({})", path.string(), ec.message()));
  }
}

}  // namespace scalelab
