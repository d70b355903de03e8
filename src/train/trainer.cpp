// The training loop. Everything here runs on the device the config names; nothing assumes the CPU
// beyond reading labels once, before the data moves.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <numbers>
#include <numeric>

#include <fmt/core.h>
#include <torch/torch.h>  // the precompiled header: free here
#include <ATen/autocast_mode.h>

#include "data/dataset.h"
#include "data/subset.h"
#include "models/models.h"
#include "table/table.h"
#include "train/adamw.h"
#include "train/progress.h"
#include "train/step.h"
#include "train/train.h"
#include "train/weights.h"
#include "util/duration.h"

namespace scalelab {

// validate(const TrainConfig&) is in run_files.cpp: torch-free, driven by the schema.

bool cuda_available() { return torch::cuda::is_available(); }

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's ceiling; larger blocks are rare and long-lived
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

namespace {

// What every run of one dataset, seed and validation size shares: the stratified order its subsets
// are drawn from and the validation examples (15.7 MB of Fashion-MNIST to gather). A worker zygote
// fills this before it forks (preload_run), so each run finds both ready; otherwise the first run of
// a process fills it. A few entries only: a sweep over many seeds recomputes the older ones.
struct SeedSplit {
  std::vector<std::int64_t> order;
  Examples val;
};

const SeedSplit& seed_split(const Dataset& data, std::uint64_t seed, std::int64_t val_count) {
  struct Entry {
    const Dataset* data;
    std::uint64_t seed;
    std::int64_t val_count;
    SeedSplit split;
  };
  static std::deque<Entry> cache;
  for (const auto& e : cache)
    if (e.data == &data && e.seed == seed && e.val_count == val_count) return e.split;
  SeedSplit split;
  if (data.info().task == Task::language_model) {
    // The corpus's blocks come in a fixed order already (data/subset.h split_byte_blocks): validation and
    // training subsets are its prefixes, the same for every seed (the seed moves initialisation and batches).
    split.order.resize(std::size_t(data.train().size()));
    std::iota(split.order.begin(), split.order.end(), std::int64_t{0});
  } else if (data.info().task == Task::classification) {
    const auto& labels = data.train().labels;
    const std::vector<std::int64_t> label_list(labels.data_ptr<std::int64_t>(),
                                               labels.data_ptr<std::int64_t>() + labels.numel());
    split.order = stratified_order(label_list, data.info().classes, seed);
  } else {
    // Regression: no classes to stratify: one class, so the order is a seeded permutation (still nested).
    split.order = stratified_order(std::vector<std::int64_t>(std::size_t(data.train().size()), 0), 1, seed);
  }
  // The validation split alone: subset_size checks it like any request.
  const auto val = split_of_order(split.order, {.fraction = std::nullopt, .count = 1, .val_count = val_count, .seed = seed}).val;
  split.val = data.train().select(val);
  constexpr std::size_t kKept = 8;
  if (cache.size() == kKept) cache.pop_front();
  cache.push_back({&data, seed, val_count, std::move(split)});
  return cache.back().split;
}

}  // namespace

void preload_run(const TrainConfig& config, const std::filesystem::path& data_root) {
  const auto data = shared_dataset(config.dataset, data_root);
  seed_split(*data, config.seed, config.val_count);
}

int set_threads(int threads) {
  // One thread unless asked: on the 2-core machines two OpenMP threads ran 2.5x (WRN) to 7x (MLP)
  // slower than one, even idle (docs/training.md). A sweep gets throughput from parallel jobs instead.
  const int n = threads > 0 ? threads : 1;
  torch::set_num_threads(n);  // also OpenBLAS's OpenMP pool: both run in the same threads
  try {
    // Inter-op parallelism only helps graphs with independent branches; ours are chains.
    torch::set_num_interop_threads(1);
  } catch (const std::exception&) {
    // Already fixed by earlier parallel work; harmless.
  }
  return n;
}

// The training subset is never copied out of the dataset: a run's batches gather their rows from the
// whole training set through the subset's indices (a copy of 55,000 rows cost 0.2 s a run, and a
// forked run shares the dataset's pages with its zygote as long as it only reads them).
struct TrainingSubset {
  Examples all;           // the dataset's whole training set
  torch::Tensor indices;  // int64: the subset's rows of `all`, in stratified order
  std::int64_t size() const { return indices.size(0); }
};

struct TrainingRun::State {
  TrainConfig config;
  torch::Device device = torch::kCPU;
  TrainingSubset train;
  Examples val, test;
  std::shared_ptr<ClassifierImpl> model;
  std::int64_t params = 0;
  bool language_model = false;
  std::FILE* progress = nullptr;
  std::filesystem::path checkpoint;
  RunOptions options;            // the pruning options: start, mask, snapshot, final weights
  std::vector<torch::Tensor> masks;  // one per model parameter, undefined where none (Sgd's order)
  Task task = Task::classification;
  // Regression: the error is the MSE over this, the variance of the labels over the dataset's whole
  // training set (averaged over outputs), so predicting the mean scores about 1 on any split.
  double label_variance = 1;
};

namespace {

// The run's masks in the optimizer's order (one per parameter, undefined where none).
std::vector<torch::Tensor> masks_by_parameter(torch::nn::Module& model, const std::filesystem::path& path) {
  const Masks stored = load_masks(path);
  std::vector<torch::Tensor> masks;
  int found = 0;
  for (const auto& item : model.named_parameters()) {
    torch::Tensor mask;
    if (auto it = stored.find(item.key()); it != stored.end()) {
      mask = it->second;
      if (mask.sizes() != item.value().sizes())
        throw InputError(path.string(), 0, item.key(), "mask's shape differs from the parameter's");
      ++found;
    }
    masks.push_back(mask);
  }
  if (found == 0) throw InputError(path.string(), 0, "", "no mask of any parameter of this model");
  return masks;
}

}  // namespace

TrainingRun::TrainingRun(const TrainConfig& config, const RunOptions& options) : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.config = config;
  s.progress = options.progress;
  s.checkpoint = options.checkpoint;
  s.options = options;
  validate(config);
  if (options.start_step < 0 || (options.snapshot_step >= 0) != !options.snapshot.empty())
    throw std::invalid_argument("RunOptions: start_step >= 0, and snapshot_step with snapshot");
  keep_freed_memory();
  if (config.device == "cuda") {
    if (!cuda_available())
      throw InputError("--device", 0, "device",
                       "cuda asked for, but this libtorch has no CUDA or no GPU is visible (use --device cpu)");
    s.device = torch::Device(torch::kCUDA);
  }

