#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "sweep/demo_spec.h"
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
  width: [0.03125, 0.0625, 0.125, 0.25]
  data_fraction: [0.25, 0.5, 1]
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

// A second dataset is planned with its own shape and sizes (data/catalogue.h): synthetic is 1x8x8
// inputs, 10 classes, 2000 training and 1000 test examples.
TEST(Spec, SyntheticSweepIsPlannedWithItsOwnShapeAndSizes) {
  const char* yaml = R"(name: syn
dataset: synthetic
model: mlp
fixed:
  depth: 1
  epochs: 2
  batch_size: 100
  val_count: 500
grid:
  width: [0.0625, 0.125, 0.25]
  data_fraction: [0.25, 0.5, 1]
fit_where: "n<=5000"
)";
  const auto spec = parse_spec(yaml, "syn.yaml");
  EXPECT_EQ(spec.dataset_size, 2000);
  EXPECT_EQ(spec.test_size, 1000);
  const auto runs = expand(spec);
  ASSERT_EQ(runs.size(), 9u);
  // mlp, depth 1, h = 512 * width hidden units, on 1*8*8 = 64 inputs and 10 classes:
  //   parameters = (64*h + h) + (h*10 + 10) = 75h + 10
  //     h = 32: 2410      h = 64: 4810      h = 128: 9610
  //   (on the 28x28 defaults, 784 inputs, width 1/16 alone would be 25450: no cell would pass n<=5000)
  //   forward FLOPs = 2 * (64*h + h*10) = 148h
  //     h = 32: 4736      h = 64: 9472      h = 128: 18944
  // m = data_fraction * (2000 - val_count 500) = 375, 750, 1500.
  // cost = FLOPs * epochs * (3m + val_count + test) = FLOPs * 2 * (3m + 500 + 1000)
  //   width 1/16, fraction 0.25: 4736 * 2 * (1125 + 1500) = 4736 * 5250  = 24864000
  //   width 1/8,  fraction 1:    9472 * 2 * (4500 + 1500) = 9472 * 12000 = 113664000
  //   width 1/4,  fraction 0.5:  18944 * 2 * (2250 + 1500) = 18944 * 7500 = 142080000
  const std::map<std::string, double> params = {{"0.0625", 2410}, {"0.125", 4810}, {"0.25", 9610}};
  const std::map<std::string, double> samples = {{"0.25", 375}, {"0.5", 750}, {"1", 1500}};
  int fitted = 0;
  for (const auto& r : runs) {
    const auto width = r.hparams.text("width"), fraction = r.hparams.text("data_fraction");
    EXPECT_EQ(r.params, params.at(width)) << r.cell;
    EXPECT_EQ(r.train_samples, samples.at(fraction)) << r.cell;
    EXPECT_EQ(r.in_fit, r.params <= 5000) << r.cell;
    fitted += r.in_fit;
    if (width == "0.0625" && fraction == "0.25") EXPECT_EQ(r.cost, 24864000) << r.cell;
    if (width == "0.125" && fraction == "1") EXPECT_EQ(r.cost, 113664000) << r.cell;
    if (width == "0.25" && fraction == "0.5") EXPECT_EQ(r.cost, 142080000) << r.cell;
  }
  EXPECT_EQ(fitted, 6);
}

TEST(Spec, ExpandsTheGridIntoRunsWithCellsCostsAndTheFitSet) {
  auto spec = parse_spec(kGood, "s.yaml");
  auto runs = expand(spec);
  ASSERT_EQ(runs.size(), 36u);
  EXPECT_EQ(cell_keys(spec), (std::vector<std::string>{"width", "data_fraction"}));
  int fitted = 0;
  for (const auto& r : runs) {
    fitted += r.in_fit;
    EXPECT_GT(r.cost, 0);
    EXPECT_EQ(r.hparams.text("model"), "mlp");
    EXPECT_EQ(r.train_samples, std::round(r.hparams.number("data_fraction") * 55000));  // 60000 less the worker's 5000 for validation
  }
  EXPECT_EQ(fitted, 18);  // six cells (rosenfeld2020 has five parameters), three seeds
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
      {"width: [0.03125, 0.0625, 0.125, 0.25]", "width: [0.125, -1]", "width", 10},
      {"seed: [1, 2, 3]", "seed: [1, 1.5]", "seed", 12},
      {"epochs: 2", "epochs: two", "epochs", 6},
      {"epochs: 2", "epoch: 2", "epoch", 6},
      {"model: mlp", "model: resnet", "model", 3},
      {"min_steps: 100", "min_step: 100", "min_step", 8},
      {"data_fraction: [0.25, 0.5, 1]", "data_fraction: [0.5, 2]", "data_fraction", 11},
      {"data_fraction: [0.25, 0.5, 1]", "data_fraction: []", "grid.data_fraction", 11},
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
                      "fit_cells:\n  - {width: 0.03125, data_fraction: 0.25}\n  - {width: 0.0625, data_fraction: 0.25}\n"
                      "  - {width: 0.125, data_fraction: 0.25}\n  - {width: 0.03125, data_fraction: 0.5}\n"
                      "  - {width: 0.25, data_fraction: 0.5}");
  auto runs = expand(parse_spec(yaml, "s.yaml"));
  EXPECT_EQ(std::count_if(runs.begin(), runs.end(), [](const PlannedRun& r) { return r.in_fit; }), 15);
  auto bad = error_of(replace(yaml, "{width: 0.25, data_fraction: 0.5}", "{width: 0.3, data_fraction: 0.5}"));
  EXPECT_EQ(bad.field(), "fit_cells.width");
  EXPECT_EQ(bad.line(), 18);
}

