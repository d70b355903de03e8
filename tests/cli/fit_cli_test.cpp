// The real `scalelab` binary: laws, fit, predict; every bad input exits 2 and writes nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "testing/devices.h"
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr together
};

Outcome run(const std::string& args) {
  std::string command = std::string(SCALELAB_BINARY_DIR "/bin/scalelab ") + args + " 2>&1";
  Outcome result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  while (std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) result.output.append(buffer.data(), n);
  int status = pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class FitCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scalelab_fit_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A 6x6 rosenfeld2020 grid (alpha 0.66, b 0.5, beta 0.53, c_inf 0.05, eta 19.77 in fractions of
    // 50000 samples and 1.2e6 parameters) with 1% noise.
    std::ofstream csv(path("runs.csv"));
    csv << "samples,params,test_error\n";
    std::mt19937 engine(3);
    std::normal_distribution<double> normal(0, 1);
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j) {
        double m = std::ldexp(1.0, i - 5), n = std::ldexp(1.0, j - 5);
        double t = std::pow(m, -0.66) + 0.5 * std::pow(n, -0.53) + 0.05;
        double eps = 0.9 * t / std::sqrt(t * t + 19.77 * 19.77) * (1 + 0.01 * normal(engine));
        csv << m * 50000 << "," << n * 1.2e6 << "," << eps << "\n";
      }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  std::string fit_args(const std::string& data = "runs.csv", const std::string& x = "m=samples,n=params",
                       const std::string& eps0 = "0.9", const std::string& starts = "32") const {
    return "fit --law rosenfeld2020 --data " + path(data) + " --x " + x + " --y test_error --eps0 " + eps0 +
           " --starts " + starts + " --json " + path("out.json");
  }

  // Bad input: exit code 2, a message containing `needle`, and no output file.
  void expect_rejected(const std::string& args, const std::string& needle) {
    Outcome r = run(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
    EXPECT_FALSE(fs::exists(path("out.json"))) << args;
    fs::remove(path("out.json"));
  }

  fs::path dir_;
};

std::string fmt_at(double m, double n) {
  std::ostringstream text;
  text << "m=" << m << ",n=" << n;
  return text.str();
}

TEST(LawsCommand, ListsEveryLawWithFormulaAndParameters) {
  Outcome r = run("laws");
  ASSERT_EQ(r.code, 0) << r.output;
  for (auto name : {"rosenfeld2020", "pruning2021", "pruning2021_joint", "powerlaw", "kaplan2020", "chinchilla",
                    "bnsl", "m4"})
    EXPECT_NE(r.output.find(std::string(name) + "\n"), std::string::npos) << name;
  EXPECT_NE(r.output.find("eps = eps0 * t / sqrt(t^2 + eta^2)"), std::string::npos);
  EXPECT_NE(r.output.find("c_inf"), std::string::npos);
}

TEST_F(FitCommand, FitsWritesJsonAndPredictReadsItBack) {
  Outcome fit = run(fit_args() + " --normalize --bootstrap 20 --fit-where 'm<=12500 && n<=3e5'");
  ASSERT_EQ(fit.code, 0) << fit.output;
  EXPECT_NE(fit.output.find("held out (extrap.) n=20"), std::string::npos) << fit.output;
  EXPECT_NE(fit.output.find("fitted             n=16"), std::string::npos) << fit.output;

  auto json = nlohmann::json::parse(std::ifstream(path("out.json")));
  EXPECT_EQ(json["law"], "rosenfeld2020");
  EXPECT_EQ(json["inputs"][0]["scale"], 50000.0);
  EXPECT_EQ(json["givens"][0]["value"], 0.9);
  EXPECT_EQ(json["bootstrap_samples"].size(), 20u);
  EXPECT_EQ(json["points"].size(), 36u);

  Outcome predict = run("predict --fit " + path("out.json") + " --at m=50000,n=1.2e6");
  ASSERT_EQ(predict.code, 0) << predict.output;
  double value = std::stod(predict.output);
  // The largest cell of the grid, 4x beyond the fitted cells in both sizes; noiseless it is
  // 0.9 * 1.55 / sqrt(1.55^2 + 19.77^2) = 0.07034. With 1% noise on 16 cells the prediction came
  // out 7% high, and the paper's own extrapolations are off by 4.5% on average: 10% is the bar,
  // and the bootstrap interval must cover the truth.
  EXPECT_NEAR(value, 0.07034, 0.07034 * 0.10) << predict.output;
  double low = 0, high = 0;
  ASSERT_EQ(std::sscanf(predict.output.c_str() + predict.output.find("5%-95%"), "5%%-95%%: %lf .. %lf", &low, &high), 2)
      << predict.output;
  EXPECT_LT(low, 0.07034);
  EXPECT_GT(high, 0.07034);

  // Column names work as well as law input names.
  Outcome by_column = run("predict --fit " + path("out.json") + " --at samples=50000,params=1.2e6");
  ASSERT_EQ(by_column.code, 0) << by_column.output;
  EXPECT_EQ(by_column.output, predict.output);
}

TEST_F(FitCommand, SameSeedGivesByteIdenticalJson) {
  ASSERT_EQ(run(fit_args() + " --bootstrap 5 --seed 3").code, 0);
  std::string first = (std::stringstream() << std::ifstream(path("out.json")).rdbuf()).str();
  ASSERT_EQ(run(fit_args() + " --bootstrap 5 --seed 3").code, 0);
  std::string second = (std::stringstream() << std::ifstream(path("out.json")).rdbuf()).str();
  EXPECT_EQ(first, second);
}

TEST_F(FitCommand, BadInputExitsTwoAndWritesNothing) {
  write("negative.csv", "samples,params,test_error\n1000,5000,0.5\n-2000,5000,0.4\n");
  expect_rejected(fit_args("negative.csv"), "negative.csv:3: field 'samples': input must be positive");
  write("nan.csv", "samples,params,test_error\n1000,5000,0.5\n2000,5000,nan\n");
  expect_rejected(fit_args("nan.csv"), "nan.csv:3: field 'test_error': measured error is nan");
  write("above.csv", "samples,params,test_error\n1000,5000,0.95\n");
  expect_rejected(fit_args("above.csv"), "above.csv:2: field 'test_error': measured error 0.95 is above eps0 = 0.9");
  write("text.csv", "samples,params,test_error\n1000,abc,0.5\n");
  expect_rejected(fit_args("text.csv"), "text.csv:2: field 'params'");
  write("few.csv", "samples,params,test_error\n1000,5000,0.5\n2000,5000,0.4\n4000,5000,0.3\n");
  expect_rejected(fit_args("few.csv"), "3 rows to fit, but law rosenfeld2020 has 5 parameters");
  expect_rejected(fit_args() + " --fit-where 'm < 2000 && n < 1e5'", "2 rows to fit");
  expect_rejected(fit_args() + " --fit-where 'm <<= 2'", "--fit-where");
  expect_rejected(fit_args() + " --fit-where 'size < 2'", "names neither a law input nor a column");
  expect_rejected(fit_args("missing.csv"), "cannot open file");
  expect_rejected(fit_args() + " --loss cubic", "unknown loss");
  expect_rejected(fit_args("runs.csv", "m=samples,n=params", "0.9", "0"), "need at least one start");
  expect_rejected(fit_args("runs.csv", "m=samples,n=params", "-1"), "must be a positive number");
  expect_rejected(fit_args("runs.csv", "m=samples,n=size"), "no such column");
  expect_rejected(fit_args("runs.csv", "m=samples"), "needs input 'n'");
  expect_rejected(fit_args("runs.csv", "m=samples,n"), "expected NAME=VALUE");
  expect_rejected(fit_args() + " --given eps_np=params", "takes no given 'eps_np'");
  expect_rejected("fit --law rosenfeld --data " + path("runs.csv") + " --x m=samples --y test_error --json " +
                      path("out.json"),
                  "unknown law");
  expect_rejected("fit --law powerlaw --data " + path("runs.csv") + " --y test_error --json " + path("out.json"),
                  "--x: required with --data");
}

TEST_F(FitCommand, AFailedFitLeavesAnExistingJsonUntouched) {
  write("out.json", "previous result\n");
  write("few.csv", "samples,params,test_error\n1000,5000,0.5\n");
  Outcome r = run(fit_args("few.csv"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_EQ((std::stringstream() << std::ifstream(path("out.json")).rdbuf()).str(), "previous result\n");
}

TEST_F(FitCommand, PredictRejectsBadFitsAndPoints) {
  ASSERT_EQ(run(fit_args()).code, 0);
  fs::rename(path("out.json"), path("fit.json"));
  Outcome missing = run("predict --fit " + path("fit.json") + " --at m=50000");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.output.find("missing value for 'n'"), std::string::npos) << missing.output;
  Outcome negative = run("predict --fit " + path("fit.json") + " --at m=50000,n=-1");
  EXPECT_EQ(negative.code, 2);
  EXPECT_NE(negative.output.find("must be a positive number"), std::string::npos) << negative.output;
  Outcome unknown = run("predict --fit " + path("fit.json") + " --at m=50000,n=1e6,d=3");
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.output.find("no input or given 'd'"), std::string::npos) << unknown.output;
  write("broken.json", "{\"format\": \"scalelab-fit/1\"");
  Outcome broken = run("predict --fit " + path("broken.json") + " --at m=1,n=1");
  EXPECT_EQ(broken.code, 2);
  EXPECT_NE(broken.output.find("not valid JSON"), std::string::npos) << broken.output;
}

using scalelab::testing::device_copy;

std::string contents(const std::string& file) {
  return (std::stringstream() << std::ifstream(file).rdbuf()).str();
}

// Finding 1: a deeply nested --fit-where overflowed the stack (SIGSEGV); now exit 2 with a message.
TEST_F(FitCommand, DeeplyNestedFitWhereIsRefusedNotACrash) {
  expect_rejected(fit_args() + " --fit-where '" + std::string(10000, '(') + "n<=1e9" + std::string(10000, ')') + "'",
                  "--fit-where: nested more than 100 deep");
  expect_rejected(fit_args() + " --fit-where '" + std::string(30000, '!') + "n<=1e9'",
                  "--fit-where: nested more than 100 deep");
}

// Finding 2: outputs never replace what is at the path by a regular file, never overwrite an input,
// and leave no temporary files.
TEST_F(FitCommand, JsonOutputRespectsWhatIsAtThePath) {
  const std::string data = contents(path("runs.csv"));
  const std::string base = fit_args().substr(0, fit_args().rfind(" --json "));
  // The input itself, directly, through a symlink and through a hard link: refused, data untouched.
  fs::create_symlink(path("runs.csv"), path("link.csv"));
  fs::create_hard_link(path("runs.csv"), path("hard.csv"));
  for (const char* name : {"runs.csv", "link.csv", "hard.csv"}) {
    Outcome r = run(base + " --json " + path(name));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("--json: '" + path(name) + "' is the input"), std::string::npos) << r.output;
    EXPECT_EQ(contents(path("runs.csv")), data);
  }
  // A fit given as --given fit:FILE is an input too.
  ASSERT_EQ(run(fit_args()).code, 0);
  write("pruned.csv", "d,w,test_error\n1,1,0.1\n");
  Outcome given = run("fit --law pruning2021 --data " + path("pruned.csv") + " --x d=d --y test_error --given eps_np=fit:" +
                      path("out.json") + " --json " + path("out.json"));
  EXPECT_EQ(given.code, 2) << given.output;
  EXPECT_NE(given.output.find("is the input"), std::string::npos) << given.output;
  fs::remove(path("out.json"));

  expect_rejected(base + " --json ''", "--json: the output path is empty");
  fs::create_directory(path("dir.json"));
  expect_rejected(base + " --json " + path("dir.json"), "is a directory");

  // A symlink is followed: the target is replaced, the link stays a link.
  write("target.json", "old\n");
  fs::create_symlink(path("target.json"), path("out.json"));
  ASSERT_EQ(run(fit_args()).code, 0);
  EXPECT_TRUE(fs::is_symlink(path("out.json")));
  EXPECT_EQ(nlohmann::json::parse(contents(path("target.json")))["law"], "rosenfeld2020");
  fs::remove(path("out.json"));

  // Devices are written through: /dev/null stays a device, /dev/full reports its error.
  const std::string null = device_copy(dir_, "null", 3), full = device_copy(dir_, "full", 7);
  Outcome null_run = run(base + " --json " + null);
  EXPECT_EQ(null_run.code, 0) << null_run.output;
  EXPECT_TRUE(fs::is_character_file(null));
  Outcome full_run = run(base + " --json " + full);
  EXPECT_EQ(full_run.code, 1) << full_run.output;
  EXPECT_NE(full_run.output.find(full + ": write failed (No space left on device)"), std::string::npos)
      << full_run.output;
  EXPECT_TRUE(fs::is_character_file(full));

  // /dev/stdout is this process's stdout, to a pipe or to a file: the JSON, then the report, and the
  // file stays what the shell made it.
  Outcome piped = run(base + " --json /dev/stdout");
  EXPECT_EQ(piped.code, 0) << piped.output;
  EXPECT_EQ(piped.output.rfind("{\n", 0), 0u) << piped.output;
  Outcome redirected = run(base + " --json /dev/stdout >" + path("both.txt"));
  EXPECT_EQ(redirected.code, 0) << redirected.output;
  const std::string both = contents(path("both.txt"));
  EXPECT_EQ(both.rfind("{\n", 0), 0u) << both;
  EXPECT_NE(both.find("\nlaw "), std::string::npos) << both;

  for (auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

// Finding 6: duplicate header names once let the first column win silently.
TEST_F(FitCommand, DuplicateColumnNamesAreRefused) {
  std::string csv = "samples,params,test_error,test_error\n";
  std::istringstream in(contents(path("runs.csv")));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) csv += line + ",0.5\n";
  write("dup.csv", csv);
  expect_rejected(fit_args("dup.csv"), "dup.csv:1: field 'test_error': column name appears twice");
}

// Finding 6: predict printed -nan or 0 for inputs far outside the law's range, exit 0.
TEST_F(FitCommand, PredictRefusesUnusableInputsAndResults) {
  ASSERT_EQ(run(fit_args()).code, 0);
  Outcome subnormal = run("predict --fit " + path("out.json") + " --at m=1e-320,n=1e5");
  EXPECT_EQ(subnormal.code, 2) << subnormal.output;
  EXPECT_NE(subnormal.output.find("--at: field 'm'"), std::string::npos) << subnormal.output;
  EXPECT_EQ(subnormal.output.find("nan"), std::string::npos) << subnormal.output;
  // With alpha 1.5 (within its bounds) m^-alpha squared overflows: the law computes 0 (once printed).
  auto json = nlohmann::json::parse(contents(path("out.json")));
  json["parameters"][0]["value"] = 1.5;
  json["bootstrap_samples"] = nlohmann::json::array();
  write("steep.json", json.dump());
  Outcome tiny = run("predict --fit " + path("steep.json") + " --at m=1e-200,n=1e-200");
  EXPECT_EQ(tiny.code, 2) << tiny.output;
  EXPECT_NE(tiny.output.find("not a usable error"), std::string::npos) << tiny.output;
  Outcome inf = run("predict --fit " + path("out.json") + " --at m=inf,n=1e5");
  EXPECT_EQ(inf.code, 2) << inf.output;
}

// Finding 6: a tampered fit JSON was accepted and predicted nonsense.
TEST_F(FitCommand, PredictRefusesTamperedFits) {
  ASSERT_EQ(run(fit_args() + " --normalize --bootstrap 3").code, 0);
  const auto good = nlohmann::json::parse(contents(path("out.json")));
  auto expect_refused = [&](const std::function<void(nlohmann::json&)>& tamper, const std::string& needle) {
    nlohmann::json j = good;
    tamper(j);
    write("bad.json", j.dump());
    Outcome r = run("predict --fit " + path("bad.json") + " --at m=50000,n=1.2e6");
    EXPECT_EQ(r.code, 2) << needle << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
  };
  expect_refused([](auto& j) { j["givens"][0]["value"] = -1; }, "field 'givens[0].value': eps0 must be positive");
  expect_refused([](auto& j) { j["givens"][0]["name"] = "eps1"; }, "field 'givens[0].name'");
  expect_refused([](auto& j) { j["parameters"][0]["value"] = 5.0; }, "field 'parameters.alpha.value': 5 is outside");
  expect_refused([](auto& j) { j["parameters"][0]["upper"] = 9.0; }, "field 'parameters.alpha': bounds");
  expect_refused([](auto& j) { j["parameters"][1]["name"] = "bb"; }, "field 'parameters[1].name'");
  expect_refused([](auto& j) { j["normalized"] = "yes"; }, "field 'normalized': expected true or false, got string");
  expect_refused([](auto& j) { j["inputs"][0]["name"] = "n"; }, "field 'inputs[0].name'");
  expect_refused([](auto& j) { j["inputs"][1]["scale"] = 0; }, "field 'inputs[1].scale': must be positive");
  expect_refused([](auto& j) { j["parameters"][2]["at_bound"] = "no"; }, "field 'parameters.beta.at_bound'");
  expect_refused([](auto& j) { j["bootstrap_samples"][1][0] = 7.5; }, "field 'bootstrap_samples[1][0]'");
  expect_refused([](auto& j) { j["bootstrap_samples"][0][0] = "x"; }, "field 'bootstrap_samples[0][0]'");
  // The untouched file still predicts.
  EXPECT_EQ(run("predict --fit " + path("out.json") + " --at m=50000,n=1.2e6").code, 0);
}

// Finding 8 (fit side): absurd counts, negative seeds and endless inputs are refused at once.
TEST_F(FitCommand, LimitsOnCountsSeedsAndInputs) {
  expect_rejected(fit_args("runs.csv", "m=samples,n=params", "0.9", "2147483647"), "--starts: 2147483647 is more than");
  expect_rejected(fit_args("runs.csv", "m=samples,n=params", "0.9", "-3"), "--starts: need at least one start");
  expect_rejected(fit_args() + " --bootstrap 2147483647", "--bootstrap: 2147483647 is more than");
  expect_rejected(fit_args() + " --folds 37", "--folds");
  expect_rejected(fit_args() + " --seed -1", "--seed: '-1' is not a whole number");
  expect_rejected(fit_args() + " --seed 1.5", "--seed");
  expect_rejected("fit --law rosenfeld2020 --data /dev/zero --x m=samples,n=params --y test_error --eps0 0.9 --json " +
                      path("out.json"),
                  "/dev/zero: holds a NUL byte");
  // Finding 9 (part): a directory as --data says so.
  fs::create_directory(path("data.csv"));
  expect_rejected(fit_args("data.csv"), "data.csv: is a directory");
}

}  // namespace

