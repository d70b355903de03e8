// The helpers the sweep and the trainer share (issue 15: each had its own copy, and a binary linking
// both libraries failed to link).
#include <gtest/gtest.h>

#include <sched.h>

#include <cmath>
#include <limits>

#include "util/cores.h"
#include "util/duration.h"

namespace scalelab {
namespace {

TEST(FormatDuration, SecondsThenMinutesThenHoursRoundedToTheSecond) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(45), "45s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(59.6), "1m00s");
  EXPECT_EQ(format_duration(187), "3m07s");
  EXPECT_EQ(format_duration(3599.4), "59m59s");
  EXPECT_EQ(format_duration(3600), "1h00m");
  EXPECT_EQ(format_duration(7530), "2h05m");
}

TEST(FormatDuration, AnUnknownDurationIsAQuestionMark) {
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::nan("")), "?");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "?");
}

TEST(AvailableCores, CountsTheAffinityMask) {
  cpu_set_t old;
  ASSERT_EQ(sched_getaffinity(0, sizeof old, &old), 0);
  EXPECT_EQ(available_cores(), CPU_COUNT(&old));
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &old)) {
      CPU_SET(cpu, &one);
      break;
    }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(available_cores(), 1);  // taskset -c N: one core, whatever the machine has
  ASSERT_EQ(sched_setaffinity(0, sizeof old, &old), 0);
}

}  // namespace
}  // namespace scalelab
