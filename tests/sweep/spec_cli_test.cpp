// Issue 14, findings 7 and 8, on the real `scalelab` binary: a spec that cannot be trained and fitted
// as written is rejected by `sweep`, `sweep --dry-run` and `demo` before anything starts (exit 2, the
// file, line and field named, no sweep directory, no worker run), and so are --jobs outside 1..256
// and grids too large to plan.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>

#include "cli_helpers.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;

// 4 widths x 4 fractions x 1 seed; the fit set is 3 x 3 = 9 cells. Lines: fixed 4-7, grid 8-11,
// fit_where 12, law 13, eps0 14.
const std::string kBase = grid_spec("0.03125, 0.0625, 0.125, 0.25", "0.0625, 0.125, 0.25, 0.5", "1");

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

struct SpecCli : ::testing::Test {
  TempDir tmp;
  fs::path spec = tmp / "spec.yaml";
  fs::path dir = tmp / "sweep";
  fs::path log = tmp / "completed.log";
  std::map<std::string, std::string> env() { return {{"FAKE_LOG", log.string()}, {"FAKE_SLEEP_MS", "1"}}; }
  Result scalelab(const std::vector<std::string>& args) { return run(args, env(), tmp.path()); }

  // `sweep --dry-run`, `sweep` and `demo` all refuse the spec the same way and start nothing.
  void expect_rejected(const std::string& yaml, const std::string& where, const std::string& what) {
    spit(spec, yaml);
    const std::vector<std::vector<std::string>> commands = {
        {"sweep", spec.string(), "--dry-run"},
        {"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2"},
        {"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", "2"},
    };
    for (const auto& args : commands) {
      auto r = scalelab(args);
      EXPECT_EQ(r.code, 2) << args[0] << " " << args.back() << ": " << what << "\n" << r.err << r.out;
      EXPECT_NE(r.err.find(spec.string() + ":" + where), std::string::npos) << what << ": " << r.err;
      EXPECT_EQ(r.out.find("runs"), std::string::npos) << what << ": planned anyway:\n" << r.out;
      EXPECT_FALSE(fs::exists(dir)) << what << ": " << args[0] << " created the sweep directory";
      EXPECT_FALSE(fs::exists(log)) << what << ": a worker ran";
    }
  }
};

TEST_F(SpecCli, TheBaseSpecPlans) {
  spit(spec, kBase);
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("16 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fit set: 9 runs"), std::string::npos) << r.out;
}

TEST_F(SpecCli, AnUnknownLawIsRejectedBeforeTraining) {
  expect_rejected(replace(kBase, "law: rosenfeld2020", "law: nope"), "13: field 'law'", "law: nope");
}

TEST_F(SpecCli, ALawWithAGivenNoSweepProvidesIsRejected) {
  expect_rejected(replace(kBase, "law: rosenfeld2020", "law: pruning2021"), "13: field 'law'", "law: pruning2021");
}

// Issue 15, part 4: the law's inputs and the target are checked with the rest of the spec.
TEST_F(SpecCli, BadLawInputsOrTargetAreRejectedBeforeTraining) {
  // powerlaw's x is neither m nor n: `inputs:` must say which.
  expect_rejected(replace(kBase, "law: rosenfeld2020", "law: powerlaw"), "13: field 'law'", "law: powerlaw");
  expect_rejected(replace(kBase, "law: rosenfeld2020", "law: powerlaw\ninputs: {x: samples}"), "14: field 'inputs.x'",
                  "inputs: {x: samples}");
  expect_rejected(replace(kBase, "law: rosenfeld2020", "law: kaplan2020\ninputs: {N: n}"), "14: field 'inputs'",
                  "inputs: {N: n}");
  expect_rejected(kBase + "target: \"test error\"\n", "15: field 'target'", "target: test error");
  expect_rejected(kBase + "target: width\n", "15: field 'target'", "target: width");
}

TEST_F(SpecCli, ASeedThatIsNotOneExactIntegerIsRejected) {
  expect_rejected(replace(kBase, "seed: [1]", "seed: [1e30]"), "11: field 'seed'", "seed: [1e30]");
  expect_rejected(replace(kBase, "seed: [1]", "seed: [-1]"), "11: field 'seed'", "seed: [-1]");
}

