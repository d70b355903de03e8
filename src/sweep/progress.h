// One progress display for a whole sweep: runs done of total, what is running, time left. Redrawn in
// place on a terminal; on a pipe or file, one plain line whenever a run ends (logs stay readable).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace scalelab {

struct ProgressState {
  int done = 0;       // finished runs (done, diverged or failed), whoever ran them
  int total = 0;
  int failed = 0;
  int diverged = 0;
  std::vector<std::string> running;  // short labels of this process's running runs
  int running_elsewhere = 0;         // runs other processes hold
  double seconds_left = -1;          // < 0: not known yet
  std::string last_event;            // e.g. "done width=0.25 ... test_error=0.123"
};

class Progress {
 public:
  explicit Progress(std::FILE* out);
  ~Progress();
  void update(const ProgressState& state);
  // Prints a line that stays (above the bar on a terminal).
  void message(const std::string& line);
  void finish();

 private:
  std::string bar(const ProgressState& state) const;
  std::FILE* out_;
  bool tty_;
  bool drawn_ = false;
  std::string last_event_;
};

}  // namespace scalelab
