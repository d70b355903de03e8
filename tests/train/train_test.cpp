// The trainer and the worker: learning, divergence, determinism, early stopping, the run directory.
// Most tests train on the built-in synthetic dataset (2,000 examples of 8x8) so they run in seconds
// and need no files; one learns a tiny Fashion-MNIST subset when the dataset is installed.
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>
#include <nlohmann/json.hpp>

#include "table/table.h"
#include "train/progress.h"
#include "train/run_files.h"
#include "train/train.h"
#include "util/duration.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;

TrainConfig synthetic(const std::string& family = "mlp") {
  TrainConfig c;
  c.dataset = "synthetic";
  c.model = {.family = family, .width = 0.25, .depth = family == "mlp" ? 1 : 10};
  c.data_count = 400;
  c.val_count = 200;
  c.epochs = 3;
  c.batch_size = 32;
  c.lr = 0.05;
  return c;
}

TEST(Trainer, TinyModelLearnsTinySubsetToNearZeroTrainingError) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.data_count = 100;
  c.epochs = 40;
  c.weight_decay = 0;
  const auto result = TrainingRun(c).run();
  ASSERT_EQ(result.status, "done");
  EXPECT_EQ(result.train_samples, 100);
  EXPECT_EQ(result.epochs_run, 40);
  EXPECT_LE(result.history.back().train_error, 0.01);
  EXPECT_LT(result.history.back().train_loss, 0.05);
  EXPECT_LT(result.history.back().train_loss, result.history.front().train_loss / 10);
  EXPECT_LT(result.best->test_error, 0.5);  // and generalises somewhat (chance is 0.9)
}

TEST(Trainer, LearnsTinyFashionMnistSubset) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "/usr/share/datasets/fashion-mnist is absent (Debian package dataset-fashion-mnist)";
  set_threads(1);
  TrainConfig c;
  c.model = {.family = "mlp", .width = 0.25, .depth = 1};
  c.data_count = 200;
  c.val_count = 500;
  c.epochs = 25;
  c.batch_size = 32;
  c.weight_decay = 0;
  const auto result = TrainingRun(c).run();
  ASSERT_EQ(result.status, "done");
  EXPECT_LE(result.history.back().train_error, 0.01);
  EXPECT_LT(result.best->test_error, 0.4);
}

TEST(Trainer, HugeLearningRateIsRecordedAsDiverged) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.lr = 1e12;
  c.momentum = 0;
  const auto result = TrainingRun(c).run();
  EXPECT_EQ(result.status, "diverged");
  ASSERT_TRUE(result.diverged_at_epoch.has_value());
  EXPECT_EQ(*result.diverged_at_epoch, result.epochs_run + 1);
  EXPECT_LT(result.epochs_run, c.epochs);
  const auto json = nlohmann::json::parse(result_json(c, result));
  EXPECT_EQ(json["status"], "diverged");
  EXPECT_EQ(json["diverged_at_epoch"], *result.diverged_at_epoch);
}

// Every epoch's numbers; test numbers exist only at the best epoch (NaN, which never compares equal,
// becomes -1 elsewhere).
std::vector<std::vector<double>> numbers_of(const RunResult& r) {
  std::vector<std::vector<double>> rows;
  auto tested = [](double v) { return std::isnan(v) ? -1.0 : v; };
  for (const auto& e : r.history)
    rows.push_back({e.train_loss, e.train_error, e.val_error, e.val_loss, tested(e.test_error), tested(e.test_loss), e.lr});
  return rows;
}

TEST(Trainer, SameSeedGivesIdenticalMetrics) {
  set_threads(1);
  for (const char* family : {"mlp", "wrn"}) {
    TrainConfig c = synthetic(family);
    c.epochs = 2;
    const auto a = TrainingRun(c).run(), b = TrainingRun(c).run();
    EXPECT_EQ(numbers_of(a), numbers_of(b)) << family;  // exactly, not approximately
    c.seed = 2;
    EXPECT_NE(numbers_of(a), numbers_of(TrainingRun(c).run())) << family;
  }
}

