// Issue 15, parts 4 and 5, on the real `scalelab` binary with the fake worker: the spec names the
// law's inputs and the target metric; `fit --sweep` takes the law's inputs, givens and target from
// the spec and the law's declaration (no law name in the CLI); `results --per-cell` aggregates any
// numeric field of result.json; a target that may be zero or negative fits with the lsq loss only.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep_fixture.h"
#include "table/table.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

struct TargetCli : SweepFixture {
  // Sweeps `yaml` with the fake worker, then fits it with `fit --sweep` and `extra` flags.
  nlohmann::json sweep_and_fit(const std::string& yaml, const std::vector<std::string>& extra = {}) {
    spit(spec, yaml);
    auto swept = sweep(env(0));
    EXPECT_EQ(swept.code, 0) << swept.err;
    auto json_path = tmp.path() / "fit.json";
    std::vector<std::string> args = {"fit", "--sweep", dir.string(), "--starts", "32", "--json", json_path.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args, {}, tmp.path());
    EXPECT_EQ(r.code, 0) << r.err << r.out;
    return r.code == 0 ? nlohmann::json::parse(read_file(json_path)) : nlohmann::json();
  }
};

// powerlaw over data size only: one width, five data sizes; `inputs: {x: m}` feeds x from m.
TEST_F(TargetCli, FitSweepFitsAPowerLawOverDataSizeNamedInTheSpec) {
  auto yaml = replace(grid_spec("0.25", "0.0625, 0.125, 0.25, 0.5, 1", "1, 2", "", "data_fraction<=0.5"),
                      "law: rosenfeld2020\n", "law: powerlaw\ninputs: {x: m}\n");
  auto fit = sweep_and_fit(yaml);
  ASSERT_FALSE(fit.is_null());
  EXPECT_EQ(fit["law"], "powerlaw");
  ASSERT_EQ(fit["inputs"].size(), 1u) << fit["inputs"].dump();
  EXPECT_EQ(fit["inputs"][0]["name"], "x");
  EXPECT_EQ(fit["inputs"][0]["column"], "samples");
  EXPECT_EQ(fit["target"], "test_error");
  EXPECT_EQ(fit["summary"]["fitted"]["count"], 4);
  EXPECT_EQ(fit["summary"]["held_out"]["count"], 1);
  EXPECT_LT(fit["summary"]["fitted"]["mean_abs"].get<double>(), 0.05);
}

// kaplan2020's N and D mapped to n and m; no eps0 (it takes none).
TEST_F(TargetCli, FitSweepFitsKaplan2020NamedInTheSpec) {
  auto yaml = replace(grid_spec("0.03125, 0.0625, 0.125, 0.25", "0.0625, 0.125, 0.25, 0.5", "1", "",
                                "width<=0.125 && data_fraction<=0.25"),
                      "law: rosenfeld2020\n", "law: kaplan2020\ninputs: {N: n, D: m}\n");
  auto fit = sweep_and_fit(yaml, {"--normalize"});
  ASSERT_FALSE(fit.is_null());
  EXPECT_EQ(fit["law"], "kaplan2020");
  ASSERT_EQ(fit["inputs"].size(), 2u);
  EXPECT_EQ(fit["inputs"][0]["name"], "N");
  EXPECT_EQ(fit["inputs"][0]["column"], "params");
  EXPECT_EQ(fit["inputs"][1]["name"], "D");
  EXPECT_EQ(fit["inputs"][1]["column"], "samples");
  EXPECT_EQ(fit["givens"].size(), 0u) << fit["givens"].dump();
  EXPECT_EQ(fit["summary"]["fitted"]["count"], 9);
  EXPECT_EQ(fit["summary"]["held_out"]["count"], 7);
}

// m4 takes eps0 like rosenfeld2020: from the spec, by the law's declaration (before, only
// rosenfeld2020 got it and m4 failed for want of it).
TEST_F(TargetCli, FitSweepGivesEps0ToEveryLawThatTakesIt) {
  auto yaml = replace(grid_spec("0.25", "0.0625, 0.125, 0.25, 0.5, 1", "1", "eps0: 0.8\n", "data_fraction<=1"),
                      "law: rosenfeld2020\neps0: 0.9\n", "law: m4\ninputs: {x: m}\n");
  auto fit = sweep_and_fit(yaml);
  ASSERT_FALSE(fit.is_null());
  EXPECT_EQ(fit["law"], "m4");
  EXPECT_NE(fit["givens"].dump().find("0.8"), std::string::npos) << fit["givens"].dump();
}