TEST_F(SpecCli, EarlyStoppingWithoutAValidationSetIsRejected) {
  expect_rejected(replace(kBase, "  batch_size: 128\n", "  batch_size: 128\n  early_stopping: 3\n  val_count: 0\n"),
                  "8: field 'early_stopping'", "early_stopping with val_count 0");
}

TEST_F(SpecCli, DataTheDatasetDoesNotHaveIsRejected) {
  auto counts = replace(replace(kBase, "data_fraction: [0.0625, 0.125, 0.25, 0.5]", "data_count: [100, 1000, 10000, 60000]"),
                        "data_fraction<=0.25", "data_count<=10000");
  expect_rejected(counts, "10: field 'grid.data_count'", "data_count 60000 of 55000");
  expect_rejected(replace(kBase, "data_fraction: [0.0625,", "data_fraction: [0.000001, 0.0625,"),
                  "10: field 'grid.data_fraction'", "a fraction that rounds to no example");
}

TEST_F(SpecCli, AbsurdEpochsAreRejectedInsteadOfANegativeEstimate) {
  expect_rejected(replace(kBase, "epochs: 2", "epochs: 99999999999999999999"), "6: field 'epochs'", "epochs 1e20");
  // At the limits the estimate is long, but a time.
  spit(spec, replace(replace(kBase, "epochs: 2", "epochs: 1000000"), "depth: 2", "depth: 64"));
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto about = r.out.find("about ");
  ASSERT_NE(about, std::string::npos) << r.out;
  EXPECT_NE(r.out[about + 6], '-') << r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(r.out[about + 6], '?') << r.out.substr(0, r.out.find('\n'));
}

TEST_F(SpecCli, RepeatedKeysAndSecondDocumentsAreRejected) {
  expect_rejected(replace(kBase, "  epochs: 2\n", "  epochs: 2\n  epochs: 3\n"), "7: field 'fixed.epochs'", "epochs twice");
  expect_rejected(kBase + "law: nope\n", "15: field 'law'", "law twice");
  expect_rejected(kBase + "---\nname: u\n", "16: 2 YAML documents", "a second document");
}

TEST_F(SpecCli, AFitSetWithFewerCellsThanTheLawHasParametersIsRejected) {
  // 2 x 2 = 4 cells for rosenfeld2020's 5 parameters.
  expect_rejected(replace(kBase, "width<=0.125 && data_fraction<=0.25", "width<=0.0625 && data_fraction<=0.125"),
                  "12: field 'fit_where'", "4 fit cells");
  spit(spec, replace(kBase, "width<=0.125 && data_fraction<=0.25", "width<=0.0625 && data_fraction<=0.125"));
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  EXPECT_NE(r.err.find("selects 4 cells (4 runs), fewer than the 5 parameters of rosenfeld2020"), std::string::npos)
      << r.err;
}

// Nothing held out is allowed (fitting everything is a fit), but said.
TEST_F(SpecCli, AFitSetOfTheWholeGridPlansWithAWarning) {
  spit(spec, replace(kBase, "width<=0.125 && data_fraction<=0.25", "width<=1"));
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("0 runs held out"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("warning: " + spec.string() + ": the fit set is the whole grid"), std::string::npos) << r.err;
}

