#include "store/hparams.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include "store/hparam_schema.h"
#include "store/yaml_input.h"
#include "table/table.h"

namespace scalelab {
namespace {

// The whole text parses as a finite double.
bool parse_number(std::string_view text, double& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

std::string fnv1a(const std::string& text) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a offset basis
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;  // FNV prime
  }
  return fmt::format("{:016x}", h);
}

}  // namespace

void Hparams::set(const std::string& key, double value) { values_[key] = format_number(value); }

void Hparams::set(const std::string& key, std::string_view text) {
  double number;
  values_[key] = parse_number(text, number) ? format_number(number) : std::string(text);
}

const std::string& Hparams::text(std::string_view key) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) throw std::out_of_range(fmt::format("hyperparameter '{}' is not set", key));
  return it->second;
}

double Hparams::number(std::string_view key) const {
  auto it = values_.find(std::string(key));
  double value;
  if (it == values_.end() || !parse_number(it->second, value)) return std::numeric_limits<double>::quiet_NaN();
  return value;
}

std::string Hparams::canonical() const {
  // The defaults in the same canonical text as the values (0.0005 reads back as 5e-04).
  static const Hparams defaults = [] {
    Hparams d;
    for (const auto& row : hparam_schema())
      if (!row.default_value.empty()) d.set(std::string(row.name), row.default_value);
    return d;
  }();
  std::map<std::string, std::string> effective = values_;
  effective.erase("threads");
  for (const auto& row : hparam_schema()) {
    if (row.core || row.default_value.empty()) continue;
    std::string key(row.name);
    auto it = effective.find(key);
    if (it != effective.end() && it->second == defaults.text(key)) effective.erase(it);
  }
  std::string out;
  for (const auto& [key, value] : effective) {  // std::map iterates in sorted key order
    out += key;
    out += '=';
    out += value;
    out += '\n';
  }
  return out;
}

std::string Hparams::hash() const { return fnv1a(canonical()); }

std::string Hparams::legacy_hash() const {
  std::string out;
  for (const auto& [key, value] : values_) {
    if (key == "threads") continue;
    out += key;
    out += '=';
    out += value;
    out += '\n';
  }
  return fnv1a(out);
}

std::string Hparams::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& [key, value] : values_) out << YAML::Key << key << YAML::Value << value;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

Hparams Hparams::from_yaml(std::string_view text, const std::string& source) {
  // A repeated key or a second document would be read as one of the values, silently: errors.
  YAML::Node root = load_one_document(std::string(text), source);
  if (!root.IsMap()) throw InputError(source, root.Mark().line + 1, "", "expected a map of hyperparameters");
  Hparams h;
  for (const auto& item : root) {
    auto key = item.first.as<std::string>();
    if (auto problem = hparam_name_problem(key); !problem.empty())
      throw InputError(source, item.first.Mark().line + 1, key, problem);
    if (!item.second.IsScalar())
      throw InputError(source, item.second.Mark().line + 1, key, "expected a single value");
    if (auto problem = hparam_value_problem(item.second.Scalar()); !problem.empty())
      throw InputError(source, item.second.Mark().line + 1, key, problem);
    h.set(key, item.second.Scalar());
  }
  return h;
}

std::string hparam_name_problem(std::string_view name) {
  if (name.empty()) return "a hyperparameter needs a name";
  if (name.size() > 64) return "a hyperparameter's name is at most 64 characters";
  auto ok = [](unsigned char c) { return std::isalnum(c) || c == '_'; };
  if (std::isdigit(static_cast<unsigned char>(name[0])) || !std::all_of(name.begin(), name.end(), ok))
    return "a hyperparameter's name is letters, digits and '_', not starting with a digit";
  return "";
}

std::string hparam_value_problem(std::string_view value) {
  if (value.size() > 256) return "a value is at most 256 characters";
  // Printable ASCII only: yaml-cpp's emitter rewrites control characters and some non-ASCII UTF-8
  // (fuzz_hparams found both), and every value scalelab knows (numbers, dataset and family names) is
  // ASCII.
  for (unsigned char c : value)
    if (c < 0x20 || c >= 0x7f) return fmt::format("holds byte {:#04x}: values are printable ASCII", c);
  return "";
}

Hparams Hparams::read(const std::filesystem::path& file) { return from_yaml(read_file(file), file.string()); }

}  // namespace scalelab