// Issue 14, finding 7: each of these passed `--dry-run` and failed only after (or while) training.

TEST(Spec, TheLawMustBeKnownAndFedByWhatASweepProvides) {
  auto with_law = [](const std::string& law) { return std::string(kGood) + "law: " + law + "\n"; };
  EXPECT_NO_THROW(parse_spec(with_law("rosenfeld2020"), "s.yaml"));

  auto unknown = error_of(with_law("nope"));
  EXPECT_EQ(unknown.field(), "law");
  EXPECT_EQ(unknown.line(), 14);
  EXPECT_NE(unknown.message().find("unknown law 'nope'"), std::string::npos) << unknown.what();
  EXPECT_NE(unknown.message().find("rosenfeld2020"), std::string::npos) << unknown.what();  // lists the laws

  // pruning2021's eps_np (the unpruned network's error) is no number a sweep measures or gives.
  auto given = error_of(with_law("pruning2021"));
  EXPECT_EQ(given.field(), "law");
  EXPECT_EQ(given.line(), 14);
  EXPECT_NE(given.message().find("eps_np"), std::string::npos) << given.what();
  EXPECT_NE(error_of(with_law("pruning2021_joint")).message().find("eps_np"), std::string::npos);

  // A sweep's cells give m and n; kaplan2020's N and D (and powerlaw's x) are not them.
  for (const char* law : {"kaplan2020", "chinchilla", "powerlaw", "bnsl", "m4"}) {
    auto input = error_of(with_law(law));
    EXPECT_EQ(input.field(), "law") << law;
    EXPECT_NE(input.message().find("input"), std::string::npos) << input.what();
  }
}

// `inputs:` maps a law's inputs to sweep quantities (m: training samples, n: parameters); a law whose
// inputs are exactly m and n needs none. sweep_fit turns the spec into what a fit of its cells takes.
TEST(Spec, InputsMapALawsInputsToSweepQuantities) {
  auto with = [](const std::string& extra) { return std::string(kGood) + extra; };
  auto rosenfeld = parse_spec(with("law: rosenfeld2020\neps0: 0.8\n"), "s.yaml");
  EXPECT_EQ(rosenfeld.target, "test_error");
  auto fit = sweep_fit(rosenfeld);
  EXPECT_EQ(fit.law, "rosenfeld2020");
  EXPECT_EQ(fit.inputs, (std::vector<std::pair<std::string, std::string>>{{"m", "samples"}, {"n", "params"}}));
  EXPECT_EQ(fit.givens, (std::map<std::string, double>{{"eps0", 0.8}}));
  EXPECT_EQ(fit.target, "test_error");

  auto power = sweep_fit(parse_spec(with("law: powerlaw\ninputs: {x: m}\ntarget: test_loss\n"), "s.yaml"));
  EXPECT_EQ(power.inputs, (std::vector<std::pair<std::string, std::string>>{{"x", "samples"}}));
  EXPECT_TRUE(power.givens.empty());
  EXPECT_EQ(power.target, "test_loss");

  // In the law's order, whatever the spec's.
  auto kaplan = sweep_fit(parse_spec(with("law: kaplan2020\ninputs: {D: m, N: n}\n"), "s.yaml"));
  EXPECT_EQ(kaplan.inputs, (std::vector<std::pair<std::string, std::string>>{{"N", "params"}, {"D", "samples"}}));
  // m4 takes eps0 from the spec too.
  auto m4 = sweep_fit(parse_spec(with("law: m4\ninputs: {x: n}\n"), "s.yaml"));
  EXPECT_EQ(m4.givens, (std::map<std::string, double>{{"eps0", 0.9}}));
  // Another law than the spec's: the m, n mapping where it applies, else none; unknown: field `law`.
  EXPECT_EQ(sweep_fit(rosenfeld, "chinchilla").inputs.size(), 0u);
  EXPECT_EQ(sweep_fit(parse_spec(with("law: powerlaw\ninputs: {x: m}\n"), "s.yaml"), "rosenfeld2020").inputs.size(), 2u);
  try {
    sweep_fit(rosenfeld, "nope");
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "law");
  }
}