TEST_F(SpecCli, TheDemoNeedsAFitSet) {
  spit(spec, replace(kBase, "fit_where: \"width<=0.125 && data_fraction<=0.25\"\n", ""));
  auto planned = scalelab({"sweep", spec.string(), "--dry-run"});  // a sweep without one is fine
  EXPECT_EQ(planned.code, 0) << planned.err;
  auto r = scalelab({"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", "2"});
  EXPECT_EQ(r.code, 2) << r.err << r.out;
  EXPECT_NE(r.err.find("fit_where"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(log));
}

TEST_F(SpecCli, JobsMustBeOneTo256WhenGiven) {
  spit(spec, kBase);
  for (const char* jobs : {"0", "-1", "257", "100000"}) {
    const std::vector<std::vector<std::string>> commands = {
        {"sweep", spec.string(), "--dry-run", "--jobs", jobs},
        {"sweep", spec.string(), "--dir", dir.string(), "--jobs", jobs},
        {"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", jobs},
    };
    for (const auto& args : commands) {
      auto r = scalelab(args);
      EXPECT_EQ(r.code, 2) << args[0] << " --jobs " << jobs << ": " << r.err;
      EXPECT_NE(r.err.find("--jobs"), std::string::npos) << r.err;
      EXPECT_FALSE(fs::exists(dir)) << args[0] << " --jobs " << jobs;
      EXPECT_FALSE(fs::exists(log)) << args[0] << " --jobs " << jobs;
    }
  }
  auto most = scalelab({"sweep", spec.string(), "--dry-run", "--jobs", "256"});
  EXPECT_EQ(most.code, 0) << most.err;
  EXPECT_NE(most.out.find("with 256 jobs"), std::string::npos) << most.out;
  auto unset = scalelab({"sweep", spec.string(), "--dry-run"});  // the default: one job per core
  EXPECT_EQ(unset.code, 0) << unset.err;
}

// A 10^7-run spec's --dry-run used 7.9 GB before bad_alloc. Now it is counted, not expanded: under a
// 1 GiB address-space limit (inherited by the child) it fails at once with the count and the limit.
TEST_F(SpecCli, AGridOfTenMillionRunsIsRefusedWithoutBeingExpanded) {
  auto values = [](int n, double step) {
    std::string out;
    for (int i = 1; i <= n; ++i) out += (i > 1 ? ", " : "") + std::to_string(i * step);
    return out;
  };
  std::string seeds;
  for (int i = 1; i <= 1000; ++i) seeds += (i > 1 ? ", " : "") + std::to_string(i);
  spit(spec, grid_spec(values(100, 0.001), values(100, 0.01), seeds, "", "width<=0.003 && data_fraction<=0.03"));
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &old), 0);
  rlimit limited = old;
  limited.rlim_cur = std::min<rlim_t>(old.rlim_max, rlim_t{1} << 30);
  ASSERT_EQ(setrlimit(RLIMIT_AS, &limited), 0);
  auto started = std::chrono::steady_clock::now();
  auto r = scalelab({"sweep", spec.string(), "--dry-run"});
  auto took = std::chrono::steady_clock::now() - started;
  auto sweep = scalelab({"sweep", spec.string(), "--dir", dir.string()});
  ASSERT_EQ(setrlimit(RLIMIT_AS, &old), 0);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(spec.string() + ":9: field 'grid'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("10000000 runs (100 width x 100 data_fraction x 1000 seed)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("limit of 100000 runs"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_EQ(sweep.code, 2) << sweep.err;
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(SpecCli, TheExampleSpecStillPlans) {
  auto r = scalelab({"sweep", std::string(SCALELAB_SOURCE_DIR) + "/examples/demo.yaml", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("demo: 84 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fit set: 40 runs"), std::string::npos) << r.out;
}


// Issue 15: --executor picks the executor by name; an unknown name is bad input naming the flag and
// the known executors, for sweep, sweep --dry-run and demo, before anything is written or run.
TEST_F(SpecCli, AnUnknownExecutorIsBadInputThatListsTheKnownOnes) {
  spit(spec, kBase);
  const std::vector<std::vector<std::string>> commands = {
      {"sweep", spec.string(), "--dry-run", "--executor", "nope"},
      {"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2", "--executor", "nope"},
      {"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", "2", "--executor", "nope"},
  };
  for (const auto& args : commands) {
    auto r = scalelab(args);
    EXPECT_EQ(r.code, 2) << args[0] << ": " << r.err << r.out;
    EXPECT_NE(r.err.find("--executor"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("unknown executor 'nope' (known: local, process, slurm)"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("runs"), std::string::npos) << args[0] << ": planned anyway:\n" << r.out;
    EXPECT_FALSE(fs::exists(dir)) << args[0] << " created the sweep directory";
    EXPECT_FALSE(fs::exists(log)) << args[0] << ": a worker ran";
  }
}

TEST_F(SpecCli, TheLocalExecutorByNameRunsTheGrid) {
  spit(spec, kBase);
  auto r = scalelab({"sweep", spec.string(), "--dir", dir.string(), "--jobs", "2", "--executor", "local"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("16 of 16 runs done"), std::string::npos) << r.err;
  EXPECT_EQ(completions(log).size(), 16u);
}

}  // namespace
}  // namespace scalelab
