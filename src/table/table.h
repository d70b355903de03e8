// The measurement table: named columns read from CSV (the shape pandas writes), the error type that
// names where input went wrong, and the atomic file writer every folder uses.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

// Bad input: names the file (or flag), the line (0 when none) and the field. The CLI turns it into
// a message and exit code 2.
class InputError : public std::runtime_error {
 public:
  InputError(std::string source, int line, std::string field, std::string message);
  const std::string& source() const { return source_; }
  int line() const { return line_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  std::string source_, field_, message_;
  int line_;
};

class Table {
 public:
  Table() = default;
  Table(std::vector<std::string> header, std::string source = "<table>");

  const std::string& source() const { return source_; }
  const std::vector<std::string>& header() const { return header_; }
  std::size_t rows() const { return cells_.size(); }
  std::size_t cols() const { return header_.size(); }

  bool has_column(std::string_view name) const;
  // Index of a column; throws InputError naming the column and the ones that exist.
  std::size_t column(std::string_view name) const;
  const std::string& at(std::size_t row, std::size_t col) const { return cells_[row][col]; }
  const std::string& at(std::size_t row, std::string_view name) const { return cells_[row][column(name)]; }
  // The value parsed as a number; empty, "nan" and "NaN" give NaN, anything else unparsable throws
  // InputError naming the line and column.
  double number(std::size_t row, std::size_t col) const;
  std::vector<double> numbers(std::string_view name) const;
  // Line in the source file that held this row (1-based, header is line 1); 0 for built tables.
  int line_of(std::size_t row) const { return lines_[row]; }

  void add_row(std::vector<std::string> cells, int line = 0);
  void add_column(std::string name, std::vector<std::string> values);

 private:
  std::string source_ = "<table>";
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
  std::vector<int> lines_;
};

// CSV with a header row, comma separated, RFC 4180 quoting. A leading unnamed column (pandas' index)
// is kept under the name "" and is harmless.
Table parse_csv(std::string_view text, const std::string& source);
Table read_csv(const std::filesystem::path& path);
std::string to_csv(const Table& table);
std::string format_number(double value);  // shortest text that reads back to the same double

// Writes a regular file (or one that does not exist yet) through an unnamed temporary file beside
// it (O_TMPFILE; a named `.NAME.tmp.PID.N` where unsupported) that is then put in its place: readers
// see the old file or the whole new one, never half of it, and a killed writer leaves no temporary
// name behind (stale named ones of dead processes are removed on the next write). A symlink is
// followed: its target is replaced and the link stays. A device, FIFO or /dev/stdout is opened and
// written through (a write error such as ENOSPC throws). An empty path or a directory is an
// InputError naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Checks an output path before any work is done: not empty, not a directory, and not the same file
// (same device and inode, through symlinks and hard links) as any of `inputs`. Throws InputError
// naming `flag`.
void check_output_path(const std::filesystem::path& output, const std::string& flag,
                       const std::vector<std::filesystem::path>& inputs);

// The whole file. Refuses directories and anything longer than max_bytes (devices and FIFOs are read
// up to it), with an InputError naming the file.
inline constexpr std::size_t kMaxReadBytes = std::size_t{1} << 30;  // 1 GiB
std::string read_file(const std::filesystem::path& path, std::size_t max_bytes = kMaxReadBytes);
// read_file for text (CSV, JSON): also refuses a NUL byte, so a binary stream (/dev/zero) fails at once.
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = kMaxReadBytes);

// A row filter such as `m<=3750 && n<=2e5`: comparisons (< <= > >= == !=) between names and numbers,
// combined with && || ! and parentheses. Names are looked up when evaluated.
class Predicate {
 public:
  struct Node;
  static Predicate parse(std::string_view text, const std::string& source = "--fit-where");
  bool operator()(const std::function<double(std::string_view)>& lookup) const;
  std::vector<std::string> names() const;  // every name the expression uses
  const std::string& text() const { return text_; }

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
};

}  // namespace scalelab
