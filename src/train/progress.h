// A progress bar for training, on stderr: redrawn in place (at most ten times a second) when the
// stream is a terminal, one plain line per epoch otherwise (logs, pipes, the sweep's capture).
//   [wrn w=0.25 d=10] epoch 3/10 [#####.......]  42%  loss 0.512  8,400 samples/s  1m12s left
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace scalelab {

class ProgressBar {
 public:
  ProgressBar(std::FILE* out, std::string label, int epochs, long long steps_per_epoch);
  ProgressBar(std::FILE* out, std::string label, int epochs, long long steps_per_epoch, bool interactive);
  // After a training step of epoch (1-based), step (1-based) in it.
  void step(int epoch, long long step, double loss, double samples_per_s);
  // After an epoch's evaluation.
  void epoch_done(int epoch, double train_loss, double val_error, double samples_per_s);
  void finish(const std::string& message);  // leaves the cursor on a fresh line

 private:
  void draw(const std::string& line);
  double seconds_left(double done_fraction) const;

  std::FILE* out_;
  std::string label_;
  int epochs_;
  long long steps_per_epoch_;
  bool interactive_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace scalelab
