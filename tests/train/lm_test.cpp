// Language modelling end to end: a tiny transformer with AdamW learns a tiny text by heart, and a run on
// the dictionary corpus reports its loss per token, in bits too, with its sizes in the laws' units.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <numbers>
#include <string>

#include <nlohmann/json.hpp>

#include "table/table.h"
#include "train/adamw.h"
#include "train/run_files.h"
#include "train/step.h"
#include "train/train.h"

namespace scalelab {
namespace {

// Four blocks of 33 bytes of one text: 32 inputs and the 32 next bytes each. Full batch, 300 AdamW steps.
TEST(LanguageModel, TinyModelLearnsATinyTextToNearZeroLoss) {
  const std::string text =
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
      "foolishness, it was the epoch of belief";
  constexpr int kContext = 32;
  const auto bytes = torch::from_blob(const_cast<char*>(text.data()), {4 * (kContext + 1)}, torch::kUInt8).clone();
  const auto blocks = bytes.view({4, kContext + 1});
  const auto x = blocks.slice(1, 0, kContext), y = blocks.slice(1, 1);
  const ModelSpec spec{.family = "transformer", .width = 1, .depth = 2, .input_channels = 1, .input_height = 1,
                       .input_width = kContext, .classes = 256};
  torch::manual_seed(1);
  auto model = build_model(spec);
  model->train();
  AdamW optimizer(model->parameters(), 0.0);
  optimizer.set_lr(3e-3);
  StepStats first, last;
  for (int step = 0; step < 300; ++step) {
    last = train_step(*model, optimizer, x, y);
    if (step == 0) first = last;
    ASSERT_TRUE(std::isfinite(last.loss)) << "step " << step;
  }
  EXPECT_EQ(last.predictions, 4 * kContext);
  EXPECT_NEAR(first.loss, std::log(256.0), 0.5);  // starts near uniform over the bytes
  EXPECT_LT(last.loss, 0.05);                      // nats per byte: the text is known by heart
  EXPECT_EQ(last.wrong, 0);
}

TEST(LanguageModel, RunOnTheDictionaryReportsLossPerTokenInTheLawsUnits) {
  if (!std::filesystem::exists("/usr/share/dictd/gcide.dict.dz")) GTEST_SKIP() << "dict-gcide is not installed";
  TrainConfig config;
  config.dataset = "gcide-bytes";
  config.model = {.family = "transformer", .width = 0.5, .depth = 1};
  config.data_count = 256;
  config.val_count = 32;
  config.epochs = 4;
  config.batch_size = 32;
  config.optimizer = "adamw";
  config.lr = 1e-2;
  config.weight_decay = 0.1;
  config.warmup = 0.25;
  TrainingRun run(config);
  const RunResult result = run.run();
  ASSERT_EQ(result.status, "done");
  ASSERT_TRUE(result.best);
  EXPECT_TRUE(result.language_model);
  EXPECT_EQ(result.train_samples, 256);
  EXPECT_EQ(result.train_tokens, 256 * 64);
  const ModelSpec built{.family = "transformer", .width = 0.5, .depth = 1, .input_channels = 1, .input_height = 1,
                        .input_width = 64, .classes = 256};
  EXPECT_EQ(result.params, parameter_count(built));
  EXPECT_EQ(result.non_embedding_params, non_embedding_parameter_count(built));
  // 32 steps learn the bytes' frequencies at least: below uniform, above zero.
  EXPECT_LT(result.best->test_loss, std::log(256.0) - 1.0);
  EXPECT_GT(result.best->test_loss, 1.0);
  EXPECT_GT(result.best->test_error, 0.3);
  const auto json = nlohmann::json::parse(result_json(config, result));
  EXPECT_DOUBLE_EQ(json["test_bits_per_byte"].get<double>(), result.best->test_loss / std::numbers::ln2);
  EXPECT_EQ(json["train_tokens"], 256 * 64);
  EXPECT_EQ(json["hparams"]["optimizer"], "adamw");
}

// The pairing of families and datasets is checked before anything trains.
TEST(LanguageModel, TransformerOnImagesAndMlpOnBytesAreRefused) {
  TrainConfig config;
  config.dataset = "synthetic";
  config.model = {.family = "transformer", .width = 0.5, .depth = 1};
  EXPECT_THROW(TrainingRun{config}, InputError);
  if (!std::filesystem::exists("/usr/share/dictd/gcide.dict.dz")) return;
  config.dataset = "gcide-bytes";
  config.model = {.family = "mlp", .width = 0.5, .depth = 1};
  config.val_count = 10;
  EXPECT_THROW(TrainingRun{config}, InputError);
}

}  // namespace
}  // namespace scalelab
