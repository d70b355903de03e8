// Iterative magnitude pruning (src/prune): masks exact through training, global selection across
// layers, exact rewinding, densities of 0.8^k, and a trajectory that resumes level by level after
// kill -9. Everything trains on the synthetic dataset, so the suite runs in seconds.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/models.h"
#include "prune/imp.h"
#include "prune/masks.h"
#include "table/table.h"
#include "train/sgd.h"
#include "train/train.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("scalelab-prune-" + std::to_string(getpid()) + "-" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

TrainConfig synthetic_mlp(int levels = 0) {
  TrainConfig c;
  c.dataset = "synthetic";
  c.model = {.family = "mlp", .width = 0.125, .depth = 2};
  c.data_count = 600;
  c.val_count = 200;
  c.epochs = 4;
  c.batch_size = 32;
  c.momentum = 0.9;
  c.weight_decay = 5e-3;  // large, so a careless mask would visibly revive weights
  c.prune_levels = levels;
  return c;
}

ModelSpec synthetic_spec(const TrainConfig& c) {
  ModelSpec spec = c.model;
  spec.input_height = spec.input_width = 8;
  return spec;
}

std::shared_ptr<ClassifierImpl> load_model(const ModelSpec& spec, const fs::path& weights) {
  auto model = build_model(spec);
  torch::serialize::InputArchive archive;
  archive.load_from(weights.string());
  model->load(archive);
  return model;
}

// Non-zero entries of the model's own prunable weights (not of any mask).
std::int64_t nonzero_weights(torch::nn::Module& model, bool ends = true) {
  std::int64_t n = 0;
  for (const auto& [_, w] : prunable_parameters(model, ends)) n += w.count_nonzero().item<std::int64_t>();
  return n;
}

TEST(Masks, PrunableWeightsAreLinearAndConvolutionWeightsOnly) {
  auto mlp = build_model({.family = "mlp", .width = 0.125, .depth = 2});
  std::vector<std::string> names;
  for (const auto& [name, _] : prunable_parameters(*mlp, true)) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"hidden.0.weight", "hidden.1.weight", "classifier.weight"}));
  names.clear();
  for (const auto& [name, _] : prunable_parameters(*mlp, false)) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"hidden.1.weight"}));

  auto wrn = build_model({.family = "wrn", .width = 0.25, .depth = 10});
  std::int64_t total = 0;
  for (const auto& [name, w] : prunable_parameters(*wrn, true)) {
    EXPECT_TRUE(w.dim() == 4 || name == "classifier.weight") << name;  // convolutions and the classifier
    EXPECT_EQ(name.find("bn"), std::string::npos) << name;              // never batch norm
    total += w.numel();
  }
  std::int64_t weights = 0;
  for (const auto& p : wrn->named_parameters())
    if (p.value().dim() >= 2) weights += p.value().numel();
  EXPECT_EQ(total, weights);
}

// The torch-free count (models/spec.h, which the design query uses) is what IMP prunes in the built
// module, for every family, with and without the first and output layers.
TEST(Masks, TheRegistrysPrunableCountIsWhatImpPrunes) {
  for (const ModelSpec& spec : {ModelSpec{.family = "mlp", .width = 0.0625, .depth = 1},
                                ModelSpec{.family = "mlp", .width = 0.25, .depth = 3},
                                ModelSpec{.family = "wrn", .width = 0.25, .depth = 10},
                                ModelSpec{.family = "wrn", .width = 0.5, .depth = 16}})
    for (bool ends : {true, false}) {
      auto model = build_model(spec);
      std::int64_t built = 0;
      for (const auto& [_, w] : prunable_parameters(*model, ends)) built += w.numel();
      EXPECT_EQ(prunable_weights(spec, ends), built) << spec.family << " " << spec.width << " " << spec.depth << " " << ends;
    }
}

// A hand-made model of two layers: global selection keeps the largest magnitudes wherever they are.
struct TwoLayers : torch::nn::Module {
  torch::nn::Linear a{nullptr}, b{nullptr};
  TwoLayers() {
    a = register_module("a", torch::nn::Linear(3, 2));  // 6 weights: 1 .. 6 (signs alternate)
    b = register_module("b", torch::nn::Linear(2, 2));  // 4 weights: 10 .. 13
    torch::NoGradGuard no_grad;
    a->weight.copy_(torch::tensor({{1.f, -2.f, 3.f}, {-4.f, 5.f, -6.f}}));
    b->weight.copy_(torch::tensor({{-10.f, 11.f}, {12.f, -13.f}}));
  }
};