// The test set is evaluated once, at the end, with the best epoch's weights: only that epoch has test
// numbers, and they are the run's.
TEST(Trainer, TheTestSetIsEvaluatedOnlyForTheBestEpoch) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.epochs = 6;
  c.lr = 0.5;  // noisy enough that the last epoch is not the best one
  c.seed = 3;
  const auto result = TrainingRun(c).run();
  ASSERT_EQ(result.status, "done");
  ASSERT_TRUE(result.best);
  int tested = 0;
  for (const auto& e : result.history) {
    EXPECT_TRUE(std::isfinite(e.val_error)) << e.epoch;
    if (std::isfinite(e.test_error)) {
      ++tested;
      EXPECT_EQ(e.epoch, result.best_epoch);
      EXPECT_EQ(e.test_error, result.best->test_error);
      EXPECT_EQ(e.test_loss, result.best->test_loss);
    } else {
      EXPECT_TRUE(std::isnan(e.test_loss)) << e.epoch;
    }
  }
  EXPECT_EQ(tested, 1);
  EXPECT_LT(result.best_epoch, result.epochs_run) << "pick a seed or rate whose best epoch is not the last";
  const auto lines = metrics_jsonl(result.history);
  EXPECT_NE(lines.find("\"test_error\":null"), std::string::npos) << lines;
}

TEST(Trainer, EarlyStoppingStopsAfterPatience) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.epochs = 20;
  c.lr = 1e-12;  // nothing moves: the validation error never improves after epoch 1
  c.early_stopping = 2;
  const auto result = TrainingRun(c).run();
  EXPECT_EQ(result.status, "done");
  EXPECT_EQ(result.best_epoch, 1);
  EXPECT_EQ(result.epochs_run, 3);
}

TEST(Trainer, WithoutValidationTheLastEpochIsReported) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.val_count = 0;
  const auto result = TrainingRun(c).run();
  ASSERT_EQ(result.status, "done");
  EXPECT_EQ(result.best_epoch, c.epochs);
  EXPECT_TRUE(std::isnan(result.best->val_error));
  const auto json = nlohmann::json::parse(result_json(c, result));
  EXPECT_TRUE(json["val_error"].is_null());
  EXPECT_TRUE(json["test_error"].is_number());
  c.early_stopping = 2;
  EXPECT_THROW(validate(c), InputError);
}

TEST(Trainer, StepAndCosineSchedules) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.epochs = 4;
  c.schedule = "step";
  auto lrs = [](const RunResult& r) {
    std::vector<double> v;
    for (const auto& e : r.history) v.push_back(e.lr);
    return v;
  };
  const auto step = lrs(TrainingRun(c).run());
  ASSERT_EQ(step.size(), 4u);
  EXPECT_DOUBLE_EQ(step[0], 0.05);
  EXPECT_DOUBLE_EQ(step[1], 0.05);
  EXPECT_NEAR(step[2], 0.005, 1e-12);
  EXPECT_NEAR(step[3], 0.0005, 1e-12);
  c.schedule = "cosine";
  const auto cosine = lrs(TrainingRun(c).run());
  for (std::size_t i = 1; i < cosine.size(); ++i) EXPECT_LT(cosine[i], cosine[i - 1]);
  EXPECT_LT(cosine.back(), 0.05 * 0.01);  // close to zero at the last step
}

TEST(Trainer, BadInputIsInputError) {
  TrainConfig c = synthetic();
  c.val_count = 5000;  // more than the 2,000 synthetic examples
  EXPECT_THROW(TrainingRun{c}, InputError);
  c = synthetic();
  c.schedule = "linear";
  EXPECT_THROW(validate(c), InputError);
  c = synthetic();
  c.device = "cuda";
  if (!cuda_available()) EXPECT_THROW(TrainingRun{c}, InputError);
}

