// Issue 17, on the real `scalelab` binary with the fake worker: pruning sweeps (the spec's prune
// section, their planned cost, one row per IMP level in `results`) and, for sweeps without pruning,
// the tables exactly as they were.
#include <algorithm>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "sweep_fixture.h"
#include "table/table.h"
#include "testing/fake_pruning.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

// A pruning grid for the fake worker: widths x depths x fractions x seeds, `levels` IMP levels.
std::string prune_spec(const std::string& widths, const std::string& depths, const std::string& seeds, int levels,
                       const std::string& extra = "") {
  return "name: p\ndataset: fashion-mnist\nmodel: mlp\nfixed:\n  epochs: 2\n  batch_size: 128\n  data_fraction: 0.25\n"
         "grid:\n  width: [" + widths + "]\n  depth: [" + depths + "]\n  seed: [" + seeds + "]\n"
         "prune: {levels: " + std::to_string(levels) + "}\n" + extra;
}

struct PruneCli : SweepFixture {
  Result scalelab(const std::vector<std::string>& args, std::map<std::string, std::string> extra_env = {}) {
    auto e = env(0);
    e.insert(extra_env.begin(), extra_env.end());
    return run(args, e, tmp.path());
  }
  nlohmann::json result_of(const RunRecord& r) { return nlohmann::json::parse(read_file(dir / "runs" / r.id / "result.json")); }
};

TEST_F(PruneCli, TheDryRunCountsEveryLevelInThePlannedCost) {
  spit(spec, prune_spec("0.0625, 0.125", "1, 2", "1", 10));
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("TFLOPs planned (training and evaluation, every pruning level included)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 levels at rewind 0.0625 cost 10.375x the dense schedule"), std::string::npos) << r.out;
  auto table = r.out.substr(r.out.find("\nrun "));
  EXPECT_NE(table.find(" levels\n"), std::string::npos) << r.out;
  // Without pruning, none of it.
  spit(spec, grid_spec("0.0625, 0.125, 0.25", "0.25, 0.5, 1", "1", "", "width<=0.125"));
  auto dense = scalelab({"sweep", spec.string(), "--dry-run"});
  EXPECT_NE(dense.out.find("TFLOPs planned (training and evaluation), about"), std::string::npos) << dense.out;
  EXPECT_EQ(dense.out.find("pruning"), std::string::npos) << dense.out;
  EXPECT_EQ(dense.out.find("levels"), std::string::npos) << dense.out;
}

