// The hyperparameter schema: one row per key a run's hparams.yaml may hold. Everything that names a
// hyperparameter comes from this table: the sweep spec's validation (sweep/spec.cpp), the run id's
// defaults (Hparams::canonical), the worker's flags and --help (train/worker_flags.h), hparams.yaml
// reading and writing and the trainer's validation (train/config_fields.h binds each row to its
// TrainConfig member), and the key table of docs/run-directory.md (tests/store/schema_test.cpp checks it
// equals hparam_doc_table()). Torch-free. Adding a hyperparameter is one row here, its TrainConfig member
// and one line of train/config_fields.h, and the regenerated doc table.
//
// Modelled on OpenLTH's Hparams dataclasses (foundations/hparams.py): one declaration drives the flags,
// the files and the run's name.
#pragma once

#include <cmath>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scalelab {

struct HparamRow {
  enum Type { integer, real, word };
  std::string_view name;           // the YAML key; the worker's flag is --name with '_' -> '-'
  Type type;
  std::string_view default_value;  // in Hparams' canonical text; "" for none (the key is optional)
  double lo = -INFINITY, hi = INFINITY;  // numbers: the allowed range
  bool lo_open = false, hi_open = false;
  std::span<const std::string_view> words = {};  // words: the allowed ones; empty: any non-empty word
  // Words taken from a registry instead (model families: models/spec.h), so that adding an entry there
  // is all it takes for specs, flags and hparams.yaml to accept it.
  std::vector<std::string> (*registry)() = nullptr;
  std::string_view help;           // one line: docs/run-directory.md's meaning and the flag's --help
  // Names the run: every sweep spec gives it, and a run's id keeps it as written. The other keys are
  // left out of the id when they hold their default, so writing a default out is the same run.
  bool core = false;
  // The key this one is an alternative to (data_fraction / data_count): giving one drops the other,
  // giving both is an error, and a default is written only when its alternative is not given.
  std::string_view alternative = {};
};

// Every hyperparameter, in hparams.yaml's order.
std::span<const HparamRow> hparam_schema();
const HparamRow* find_hparam(std::string_view name);  // nullptr when no row has this name
// The row's default as a number (NaN for words and keys without one).
double hparam_default_number(std::string_view name);

// Whole numbers pass through doubles (Hparams) and hparams.yaml's reader, which takes up to 9e15: below
// 2^53, so every value a spec or hparams.yaml holds is exact (1e30 is no seed: it is not one integer).
inline constexpr double kMaxWhole = 9e15;
inline constexpr double kMaxEpochs = 1e6;

// Why `value` is not allowed in `row`, "" when it is: "must be a whole number", or "V is out of range:
// must be in [lo, hi]" (or "> lo"). `cap` lowers the row's upper bound (the sweep passes kMaxWhole for
// whole numbers: its values go through doubles).
std::string hparam_number_problem(const HparamRow& row, double value, double cap = INFINITY,
                                  std::string_view as_written = {});
// The words a row allows: its own list, or its registry's names; empty: any word.
std::vector<std::string> hparam_words(const HparamRow& row);
// Why `text` is not allowed as a word of `row`, "" when it is.
std::string hparam_word_problem(const HparamRow& row, std::string_view text);

// What the row allows, in words: "mlp, wrn", "any word", "whole, in [1, 388]", "> 0".
std::string hparam_allowed(const HparamRow& row);
// The flag of a row: "--data-fraction".
std::string hparam_flag(const HparamRow& row);
// The markdown table of docs/run-directory.md (key | default | allowed | meaning), one line per row.
std::string hparam_doc_table();

}  // namespace scalelab