TEST(Spec, BadInputsAndTargetsNameTheirLineAndField) {
  struct Case {
    std::string extra, field;
    int line;
    std::string says;
  };
  // kGood has 13 lines; the extra starts at line 14.
  std::vector<Case> cases = {
      {"law: powerlaw\ninputs: {x: q}\n", "inputs.x", 15, "no sweep quantity"},
      {"law: powerlaw\ninputs: {y: m}\n", "inputs.y", 15, "no input 'y'"},
      {"law: kaplan2020\ninputs: {N: n}\n", "inputs", 15, "'D'"},
      {"law: powerlaw\ninputs: [m]\n", "inputs", 15, "expected a map"},
      {"target: \"test error\"\n", "target", 14, "not a result.json field name"},
      {"target: width\n", "target", 14, "not a measured metric"},
      {"target: params\n", "target", 14, "not a measured metric"},
      {"target: depth\n", "target", 14, "not a measured metric"},
  };
  for (const auto& c : cases) {
    auto e = error_of(std::string(kGood) + c.extra);
    EXPECT_EQ(e.source(), "s.yaml") << c.extra;
    EXPECT_EQ(e.field(), c.field) << c.extra << e.what();
    EXPECT_EQ(e.line(), c.line) << c.extra << e.what();
    EXPECT_NE(e.message().find(c.says), std::string::npos) << e.what();
  }
}

TEST(Spec, WholeNumbersAreBoundedAndExact) {
  struct Case {
    std::string from, to, field;
    int line;
  };
  std::vector<Case> cases = {
      {"seed: [1, 2, 3]", "seed: [1, 1e30]", "seed", 12},  // a double, not one integer
      {"seed: [1, 2, 3]", "seed: [-1]", "seed", 12},
      {"seed: [1, 2, 3]", "seed: [18446744073709551615]", "seed", 12},
      {"epochs: 2", "epochs: 99999999999999999999", "epochs", 6},
      {"epochs: 2", "epochs: 1000001", "epochs", 6},
      {"batch_size: 128", "batch_size: 1e9", "batch_size", 7},
      {"depth: 2", "depth: 1e30", "depth", 5},
      {"width: [0.03125, 0.0625, 0.125, 0.25]", "width: [0.125, 1e9]", "width", 10},
      {"min_steps: 100", "min_steps: 1e12", "min_steps", 8},
  };
  for (const auto& c : cases) {
    auto e = error_of(replace(kGood, c.from, c.to));
    EXPECT_EQ(e.source(), "s.yaml") << c.to;
    EXPECT_EQ(e.field(), c.field) << c.to << ": " << e.what();
    EXPECT_EQ(e.line(), c.line) << c.to << ": " << e.what();
    EXPECT_NE(e.message().find("out of range"), std::string::npos) << c.to << ": " << e.what();
  }
  // The largest seed is exact, as are the epochs at the limit.
  auto spec = parse_spec(replace(replace(kGood, "seed: [1, 2, 3]", "seed: [9000000000000000]"), "epochs: 2", "epochs: 1000000"),
                         "s.yaml");
  EXPECT_EQ(expand(spec)[0].hparams.number("seed"), 9e15);
  // min_steps may not push epochs past the limit either: 1e9 steps of one batch are 1e9 epochs.
  auto raised = error_of(replace(replace(kGood, "min_steps: 100", "min_steps: 1000000000"), "data_fraction: [0.25, 0.5, 1]",
                                 "data_fraction: [0.001, 1]"));
  EXPECT_EQ(raised.field(), "min_steps");
  EXPECT_EQ(raised.line(), 8);
}

