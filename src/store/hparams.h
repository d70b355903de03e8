// A run's hyperparameters: a flat map from name to value, and the hash that names its directory.
// Values are kept in canonical text: numbers as the shortest text that reads back to the same double,
// so `lr: 0.001` and `lr: 1e-3` are one configuration and one directory.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace scalelab {

// Why `name` cannot name a hyperparameter, "" when it can: letters, digits and '_', not starting with
// a digit, at most 64 characters.
std::string hparam_name_problem(std::string_view name);
// Why `value` cannot be a hyperparameter's value, "" when it can: printable ASCII, at most 256
// characters. Anything else may not survive hparams.yaml and back (fuzz_hparams found a NUL, a 0x1d
// and non-ASCII UTF-8 changing under to_yaml), and a run's directory would never match its own id.
std::string hparam_value_problem(std::string_view value);

class Hparams {
 public:
  void set(const std::string& key, double value);
  void set(const std::string& key, std::string_view text);  // numbers in text are canonicalised
  bool has(std::string_view key) const { return values_.find(std::string(key)) != values_.end(); }
  const std::string& text(std::string_view key) const;  // throws std::out_of_range naming the key
  double number(std::string_view key) const;            // NaN when missing or not a number
  const std::map<std::string, std::string>& values() const { return values_; }

  // Sorted `key=value` lines of the configuration the worker trains: without `threads` (it changes
  // speed, not results), and without the optional keys that hold the worker's default
  // (store/hparam_schema.h). So writing `lr: 0.05` out, or not, is the same run. Core keys (which every
  // sweep spec gives) are kept as written.
  std::string canonical() const;
  // 64-bit FNV-1a of canonical(), as 16 hex digits: stable across builds, machines and runs.
  std::string hash() const;
  // The ids of scalelab before defaults were normalised: every key as written, but `threads`. Run
  // directories named so (the demo's, which writes every default out) keep their names.
  std::string legacy_hash() const;
  // `id` is this configuration's directory name, by either rule.
  bool names(const std::string& id) const { return hash() == id || legacy_hash() == id; }
  // The same training run, whatever defaults either wrote out.
  bool same_config(const Hparams& other) const { return canonical() == other.canonical(); }

  std::string to_yaml() const;
  // A flat YAML map of scalars; InputError names the file, line and key of anything else.
  static Hparams from_yaml(std::string_view text, const std::string& source);
  static Hparams read(const std::filesystem::path& file);

  bool operator==(const Hparams& other) const { return values_ == other.values_; }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace scalelab