  const auto data = shared_dataset(config.dataset, options.data_root);  // read once per zygote
  const auto& info = data->info();
  s.task = info.task;
  if (s.task == Task::regression) s.label_variance = data->train().labels.to(torch::kFloat64).var(0).mean().item<double>();
  ModelSpec& spec = s.config.model;
  spec.input_channels = info.channels;
  spec.input_height = info.height;
  spec.input_width = info.width;
  spec.classes = info.classes;
  validate(spec);
  s.language_model = info.task == Task::language_model;
  if (s.language_model != is_language_model_family(*find_model_family(spec.family)))
    throw InputError("hparams", 0, "model",
                     fmt::format("model '{}' cannot train on dataset '{}': {}", spec.family, config.dataset,
                                 s.language_model ? "a language-model dataset needs a language-model family (transformer)"
                                                  : "a transformer needs a language-model dataset (gcide-bytes)"));
  if (!options.mask.empty() && config.optimizer != "sgd")
    throw InputError("hparams", 0, "optimizer", "pruning masks are kept exact by sgd only");

  const SubsetRequest request{config.data_fraction, config.data_count, config.val_count, config.seed};
  subset_size(data->train().size(), request);  // a bad request fails before any work
  const SeedSplit& seeded = seed_split(*data, config.seed, config.val_count);
  const auto split = split_of_order(seeded.order, request);
  auto to_device = [&](Examples e) { return Examples{e.inputs.to(s.device), e.labels.to(s.device)}; };
  s.train = {to_device(data->train()), torch::tensor(split.train, torch::kInt64).to(s.device)};
  s.val = to_device(seeded.val);
  s.test = to_device(data->test());

