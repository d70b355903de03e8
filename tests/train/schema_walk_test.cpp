// Every row of the hyperparameter schema (store/hparam_schema.h), walked through every place that reads or
// writes hyperparameters: a sweep spec's YAML -> Hparams -> hparams.yaml -> the worker's parse_hparams
// (TrainConfig) -> hparams_yaml, and back unchanged; the worker's flags; and an out-of-range value,
// rejected by the spec parser and by the worker alike. Adding a row needs nothing here.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "store/hparam_schema.h"
#include "store/hparams.h"
#include "sweep/spec.h"
#include "table/table.h"
#include "train/config_fields.h"
#include "train/run_files.h"
#include "train/train.h"
#include "train/worker_flags.h"

namespace scalelab {
namespace {

// A value of `row` in its range, not its default.
std::string in_range(const HparamRow& row) {
  if (row.type == HparamRow::word) {
    for (const auto& w : hparam_words(row))
      if (w != row.default_value) return w;
    return "synthetic";
  }
  if (row.type == HparamRow::integer) return format_number(std::min(row.lo + 2, row.hi));
  return format_number(std::isinf(row.hi) ? row.lo + 0.25 : row.lo + (row.hi - row.lo) / 4);
}

// Values of `row` out of its range (or not among its words).
std::vector<std::string> out_of_range(const HparamRow& row) {
  if (row.type == HparamRow::word) return {hparam_words(row).empty() ? "\"\"" : "nonsense"};
  std::vector<std::string> out = {format_number(row.lo_open ? row.lo : row.lo - 1)};
  if (!std::isinf(row.hi)) {
    if (row.hi > 1e15) out.push_back("9223372036854775808");  // the seed's 2^63
    else out.push_back(format_number(row.hi_open ? row.hi : row.type == HparamRow::integer ? row.hi + 1 : row.hi * 2));
  }
  if (row.type == HparamRow::integer) out.push_back(format_number(row.lo + 2.5));
  return out;
}

// A valid spec giving every hyperparameter, `key` as `value`; the other keys at their defaults. Five
// cells on one axis (width, or depth when width is the key walked): rosenfeld2020 has five parameters.
std::string spec_with(const std::string& key, const std::string& value) {
  const HparamRow& walked = *find_hparam(key);
  const std::string axis = key == "width" ? "depth" : "width";
  std::string top, fixed;
  for (const auto& row : hparam_schema()) {
    const std::string name(row.name);
    if (name == axis) continue;
    std::string v = name == key ? value : std::string(row.default_value);
    if (name == "depth" && name != key) v = "10";  // a depth mlp and wrn both build
    if (name != key && (v.empty() || (!walked.alternative.empty() && name == walked.alternative))) continue;
    if (name == "dataset" || name == "model") top += fmt::format("{}: {}\n", name, v);  // top level
    else fixed += fmt::format("  {}: {}\n", name, v);
  }
  std::string out = "name: walk\ntrain_size: 60000\n" + top + "fixed:\n" + fixed;
  out += axis == "width" ? "grid:\n  width: [0.25, 0.5, 1, 2, 4]\n" : "grid:\n  depth: [10, 16, 22, 28, 34]\n";
  return out;
}

TEST(SchemaWalk, ConfigFieldsBindEveryRowInOrder) {
  std::vector<std::string_view> bound;
  TrainConfig c;
  for_each_field(c, [&](std::string_view name, auto&) { bound.push_back(name); });
  std::vector<std::string_view> rows;
  for (const auto& row : hparam_schema()) rows.push_back(row.name);
  EXPECT_EQ(bound, rows);
}

TEST(SchemaWalk, EveryRowRoundTripsThroughSpecHparamsYamlAndTheWorker) {
  for (const auto& row : hparam_schema()) {
    const std::string key(row.name), value = in_range(row);
    SCOPED_TRACE(key + " = " + value);
    const std::string yaml = spec_with(key, value);
    SweepSpec spec;
    try {
      spec = parse_spec(yaml, "walk.yaml");
    } catch (const InputError& e) {
      ADD_FAILURE() << e.what() << "\n" << yaml;
      continue;
    }
    const Hparams planned = expand(spec).front().hparams;
    Hparams expected;
    expected.set("v", value);
    ASSERT_TRUE(planned.has(key));
    EXPECT_EQ(planned.text(key), expected.text("v"));
    // hparams.yaml as the sweep writes it, read by the worker, written again by the worker.
    const TrainConfig config = parse_hparams(planned.to_yaml(), "hparams.yaml");
    EXPECT_NO_THROW(validate(config));
    const std::string written = hparams_yaml(config);
    const Hparams back = Hparams::from_yaml(written, "worker's hparams.yaml");
    EXPECT_EQ(back.values(), planned.values()) << written;
    EXPECT_EQ(back.hash(), planned.hash());
    EXPECT_EQ(hparams_yaml(parse_hparams(written, "again")), written);

    // The worker's flag sets the same member.
    CLI::App app;
    GivenHparams given;
    add_hparam_flags(app, given);
    app.parse(hparam_flag(row) + " " + value, false);
    ASSERT_EQ(given.count(key), 1u);
    TrainConfig flagged;
    apply_hparam_flags(given, flagged);
    EXPECT_EQ(Hparams::from_yaml(hparams_yaml(flagged), "flags").text(key), expected.text("v"));
  }
}

TEST(SchemaWalk, OutOfRangeIsRejectedBySpecAndWorkerAlike) {
  for (const auto& row : hparam_schema()) {
    const std::string key(row.name);
    for (const auto& bad : out_of_range(row)) {
      SCOPED_TRACE(key + " = " + bad);
      try {
        parse_spec(spec_with(key, bad), "walk.yaml");
        ADD_FAILURE() << "the spec accepted it";
      } catch (const InputError& e) {
        EXPECT_EQ(e.field(), key) << e.what();
      }
      try {
        validate(parse_hparams(fmt::format("{}: {}\n", key, bad), "hparams.yaml"));
        ADD_FAILURE() << "the worker accepted it";
      } catch (const InputError& e) {
        EXPECT_EQ(e.field(), key) << e.what();
      }
      CLI::App app;
      GivenHparams given;
      add_hparam_flags(app, given);
      const std::string text = bad == "\"\"" ? "" : bad;
      EXPECT_THROW(app.parse(std::vector<std::string>{text, hparam_flag(row)}), CLI::ParseError);
    }
  }
}

TEST(SchemaWalk, WorkerHelpComesFromTheRows) {
  CLI::App app;
  GivenHparams given;
  add_hparam_flags(app, given);
  const std::string help = app.help();
  for (const auto& row : hparam_schema()) {
    EXPECT_NE(help.find(hparam_flag(row)), std::string::npos) << row.name;
    if (!row.default_value.empty())
      EXPECT_NE(help.find("[" + std::string(row.default_value) + "]"), std::string::npos) << row.name;
  }
}

}  // namespace
}  // namespace scalelab