// Law selection by extrapolation (issue 19): `fit --compare` and `fit --law auto` print the ranking,
// fit the best candidate and write it (and only it) to the JSON. The grid is rosenfeld2020's, so it
// must rank first; fit_where names columns (chinchilla's inputs are N and D, not m and n).
TEST_F(FitCommand, CompareRanksLawsByBacktestsAndFitsTheBest) {
  const std::string common = " --data " + path("runs.csv") +
                             " --x m=samples,n=params,N=params,D=samples --y test_error --eps0 0.9 --starts 32"
                             " --normalize --fit-where 'samples<=12500 && params<=3e5' --json " + path("out.json");
  Outcome compared = run("fit --compare chinchilla,rosenfeld2020" + common);
  ASSERT_EQ(compared.code, 0) << compared.output;
  EXPECT_NE(compared.output.find("laws ranked by backtest extrapolation error"), std::string::npos) << compared.output;
  // Measured: rosenfeld2020 1.34% backtest error (15 backtests), chinchilla 1.61%.
  const auto first = compared.output.find("  1    rosenfeld2020    divergence");
  const auto second = compared.output.find("  2    chinchilla       huber-log");
  ASSERT_NE(first, std::string::npos) << compared.output;
  ASSERT_NE(second, std::string::npos) << compared.output;
  EXPECT_LT(first, second);
  EXPECT_NE(compared.output.find("predicting with the best: rosenfeld2020 (divergence loss)"), std::string::npos)
      << compared.output;
  auto json = nlohmann::json::parse(std::ifstream(path("out.json")));
  EXPECT_EQ(json["law"], "rosenfeld2020");
  EXPECT_EQ(json["loss"], "divergence");
  ASSERT_EQ(json["inputs"].size(), 2u);  // the best law's own inputs, not the whole --x pool
  EXPECT_EQ(json["inputs"][0]["column"], "samples");
  EXPECT_EQ(json["inputs"][1]["column"], "params");
  EXPECT_EQ(json["summary"]["held_out"]["count"], 20);
  // The JSON predicts like any fit's.
  Outcome predicted = run("predict --fit " + path("out.json") + " --at m=50000,n=1.2e6");
  ASSERT_EQ(predicted.code, 0) << predicted.output;
  EXPECT_NEAR(std::stod(predicted.output), 0.07034, 0.07034 * 0.10) << predicted.output;

  // A loss per candidate: rosenfeld2020 with huber-log is a second candidate.
  fs::remove(path("out.json"));
  Outcome with_loss = run("fit --compare rosenfeld2020,rosenfeld2020:huber-log" + common);
  ASSERT_EQ(with_loss.code, 0) << with_loss.output;
  EXPECT_NE(with_loss.output.find("rosenfeld2020    huber-log"), std::string::npos) << with_loss.output;
  EXPECT_NE(with_loss.output.find("rosenfeld2020    divergence"), std::string::npos) << with_loss.output;

  // --law auto: every law whose inputs are mapped (and givens given); same winner. Measured:
  // rosenfeld2020, chinchilla, kaplan2020 (whose fit is far off here: 362% backtest error).
  fs::remove(path("out.json"));
  Outcome automatic = run("fit --law auto" + common);
  ASSERT_EQ(automatic.code, 0) << automatic.output;
  for (auto law : {"rosenfeld2020", "chinchilla", "kaplan2020"})
    EXPECT_NE(automatic.output.find(std::string("    ") + law), std::string::npos) << law << "\n" << automatic.output;
  EXPECT_NE(automatic.output.find("  1    rosenfeld2020"), std::string::npos) << automatic.output;
  EXPECT_NE(automatic.output.find("predicting with the best: rosenfeld2020"), std::string::npos) << automatic.output;
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path("out.json")))["law"], "rosenfeld2020");

  // With --json -: the JSON on stdout, the ranking on stderr (run() merges the two: the ranking,
  // written first, then the JSON).
  fs::remove(path("out.json"));
  const std::string to_stdout = "fit --compare rosenfeld2020 --data " + path("runs.csv") +
                                " --x m=samples,n=params --y test_error --eps0 0.9 --starts 16 --normalize"
                                " --fit-where 'samples<=12500 && params<=3e5' --json -";
  Outcome piped = run(to_stdout);
  ASSERT_EQ(piped.code, 0) << piped.output;
  const auto brace = piped.output.find("{\n");
  ASSERT_NE(brace, std::string::npos) << piped.output;
  EXPECT_NE(piped.output.substr(0, brace).find("laws ranked by backtest"), std::string::npos) << piped.output;
  EXPECT_EQ(nlohmann::json::parse(piped.output.substr(brace))["law"], "rosenfeld2020");
  EXPECT_FALSE(fs::exists(path("out.json")));
}

