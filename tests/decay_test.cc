// Tests of the exponential decay schedule (DESIGN.md "Decay"):
// value = initial * decay^(step / decay_steps), continuous.
#include "common/decay.h"

#include <gtest/gtest.h>

#include <cmath>

#include "optimizers/baseline.h"

namespace gridsearch {
namespace {

TEST(ExponentialDecayTest, StartsAtTheInitialValue) {
  EXPECT_DOUBLE_EQ(ExponentialDecay(0.1, 0.5, 0, 100), 0.1);
}

TEST(ExponentialDecayTest, OneFactorPerDecaySteps) {
  EXPECT_DOUBLE_EQ(ExponentialDecay(0.1, 0.5, 100, 100), 0.05);
  EXPECT_DOUBLE_EQ(ExponentialDecay(0.1, 0.5, 200, 100), 0.025);
  EXPECT_DOUBLE_EQ(ExponentialDecay(2.0, 0.9, 600, 600), 1.8);
}

TEST(ExponentialDecayTest, IsContinuousNotStaircase) {
  EXPECT_DOUBLE_EQ(ExponentialDecay(0.1, 0.5, 50, 100), 0.1 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(ExponentialDecay(1.0, 0.8, 1, 4), std::pow(0.8, 0.25));
  EXPECT_LT(ExponentialDecay(1.0, 0.9, 1, 1000), 1.0);
}

TEST(ExponentialDecayTest, DecayOneOrNoDecayStepsIsConstant) {
  EXPECT_EQ(ExponentialDecay(0.3, 1.0, 0, 10), 0.3);
  EXPECT_EQ(ExponentialDecay(0.3, 1.0, 12345, 10), 0.3);
  EXPECT_EQ(ExponentialDecay(0.3, 0.5, 12345, 0), 0.3);
  EXPECT_EQ(ExponentialDecay(0.3, 0.5, 12345, -1), 0.3);
}

TEST(DecayScheduleTest, MatchesExponentialDecay) {
  DecaySchedule schedule(0.01, 0.85, 450);
  EXPECT_EQ(schedule.initial(), 0.01);
  EXPECT_EQ(schedule.decay(), 0.85);
  EXPECT_EQ(schedule.decay_steps(), 450);
  EXPECT_DOUBLE_EQ(schedule.At(0), 0.01);
  EXPECT_DOUBLE_EQ(schedule.At(450), 0.0085);
  EXPECT_DOUBLE_EQ(schedule.At(225), 0.01 * std::sqrt(0.85));
  for (int64_t t : {1, 7, 449, 451, 10000})
    EXPECT_DOUBLE_EQ(schedule.At(t), ExponentialDecay(0.01, 0.85, t, 450)) << t;
  EXPECT_EQ(DecaySchedule(0.5, 1.0, 10).At(999), 0.5);
}

}  // namespace
}  // namespace gridsearch
