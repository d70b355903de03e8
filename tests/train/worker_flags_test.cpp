// The worker's flags that wrapped or were ignored (issue 14, finding 8): --seed -1 became 2^64 - 1 and
// --threads -1 was taken for "the default". Both are bad input: exit 2, nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>

#include "table/table.h"
#include "train/run_files.h"
#include "train/train.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;

class WorkerFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scalelab-worker-flags-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Runs the worker on a tiny synthetic run into dir_/run; returns its exit status.
  int worker(const std::string& args) {
    const std::string command = std::string(SCALELAB_BINARY_DIR) +
                                "/bin/scalelab-worker train --quiet --dataset synthetic --model mlp --width 0.125 "
                                "--depth 1 --data-count 100 --val-count 100 --epochs 1 --out " +
                                (dir_ / "run").string() + " " + args + " 2>" + (dir_ / "stderr").string();
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string err() const { return read_file(dir_ / "stderr"); }
  fs::path dir_;
};

TEST_F(WorkerFlags, NegativeSeedExitsTwoAndWritesNothing) {
  EXPECT_EQ(worker("--threads 1 --seed -1"), 2) << err();
  EXPECT_NE(err().find("--seed"), std::string::npos) << err();
  EXPECT_FALSE(fs::exists(dir_ / "run"));
  EXPECT_EQ(worker("--threads 1 --seed 1e30"), 2) << err();
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

TEST_F(WorkerFlags, ThreadsOutsideOneTo1024ExitTwoAndWriteNothing) {
  for (const char* threads : {"-1", "0", "100000"}) {
    EXPECT_EQ(worker(std::string("--seed 1 --threads ") + threads), 2) << threads << ": " << err();
    EXPECT_NE(err().find("--threads"), std::string::npos) << err();
    EXPECT_FALSE(fs::exists(dir_ / "run")) << threads;
  }
  // threads: -1 in the hparams.yaml it reads is no better.
  write_file_atomic(dir_ / "hparams.yaml", "dataset: synthetic\nmodel: mlp\nwidth: 0.125\ndepth: 1\ndata_count: 100\n"
                                           "val_count: 100\nepochs: 1\nseed: 1\nthreads: -1\n");
  EXPECT_EQ(worker("--config " + (dir_ / "hparams.yaml").string()), 2) << err();
  EXPECT_NE(err().find("threads"), std::string::npos) << err();
  EXPECT_FALSE(fs::exists(dir_ / "run"));
}

TEST_F(WorkerFlags, ASeedInRangeStillTrains) {
  EXPECT_EQ(worker("--threads 1 --seed 9223372036854775807"), 0) << err();
  EXPECT_TRUE(fs::exists(dir_ / "run" / "result.json"));
}

TEST(TrainConfigValidate, SeedsAtOrAbove2To63AreWrappedNegativesAndRejected) {
  TrainConfig c;
  c.seed = std::uint64_t(std::numeric_limits<std::int64_t>::max());
  EXPECT_NO_THROW(validate(c));
  c.seed = std::uint64_t(-1);  // what --seed -1 became
  try {
    validate(c);
    ADD_FAILURE() << "seed 2^64 - 1 accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "seed");
  }
}

}  // namespace
}  // namespace scalelab
