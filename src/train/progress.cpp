#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "util/duration.h"

namespace scalelab {

ProgressBar::ProgressBar(std::FILE* out, std::string label, int epochs, long long steps_per_epoch)
    : ProgressBar(out, std::move(label), epochs, steps_per_epoch, out && isatty(fileno(out))) {}

ProgressBar::ProgressBar(std::FILE* out, std::string label, int epochs, long long steps_per_epoch, bool interactive)
    : out_(out),
      label_(std::move(label)),
      epochs_(epochs),
      steps_per_epoch_(std::max(1LL, steps_per_epoch)),
      interactive_(interactive),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::seconds_left(double done_fraction) const {
  if (done_fraction <= 0) return NAN;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed * (1 - done_fraction) / done_fraction;
}

void ProgressBar::step(int epoch, long long step, double loss, double samples_per_s) {
  if (!out_ || !interactive_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && step != steps_per_epoch_) return;
  last_draw_ = now;
  const double done = (double(epoch - 1) + double(step) / steps_per_epoch_) / epochs_;
  constexpr int kCells = 20;
  const int filled = std::clamp(int(done * kCells), 0, kCells);
  draw(fmt::format("[{}] epoch {}/{} [{}{}] {:3.0f}%  loss {:.3f}  {:.0f} samples/s  {} left", label_, epoch, epochs_,
                   std::string(filled, '#'), std::string(kCells - filled, '.'), 100 * done, loss, samples_per_s,
                   format_duration(seconds_left(done))));
}

void ProgressBar::epoch_done(int epoch, double train_loss, double val_error, double samples_per_s) {
  if (!out_) return;
  const std::string line =
      fmt::format("[{}] epoch {}/{}  train loss {:.4f}  val error {:.4f}  {:.0f} samples/s  {} left",
                  label_, epoch, epochs_, train_loss, val_error, samples_per_s,
                  format_duration(seconds_left(double(epoch) / epochs_)));
  if (interactive_) {
    draw(line);  // keep the epoch's summary on screen, then start the bar on a fresh line
    std::fputc('\n', out_);
    drawn_ = false;
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

void ProgressBar::finish(const std::string& message) {
  if (!out_) return;
  if (interactive_ && drawn_) std::fputs("\r\x1b[K", out_);
  drawn_ = false;
  fmt::print(out_, "[{}] {}\n", label_, message);
  std::fflush(out_);
}

void ProgressBar::draw(const std::string& line) {
  std::fputs("\r\x1b[K", out_);  // carriage return, then clear to the end of the line
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace scalelab