  torch::manual_seed(config.seed);
  s.model = build_model(spec);
  s.model->to(s.device);
  s.params = count_parameters(*s.model);
  if (s.params != parameter_count(spec))  // models/spec.cpp and models.cpp disagree: a bug, not input
    throw std::logic_error(fmt::format("built model has {} parameters, parameter_count says {}", s.params,
                                       parameter_count(spec)));
  if (!options.start_weights.empty()) load_weights(*s.model, options.start_weights);
  if (!options.mask.empty()) s.masks = masks_by_parameter(*s.model, options.mask);
}

TrainingRun::~TrainingRun() = default;
std::int64_t TrainingRun::params() const { return state_->params; }
std::int64_t TrainingRun::train_samples() const { return state_->train.size(); }
std::int64_t TrainingRun::total_steps() const {
  const auto& s = *state_;
  return (s.train.size() + s.config.batch_size - 1) / s.config.batch_size * s.config.epochs;
}

namespace {

struct Evaluation {
  double error, loss;
};

// Regression: the loss is the MSE, the error the MSE over the labels' variance.
Evaluation evaluate_regression(ClassifierImpl& model, const Examples& examples, double label_variance) {
  torch::NoGradGuard no_grad;
  model.eval();
  constexpr std::int64_t kBatch = 1024;
  auto squared = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(examples.labels.device()));
  for (std::int64_t b = 0; b < examples.size(); b += kBatch) {
    const auto e = std::min(examples.size(), b + kBatch);
    const auto residual = model.forward(examples.inputs.slice(0, b, e)).to(torch::kFloat64) -
                          examples.labels.slice(0, b, e).to(torch::kFloat64);
    squared += residual.square().sum();
  }
  const double mse = squared.item<double>() / double(examples.labels.numel());
  return {mse / label_variance, mse};
}

Evaluation evaluate_classification(ClassifierImpl& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  model.eval();
  // Larger batches are slower per example on CPU here (activations outgrow the cache: WRN-10-0.25
  // evaluated 2,200 examples/s in batches of 128 and 900/s in batches of 1000).
  constexpr std::int64_t kBatch = 256;
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(examples.labels.device()));
  auto wrong = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(examples.labels.device()));
  std::int64_t predictions = 0;  // examples; a language model's tokens: its loss is per token
  for (std::int64_t b = 0; b < examples.size(); b += kBatch) {
    const auto e = std::min(examples.size(), b + kBatch);
    const auto [logits, y] = predictions_of(model.forward(examples.inputs.slice(0, b, e)), examples.labels.slice(0, b, e));
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kFloat64);
    wrong += logits.argmax(1).ne(y).sum();
    predictions += y.numel();
  }
  const double n = double(predictions);
  return {wrong.item<double>() / n, loss_sum.item<double>() / n};
}

// How a run scores its predictions: by its dataset's task.
struct Scoring {
  Task task = Task::classification;
  double label_variance = 1;  // regression: the error's denominator
};

Evaluation evaluate(ClassifierImpl& model, const Examples& examples, const Scoring& scoring) {
  return scoring.task == Task::regression ? evaluate_regression(model, examples, scoring.label_variance)
                                          : evaluate_classification(model, examples);
}

