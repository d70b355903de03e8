// The real `scalelab theory` binary: the Nyquist experiment's CSV files read back (and by `fit --data`),
// TwoNN on a manifold of known dimension, bad flags exit 2 and write nothing.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "table/table.h"

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

class TheoryCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scalelab_theory_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(TheoryCommand, NyquistWritesErrorAgainstMAndTheMatchedLearnerReachesTheFloorAtTheNyquistCount) {
  const auto r = run("theory nyquist --dim 1 --bandwidth 3 --csv " + path("points.csv") + " --summary " +
                     path("summary.csv"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto summary = scalelab::read_csv(path("summary.csv"));
  bool matched_grid = false, matched_random = false, narrow = false;
  for (std::size_t i = 0; i < summary.rows(); ++i) {
    const std::string learner = summary.at(i, "learner"), bandwidth = summary.at(i, "learner_bandwidth");
    const std::string reached = summary.at(i, "reached_m");
    if (learner == "nyquist-fft" && bandwidth == "3") {
      matched_grid = true;
      EXPECT_EQ(reached, "7");
    }
    if (learner == "nyquist-lsq" && bandwidth == "3") {
      matched_random = true;
      EXPECT_EQ(reached, "7");
    }
    if (learner == "nyquist-lsq" && bandwidth == "2") {
      narrow = true;
      EXPECT_EQ(reached, "never in range");
    }
  }
  EXPECT_TRUE(matched_grid && matched_random && narrow) << r.output;
  const auto points = scalelab::read_csv(path("points.csv"));
  ASSERT_GT(points.rows(), 30u);
  for (std::size_t i = 0; i < points.rows(); ++i) {
    if (points.at(i, "learner") != "nyquist-fft" || points.at(i, "learner_bandwidth") != "3") continue;
    const double m = points.number(i, points.column("m")), error = points.number(i, points.column("relative_error"));
    if (m == 6) EXPECT_GT(error, 1e-3);
    if (m >= 7) EXPECT_LT(error, 1e-20);
  }
  // The range ends at 10 (2B+1) = 70 by default: the summary gives each learner's error there.
  for (std::size_t i = 0; i < summary.rows(); ++i) EXPECT_FALSE(summary.at(i, "error_at_10x_nyquist").empty()) << i;
  // `fit --data` reads it: a power law over the kernel ridge learner's rows.
  const auto fit = run("fit --data " + path("points.csv") + " --law powerlaw --x x=m --y relative_error "
                       "--fit-where 'learner_index==0' --starts 8");
  EXPECT_EQ(fit.code, 0) << fit.output;
}

TEST_F(TheoryCommand, IntrinsicDimensionOfTheTorusIsTwoWithinTenPercent) {
  const auto r = run("theory intrinsic-dim --dataset torus --samples 2000");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string label = "linear fit, largest 10% of mu left out): d = ";
  const auto at = r.output.find(label);
  ASSERT_NE(at, std::string::npos) << r.output;
  const double d = std::stod(r.output.substr(at + label.size()));
  EXPECT_NEAR(d, 2.0, 0.2) << r.output;
}

// A fit of a data exponent, printed beside the TwoNN estimate: a power law fitted here by `fit --data`.
TEST_F(TheoryCommand, IntrinsicDimensionPrintsTheFittedDataExponentBesideIt) {
  {
    std::FILE* csv = std::fopen(path("cells.csv").c_str(), "w");
    std::fprintf(csv, "samples,test_error\n");
    for (double m : {100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0}) std::fprintf(csv, "%g,%.17g\n", m, 3 * std::pow(m, -0.5));
    std::fclose(csv);
  }
  const auto fit = run("fit --data " + path("cells.csv") + " --law powerlaw --x x=samples --y test_error --loss lsq "
                       "--starts 16 --json " + path("fit.json"));
  ASSERT_EQ(fit.code, 0) << fit.output;
  const auto r = run("theory intrinsic-dim --dataset subspace --samples 1000 --fit " + path("fit.json"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("fitted data exponent (" + path("fit.json") + ", powerlaw): alpha = 0.5"), std::string::npos)
      << r.output;
}

TEST_F(TheoryCommand, BadFlagsExitTwoAndWriteNothing) {
  for (const std::string& args : std::vector<std::string>{"theory nyquist --dim 4 --bandwidth 2", "theory nyquist --dim 3 --bandwidth 30",
                                 "theory nyquist --dim 1 --bandwidth 2 --learner-bandwidths -1",
                                 "theory nyquist --dim 1 --bandwidth 2 --sampling sideways",
                                 "theory nyquist --dim 3 --bandwidth 10",  // a 92610 x 15625 dense matrix
                                 "theory nyquist --dim 1 --bandwidth 2 --students " + path("not-a-sweep")}) {
    const auto r = run(args + " --csv " + path("out.csv"));
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(path("out.csv"))) << args;
  }
  const auto missing = run("theory intrinsic-dim --dataset fashion-mnist --data-dir " + path("nowhere"));
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("train-images-idx3-ubyte.gz"), std::string::npos) << missing.output;
  EXPECT_EQ(run("theory intrinsic-dim --dataset nothing").code, 2);
  EXPECT_EQ(run("theory intrinsic-dim --dataset torus --fit " + path("no-fit.json")).code, 2);
}

}  // namespace