// precision bf16: the forward passes run under bfloat16 autocast (on the CPU here; on CUDA where a GPU
// is visible): the run still learns, its arithmetic differs from fp32's, and autocast is off after it.
TEST(Trainer, Bf16AutocastTrainsAndIsScopedToTheRun) {
  set_threads(1);
  TrainConfig c = synthetic();
  c.epochs = 5;
  const auto fp32 = TrainingRun(c).run();
  c.precision = "bf16";
  const auto bf16 = TrainingRun(c).run();
  ASSERT_EQ(bf16.status, "done");
  EXPECT_LT(bf16.best->test_error, 0.5);  // chance is 0.9
  EXPECT_NE(bf16.history.front().train_loss, fp32.history.front().train_loss);
  EXPECT_NEAR(bf16.history.front().train_loss, fp32.history.front().train_loss, 0.1);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_FALSE(at::autocast::is_enabled());
  c.precision = "fp16";
  EXPECT_THROW(validate(c), InputError);
  if (cuda_available()) {
    c.precision = "bf16";
    c.device = "cuda";
    const auto gpu = TrainingRun(c).run();
    EXPECT_EQ(gpu.status, "done");
    EXPECT_LT(gpu.best->test_error, 0.5);
  }
}

TEST(RunFiles, HparamsRoundTrip) {
  TrainConfig c = synthetic("wrn");
  c.model.width = 0.375;
  c.data_count.reset();
  c.data_fraction = 0.0625;
  c.seed = 11;
  c.weight_decay = 1e-4;
  c.schedule = "step";
  c.early_stopping = 3;
  const TrainConfig back = parse_hparams(hparams_yaml(c), "test");
  EXPECT_EQ(hparams_yaml(back), hparams_yaml(c));
  EXPECT_EQ(back.model.family, "wrn");
  EXPECT_EQ(back.model.width, 0.375);
  EXPECT_EQ(back.data_fraction, 0.0625);
  EXPECT_FALSE(back.data_count.has_value());
  EXPECT_EQ(back.seed, 11u);
}

TEST(RunFiles, UnknownKeyAndBadValueNameFileLineAndKey) {
  try {
    parse_hparams("model: mlp\nlearning_rate: 0.1\n", "h.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "h.yaml");
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.field(), "learning_rate");
  }
  try {
    parse_hparams("model: mlp\nepochs: ten\n", "h.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "epochs");
    EXPECT_EQ(e.line(), 2);
  }
  EXPECT_THROW(parse_hparams("epochs: 2.5\n", "h.yaml"), InputError);
  int threads = 0;
  parse_hparams("threads: 3\nlr: 1e-3\n", "h.yaml", &threads);  // threads is accepted, not a hyperparameter
  EXPECT_EQ(threads, 3);
}

// The worker reads hparams.yaml as the sweep does: a repeated key, a second document or a complex key is
// an error, never a silently chosen value.
TEST(RunFiles, RepeatedKeysSecondDocumentsAndComplexKeysAreErrors) {
  try {
    parse_hparams("epochs: 2\nlr: 0.1\nepochs: 3\n", "h.yaml");
    FAIL() << "a repeated key was accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "epochs");
    EXPECT_EQ(e.line(), 3);
  }
  EXPECT_THROW(parse_hparams("epochs: 2\n---\nepochs: 3\n", "h.yaml"), InputError);
  EXPECT_THROW(parse_hparams("? [epochs]\n: 2\n", "h.yaml"), InputError);
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  {
    ProgressBar bar(out, "mlp", 2, 10, /*interactive=*/false);
    bar.step(1, 5, 0.9, 100);  // silent off a terminal
    bar.epoch_done(1, 0.8, 0.3, 1000);
    bar.finish("done");
  }
  std::fclose(out);
  const std::string s(text, size);
  std::free(text);
  EXPECT_EQ(s.find('\r'), std::string::npos);
  EXPECT_NE(s.find("epoch 1/2  train loss 0.8000  val error 0.3000  1000 samples/s"), std::string::npos) << s;
  EXPECT_EQ(format_duration(187), "3m07s");
}

// --- the worker executable --------------------------------------------------------------------

class Worker : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scalelab-worker-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  int worker(const std::string& args) {
    const std::string command =
        std::string(SCALELAB_BINARY_DIR) + "/bin/scalelab-worker train --quiet --threads 1 " + args + " 2>" +
        (dir_ / "stderr").string();
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  nlohmann::json json(const fs::path& file) { return nlohmann::json::parse(read_file(file)); }
  fs::path dir_;
};

TEST_F(Worker, WritesTheRunDirectory) {
  const auto out = dir_ / "run";
  ASSERT_EQ(worker("--dataset synthetic --model mlp --width 0.125 --depth 1 --data-count 300 --val-count 100 "
                   "--epochs 2 --seed 4 --save-best --out " + out.string()), 0) << read_file(dir_ / "stderr");
  EXPECT_GT(fs::file_size(out / "best.pt"), 0u);
  const auto result = json(out / "result.json");
  EXPECT_EQ(result["status"], "done");
  EXPECT_EQ(result["hparams"]["model"], "mlp");
  EXPECT_EQ(result["hparams"]["seed"], 4);
  EXPECT_EQ(result["train_samples"], 300);
  EXPECT_EQ(result["params"], parameter_count({.family = "mlp", .width = 0.125, .depth = 1, .input_height = 8, .input_width = 8}));
  EXPECT_EQ(result["epochs_run"], 2);
  for (const char* key : {"test_error", "test_loss", "val_error", "val_loss", "train_loss", "wall_s"})
    EXPECT_TRUE(result[key].is_number()) << key;
  const auto lines = read_file(out / "metrics.jsonl");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2);
  const auto config = read_hparams(out / "hparams.yaml");
  EXPECT_EQ(config.data_count, 300);
  EXPECT_EQ(config.epochs, 2);
}