// Learning rate at a step (0-based) of an epoch (0-based). Cosine with warm-up: linear from lr/w to lr
// over the first w = round(warmup x total) steps, then the cosine from lr to 0 over the rest.
double learning_rate(const TrainConfig& c, std::int64_t step, std::int64_t total_steps, int epoch) {
  if (c.schedule == "cosine") {
    const auto warm = std::int64_t(std::llround(c.warmup * double(total_steps)));
    if (step < warm) return c.lr * double(step + 1) / double(warm);
    return c.lr * 0.5 * (1 + std::cos(std::numbers::pi * double(step - warm) / double(total_steps - warm)));
  }
  double lr = c.lr;  // step: divide by 10 at half and at three quarters of the epochs
  if (epoch >= c.epochs / 2.0) lr *= 0.1;
  if (epoch >= c.epochs * 0.75) lr *= 0.1;
  return lr;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Where the run stands in its steps: the learning rate follows the step over all epochs.
struct StepCounter {
  std::int64_t per_epoch = 0, total = 0;
  std::int64_t done = 0;  // steps taken so far, over all epochs
};

// One pass over the training set in a fresh random order, the last learning rate it used, and
// whether the loss stopped being finite (the pass ends there).
struct EpochPass {
  double loss_sum = 0, lr = 0;
  std::int64_t wrong = 0, seen = 0, predictions = 0;
  bool diverged = false;
  double seconds = 0;
};

// Called before each step with the number of steps taken so far (the rewind snapshot).
using BeforeStep = std::function<void(std::int64_t steps_taken)>;

// `skip` batches of the epoch's order are left out: they were taken before the run's start step.
EpochPass train_epoch(ClassifierImpl& model, Optimizer& optimizer, const TrainingSubset& train, const TrainConfig& c,
                      at::Generator& order_generator, torch::Device device, int epoch, StepCounter& steps,
                      ProgressBar& bar, std::int64_t skip, const BeforeStep& before_step, Task task) {
  model.train();
  const auto epoch_start = Clock::now();
  const std::int64_t m = train.size();
  const auto order = torch::randperm(m, order_generator, torch::kInt64).to(device);
  const auto rows = train.indices.index_select(0, order);  // the epoch's order, as rows of the whole set
  EpochPass pass;
  pass.lr = c.lr;
  for (std::int64_t b = skip * c.batch_size; b < m; b += c.batch_size, ++steps.done) {
    if (before_step) before_step(steps.done);
    pass.lr = learning_rate(c, steps.done, steps.total, epoch - 1);
    optimizer.set_lr(pass.lr);
    const auto index = rows.slice(0, b, std::min(m, b + c.batch_size));
    const auto x = train.all.inputs.index_select(0, index);
    const auto y = train.all.labels.index_select(0, index);
    const StepStats stats =
        task == Task::regression ? regression_step(model, optimizer, x, y) : train_step(model, optimizer, x, y);
    if (!std::isfinite(stats.loss)) {
      pass.diverged = true;
      break;
    }
    const auto n = index.size(0);
    pass.loss_sum += stats.loss * double(n);
    pass.wrong += stats.wrong;
    pass.predictions += stats.predictions;
    pass.seen += n;
    bar.step(epoch, steps.done % steps.per_epoch + 1, pass.loss_sum / double(pass.seen),
             double(pass.seen) / seconds_since(epoch_start));
  }
  pass.seconds = seconds_since(epoch_start);
  return pass;
}

// The epoch's metrics: the pass's training loss and error and the validation set evaluated. The test
// set is evaluated once, at the end, with the best epoch's weights (test_best_epoch): its numbers are
// reported only for that epoch, and evaluating it every epoch cost a third of the demo's FLOPs.
EpochMetrics epoch_metrics(ClassifierImpl& model, const Examples& val, int epoch, const EpochPass& pass,
                           Clock::time_point run_start, const Scoring& scoring) {
  EpochMetrics e;
  e.epoch = epoch;
  e.train_loss = pass.loss_sum / double(pass.seen);
  e.train_error = scoring.task == Task::regression ? e.train_loss / scoring.label_variance
                                                    : double(pass.wrong) / double(pass.predictions);
  // Without a validation split (val_count 0) its metrics are NaN (null in JSON), and the last
  // epoch counts as the best.
  const auto val_eval = val.size() > 0 ? evaluate(model, val, scoring) : Evaluation{NAN, NAN};
  e.val_error = val_eval.error;
  e.val_loss = val_eval.loss;
  e.test_error = e.test_loss = NAN;  // not evaluated (yet)
  e.lr = pass.lr;
  e.wall_s = seconds_since(run_start);
  e.samples_per_s = double(pass.seen) / pass.seconds;
  return e;
}

// The weights of the best epoch so far, kept in memory: parameters and buffers (batch-norm
// statistics), copied exactly.
class BestWeights {
 public:
  void keep(ClassifierImpl& model) {
    torch::NoGradGuard no_grad;
    const auto tensors = all_tensors(model);
    if (kept_.empty())
      for (const auto& t : tensors) kept_.push_back(torch::empty_like(t));
    for (std::size_t i = 0; i < tensors.size(); ++i) kept_[i].copy_(tensors[i]);
  }
  void restore(ClassifierImpl& model) const {
    torch::NoGradGuard no_grad;
    auto tensors = all_tensors(model);
    for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].copy_(kept_[i]);
  }
  bool empty() const { return kept_.empty(); }

 private:
  static std::vector<torch::Tensor> all_tensors(ClassifierImpl& model) {
    auto tensors = model.parameters();
    for (auto& b : model.buffers()) tensors.push_back(b);
    return tensors;
  }
  std::vector<torch::Tensor> kept_;
};