TEST(Spec, EarlyStoppingNeedsAValidationSet) {
  auto fixed = [](const std::string& extra) { return replace(kGood, "  batch_size: 128\n", "  batch_size: 128\n" + extra); };
  EXPECT_NO_THROW(parse_spec(fixed("  val_count: 0\n"), "s.yaml"));
  EXPECT_NO_THROW(parse_spec(fixed("  early_stopping: 5\n"), "s.yaml"));  // the worker's 5000 validation examples
  auto e = error_of(fixed("  early_stopping: 5\n  val_count: 0\n"));
  EXPECT_EQ(e.field(), "early_stopping");
  EXPECT_EQ(e.line(), 8);
  EXPECT_NE(e.message().find("val_count"), std::string::npos) << e.what();
  // val_count on the grid: the run with none fails, so the spec does.
  auto axis = error_of(replace(fixed("  early_stopping: 5\n"), "  seed: [1, 2, 3]\n", "  seed: [1, 2, 3]\n  val_count: [1000, 0]\n"));
  EXPECT_EQ(axis.field(), "early_stopping");
  EXPECT_EQ(axis.line(), 8);
}

TEST(Spec, DataSizesMustFitTheDatasetAfterTheValidationSplit) {
  auto counts = [](const std::string& values) {
    return replace(replace(kGood, "data_fraction: [0.25, 0.5, 1]", "data_count: [" + values + "]"), "data_fraction<=0.5",
                   "data_count<=10000");
  };
  // fashion-mnist: 60000 training examples, 5000 of them the worker's validation split.
  auto spec = parse_spec(counts("1000, 10000, 55000"), "s.yaml");
  EXPECT_EQ(expand(spec).back().train_samples, 55000);
  auto over = error_of(counts("1000, 55001"));
  EXPECT_EQ(over.field(), "grid.data_count");
  EXPECT_EQ(over.line(), 11);
  EXPECT_NE(over.message().find("55000 training examples"), std::string::npos) << over.what();

  // A fraction so small it rounds to no example at all.
  auto tiny = error_of(replace(kGood, "data_fraction: [0.25, 0.5, 1]", "data_fraction: [0.000001, 0.5, 1]"));
  EXPECT_EQ(tiny.field(), "grid.data_fraction");
  EXPECT_EQ(tiny.line(), 11);
  EXPECT_NO_THROW(parse_spec(replace(kGood, "data_fraction: [0.25, 0.5, 1]", "data_fraction: [0.00001, 0.5, 1]"), "s.yaml"));

  // A validation split that takes the whole training set.
  auto val = error_of(replace(kGood, "  batch_size: 128\n", "  batch_size: 128\n  val_count: 60000\n"));
  EXPECT_EQ(val.field(), "val_count");
  EXPECT_EQ(val.line(), 8);

  // val_count on the grid: each run's split is its own (data_fraction is of what is left).
  auto axis = parse_spec(replace(kGood, "  seed: [1, 2, 3]\n", "  seed: [1, 2, 3]\n  val_count: [0, 10000]\n"), "s.yaml");
  std::set<double> whole;
  for (const auto& r : expand(axis))
    if (r.hparams.text("data_fraction") == "1") whole.insert(r.train_samples);
  EXPECT_EQ(whole, (std::set<double>{50000, 60000}));
  auto axis_over = error_of(replace(counts("1000, 55000"), "  seed: [1, 2, 3]\n", "  seed: [1, 2, 3]\n  val_count: [0, 10000]\n"));
  EXPECT_EQ(axis_over.field(), "grid.data_count");

  // A train_size given for a dataset scalelab does not know is held to the same rules.
  auto other = replace(replace(counts("1000, 3000"), "dataset: fashion-mnist", "dataset: mine"), "fit_where:",
                       "train_size: 8000\nfit_where:");
  EXPECT_NO_THROW(parse_spec(other, "s.yaml"));
  EXPECT_EQ(error_of(replace(other, "data_count: [1000, 3000]", "data_count: [1000, 3001]")).field(), "grid.data_count");
}

