// The long version of the kill -9 test (label slow): many kills at random moments, one resume.
#include "sweep_fixture.h"

namespace scalelab::testing {
namespace {

TEST_F(SweepFixture, KillNineTwentyFiveTimesLosesAndRepeatsNothing) { kill_and_resume(*this, 25, 2); }

}  // namespace
}  // namespace scalelab::testing