// One row per run and level; per (cell, level) the mean over seeds, with eps_np the cell's level-0
// mean. A diverged level ends its trajectory and leaves that seed out of it and the later levels.
TEST_F(PruneCli, ResultsGiveOneRowPerLevelAndPerCellLevel) {
  spit(spec, prune_spec("0.0625, 0.125", "1, 2", "1, 2", 3));
  auto swept = scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"},
                        {{"FAKE_LEVEL_DIVERGE_WHEN", "seed==2 && width==0.125 && depth==2 && level==2"}});
  ASSERT_EQ(swept.code, 0) << swept.err;

  auto runs_csv = scalelab({"results", dir.string(), "--csv", "-"});
  ASSERT_EQ(runs_csv.code, 0) << runs_csv.err;
  Table runs = parse_csv(runs_csv.out, "runs");
  EXPECT_EQ(runs.header(), (std::vector<std::string>{"id", "status", "role", "width", "depth", "seed", "level", "density",
                                                     "remaining_weights", "remaining_params", "params", "samples", "epochs",
                                                     "test_error", "val_error", "eps_np", "wall_s", "attempts", "message"}));
  ASSERT_EQ(runs.rows(), 8u * 4 - 1);  // the diverged trajectory stops at its level 2
  std::map<std::string, nlohmann::json> results;
  for (const auto& r : Store(dir).runs()) results[r.id] = result_of(r);
  for (std::size_t row = 0; row < runs.rows(); ++row) {
    const auto& result = results.at(runs.at(row, "id"));
    const auto& level = result["levels"][std::stoi(runs.at(row, "level"))];
    EXPECT_EQ(runs.number(row, runs.column("density")), level["density"].get<double>());
    EXPECT_EQ(runs.number(row, runs.column("remaining_weights")), level["remaining_weights"].get<double>());
    EXPECT_EQ(runs.number(row, runs.column("remaining_params")), level["remaining_params"].get<double>());
    EXPECT_EQ(runs.number(row, runs.column("eps_np")), result["levels"][0]["test_error"].get<double>());
    EXPECT_EQ(runs.number(row, runs.column("params")), result["params"].get<double>());
    if (level["status"] == "diverged") {
      EXPECT_EQ(runs.at(row, "status"), "diverged");
      EXPECT_EQ(runs.at(row, "test_error"), "");
    } else {
      EXPECT_EQ(runs.number(row, runs.column("test_error")), level["test_error"].get<double>());
    }
  }

  auto cells_csv = scalelab({"results", dir.string(), "--per-cell", "--metric", "test_loss", "--csv", "-"});
  ASSERT_EQ(cells_csv.code, 0) << cells_csv.err;
  Table cells = parse_csv(cells_csv.out, "cells");
  EXPECT_EQ(cells.header(),
            (std::vector<std::string>{"role", "in_fit", "width", "depth", "level", "density", "remaining_weights",
                                      "remaining_params", "params", "samples", "seeds", "test_error", "test_error_std",
                                      "eps_np", "diverged", "failed", "unfinished", "cost", "test_loss", "test_loss_std"}));
  ASSERT_EQ(cells.rows(), 4u * 4);
  for (std::size_t row = 0; row < cells.rows(); ++row) {
    const int level = std::stoi(cells.at(row, "level"));
    std::vector<double> errors, unpruned;
    int diverged = 0;
    for (const auto& [id, result] : results) {
      if (format_number(result["width"].get<double>()) != cells.at(row, "width") ||
          format_number(result["depth"].get<double>()) != cells.at(row, "depth"))
        continue;
      unpruned.push_back(result["levels"][0]["test_error"].get<double>());
      if (level >= static_cast<int>(result["levels"].size())) continue;
      const auto& l = result["levels"][level];
      if (l["status"] == "diverged") diverged += 1;
      else errors.push_back(l["test_error"].get<double>());
    }
    ASSERT_EQ(unpruned.size(), 2u);
    const double mean = errors.size() == 2 ? (errors[0] + errors[1]) / 2 : errors.at(0);
    EXPECT_EQ(cells.number(row, cells.column("seeds")), errors.size()) << row;
    EXPECT_EQ(cells.number(row, cells.column("diverged")), diverged) << row;
    EXPECT_EQ(cells.number(row, cells.column("test_error")), mean) << row;
    EXPECT_EQ(cells.number(row, cells.column("eps_np")), (unpruned[0] + unpruned[1]) / 2) << row;
    // Level L keeps round(0.8^L P) of the P prunable weights, and every parameter IMP never prunes.
    const double prunable = std::stod(cells.at(row - level, "remaining_weights"));
    const double kept = std::round(std::pow(0.8, level) * prunable);
    EXPECT_EQ(cells.number(row, cells.column("remaining_weights")), kept) << row;
    EXPECT_EQ(cells.number(row, cells.column("density")), kept / prunable) << row;
    EXPECT_EQ(cells.number(row, cells.column("remaining_params")), kept + cells.number(row, cells.column("params")) - prunable);
  }
  // The diverged cell: level 2 has one seed and one divergence, level 3 only the other seed.
  auto row_of = [&](const std::string& width, const std::string& depth, const std::string& level) {
    for (std::size_t row = 0; row < cells.rows(); ++row)
      if (cells.at(row, "width") == width && cells.at(row, "depth") == depth && cells.at(row, "level") == level) return row;
    ADD_FAILURE() << "no row " << width << " " << depth << " " << level;
    return std::size_t{0};
  };
  EXPECT_EQ(cells.at(row_of("0.125", "2", "2"), "diverged"), "1");
  EXPECT_EQ(cells.at(row_of("0.125", "2", "3"), "seeds"), "1");
  EXPECT_EQ(cells.at(row_of("0.125", "2", "3"), "diverged"), "0");
}

// The demo prints one row a cell: a pruning spec is refused before anything trains.
TEST_F(PruneCli, TheDemoRefusesAPruningSpecBeforeTraining) {
  spit(spec, prune_spec("0.0625, 0.125", "1, 2", "1", 3, "fit_where: \"width <= 0.0625\"\n"));
  auto r = scalelab({"demo", "--spec", spec.string(), "--dir", dir.string()});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("field 'prune'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scalelab fit --sweep"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(log));
}