TEST_F(FitCommand, CompareRefusesWhatItCannotRankNamingTheFlag) {
  const std::string data = " --data " + path("runs.csv") + " --y test_error --eps0 0.9 --json " + path("out.json");
  expect_rejected("fit --compare rosenfeld2020,nosuch --x m=samples,n=params" + data, "--compare: field 'nosuch': unknown law");
  expect_rejected("fit --compare rosenfeld2020:nosuch --x m=samples,n=params" + data, "--compare");
  expect_rejected("fit --compare chinchilla --x m=samples,n=params" + data, "--compare: field 'chinchilla': lacks input N input D");
  expect_rejected("fit --compare , --x m=samples,n=params" + data, "--compare");
  expect_rejected("fit --compare rosenfeld2020 --law auto --x m=samples,n=params" + data, "give either --compare or --law auto");
  expect_rejected("fit --law auto --x a=samples,b=params" + data, "--law: field 'auto': no law has its inputs mapped");
}

// `predict` on a fit with predictive intervals: the interval at the point's own distance from the fit
// set (m <= 12500, n <= 3e5), the same the fit gave that cell; the bootstrap one printed after it.
TEST_F(FitCommand, PredictGivesThePredictiveIntervalWhenTheFitCarriesIt) {
  Outcome fit = run(fit_args() + " --normalize --bootstrap 20 --intervals predictive --fit-where 'm<=12500 && n<=3e5'");
  ASSERT_EQ(fit.code, 0) << fit.output;
  auto json = nlohmann::json::parse(std::ifstream(path("out.json")));
  ASSERT_EQ(json["predictive"]["frontier"], nlohmann::json({12500.0, 3e5}));
  EXPECT_EQ(json["predictive"]["seeds"], 1.0);
  auto interval_at = [&](const std::string& at, double& low, double& high, double& octaves) {
    Outcome r = run("predict --fit " + path("out.json") + " --at " + at);
    ASSERT_EQ(r.code, 0) << r.output;
    ASSERT_EQ(std::sscanf(r.output.c_str() + r.output.find("5%-95%"), "5%%-95%%: %lf .. %lf  (predictive: exp(+-%*f), %lf octaves",
                          &low, &high, &octaves), 3) << r.output;
    EXPECT_NE(r.output.find("\nbootstrap 5%-95%: "), std::string::npos) << r.output;
  };
  for (const auto& point : json["points"]) {
    const double m = point["inputs"][0], n = point["inputs"][1];
    if (!((m == 50000 && n == 1.2e6) || (m == 6250 && n == 150000))) continue;
    double low = 0, high = 0, octaves = -1;
    interval_at(fmt_at(m, n), low, high, octaves);
    EXPECT_NEAR(low, point["interval"]["p05"].get<double>(), 1e-5 * low);  // printed with 6 digits
    EXPECT_NEAR(high, point["interval"]["p95"].get<double>(), 1e-5 * high);
    EXPECT_EQ(octaves, point["interval_parts"]["distance"].get<double>());
  }
  double near_low = 0, near_high = 0, near_d = -1, far_low = 0, far_high = 0, far_d = -1;
  interval_at("m=6250,n=150000", near_low, near_high, near_d);
  interval_at("m=50000,n=1.2e6", far_low, far_high, far_d);
  EXPECT_EQ(near_d, 0);
  EXPECT_EQ(far_d, 4);
  // Measured: exp(+-0.0204) at the fit set, exp(+-0.0875) 4 octaves out.
  EXPECT_GT(std::log(far_high / far_low), 2 * std::log(near_high / near_low));
}
