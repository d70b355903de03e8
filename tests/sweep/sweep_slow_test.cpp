// The long version of the kill -9 test (label slow): many kills at random moments, one resume.
#include "sweep_fixture.h"
#include "store/store.h"

namespace scalelab::testing {
namespace {

TEST_F(SweepFixture, KillNineTwentyFiveTimesLosesAndRepeatsNothing) {
  kill_and_resume(*this, 25, 2);  // asserts every run done exactly once after the final resume
  int done = 0;
  for (const auto& run : Store(dir).runs()) done += run.status == RunStatus::done;
  EXPECT_EQ(done, kRuns);
}

}  // namespace
}  // namespace scalelab::testing
