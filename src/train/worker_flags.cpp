#include "train/worker_flags.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "store/hparam_schema.h"
#include "table/table.h"
#include "train/run_files.h"

namespace scalelab {
namespace {

// The row's help without markdown, its range and its default: "peak learning rate of SGD; > 0 [0.05]".
std::string flag_help(const HparamRow& row) {
  std::string help;
  for (char ch : row.help)
    if (ch != '`') help += ch;
  if (row.type != HparamRow::word) help += (help.empty() ? "" : "; ") + hparam_allowed(row);
  if (!row.default_value.empty()) help += (help.empty() ? "[" : " [") + std::string(row.default_value) + "]";
  return help;
}

CLI::Validator row_check(const HparamRow& row) {
  return CLI::Validator(
      [&row](std::string& text) -> std::string {
        std::int64_t exact = 0;
        if (row.type == HparamRow::word) return hparam_word_problem(row, text);
        if (row.type == HparamRow::integer && std::from_chars(text.data(), text.data() + text.size(), exact).ec ==
                                                  std::errc::result_out_of_range)
          return fmt::format("{} is out of range: not a 64-bit whole number", text);
        try {
          std::size_t used = 0;
          const double v = std::stod(text, &used);
          if (used != text.size() || !std::isfinite(v)) return fmt::format("'{}' is not a number", text);
          return hparam_number_problem(row, v, INFINITY, text);
        } catch (const std::exception&) {
          return fmt::format("'{}' is not a number", text);
        }
      },
      "", std::string(row.name));
}

}  // namespace

void add_hparam_flags(CLI::App& app, GivenHparams& given) {
  for (const HparamRow& row : hparam_schema()) {
    const std::string name(row.name);
    app.add_option_function<std::string>(
           hparam_flag(row), [&given, name](const std::string& text) { given[name] = text; }, flag_help(row))
        ->check(row_check(row))
        ->type_name(row.type == HparamRow::integer ? "INT" : row.type == HparamRow::real ? "NUMBER"
                    : hparam_words(row).empty()    ? "WORD"
                                                   : fmt::format("{{{}}}", fmt::join(hparam_words(row), ",")));
  }
}

void apply_hparam_flags(const GivenHparams& given, TrainConfig& config) {
  for (const HparamRow& row : hparam_schema()) {
    auto it = given.find(std::string(row.name));
    if (it == given.end()) continue;
    if (!row.alternative.empty()) {
      if (given.count(std::string(row.alternative))) {
        const HparamRow& other = *find_hparam(row.alternative);
        const HparamRow& later = &other > &row ? other : row;  // name the second in the schema, as before
        const HparamRow& first = &other > &row ? row : other;
        throw InputError(hparam_flag(later), 0, std::string(later.name),
                         fmt::format("give {} or {}, not both", hparam_flag(first), hparam_flag(later)));
      }
      clear_hparam(config, row.alternative);
    }
    set_hparam(config, row.name, it->second, hparam_flag(row), 0);
  }
}

}  // namespace scalelab