// Sweeps without pruning: the columns of every table exactly as before issue 17.
TEST_F(PruneCli, ResultsOfASweepWithoutPruningKeepTheirColumns) {
  spit(spec, grid_spec("0.0625, 0.125, 0.25", "0.25, 0.5, 1", "1, 2", "", "width<=0.125"));
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}).code, 0);
  auto runs = parse_csv(scalelab({"results", dir.string(), "--csv", "-"}).out, "runs");
  EXPECT_EQ(runs.header(), (std::vector<std::string>{"id", "status", "role", "width", "data_fraction", "seed", "params",
                                                     "samples", "epochs", "test_error", "val_error", "wall_s", "attempts",
                                                     "message"}));
  EXPECT_EQ(runs.rows(), 18u);
  auto cells = parse_csv(scalelab({"results", dir.string(), "--per-cell", "--csv", "-"}).out, "cells");
  EXPECT_EQ(cells.header(), (std::vector<std::string>{"role", "in_fit", "width", "data_fraction", "params", "samples",
                                                      "seeds", "test_error", "test_error_std", "diverged", "failed",
                                                      "unfinished", "cost"}));
  EXPECT_EQ(cells.rows(), 9u);
}

// ---- the pruning law ----------------------------------------------------------------------------

// 4 widths x 3 depths (x `fractions`) x 2 seeds, 20 levels each (densities 1 .. 0.0115); the fit set is
// the widths up to 1/4, the widest is predicted.
std::string law_spec(const std::string& fractions = "0.25") {
  return "name: law\ndataset: fashion-mnist\nmodel: mlp\nfixed:\n  epochs: 2\n  batch_size: 128\n"
         "grid:\n  width: [0.0625, 0.125, 0.25, 0.5]\n  depth: [1, 2, 4]\n  data_fraction: [" + fractions + "]\n"
         "  seed: [1, 2]\nprune: {levels: 20}\nfit_where: \"width <= 0.25\"\n";
}

double parameter(const nlohmann::json& fit, const std::string& name) {
  for (const auto& p : fit["parameters"])
    if (p["name"] == name) return p["value"].get<double>();
  ADD_FAILURE() << "no parameter " << name;
  return NAN;
}