// The fake worker writes test_loss = log(test_error): negative. `results --per-cell --metric`
// aggregates it like test_error: the mean and sample std over a cell's finished seeds.
TEST_F(TargetCli, ResultsPerCellAggregatesAnyNumericResultField) {
  ASSERT_EQ(sweep(env(0)).code, 0);
  std::map<std::string, std::vector<double>> by_cell;  // "width data_fraction" -> test_loss per seed
  for (const auto& r : Store(dir).runs()) {
    auto result = nlohmann::json::parse(read_file(dir / "runs" / r.id / "result.json"));
    by_cell[r.hparams.text("width") + " " + r.hparams.text("data_fraction")].push_back(result["test_loss"].get<double>());
  }
  auto listed = run({"results", dir.string(), "--per-cell", "--metric", "test_loss", "--csv", "-"}, {}, tmp.path());
  ASSERT_EQ(listed.code, 0) << listed.err;
  auto table = parse_csv(listed.out, "results");
  ASSERT_EQ(table.rows(), by_cell.size());
  ASSERT_TRUE(table.has_column("test_loss_std"));
  for (std::size_t row = 0; row < table.rows(); ++row) {
    const auto& values = by_cell.at(table.at(row, "width") + " " + table.at(row, "data_fraction"));
    ASSERT_EQ(values.size(), 2u);
    double mean = (values[0] + values[1]) / 2;
    double sd = std::sqrt((values[0] - mean) * (values[0] - mean) + (values[1] - mean) * (values[1] - mean));
    EXPECT_LT(mean, 0);
    EXPECT_EQ(table.number(row, table.column("test_loss")), mean) << row;
    EXPECT_EQ(table.number(row, table.column("test_loss_std")), sd) << row;
  }
  // Without --metric the table is as before; --metric without --per-cell is an error.
  auto plain = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path());
  EXPECT_FALSE(parse_csv(plain.out, "results").has_column("test_loss"));
  auto runs_only = run({"results", dir.string(), "--metric", "test_loss"}, {}, tmp.path());
  EXPECT_EQ(runs_only.code, 2);
  EXPECT_NE(runs_only.err.find("--metric"), std::string::npos) << runs_only.err;
}

// The spec's target is test_loss (negative): `fit --sweep --loss lsq` fits it; the law's default
// divergence loss refuses it, naming the cell's line, the column and the way out.
TEST_F(TargetCli, ANegativeTargetFitsWithLsqAndIsRefusedByTheDivergenceLoss) {
  auto yaml = kSpec + "target: test_loss\n";
  auto fit = sweep_and_fit(yaml, {"--loss", "lsq"});
  ASSERT_FALSE(fit.is_null());
  EXPECT_EQ(fit["target"], "test_loss");
  EXPECT_EQ(fit["loss"], "lsq");
  for (const auto& p : fit["points"]) EXPECT_LT(p["measured"].get<double>(), 0);

  // The per-cell table shows the spec's target beside test_error.
  auto cells = run({"results", dir.string(), "--per-cell", "--csv", "-"}, {}, tmp.path());
  EXPECT_TRUE(parse_csv(cells.out, "results").has_column("test_loss_std"));

  // --y names another result.json field: aggregated per cell like the spec's target.
  auto by_flag = run({"fit", "--sweep", dir.string(), "--y", "val_error", "--starts", "8", "--json", "-"}, {}, tmp.path());
  ASSERT_EQ(by_flag.code, 0) << by_flag.err;
  EXPECT_EQ(nlohmann::json::parse(by_flag.out)["target"], "val_error");

  auto refused = run({"fit", "--sweep", dir.string()}, {}, tmp.path());
  EXPECT_EQ(refused.code, 2) << refused.err << refused.out;
  EXPECT_NE(refused.err.find("store.sqlite:"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("field 'test_loss'"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("positive for the divergence loss"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("lsq"), std::string::npos) << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;
}

// Errors from the fit library name fields; the CLI shows the flag the user typed.
TEST_F(TargetCli, FitErrorsNameTheFlagsTheUserGave) {
  ASSERT_EQ(sweep(env(0)).code, 0);
  auto folds = run({"fit", "--sweep", dir.string(), "--folds", "1"}, {}, tmp.path());
  EXPECT_EQ(folds.code, 2);
  EXPECT_NE(folds.err.find("--folds: "), std::string::npos) << folds.err;
  auto law = run({"fit", "--sweep", dir.string(), "--law", "nope"}, {}, tmp.path());
  EXPECT_EQ(law.code, 2);
  EXPECT_NE(law.err.find("--law: "), std::string::npos) << law.err;
  EXPECT_NE(law.err.find("unknown law"), std::string::npos) << law.err;
  // Another law than the spec's, whose inputs a sweep cannot guess: the flag to give.
  auto other = run({"fit", "--sweep", dir.string(), "--law", "chinchilla"}, {}, tmp.path());
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find("--x: "), std::string::npos) << other.err;
  auto mapped = run({"fit", "--sweep", dir.string(), "--law", "chinchilla", "--x", "N=params,D=samples", "--starts", "8"},
                    {}, tmp.path());
  EXPECT_EQ(mapped.code, 0) << mapped.err;
}

}  // namespace
}  // namespace scalelab
