// Training one model on one data subset: the loop, its schedule, its metrics and divergence detection.
// This header is torch-free, so the worker's command line and the tests compile without libtorch's
// headers; everything torch lives in trainer.cpp.
//
//   TrainConfig config;                       // or read_hparams("RUN/hparams.yaml")
//   config.model = {.family = "wrn", .width = 0.25, .depth = 10};
//   config.data_fraction = 0.125;
//   TrainingRun run(config);                  // loads data, draws subsets, builds the model
//   RunResult result = run.run([](const EpochMetrics& m) { ... });
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/catalogue.h"
#include "models/spec.h"

namespace scalelab {

// Every hyperparameter of a run, typed for the trainer. The keys, defaults and ranges are the schema's
// (store/hparam_schema.h); train/config_fields.h binds each row to its member here.
struct TrainConfig {
  std::string dataset = std::string(default_dataset());  // the catalogue's first entry
  ModelSpec model;  // family, width, depth; the input shape and class count come from the dataset
  std::optional<double> data_fraction;     // of the training set left after the validation split
  std::optional<std::int64_t> data_count;  // or an exact number of training examples; neither: all
  std::uint64_t seed = 1;                  // data subset, initialisation and batch order
  int epochs = 10;
  int batch_size = 128;
  double lr = 0.05;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::string schedule = "cosine";  // cosine (per step, to 0) or step (x0.1 at 50% and 75% of epochs)
  std::string optimizer = "sgd";    // sgd (lr, momentum, weight_decay) or adamw (lr, weight_decay; train/adamw.h)
  double warmup = 0;                // cosine: fraction of the steps with a linear warm-up to lr
  std::int64_t val_count = 5000;    // held out of the training set, stratified, the same for every size;
                                    // 0: none, and the last epoch is reported instead of the best
  int early_stopping = 0;           // stop after this many epochs without a better val error; 0 = off
  std::string device = "cpu";       // cpu or cuda
  std::string precision = "fp32";   // fp32, or bf16: forward passes under bfloat16 autocast
  // Iterative magnitude pruning (src/prune, docs/pruning.md): levels after the dense level 0.
  int prune_levels = 0;
  double prune_rate = 0.2;       // of the remaining prunable weights, per level
  double prune_rewind = 0.0625;  // rewind point, a fraction of the schedule's steps; 0: initialisation
  int prune_ends = 1;            // prune the first and the output layer too
};

// Throws InputError naming the field for anything out of its schema row's range (the same check as the
// sweep spec's), or for data_fraction with data_count and early stopping without val_count. The
// dataset's name is checked on loading. Defined in run_files.cpp (torch-free).
void validate(const TrainConfig& config);

struct EpochMetrics {
  int epoch = 0;              // 1-based
  double train_loss = 0;      // mean over the epoch's batches, in training mode
  double train_error = 0;     // likewise (running, not a separate pass); a language model's: per token
  double val_error = 0, val_loss = 0;
  double test_error = 0, test_loss = 0;
  double lr = 0;              // at the epoch's last step
  double wall_s = 0;          // since the run started, evaluation included
  double samples_per_s = 0;   // training examples per second of training (evaluation excluded)
};

struct RunResult {
  std::string status = "done";  // "done" or "diverged"
  std::int64_t params = 0;
  std::int64_t train_samples = 0;
  int epochs_run = 0;  // completed epochs
  int best_epoch = 0;  // epoch of the lowest val error; 0 when no epoch completed
  std::optional<EpochMetrics> best;  // that epoch's metrics: its test error is the run's test error
  std::optional<int> diverged_at_epoch;
  double wall_s = 0;
  std::vector<EpochMetrics> history;
  // A language model's (dataset task language_model): sizes in its units, for the scaling laws.
  bool language_model = false;
  std::int64_t non_embedding_params = 0;  // models/spec.h non_embedding_parameter_count
  std::int64_t train_tokens = 0;          // predicted tokens in the training subset (blocks x context)
};

struct RunOptions {
  std::filesystem::path data_root;  // empty: $SCALELAB_DATA_DIR or /usr/share/datasets
  std::FILE* progress = nullptr;    // where to draw the progress bar; nullptr: none
  std::string progress_label;       // appended to the bar's label (a pruning level)
  // Where to keep the best-validation checkpoint (libtorch archive of parameters and buffers, written
  // atomically when the run ends); empty: not saved (its test metrics are reported either way).
  std::filesystem::path checkpoint;

  // What iterative magnitude pruning (src/prune) asks of a run; every file a libtorch archive of the
  // model's parameters and buffers (a mask: of the masked parameters only), written atomically.
  // Start from these weights instead of the seeded initialisation (the architecture must match).
  std::filesystem::path start_weights;
  // Masks (float 0/1) by parameter name: those weights start at zero and stay exactly zero (Sgd).
  std::filesystem::path mask;
  // Begin at this step of the schedule (the learning rate and the batch order continue from there, as
  // if the steps before had been taken): the rewound weights' own step. 0: the start.
  std::int64_t start_step = 0;
  // Save the weights once this many steps of the schedule have been taken (0: the initial weights);
  // both set or neither.
  std::int64_t snapshot_step = -1;
  std::filesystem::path snapshot;
  // Save the weights of the last epoch trained (not the best one's): the next pruning level's input.
  std::filesystem::path final_weights;
};

class TrainingRun {
 public:
  // Loads the dataset, draws the stratified subsets, seeds and builds the model and picks the device.
  // Throws InputError for bad input (unknown dataset, missing files, no CUDA); writes nothing.
  explicit TrainingRun(const TrainConfig& config, const RunOptions& options = {});
  ~TrainingRun();
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  std::int64_t params() const;
  std::int64_t train_samples() const;
  std::int64_t total_steps() const;  // of the whole schedule: epochs x batches per epoch

  // Trains. on_epoch runs after every epoch with the history so far (the worker writes metrics.jsonl
  // there). A NaN or infinite training loss stops the run at once: status "diverged".
  using EpochCallback = std::function<void(const std::vector<EpochMetrics>& history)>;
  RunResult run(const EpochCallback& on_epoch = {});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Threads for libtorch's intra-op work (and OpenBLAS under it). 0: every core this process may run on.
// Call once, before the first TrainingRun; returns the number set.
int set_threads(int threads);
// Reads what a run of this config shares with others into this process's caches: its dataset
// (data/dataset.h shared_dataset), and for its seed the stratified order and the validation examples.
// Runs started later in this process, or forked from it, find them ready. Throws InputError like
// TrainingRun.
void preload_run(const TrainConfig& config, const std::filesystem::path& data_root = {});
bool cuda_available();
// Makes glibc keep freed memory for reuse instead of returning it to the kernel. Every training step
// allocates and frees activations of hundreds of KB; by default each came back as fresh pages from
// mmap, which the kernel zeroes: that tripled the time of an MLP step here. TrainingRun calls it.
void keep_freed_memory();  // this libtorch was built with CUDA and sees a GPU

}  // namespace scalelab