TEST(Spec, RepeatedKeysAndSecondDocumentsAreErrors) {
  auto top = error_of(std::string(kGood) + "name: u\n");
  EXPECT_EQ(top.field(), "name");
  EXPECT_EQ(top.line(), 14);
  EXPECT_NE(top.message().find("first on line 1"), std::string::npos) << top.what();

  auto fixed = error_of(replace(kGood, "  epochs: 2\n", "  epochs: 2\n  epochs: 3\n"));
  EXPECT_EQ(fixed.field(), "fixed.epochs");
  EXPECT_EQ(fixed.line(), 7);

  auto grid = error_of(replace(kGood, "  seed: [1, 2, 3]\n", "  seed: [1, 2, 3]\n  width: [0.5]\n"));
  EXPECT_EQ(grid.field(), "grid.width");
  EXPECT_EQ(grid.line(), 13);

  auto nested = error_of(replace(kGood, "fit_where: \"width<=0.125 && data_fraction<=0.5\"",
                                 "fit_cells: [{width: 0.125, width: 0.25, data_fraction: 0.5}]"));
  EXPECT_EQ(nested.field(), "fit_cells.width");
  EXPECT_EQ(nested.line(), 13);

  auto second = error_of(std::string(kGood) + "---\nname: u\n");
  EXPECT_EQ(second.line(), 15);
  EXPECT_NE(second.message().find("2 YAML documents"), std::string::npos) << second.what();
  auto empty_second = error_of(std::string(kGood) + "---\n");
  EXPECT_EQ(empty_second.line(), 14);
  // One document, marked as such, is fine.
  EXPECT_NO_THROW(parse_spec("---\n" + std::string(kGood), "s.yaml"));

  // A complex key (`? ...`) is no name: an InputError, not yaml-cpp's "bad conversion" (fuzz_spec found it).
  auto complex = error_of(replace(kGood, "  epochs: 2\n", "  epochs: 2\n  ? [a, b]\n  : 3\n"));
  EXPECT_EQ(complex.field(), "fixed");
  EXPECT_EQ(complex.line(), 7);
  EXPECT_NE(complex.message().find("plain name"), std::string::npos) << complex.what();
}

// What hparams.yaml cannot carry unchanged (control characters, bytes that are not UTF-8, odd names) is
// refused where it is read, naming the key: fuzz_hparams found values that changed under to_yaml.
TEST(Hparams, NamesAndValuesMustSurviveTheirOwnYaml) {
  auto error_of_yaml = [](const std::string& text) -> InputError {
    try {
      Hparams::from_yaml(text, "h.yaml");
    } catch (const InputError& e) {
      return e;
    }
    ADD_FAILURE() << "accepted: " << text;
    return InputError("", 0, "", "");
  };
  auto nul = error_of_yaml(std::string("seed: 1\nmodel: \"ml\\0p\"\n"));
  EXPECT_EQ(nul.field(), "model");
  EXPECT_EQ(nul.line(), 2);
  EXPECT_NE(nul.message().find("printable ASCII"), std::string::npos) << nul.what();
  EXPECT_EQ(error_of_yaml("thre\x1d: 1\n").field(), "thre\x1d");
  EXPECT_NE(error_of_yaml("model: \"\xe0\xce\"\n").message().find("byte 0xe0"), std::string::npos);
  EXPECT_NE(error_of_yaml("dataset: \"caf\xc3\xa9\"\n").message().find("byte 0xc3"), std::string::npos);
  EXPECT_EQ(error_of_yaml("1st: 2\n").field(), "1st");
  // Text that does survive is kept and round-trips, quotes and colons included.
  auto h = Hparams::from_yaml("dataset: \"a: 'b' # c\"\nlr: 1e-3\n", "h.yaml");
  EXPECT_EQ(h.text("dataset"), "a: 'b' # c");
  EXPECT_EQ(Hparams::from_yaml(h.to_yaml(), "again.yaml"), h);
  // The spec refuses such a word too, before it can name a directory.
  try {
    parse_spec(replace(kGood, "dataset: fashion-mnist", "dataset: \"fashion\\tmnist\""), "s.yaml");
    ADD_FAILURE() << "a tab in dataset was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "dataset");
    EXPECT_EQ(e.line(), 2);
  }
}

// yaml-cpp 0.7's LoadAll loops forever on a token nothing consumes (a lone ','), adding a document a
// turn until memory runs out (fuzz_hparams, fuzz_spec). These must come back as InputErrors, at once.
TEST(Hparams, TextYamlCppLoopsOnIsAnErrorNotAHang) {
  for (const std::string text : {",", "{},", "[],x", "{a\"},\n\xff\xff", "seed: 1\n---\n,"}) {
    EXPECT_THROW(Hparams::from_yaml(text, "h.yaml"), InputError) << text;
    EXPECT_THROW(parse_spec(text, "s.yaml"), InputError) << text;
  }
}

