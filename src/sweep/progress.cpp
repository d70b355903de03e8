#include "sweep/progress.h"

#include <unistd.h>

#include <fmt/core.h>

#include "util/duration.h"

namespace scalelab {

Progress::Progress(std::FILE* out) : out_(out), tty_(isatty(fileno(out))) {}

Progress::~Progress() { finish(); }

std::string Progress::bar(const ProgressState& s) const {
  constexpr int width = 24;
  int filled = s.total > 0 ? s.done * width / s.total : 0;
  std::string text = fmt::format("[{}{}] {}/{} runs", std::string(filled, '#'), std::string(width - filled, '.'),
                                 s.done, s.total);
  if (s.diverged) text += fmt::format(", {} diverged", s.diverged);
  if (s.failed) text += fmt::format(", {} failed", s.failed);
  text += fmt::format(" | running {}", s.running.size());
  if (s.running_elsewhere) text += fmt::format(" (+{} elsewhere)", s.running_elsewhere);
  text += " | left " + format_duration(s.seconds_left);
  return text;
}

void Progress::update(const ProgressState& state) {
  if (tty_) {
    if (!state.last_event.empty() && state.last_event != last_event_) message(state.last_event);
    std::string line = bar(state);
    if (!state.running.empty()) line += " | " + state.running.front();
    if (line.size() > 150) line.resize(150);
    fmt::print(out_, "\r\033[K{}", line);
    drawn_ = true;
  } else if (!state.last_event.empty() && state.last_event != last_event_) {
    fmt::print(out_, "{} | {}\n", bar(state), state.last_event);
  }
  last_event_ = state.last_event;
  std::fflush(out_);
}

void Progress::message(const std::string& line) {
  if (tty_ && drawn_) fmt::print(out_, "\r\033[K");
  fmt::print(out_, "{}\n", line);
  drawn_ = false;
  std::fflush(out_);
}

void Progress::finish() {
  if (tty_ && drawn_) fmt::print(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace scalelab