TEST(Masks, GlobalSelectionAcrossLayers) {
  TwoLayers model;
  const auto weights = prunable_parameters(model, true);
  ASSERT_EQ(weights.size(), 2u);
  // Keep 5 of 10: all four of b, and a's largest (|-6|).
  Masks masks = magnitude_masks(weights, {}, 5);
  EXPECT_EQ(masks.at("b.weight").sum().item<float>(), 4);
  EXPECT_EQ(masks.at("a.weight").sum().item<float>(), 1);
  EXPECT_EQ(masks.at("a.weight")[1][2].item<float>(), 1);
  // From those 5, keep 2: b's two largest (13, 12); a loses its last one. Pruned weights never return,
  // whatever their value now.
  {
    torch::NoGradGuard no_grad;
    model.a->weight.fill_(100);  // larger than anything, but pruned before: stays pruned
    model.a->weight[1][2] = 1;
  }
  masks = magnitude_masks(weights, masks, 2);
  EXPECT_EQ(kept_count(masks), 2);
  EXPECT_EQ(masks.at("a.weight").sum().item<float>(), 0);
  EXPECT_EQ(masks.at("b.weight")[1][0].item<float>(), 1);
  EXPECT_EQ(masks.at("b.weight")[1][1].item<float>(), 1);
  // Ties go to the earlier weight.
  TwoLayers tied;
  {
    torch::NoGradGuard no_grad;
    tied.a->weight.fill_(1);
    tied.b->weight.fill_(1);
  }
  const Masks first = magnitude_masks(prunable_parameters(tied, true), {}, 7);
  EXPECT_EQ(first.at("a.weight").sum().item<float>(), 6);
  EXPECT_EQ(first.at("b.weight").sum().item<float>(), 1);
  EXPECT_EQ(first.at("b.weight")[0][0].item<float>(), 1);
}

TEST(Masks, SgdKeepsPrunedWeightsExactlyZeroWithMomentumAndWeightDecay) {
  torch::manual_seed(0);
  auto model = build_model({.family = "mlp", .width = 0.125, .depth = 2, .input_height = 8, .input_width = 8});
  const auto weights = prunable_parameters(*model, true);
  std::int64_t total = 0;
  for (const auto& [_, w] : weights) total += w.numel();
  const Masks masks = magnitude_masks(weights, {}, total / 3);
  std::vector<torch::Tensor> per_parameter;
  for (const auto& p : model->named_parameters())
    per_parameter.push_back(masks.count(p.key()) ? masks.at(p.key()) : torch::Tensor());
  Sgd sgd(model->parameters(), 0.9, 5e-2, per_parameter);
  sgd.set_lr(0.1);
  for (int step = 0; step < 50; ++step) {
    sgd.zero_grad();
    const auto x = torch::randn({16, 1, 8, 8});
    // Gradients everywhere, pruned weights included: the mask, not the gradient, must hold them.
    model->forward(x).pow(2).sum().backward();
    sgd.step();
  }
  EXPECT_EQ(nonzero_weights(*model), total / 3);
  for (const auto& [name, w] : weights)
    EXPECT_EQ((w * (1 - masks.at(name))).abs().sum().item<float>(), 0) << name;
}