// "The law fits recover known parameters from synthetic trajectories": the fake worker's levels follow
// pruning2021_joint with testing/fake_pruning.h's constants (and 0.5% noise), and `fit --sweep` finds
// them: the spec's default law, inputs and eps_np, no flag needed but the bootstrap.
TEST_F(PruneCli, FitSweepRecoversTheFakeWorkersPruningConstants) {
  namespace truth = scalelab::testing::fake_pruning;
  spit(spec, law_spec());
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}).code, 0);
  auto json_path = tmp.path() / "fit.json";
  auto r = scalelab({"fit", "--sweep", dir.string(), "--bootstrap", "20", "--json", json_path.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  auto fit = nlohmann::json::parse(read_file(json_path));
  EXPECT_EQ(fit["law"], "pruning2021_joint");
  EXPECT_EQ(fit["inputs"][0]["column"], "density");
  EXPECT_EQ(fit["inputs"][1]["column"], "depth");
  EXPECT_EQ(fit["inputs"][2]["column"], "width");
  EXPECT_EQ(fit["givens"][0]["column"], "eps_np");
  // Measured (on this build): eps_up 0.8997, gamma 1.514, p 0.006051, phi 0.4991, psi 0.9987.
  EXPECT_NEAR(parameter(fit, "eps_up"), truth::kEpsUp, 0.01 * truth::kEpsUp);
  EXPECT_NEAR(parameter(fit, "gamma"), truth::kGamma, 0.03 * truth::kGamma);
  EXPECT_NEAR(parameter(fit, "p"), truth::kP, 0.03 * truth::kP);
  EXPECT_NEAR(parameter(fit, "phi"), truth::kPhi, 0.02);
  EXPECT_NEAR(parameter(fit, "psi"), truth::kPsi, 0.02);
  for (const auto& p : fit["parameters"]) EXPECT_FALSE(p["interval"].is_null()) << p["name"];
  // 9 configurations x 21 levels fitted, the 3 widest predicted: within the paper's 2% on average.
  EXPECT_EQ(fit["summary"]["fitted"]["count"], 9 * 21);
  EXPECT_EQ(fit["summary"]["held_out"]["count"], 3 * 21);
  EXPECT_LT(fit["summary"]["held_out"]["mean_abs"].get<double>(), 0.02);

  // pruning2021 per configuration: p is the joint law's p / (l^phi w^psi), the paper's mean < 2%, std < 4%.
  const auto& pruning = fit["pruning"];
  EXPECT_EQ(pruning["eps_np"], "measured");
  ASSERT_EQ(pruning["per_configuration"].size(), 12u);
  for (const auto& c : pruning["per_configuration"]) {
    const std::string cell = c["cell"];
    const double width = std::stod(cell.substr(cell.find("width=") + 6)), depth = std::stod(cell.substr(cell.find("depth=") + 6));
    const double p = truth::kP / (std::pow(depth, truth::kPhi) * std::pow(width, truth::kPsi));
    EXPECT_NEAR(c["p"].get<double>(), p, 0.1 * p) << cell;
    EXPECT_NEAR(c["gamma"].get<double>(), truth::kGamma, 0.1 * truth::kGamma) << cell;
    EXPECT_EQ(c["points"], 21) << cell;
  }
  EXPECT_EQ(pruning["per_configuration_summary"]["count"], 12 * 21);
  EXPECT_LT(pruning["per_configuration_summary"]["mean_abs"].get<double>(), 0.02);
  EXPECT_LT(pruning["per_configuration_summary"]["std_abs"].get<double>(), 0.04);
  EXPECT_NE(r.out.find("pruning2021 per configuration"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("every configuration's points: n=252"), std::string::npos) << r.out;
  // Law selection by extrapolation is not built for pruning sweeps: refused, naming the flag.
  for (const auto& args : {std::vector<std::string>{"fit", "--sweep", dir.string(), "--law", "auto"},
                           std::vector<std::string>{"fit", "--sweep", dir.string(), "--compare", "pruning2021_joint"}}) {
    auto refused = scalelab(args);
    EXPECT_EQ(refused.code, 2) << args.back();
    EXPECT_NE(refused.err.find("--compare"), std::string::npos) << refused.err;
    EXPECT_NE(refused.err.find("not built for pruning sweeps"), std::string::npos) << refused.err;
  }
  // The fit predicts from its JSON like any other.
  auto predicted = scalelab({"predict", "--fit", json_path.string(), "--at", "d=0.1,l=2,w=0.5,eps_np=0.1"});
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  EXPECT_NEAR(std::stod(predicted.out), truth::error_at(0.1, 2, 0.5, 0.1), 0.01 * truth::error_at(0.1, 2, 0.5, 0.1));
}

// --eps-np fit: eps_np from rosenfeld2020 on the fit set's level-0 cells (two data sizes here, so the
// law sees m move), each joint resample on one of its bootstrap samples.
TEST_F(PruneCli, FitSweepTakesEpsNpFromARosenfeldFitOfTheLevelZeroCells) {
  spit(spec, law_spec("0.25, 1"));
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}).code, 0);
  auto json_path = tmp.path() / "fit.json";
  auto r = scalelab({"fit", "--sweep", dir.string(), "--bootstrap", "10", "--eps-np", "fit", "--json", json_path.string()});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  auto fit = nlohmann::json::parse(read_file(json_path));
  EXPECT_EQ(fit["pruning"]["eps_np"], "fit");
  const auto& inner = fit["givens"][0]["fit"];
  EXPECT_EQ(inner["law"], "rosenfeld2020");
  EXPECT_EQ(inner["fit_where"], "in_fit==1");
  EXPECT_EQ(inner["summary"]["fitted"]["count"], 18);  // 9 configurations x 2 data sizes, level 0
  EXPECT_EQ(inner["bootstrap_samples"].size(), 10u);
  EXPECT_EQ(fit["given_fit_samples"], nlohmann::json({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_NEAR(parameter(fit, "gamma"), scalelab::testing::fake_pruning::kGamma, 0.05);
  EXPECT_NE(r.out.find("eps_np: rosenfeld2020 fitted on 18 level-0 cells (6 held out)"), std::string::npos) << r.out;

  // Bad requests name --eps-np: an unknown source, a sweep without pruning, no sweep, both sources.
  auto unknown = scalelab({"fit", "--sweep", dir.string(), "--eps-np", "guess"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("--eps-np"), std::string::npos) << unknown.err;
  auto both = scalelab({"fit", "--sweep", dir.string(), "--eps-np", "fit", "--given", "eps_np=0.1"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--eps-np"), std::string::npos) << both.err;
  auto csv = scalelab({"fit", "--data", json_path.string(), "--eps-np", "fit"});
  EXPECT_EQ(csv.code, 2);
  EXPECT_NE(csv.err.find("--eps-np"), std::string::npos) << csv.err;
  spit(spec, grid_spec("0.0625, 0.125, 0.25", "0.25, 0.5, 1", "1", "", "width<=0.125"));
  auto dense_dir = tmp.path() / "dense";
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dense_dir.string()}).code, 0);
  auto dense = scalelab({"fit", "--sweep", dense_dir.string(), "--eps-np", "fit"});
  EXPECT_EQ(dense.code, 2);
  EXPECT_NE(dense.err.find("--eps-np"), std::string::npos) << dense.err;
}

// ---- the design query ---------------------------------------------------------------------------

// `design` on a fake pruning sweep: the closed form's best network, its bootstrap interval, the sweep's
// own answer, and --verify training the chosen network through the executor into DIR/verify.
TEST_F(PruneCli, DesignPicksANetworkAndVerifiesItThroughTheExecutor) {
  spit(spec, law_spec("0.25, 1"));
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}).code, 0);
  auto json_path = tmp.path() / "design.json";
  auto r = scalelab({"design", "--sweep", dir.string(), "--max-error", "0.2", "--bootstrap", "20", "--json",
                     json_path.string(), "--verify", "--jobs", "2"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("design: test_error <= 0.2 at data_fraction=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nbest: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nmeasured: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smallest measured within the bound: level "), std::string::npos) << r.out;
  auto design = nlohmann::json::parse(read_file(json_path));
  EXPECT_EQ(design["data_size"], "1");
  ASSERT_FALSE(design["best"].is_null());
  const auto& best = design["best"];
  EXPECT_NEAR(best["predicted"].get<double>(), 0.2, 1e-6);
  EXPECT_EQ(best["bootstrap_samples"], 20);
  EXPECT_LE(best["remaining_interval"]["p05"].get<double>(), best["remaining_params"].get<double>());
  EXPECT_GE(best["remaining_interval"]["p95"].get<double>(), best["remaining_params"].get<double>());
  ASSERT_EQ(design["candidates"].size(), 12u);  // 4 widths x 3 depths at the largest data size
  EXPECT_EQ(design["candidates"][0]["cell"], best["cell"]);
  // The measured answer is a level with error within the bound; levels are 20% apart, so the closed
  // form (any density) asks for somewhat fewer parameters than the best measured level keeps.
  ASSERT_FALSE(design["measured"].is_null());
  EXPECT_LE(design["measured"]["error"].get<double>(), 0.2);
  EXPECT_GT(design["predicted_over_measured"].get<double>(), 0.7);
  EXPECT_LE(design["predicted_over_measured"].get<double>(), 1.05);

  // The verification: the chosen network, both seeds, two levels past its density, measured beside
  // predicted (the fake worker follows the law, so within a few percent), its own eps_np.
  // DIR/verify/<cell>_levels_<N>: one directory per verified network, so two designs never mix.
  std::vector<fs::path> verify_dirs;
  for (const auto& entry : fs::directory_iterator(dir / "verify")) verify_dirs.push_back(entry.path());
  ASSERT_EQ(verify_dirs.size(), 1u);
  const fs::path verify_dir = verify_dirs.front();
  std::string expected_name = best["cell"].get<std::string>() + "_levels_";
  std::replace(expected_name.begin(), expected_name.end(), ' ', '_');
  EXPECT_EQ(verify_dir.filename().string().rfind(expected_name, 0), 0u) << verify_dir;
  ASSERT_TRUE(fs::exists(verify_dir / "spec.yaml"));
  const auto verify_runs = Store(verify_dir).runs();
  ASSERT_EQ(verify_runs.size(), 2u);
  const double density = best["density"].get<double>();
  const int levels = static_cast<int>(std::ceil(std::log(density) / std::log(0.8) - 1e-9)) + 2;
  for (const auto& run : verify_runs) {
    EXPECT_EQ(run.status, RunStatus::done);
    EXPECT_EQ(run.hparams.number("prune_levels"), levels);
    const std::string cell = best["cell"];
    EXPECT_NE(cell.find("width=" + run.hparams.text("width") + " "), std::string::npos) << cell;
    EXPECT_NE(cell.find("depth=" + run.hparams.text("depth")), std::string::npos) << cell;
    EXPECT_EQ(run.hparams.text("data_fraction"), "1");
  }
  const auto& verify = design["verify"];
  ASSERT_EQ(verify["levels"].size(), static_cast<std::size_t>(levels + 1));
  for (const auto& level : verify["levels"])
    if (level["level"] > 0)
      EXPECT_NEAR(level["predicted"].get<double>(), level["measured"].get<double>(), 0.03 * level["measured"].get<double>())
          << level.dump();
  ASSERT_FALSE(verify["smallest_within"].is_null());
  EXPECT_LE(verify["smallest_within"]["measured"].get<double>(), 0.2);
  EXPECT_GE(verify["smallest_within"]["remaining_params"].get<double>(), 0.95 * best["remaining_params"].get<double>());

  // A second design finds the verification runs done; --fit with `fit --sweep`'s JSON gives the same answer.
  auto fit_path = tmp.path() / "fit.json";
  ASSERT_EQ(scalelab({"fit", "--sweep", dir.string(), "--bootstrap", "20", "--json", fit_path.string()}).code, 0);
  auto from_fit = scalelab({"design", "--sweep", dir.string(), "--max-error", "0.2", "--fit", fit_path.string(),
                            "--json", "-", "--verify"});
  ASSERT_EQ(from_fit.code, 0) << from_fit.err;
  EXPECT_NE(from_fit.err.find("(0 started now"), std::string::npos) << from_fit.err;
  auto again = nlohmann::json::parse(from_fit.out);  // with --json -, the report is on stderr
  EXPECT_NE(from_fit.err.find("\nbest: "), std::string::npos) << from_fit.err;
  EXPECT_EQ(again["best"]["cell"], best["cell"]);
  EXPECT_EQ(again["best"]["remaining_params"], best["remaining_params"]);
}