// `theory teacher SPEC`: a small teacher/student grid trained by the real worker through the sweep
// store, the law fitted (fit.json read back), the best student's distance from zero printed; a second
// call trains nothing; a spec on another dataset is refused naming the field, exit 2, nothing written.
TEST_F(TheoryCommand, TeacherRunsTheSweepFitsTheLawAndSaysHowFarAboveZero) {
  {
    std::FILE* f = std::fopen(path("ts.yaml").c_str(), "w");
    std::fputs(R"(name: ts-small
dataset: teacher-student
model: mlp
fixed: {depth: 2, epochs: 20, batch_size: 64, lr: 0.02, momentum: 0.9, weight_decay: 0, val_count: 500}
min_steps: 400
grid:
  width: [0.03125, 0.0625, 0.125]
  data_count: [250, 500, 1000, 2000]
  seed: [1]
fit_where: "data_count <= 1000"
law: rosenfeld2020
eps0: 1
)",
               f);
    std::fclose(f);
  }
  const auto r = run("theory teacher " + path("ts.yaml") + " --dir " + path("sweep") + " --jobs 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("best student at the largest m (2000): test_error "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("where the floor is 0"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(path("sweep/fit.json")));
  const auto again = run("fit --sweep " + path("sweep") + " --json " + path("refit.json"));
  EXPECT_EQ(again.code, 0) << again.output;
  // 12 runs, each trained once: a second call finds them done.
  const auto second = run("theory teacher " + path("ts.yaml") + " --dir " + path("sweep") + " --jobs 2");
  ASSERT_EQ(second.code, 0) << second.output;
  const auto runs = run("results " + path("sweep") + " --csv " + path("runs.csv"));
  ASSERT_EQ(runs.code, 0) << runs.output;
  const auto table = scalelab::read_csv(path("runs.csv"));
  ASSERT_EQ(table.rows(), 12u);
  for (std::size_t i = 0; i < table.rows(); ++i) {
    EXPECT_EQ(table.at(i, "status"), "done");
    EXPECT_EQ(table.at(i, "attempts"), "1");
    const double error = table.number(i, table.column("test_error"));
    EXPECT_TRUE(error > 0 && error < 2) << error;  // MSE over the labels' variance: above the floor 0
  }

  // Another dataset (the same grid on Fashion-MNIST): refused before anything runs.
  {
    std::ifstream in(path("ts.yaml"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text.replace(text.find("dataset: teacher-student"), 24, "dataset: fashion-mnist");
    std::ofstream(path("other.yaml")) << text;
  }
  const auto refused = run("theory teacher " + path("other.yaml") + " --dir " + path("other"));
  EXPECT_EQ(refused.code, 2) << refused.output;
  EXPECT_NE(refused.output.find("dataset"), std::string::npos) << refused.output;
  EXPECT_FALSE(fs::exists(path("other")));
}