TEST_F(Worker, ConfigFromTheRunDirectoryIsLeftAsWritten) {
  const auto out = dir_ / "run";
  fs::create_directories(out);
  const std::string yaml = "dataset: synthetic\nmodel: mlp\nwidth: 0.125\ndepth: 1\ndata_count: 200\nval_count: 100\nepochs: 1\n";
  write_file_atomic(out / "hparams.yaml", yaml);
  ASSERT_EQ(worker("--config " + (out / "hparams.yaml").string() + " --out " + out.string()), 0) << read_file(dir_ / "stderr");
  EXPECT_EQ(read_file(out / "hparams.yaml"), yaml);  // the sweep compares it byte for byte
  EXPECT_EQ(json(out / "result.json")["hparams"]["width"], 0.125);
}

TEST_F(Worker, DivergedRunExitsThree) {
  const auto out = dir_ / "run";
  EXPECT_EQ(worker("--dataset synthetic --width 0.125 --depth 1 --data-count 200 --val-count 100 --epochs 2 "
                   "--lr 1e12 --momentum 0 --out " + out.string()), 3);
  EXPECT_EQ(json(out / "result.json")["status"], "diverged");
}

TEST_F(Worker, BadInputExitsTwoAndWritesNothing) {
  const auto out = dir_ / "run";
  EXPECT_EQ(worker("--dataset synthetic --model wrn --depth 12 --out " + out.string()), 2);
  EXPECT_NE(read_file(dir_ / "stderr").find("depth"), std::string::npos);
  EXPECT_EQ(worker("--dataset nope --out " + out.string()), 2);
  EXPECT_EQ(worker("--dataset synthetic --data-fraction 2 --out " + out.string()), 2);
  EXPECT_EQ(worker("--dataset fashion-mnist --data-dir " + (dir_ / "empty").string() + " --out " + out.string()), 2);
  EXPECT_NE(read_file(dir_ / "stderr").find("train-images-idx3-ubyte.gz"), std::string::npos);
  EXPECT_EQ(worker("--no-such-flag --out " + out.string()), 2);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace scalelab