TEST(Hparams, FromYamlRejectsRepeatedKeysAndSecondDocuments) {
  EXPECT_EQ(Hparams::from_yaml("seed: 1\nlr: 0.1\n", "h.yaml").text("seed"), "1");
  try {
    Hparams::from_yaml("seed: 1\nlr: 0.1\nseed: 2\n", "h.yaml");
    ADD_FAILURE() << "a repeated key was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "h.yaml");
    EXPECT_EQ(e.field(), "seed");
    EXPECT_EQ(e.line(), 3);
  }
  try {
    Hparams::from_yaml("seed: 1\n---\nseed: 2\n", "h.yaml");
    ADD_FAILURE() << "a second document was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "h.yaml");
    EXPECT_EQ(e.line(), 3);
  }
}

TEST(Spec, TheFitSetNeedsAsManyCellsAsTheLawHasParameters) {
  // 2 widths x 2 fractions = 4 cells, fewer than rosenfeld2020's 5 parameters.
  auto few = error_of(replace(kGood, "width<=0.125 && data_fraction<=0.5", "width<=0.0625 && data_fraction<=0.5"));
  EXPECT_EQ(few.field(), "fit_where");
  EXPECT_EQ(few.line(), 13);
  EXPECT_NE(few.message().find("4 cells (12 runs)"), std::string::npos) << few.what();
  EXPECT_NE(few.message().find("5 parameters"), std::string::npos) << few.what();
  // Cells, not runs: 4 cells of three seeds are 12 runs, still 4 cells.
  auto listed = error_of(replace(kGood, "fit_where: \"width<=0.125 && data_fraction<=0.5\"",
                                 "fit_cells: [{width: 0.125, data_fraction: 0.5}, {width: 0.25, data_fraction: 0.5}]"));
  EXPECT_EQ(listed.field(), "fit_cells");
  EXPECT_NE(listed.message().find("2 cells (6 runs)"), std::string::npos) << listed.what();
  // Without a fit set every cell is fitted: the grid must have enough of them.
  auto small = replace(replace(replace(kGood, "width: [0.03125, 0.0625, 0.125, 0.25]", "width: [0.125, 0.25]"),
                               "data_fraction: [0.25, 0.5, 1]", "data_fraction: [0.5, 1]"),
                       "fit_where: \"width<=0.125 && data_fraction<=0.5\"\n", "");
  auto grid = error_of(small);
  EXPECT_EQ(grid.field(), "grid");
  EXPECT_EQ(grid.line(), 10);  // the grid's first axis
  EXPECT_NE(grid.message().find("has 4 cells"), std::string::npos) << grid.what();
  // Fitting every cell (nothing held out) is allowed: the plan says "0 runs held out".
  auto all = parse_spec(replace(kGood, "width<=0.125 && data_fraction<=0.5", "width<=1"), "s.yaml");
  for (const auto& r : expand(all)) EXPECT_TRUE(r.in_fit);
}

// Issue 14, finding 8: a 10^7-run spec's --dry-run used 7.9 GB before bad_alloc.
TEST(Spec, GridsAreCountedBeforeTheyAreExpanded) {
  auto list = [](int n, double step) {
    std::string out;
    for (int i = 1; i <= n; ++i) out += (i > 1 ? ", " : "") + format_number(i * step);
    return out;
  };
  auto grid = [&](int widths, int fractions, int seeds, int lrs) {
    return replace(replace(replace(replace(kGood, "width: [0.03125, 0.0625, 0.125, 0.25]", "width: [" + list(widths, 0.001) + "]"),
                                   "data_fraction: [0.25, 0.5, 1]", "data_fraction: [" + list(fractions, 0.01) + "]"),
                           "seed: [1, 2, 3]", "seed: [" + list(seeds, 1) + "]\n  lr: [" + list(lrs, 0.001) + "]"),
                   "fit_where: \"width<=0.125 && data_fraction<=0.5\"", "fit_where: \"width<=0.003 && data_fraction<=0.03\"");
  };
  // One run over the limit is refused, naming the count, the axes and the limit. (10^7 runs are
  // refused the same way: spec_cli_test checks that under a memory limit, out of this process.)
  auto start = std::chrono::steady_clock::now();
  auto over = error_of(grid(101, 100, 10, 1));  // 101000 runs
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));  // nothing was expanded
  EXPECT_EQ(over.field(), "grid");
  EXPECT_EQ(over.line(), 10);
  EXPECT_NE(over.message().find("101000 runs (101 width x 100 data_fraction x 10 seed x 1 lr)"), std::string::npos)
      << over.what();
  EXPECT_NE(over.message().find("limit of 100000"), std::string::npos) << over.what();
  auto at_limit = parse_spec(grid(10, 10, 100, 10), "s.yaml");  // exactly 100000
  EXPECT_EQ(expand(at_limit).size(), 100000u);
  // expand() itself refuses a spec built in code past the limit, before allocating its runs.
  auto built = at_limit;
  built.grid.back().values.push_back("0.5");  // 11 learning rates: 110000 runs
  try {
    expand(built);
    ADD_FAILURE() << "expanded 110000 runs";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "grid");
    EXPECT_NE(e.message().find("110000 runs"), std::string::npos) << e.what();
  }
}