// Weights can overflow without the training loss showing it yet.
bool evaluation_diverged(const EpochMetrics& e, bool has_val) { return has_val && !std::isfinite(e.val_loss); }

// Keeps the epoch; a new best (by validation error, or the last one without validation) keeps its
// weights.
void record_epoch(RunResult& result, const EpochMetrics& e, bool has_val, ClassifierImpl& model, BestWeights& best) {
  result.history.push_back(e);
  result.epochs_run = e.epoch;
  if (!result.best || e.val_error < result.best->val_error || !has_val) {
    result.best = e;
    result.best_epoch = e.epoch;
    best.keep(model);
  }
}

// The test set, evaluated once with the best epoch's weights (left in the model); its numbers go into
// that epoch's metrics. A loss that is not finite there means the run diverged at that epoch, as a
// non-finite validation loss would have.
void test_best_epoch(RunResult& result, ClassifierImpl& model, const BestWeights& best, const Examples& test,
                     const std::filesystem::path& checkpoint, const Scoring& scoring) {
  if (!result.best || best.empty()) return;
  best.restore(model);
  const Evaluation t = evaluate(model, test, scoring);
  if (!std::isfinite(t.loss)) {
    result.status = "diverged";
    result.diverged_at_epoch = result.best_epoch;
    return;
  }
  result.best->test_error = t.error;
  result.best->test_loss = t.loss;
  for (auto& e : result.history)
    if (e.epoch == result.best_epoch) e.test_error = t.error, e.test_loss = t.loss;
  if (!checkpoint.empty()) save_weights(model, checkpoint);
}

}  // namespace