TEST_F(PruneCli, DesignRefusesWhatItCannotAnswerNamingTheFlag) {
  spit(spec, law_spec());
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"}).code, 0);
  auto expect_bad = [&](const std::vector<std::string>& args, const std::string& flag) {
    auto r = scalelab(args);
    EXPECT_EQ(r.code, 2) << flag << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "verify")) << flag;
  };
  expect_bad({"design", "--sweep", dir.string(), "--max-error", "0"}, "--max-error");
  expect_bad({"design", "--sweep", dir.string(), "--max-error", "0.2", "--data-fraction", "0.5"}, "--data-fraction");
  expect_bad({"design", "--sweep", dir.string(), "--max-error", "0.2", "--executor", "nope", "--verify"}, "--executor");
  // Nothing meets a bound below every unpruned error: nothing to verify, and nothing trained.
  expect_bad({"design", "--sweep", dir.string(), "--max-error", "0.05", "--verify"}, "--max-error");
  // A fit of another law.
  auto other = tmp.path() / "other.json";
  ASSERT_EQ(scalelab({"fit", "--sweep", dir.string(), "--law", "pruning2021", "--json", other.string()}).code, 0);
  expect_bad({"design", "--sweep", dir.string(), "--max-error", "0.2", "--fit", other.string()}, "--fit");
  // A sweep without pruning.
  spit(spec, grid_spec("0.0625, 0.125, 0.25", "0.25, 0.5, 1", "1", "", "width<=0.125"));
  auto dense_dir = tmp.path() / "dense";
  ASSERT_EQ(scalelab({"sweep", spec.string(), "--dir", dense_dir.string()}).code, 0);
  expect_bad({"design", "--sweep", dense_dir.string(), "--max-error", "0.2"}, "--sweep");
}

}  // namespace
}  // namespace scalelab