// ---- issue 17: pruning sweeps ------------------------------------------------------------------

// `prune:` sets the four fixed IMP hyperparameters (levels required, the others the schema's
// defaults); the sweep's law becomes pruning2021_joint over d, l, w with eps_np from its rows.
TEST(Spec, ThePruneSectionSetsTheFixedPruningHyperparameters) {
  auto spec = parse_spec(std::string(kGood) + "prune: {levels: 10}\n", "s.yaml");
  EXPECT_TRUE(spec.prunes());
  EXPECT_EQ(spec.fixed.text("prune_levels"), "10");
  EXPECT_EQ(spec.fixed.text("prune_rate"), "0.2");
  EXPECT_EQ(spec.fixed.text("prune_rewind"), "0.0625");
  EXPECT_EQ(spec.fixed.text("prune_ends"), "1");
  EXPECT_EQ(spec.law, "pruning2021_joint");
  auto fit = sweep_fit(spec);
  EXPECT_EQ(fit.inputs, (std::vector<std::pair<std::string, std::string>>{{"d", "density"}, {"l", "depth"}, {"w", "width"}}));
  EXPECT_TRUE(fit.givens.empty());
  EXPECT_EQ(fit.given_columns, (std::map<std::string, std::string>{{"eps_np", "eps_np"}}));
  // The single-network form maps d by default too; rosenfeld2020 keeps m and n.
  EXPECT_EQ(sweep_fit(spec, "pruning2021").inputs, (std::vector<std::pair<std::string, std::string>>{{"d", "density"}}));
  EXPECT_EQ(sweep_fit(spec, "rosenfeld2020").inputs.size(), 2u);

  auto every = parse_spec(std::string(kGood) + "prune:\n  levels: 3\n  rate: 0.5\n  rewind: 0\n  ends: 0\n", "s.yaml");
  EXPECT_EQ(every.fixed.text("prune_levels"), "3");
  EXPECT_EQ(every.fixed.text("prune_rate"), "0.5");
  EXPECT_EQ(every.fixed.text("prune_rewind"), "0");
  EXPECT_EQ(every.fixed.text("prune_ends"), "0");
  // A key `fixed` gives and the section does not is kept.
  auto rate = parse_spec(replace(kGood, "  batch_size: 128\n", "  batch_size: 128\n  prune_rate: 0.3\n") +
                             "prune: {levels: 2}\n",
                         "s.yaml");
  EXPECT_EQ(rate.fixed.text("prune_rate"), "0.3");
  // pruning2021 by name maps d by default.
  auto single = parse_spec(std::string(kGood) + "prune: {levels: 4}\nlaw: pruning2021\n", "s.yaml");
  EXPECT_EQ(sweep_fit(single).inputs, (std::vector<std::pair<std::string, std::string>>{{"d", "density"}}));
  EXPECT_FALSE(parse_spec(kGood, "s.yaml").prunes());
}