namespace {

// precision bf16: every forward pass of the run (training and evaluation) under autocast to bfloat16
// on the run's device; weights, gradients and the optimizer stay fp32 (autocast keeps the loss in
// fp32). The state is per thread: set for the run, put back after it.
class AutocastScope {
 public:
  AutocastScope(const std::string& precision, torch::Device device) {
    if (precision != "bf16") return;
    active_ = true;
    cuda_ = device.is_cuda();
    was_enabled_ = cuda_ ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    was_dtype_ = cuda_ ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
  }
  ~AutocastScope() {
    if (!active_) return;
    at::autocast::clear_cache();
    if (cuda_) {
      at::autocast::set_enabled(was_enabled_);
      at::autocast::set_autocast_gpu_dtype(was_dtype_);
    } else {
      at::autocast::set_cpu_enabled(was_enabled_);
      at::autocast::set_autocast_cpu_dtype(was_dtype_);
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false, cuda_ = false, was_enabled_ = false;
  at::ScalarType was_dtype_ = at::kFloat;
};

}  // namespace

RunResult TrainingRun::run(const EpochCallback& on_epoch) {
  auto& s = *state_;
  const TrainConfig& c = s.config;
  const AutocastScope autocast(c.precision, s.device);
  ClassifierImpl& model = *s.model;
  const auto start = Clock::now();
  const bool has_val = s.val.size() > 0;

  RunResult result;
  result.params = s.params;
  result.train_samples = s.train.size();
  if (s.language_model) {
    result.language_model = true;
    result.non_embedding_params = non_embedding_parameter_count(c.model);
    result.train_tokens = s.train.size() * c.model.input_width;
  }

  // A fresh optimizer for every run: a pruning level starts with no momentum of the level before.
  std::unique_ptr<Optimizer> optimizer;
  if (c.optimizer == "adamw")
    optimizer = std::make_unique<AdamW>(model.parameters(), c.weight_decay);
  else
    optimizer = std::make_unique<Sgd>(model.parameters(), c.momentum, c.weight_decay, s.masks);
  BestWeights best;
  // Batch order from its own generator, so it does not depend on how many draws initialisation took.
  auto order_generator = at::detail::createCPUGenerator(c.seed * 0x9E3779B97F4A7C15ull + 1);
  StepCounter steps;
  steps.per_epoch = (s.train.size() + c.batch_size - 1) / c.batch_size;
  steps.total = steps.per_epoch * c.epochs;
  const RunOptions& o = s.options;
  if (o.start_step >= steps.total)
    throw std::invalid_argument(fmt::format("start step {} is past the schedule's {} steps", o.start_step, steps.total));
  // Starting part way (a rewound pruning level): the epochs before are drawn, not trained, so the
  // batch order from the start step on is the one the dense run had.
  const int first_epoch = int(o.start_step / steps.per_epoch) + 1;
  for (int epoch = 1; epoch < first_epoch; ++epoch) torch::randperm(s.train.size(), order_generator, torch::kInt64);
  steps.done = o.start_step;
  bool snapshot_taken = false;
  const BeforeStep before_step = [&](std::int64_t taken) {
    if (!snapshot_taken && taken == o.snapshot_step) save_weights(model, o.snapshot), snapshot_taken = true;
  };
  const std::string label = fmt::format("{} w={} d={}{}", c.model.family, format_number(c.model.width), c.model.depth,
                                        o.progress_label.empty() ? "" : " " + o.progress_label);
  ProgressBar bar(s.progress, label, c.epochs, steps.per_epoch);

  for (int epoch = first_epoch; epoch <= c.epochs; ++epoch) {
    const std::int64_t skip = epoch == first_epoch ? o.start_step % steps.per_epoch : 0;
    const EpochPass pass = train_epoch(model, *optimizer, s.train, c, order_generator, s.device, epoch, steps, bar,
                                       skip, o.snapshot.empty() ? BeforeStep() : before_step, s.task);
    EpochMetrics e;
    bool diverged = pass.diverged;
    if (!diverged) {
      e = epoch_metrics(model, s.val, epoch, pass, start, {s.task, s.label_variance});
      diverged = evaluation_diverged(e, has_val);
    }
    if (diverged) {
      result.status = "diverged";
      result.diverged_at_epoch = epoch;
      bar.finish(fmt::format("diverged in epoch {} (loss not finite)", epoch));
      break;
    }

    record_epoch(result, e, has_val, model, best);
    bar.epoch_done(epoch, e.train_loss, e.val_error, e.samples_per_s);
    if (on_epoch) on_epoch(result.history);
    if (c.early_stopping > 0 && epoch - result.best_epoch >= c.early_stopping) {
      bar.finish(fmt::format("early stop: no better val error for {} epochs", c.early_stopping));
      break;
    }
  }
  // Early stopping before the snapshot step: the last weights stand in for it.
  if (!o.snapshot.empty() && !snapshot_taken) save_weights(model, o.snapshot);
  if (!o.final_weights.empty()) save_weights(model, o.final_weights);  // before the best epoch's are restored
  test_best_epoch(result, model, best, s.test, s.checkpoint, {s.task, s.label_variance});
  result.wall_s = seconds_since(start);
  if (result.status == "diverged" && result.best)
    bar.finish(fmt::format("diverged: test loss not finite with the weights of the best epoch ({})", result.best_epoch));
  if (result.status == "done" && result.best)
    bar.finish(fmt::format("done in {}: test error {:.4f} at best val epoch {}", format_duration(result.wall_s),
                           result.best->test_error, result.best_epoch));
  return result;
}

}  // namespace scalelab
