#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "sweep/spec.h"
#include "table/table.h"

namespace scalelab {
namespace {

const char* kGood = R"(name: t
dataset: fashion-mnist
model: mlp
fixed:
  depth: 2
  epochs: 2
  batch_size: 128
min_steps: 100
grid:
  width: [0.125, 0.25]
  data_fraction: [0.5, 1]
  seed: [1, 2, 3]
fit_where: "width<=0.125 && data_fraction<=0.5"
)";

// The InputError a spec raises, or a failure when it parses.
InputError error_of(const std::string& yaml) {
  try {
    parse_spec(yaml, "s.yaml");
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed:\n" << yaml;
  return InputError("", 0, "", "");
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(Spec, ExpandsTheGridIntoRunsWithCellsCostsAndTheFitSet) {
  auto spec = parse_spec(kGood, "s.yaml");
  auto runs = expand(spec);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(cell_keys(spec), (std::vector<std::string>{"width", "data_fraction"}));
  int fitted = 0;
  for (const auto& r : runs) {
    fitted += r.in_fit;
    EXPECT_GT(r.cost, 0);
    EXPECT_EQ(r.hparams.text("model"), "mlp");
    EXPECT_EQ(r.train_samples, std::round(r.hparams.number("data_fraction") * 55000));  // 60000 less the worker's 5000 for validation
  }
  EXPECT_EQ(fitted, 3);  // one cell, three seeds
}

TEST(Spec, MinStepsRaisesEpochsOfSmallSubsets) {
  auto spec = parse_spec(replace(kGood, "min_steps: 100", "min_steps: 3000"), "s.yaml");
  for (const auto& r : expand(spec)) {
    double steps = std::ceil(r.train_samples / 128) * r.hparams.number("epochs");
    EXPECT_GE(steps, 3000);
  }
}

TEST(Spec, HashIgnoresSpellingOfNumbersAndThreads) {
  Hparams a, b;
  a.set("lr", "0.001");
  b.set("lr", "1e-3");
  b.set("threads", "4");
  EXPECT_EQ(a.hash(), b.hash());
  b.set("lr", "0.002");
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_EQ(a.hash().size(), 16u);
  // The hash is part of the on-disk format: it must never change between builds.
  Hparams fixed;
  fixed.set("width", 0.25);
  fixed.set("model", "mlp");
  EXPECT_EQ(fixed.hash(), "f8c4a8a7e836e0ac");  // FNV-1a 64 of "model=mlp\nwidth=0.25\n"
}

TEST(Spec, ErrorsNameLineAndField) {
  struct Case {
    std::string from, to, field;
    int line;
  };
  std::vector<Case> cases = {
      {"width: [0.125, 0.25]", "width: [0.125, -1]", "width", 10},
      {"seed: [1, 2, 3]", "seed: [1, 1.5]", "seed", 12},
      {"epochs: 2", "epochs: two", "epochs", 6},
      {"epochs: 2", "epoch: 2", "epoch", 6},
      {"model: mlp", "model: resnet", "model", 3},
      {"min_steps: 100", "min_step: 100", "min_step", 8},
      {"data_fraction: [0.5, 1]", "data_fraction: [0.5, 2]", "data_fraction", 11},
      {"data_fraction: [0.5, 1]", "data_fraction: []", "grid.data_fraction", 11},
      {"seed: [1, 2, 3]", "seed: [1, 2, 1]", "grid.seed", 12},
      {"width<=0.125", "widht<=0.125", "fit_where", 13},
      {"width<=0.125", "width<=0.01", "fit_where", 13},
      {"width<=0.125", "width<=", "fit_where", 13},
  };
  for (const auto& c : cases) {
    auto e = error_of(replace(kGood, c.from, c.to));
    EXPECT_EQ(e.source(), "s.yaml") << c.to;
    EXPECT_EQ(e.field(), c.field) << c.to << ": " << e.what();
    EXPECT_EQ(e.line(), c.line) << c.to << ": " << e.what();
  }
  EXPECT_EQ(error_of("name: [").line(), 1);
  EXPECT_EQ(error_of(replace(kGood, "name: t\n", "")).field(), "name");
}

TEST(Spec, FitCellsListTheFitSetExplicitly) {
  auto yaml = replace(kGood, "fit_where: \"width<=0.125 && data_fraction<=0.5\"",
                      "fit_cells:\n  - {width: 0.125, data_fraction: 0.5}\n  - {width: 0.25, data_fraction: 0.5}");
  auto runs = expand(parse_spec(yaml, "s.yaml"));
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const PlannedRun& r) { return r.in_fit; }), 6);
  auto bad = error_of(replace(yaml, "{width: 0.25, data_fraction: 0.5}", "{width: 0.3, data_fraction: 0.5}"));
  EXPECT_EQ(bad.field(), "fit_cells.width");
  EXPECT_EQ(bad.line(), 15);
}

}  // namespace
}  // namespace scalelab