TEST(Spec, PruneErrorsNameTheirLineAndField) {
  struct Case {
    std::string yaml, field;
    int line;
    std::string says;
  };
  const std::string fixed_rate = replace(kGood, "  batch_size: 128\n", "  batch_size: 128\n  prune_rate: 0.3\n");
  const std::vector<Case> cases = {
      {std::string(kGood) + "prune: {rate: 0.2}\n", "prune.levels", 14, "missing"},
      {std::string(kGood) + "prune: {levels: 0}\n", "prune.levels", 14, "0 levels prune nothing"},
      {std::string(kGood) + "prune: {levels: 201}\n", "prune.levels", 14, "out of range"},
      {std::string(kGood) + "prune: {levels: 2.5}\n", "prune.levels", 14, "whole"},
      {std::string(kGood) + "prune: {levels: 2, rate: 1}\n", "prune.rate", 14, "out of range"},
      {std::string(kGood) + "prune: {levels: 2, ends: 2}\n", "prune.ends", 14, "out of range"},
      {std::string(kGood) + "prune: {levels: 2, rewnid: 0.1}\n", "prune.rewnid", 14, "unknown field"},
      {std::string(kGood) + "prune: 10\n", "prune", 14, "expected a map"},
      {fixed_rate + "prune:\n  levels: 2\n  rate: 0.2\n", "prune.rate", 17, "also given as fixed.prune_rate"},
      {replace(kGood, "  seed: [1, 2, 3]\n", "  seed: [1, 2, 3]\n  prune_rewind: [0, 0.1]\n") +
           "prune: {levels: 2, rewind: 0.1}\n",
       "prune.rewind", 15, "also a grid axis"},
      // A pruning sweep's rows are (cell, level) points: a law without a density input cannot fit them.
      {std::string(kGood) + "prune: {levels: 2}\nlaw: rosenfeld2020\n", "law", 15, "density"},
  };
  for (const auto& c : cases) {
    auto e = error_of(c.yaml);
    EXPECT_EQ(e.field(), c.field) << c.yaml << e.what();
    EXPECT_EQ(e.line(), c.line) << c.yaml << e.what();
    EXPECT_NE(e.message().find(c.says), std::string::npos) << e.what();
  }
}

// A pruning run costs its dense schedule x (1 + levels x (1 - rewind)); runs without pruning keep
// their cost to the last bit, and the runs their order.
TEST(Spec, APruningRunCostsEveryLevelAndADenseRunWhatItDid) {
  auto dense = expand(parse_spec(kGood, "s.yaml"));
  auto pruned = expand(parse_spec(std::string(kGood) + "prune: {levels: 10}\n", "s.yaml"));
  auto rewound = expand(parse_spec(std::string(kGood) + "prune: {levels: 4, rewind: 0.5}\n", "s.yaml"));
  ASSERT_EQ(dense.size(), pruned.size());
  for (std::size_t i = 0; i < dense.size(); ++i) {
    EXPECT_EQ(pruned[i].cell, dense[i].cell);
    EXPECT_EQ(dense[i].prune_levels, 0);
    EXPECT_EQ(pruned[i].prune_levels, 10);
    EXPECT_DOUBLE_EQ(pruned[i].cost, dense[i].cost * (1 + 10 * (1 - 0.0625)));
    EXPECT_DOUBLE_EQ(rewound[i].cost, dense[i].cost * 3);
    // 784-h-h-10 with the ends pruned: every weight matrix.
    const double h = std::lround(512 * dense[i].hparams.number("width"));
    EXPECT_EQ(pruned[i].prunable, 784 * h + h * h + h * 10) << pruned[i].cell;
  }
  // A dense run's cost as before pruning existed: width 1/32 (16 units), 1/4 of 55000 examples,
  // 2 epochs (min_steps 100 is less than one), validation and test 15000 examples an epoch.
  EXPECT_EQ(dense[0].cost, 2.0 * (784 * 16 + 16 * 16 + 16 * 10) * 2 * (3 * 13750 + 15000));
}

// The fit set of a pruning sweep is counted in (cell, level) points: one cell of 4 levels is 5 points,
// enough for pruning2021_joint's 5 parameters; of 3 levels it is not.
TEST(Spec, APruningFitSetIsCountedInPoints) {
  const std::string one_cell = replace(kGood, "width<=0.125 && data_fraction<=0.5", "width<=0.03125 && data_fraction<=0.25");
  EXPECT_NO_THROW(parse_spec(one_cell + "prune: {levels: 4}\n", "s.yaml"));
  auto e = error_of(one_cell + "prune: {levels: 3}\n");
  EXPECT_EQ(e.field(), "fit_where");
  EXPECT_NE(e.message().find("1 cells with 4 (cell, level) points, fewer than the 5 parameters"), std::string::npos)
      << e.what();
}

// The checks above must not reject what ships: the built-in demo spec and examples/*.yaml.
TEST(Spec, TheBuiltInDemoAndTheExamplesParse) {
  auto demo = parse_spec(std::string(demo_spec_yaml()), "examples/demo.yaml (built in)");
  EXPECT_EQ(expand(demo).size(), 84u);
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SCALELAB_SOURCE_DIR) + "/examples"))
    if (entry.path().extension() == ".yaml") EXPECT_NO_THROW(load_spec(entry.path())) << entry.path();
}

}  // namespace
}  // namespace scalelab