// The worker on a synthetic trajectory: what the levels hold.
class Trajectory : public ::testing::Test {
 protected:
  TempDir tmp;
  int worker(const TrainConfig& c, const fs::path& out, const std::string& extra = "") {
    const std::string command = fmt::format(
        "{}/bin/scalelab-worker train --threads 1 --dataset synthetic --model mlp --width {} --depth {} "
        "--data-count {} --val-count {} --epochs {} --batch-size {} --weight-decay {} --prune-levels {} {} --out {} "
        ">>{} 2>&1",
        SCALELAB_BINARY_DIR, c.model.width, c.model.depth, *c.data_count, c.val_count, c.epochs, c.batch_size,
        c.weight_decay, c.prune_levels, extra, out.string(), (tmp.path / "log").string());
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  json result(const fs::path& out) { return json::parse(read_file(out / "result.json")); }
};

TEST_F(Trajectory, DensityIsPoint8ToTheKAndTheTrainedWeightsHoldIt) {
  const TrainConfig c = synthetic_mlp(6);
  const auto out = tmp.path / "run";
  ASSERT_EQ(worker(c, out), 0) << read_file(tmp.path / "log");
  const auto r = result(out);
  const std::int64_t prunable = r["prunable_weights"];
  const std::int64_t params = r["params"];
  ASSERT_EQ(r["levels"].size(), 7u);
  for (int k = 0; k <= 6; ++k) {
    const auto& level = r["levels"][k];
    const std::int64_t remaining = level["remaining_weights"];
    EXPECT_EQ(level["level"], k);
    EXPECT_LE(std::abs(double(remaining) - std::pow(0.8, k) * double(prunable)), 0.5) << k;  // within one weight
    EXPECT_EQ(remaining, weights_at_level(prunable, 0.2, k));
    EXPECT_EQ(level["remaining_params"], remaining + (params - prunable));
    EXPECT_DOUBLE_EQ(level["density"].get<double>(), double(remaining) / double(prunable));
    EXPECT_TRUE(level["test_error"].is_number()) << k;
    // The trained weights themselves (not the mask) have exactly that many non-zeros.
    if (k < 6) {
      auto model = load_model(synthetic_spec(c), out / "levels" / fmt::format("level_{:02d}", k) / "final.pt");
      EXPECT_EQ(nonzero_weights(*model), remaining) << "level " << k;
    }
  }
  EXPECT_EQ(r["test_error"], r["levels"][0]["test_error"]);  // the run's own numbers: the dense network's
}

TEST_F(Trajectory, RewindingRestoresExactlyTheSavedValues) {
  const TrainConfig c = synthetic_mlp(1);
  const auto out = tmp.path / "run";
  ASSERT_EQ(worker(c, out), 0) << read_file(tmp.path / "log");
  const auto level0 = out / "levels" / "level_00", level1 = out / "levels" / "level_01";
  // A run started from the rewind point with the level's mask, snapshotting its weights before its
  // first step: they are the rewind weights times the mask, bit for bit.
  TrainConfig again = c;
  again.prune_levels = 0;
  RunOptions o;
  o.start_weights = level0 / "rewind.pt";
  o.mask = level1 / "mask.pt";
  o.start_step = 5;
  o.snapshot_step = 5;
  o.snapshot = tmp.path / "start.pt";
  TrainingRun(again, o).run();
  auto rewound = load_model(synthetic_spec(c), level0 / "rewind.pt");
  auto started = load_model(synthetic_spec(c), tmp.path / "start.pt");
  const Masks masks = load_masks(level1 / "mask.pt");
  const auto a = rewound->named_parameters(), b = started->named_parameters();
  for (const auto& p : a) {
    const auto expected = masks.count(p.key()) ? p.value() * masks.at(p.key()) : p.value();
    EXPECT_TRUE(torch::equal(b[p.key()], expected)) << p.key();
  }
  // And the rewind point is not the initialisation: training moved the weights before it.
  torch::manual_seed(c.seed);
  auto initial = build_model(synthetic_spec(c));
  EXPECT_FALSE(torch::equal(initial->named_parameters()["hidden.0.weight"], a["hidden.0.weight"]));
}

// kill -9 inside level 2, then run again: levels 0 and 1 are kept (not retrained), level 2 restarts
// from its start, and every number equals an uninterrupted trajectory's.
TEST_F(Trajectory, KillNineInsideALevelResumesWithoutRetrainingFinishedLevels) {
  TrainConfig c = synthetic_mlp(4);
  c.epochs = 60;  // a level lasts long enough to be killed inside
  const auto clean = tmp.path / "clean", killed = tmp.path / "killed";
  ASSERT_EQ(worker(c, clean), 0) << read_file(tmp.path / "log");

  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    _exit(worker(c, killed));
  }
  const auto level2 = killed / "levels" / "level_02";
  for (int t = 0; t < 20000 && !fs::exists(level2 / "mask.pt"); t += 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(fs::exists(level2 / "mask.pt")) << "level 2 never started";
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_FALSE(fs::exists(killed / "result.json"));
  ASSERT_FALSE(fs::exists(level2 / "result.json")) << "killed too late: level 2 had finished";
  const auto kept0 = read_file(killed / "levels" / "level_00" / "result.json");
  const auto kept1 = read_file(killed / "levels" / "level_01" / "result.json");
  const auto mtime1 = fs::last_write_time(killed / "levels" / "level_01" / "final.pt");

  fs::remove(tmp.path / "log");
  ASSERT_EQ(worker(c, killed), 0) << read_file(tmp.path / "log");
  const std::string log = read_file(tmp.path / "log");
  EXPECT_NE(log.find("[level 0] finished earlier"), std::string::npos) << log;
  EXPECT_NE(log.find("[level 1] finished earlier"), std::string::npos) << log;
  EXPECT_EQ(log.find("[level 2] finished earlier"), std::string::npos) << log;
  EXPECT_EQ(read_file(killed / "levels" / "level_00" / "result.json"), kept0);
  EXPECT_EQ(read_file(killed / "levels" / "level_01" / "result.json"), kept1);
  EXPECT_EQ(fs::last_write_time(killed / "levels" / "level_01" / "final.pt"), mtime1);

  // Same numbers as the run that was never killed (wall times aside).
  auto numbers = [](json r) {
    for (auto& level : r["levels"]) level.erase("wall_s");
    return r["levels"];
  };
  EXPECT_EQ(numbers(result(killed)), numbers(result(clean)));
}

TEST_F(Trajectory, NothingToPruneIsBadInput) {
  TrainConfig c = synthetic_mlp(2);
  c.model.depth = 1;  // the first layer is the only hidden one: with prune_ends 0 nothing is left
  EXPECT_EQ(worker(c, tmp.path / "run", "--prune-ends 0"), 2);
  EXPECT_NE(read_file(tmp.path / "log").find("prune_ends"), std::string::npos);
}

}  // namespace
}  // namespace scalelab
