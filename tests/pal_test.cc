// Tests of PAL (optimizers/pal.h) against values worked out by hand from the
// papers' formulas (PAL 2019 section 2, PAL 2020 section 4), on losses
// whose lines are exactly parabolic, so that every expected number below
// follows from a few lines of arithmetic in the comments.
#include "optimizers/pal.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/catalog.h"
#include "models/datasets.h"
#include "models/models.h"
#include "optimizers/baseline.h"
#include "tests/test_device.h"

namespace gridsearch {
namespace optim {
namespace {

constexpr double kTight = 1e-12;  // double arithmetic, a few roundings

// Doubles on the test device (tests/test_device.h).
torch::TensorOptions F64() { return OnTestDevice(torch::kDouble); }

// The cross-entropy of `model` on a batch, as the trainer computes it.
torch::Tensor BatchLoss(torch::nn::Sequential& model, const torch::Tensor& x,
                        const torch::Tensor& y) {
  return torch::nll_loss(torch::log_softmax(model->forward(x), 1), y);
}

torch::Tensor Vec(std::vector<double> v) {
  return torch::tensor(v, F64()).requires_grad_();
}

// L(theta) = 1/2 sum_i h_i (theta_i - c_i)^2: exactly quadratic on every line.
struct Quadratic {
  torch::Tensor h, c;
  int calls = 0;
  Quadratic(std::vector<double> curvature, std::vector<double> center)
      : h(torch::tensor(curvature, F64())), c(torch::tensor(center, F64())) {}
  std::function<torch::Tensor()> Closure(const torch::Tensor& theta) {
    return [this, theta] {
      ++calls;
      return 0.5 * (h * (theta - c).pow(2)).sum();
    };
  }
};

PALOptions Plain() {
  // No momentum, no loose approximation, no decay, no clipping in reach.
  return PALOptions(0.1).max_step(100).momentum(0).loose_approximation(1).decay(1);
}

void ExpectVec(const torch::Tensor& t, std::vector<double> expected, double tol = kTight) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(t[i].item<double>(), expected[i], tol) << "element " << i;
}

// The hand-computed tests run twice: with the step's scalar arithmetic on
// host doubles (what the CPU uses) and on 0-dim tensors (what a GPU uses).
class PALStepTest : public ::testing::TestWithParam<bool> {
 protected:
  void Use(PAL& pal) { pal.set_tensor_arithmetic_for_testing(GetParam()); }
  void TwoMomentumSteps(bool exact, double expected_rate);
};

INSTANTIATE_TEST_SUITE_P(Arithmetic, PALStepTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "TensorScalars" : "HostScalars";
                         });

// --------------------------------------------------------- the update rule

TEST_P(PALStepTest, OneStepLandsOnTheMinimumOfAQuadraticLine) {
  // h = (1, 3), c = 0, theta = (1, 1): g = (1, 3), ||g|| = sqrt(10). Along
  // theta - alpha g the loss is minimal at alpha = g.g / g.Hg = 10 / 28,
  // so theta_1 = (1 - 10/28, 1 - 30/28) = (9/14, -1/14), s_upd =
  // (5/14) sqrt(10) and the learning rate is s_upd / ||g|| = 5/14.
  torch::Tensor theta = Vec({1, 1});
  Quadratic q({1, 3}, {0, 0});
  PAL pal({theta}, Plain());
  Use(pal);
  torch::Tensor l0 = pal.step(q.Closure(theta));
  EXPECT_EQ(q.calls, 2);
  EXPECT_NEAR(l0.item<double>(), 0.5 * (1 + 3), kTight);  // l(0) before the step
  ExpectVec(theta, {9.0 / 14, -1.0 / 14});
  PALStepInfo info = pal.last_step_info();
  EXPECT_EQ(info.step_case, PALCase::kMinimum);
  EXPECT_NEAR(info.learning_rate, 5.0 / 14, kTight);
  EXPECT_NEAR(info.step_size, 5.0 / 14 * std::sqrt(10.0), kTight);
  EXPECT_EQ(pal.steps(), 1);
  // The fit is exact for any mu: a far measuring point gives the same step.
  torch::Tensor theta2 = Vec({1, 1});
  PAL far({theta2}, Plain().measuring_step(3));
  Use(far);
  far.step(q.Closure(theta2));
  ExpectVec(theta2, {9.0 / 14, -1.0 / 14});
}

TEST_P(PALStepTest, LooseApproximationScalesTheStep) {
  // Same line as above; lambda = 0.5 halves the curvature, doubling the
  // step: theta_1 = (1, 1) - (10/14) (1, 3) = (4/14, -16/14).
  torch::Tensor theta = Vec({1, 1});
  Quadratic q({1, 3}, {0, 0});
  PAL pal({theta}, Plain().loose_approximation(0.5));
  Use(pal);
  pal.step(q.Closure(theta));
  ExpectVec(theta, {4.0 / 14, -16.0 / 14});
  EXPECT_NEAR(pal.last_step_info().learning_rate, 10.0 / 14, kTight);
}

TEST_P(PALStepTest, ConcaveLineStepsTheMeasuringStep) {
  // L = -1/2 ||theta||^2 at (3, 4): g = d = (-3, -4), ||d|| = 5, the line
  // runs outwards along (0.6, 0.8). l(0) = -12.5, l(0.5) = -1/2 5.5^2 =
  // -15.125, b = -5: a = (-15.125 + 12.5 + 2.5) / 0.25 = -0.5 <= 0, so the
  // step is mu = 0.5: theta_1 = (3.3, 4.4), learning rate 0.5 / 5 = 0.1.
  torch::Tensor theta = Vec({3, 4});
  PAL pal({theta}, Plain().measuring_step(0.5));
  Use(pal);
  pal.step([&] { return -0.5 * theta.pow(2).sum(); });
  ExpectVec(theta, {3.3, 4.4});
  PALStepInfo info = pal.last_step_info();
  EXPECT_EQ(info.step_case, PALCase::kNoMinimum);
  EXPECT_NEAR(info.learning_rate, 0.1, kTight);
  EXPECT_NEAR(info.step_size, 0.5, kTight);
}

TEST_P(PALStepTest, ZeroGradientMakesNoUpdate) {
  // At the minimum of a quadratic: g = 0, ||d|| = 0 <= epsilon.
  torch::Tensor theta = Vec({2, -1});
  Quadratic q({1, 3}, {2, -1});
  PAL pal({theta}, PALOptions());  // defaults, momentum included
  torch::Tensor l0 = pal.step(q.Closure(theta));
  Use(pal);
  EXPECT_EQ(l0.item<double>(), 0);
  EXPECT_TRUE(torch::equal(theta, torch::tensor({2.0, -1.0}, F64())));
  PALStepInfo info = pal.last_step_info();
  EXPECT_EQ(info.step_case, PALCase::kNoUpdate);
  EXPECT_EQ(info.learning_rate, 0);
  EXPECT_EQ(info.step_size, 0);
  EXPECT_EQ(pal.steps(), 1);  // the step still counts for the decay
}

TEST_P(PALStepTest, StepIsClippedAtMaxStep) {
  // The line of the first test has its minimum at s = (5/14) sqrt(10) =
  // 1.129; with s_max = 0.1 the step is 0.1 along -g / ||g||:
  // theta_1 = (1, 1) - 0.1 (1, 3) / sqrt(10), learning rate 0.1 / sqrt(10).
  torch::Tensor theta = Vec({1, 1});
  Quadratic q({1, 3}, {0, 0});
  PAL pal({theta}, Plain().max_step(0.1));
  Use(pal);
  pal.step(q.Closure(theta));
  const double r10 = std::sqrt(10.0);
  ExpectVec(theta, {1 - 0.1 / r10, 1 - 0.3 / r10});
  PALStepInfo info = pal.last_step_info();
  EXPECT_EQ(info.step_case, PALCase::kMinimum);
  EXPECT_NEAR(info.learning_rate, 0.1 / r10, kTight);

  // The concave case's mu is clipped too: mu = 0.5 > s_max = 0.2.
  torch::Tensor phi = Vec({3, 4});
  PAL concave({phi}, Plain().measuring_step(0.5).max_step(0.2));
  Use(concave);
  concave.step([&] { return -0.5 * phi.pow(2).sum(); });
  ExpectVec(phi, {3.12, 4.16});
  EXPECT_EQ(concave.last_step_info().step_case, PALCase::kNoMinimum);
}

// Two steps with momentum 0.5 and loose approximation 0.8 on
// L = 1/2 (theta_1^2 + 4 theta_2^2) from theta_0 = (2, 1), mu = 0.1.
//
// Step 1 (both modes; no previous d, so d_1 = g_1): g_1 = (2, 4), line
// minimum at alpha = g.g / g.Hg = 20 / 68, loosened by 1 / 0.8: learning
// rate 25/68, theta_1 = (2, 1) - (25/68)(2, 4) = (43/34, -8/17).
//
// Step 2: g_2 = H theta_1 = (43/34, -32/17), d_2 = g_2 + 0.5 d_1 =
// (77/34, 2/17). In units of 1/1156: ||d_2||^2 = 5945, g_2 . d_2 = 3055,
// d_2 . H d_2 = 5993. Along u = d_2 / ||d_2|| the true line is
// l(s) = l(0) - s (g_2 . u) + s^2/2 (u . H u).
//   exact:  b = -(g_2 . d_2) / ||d_2||, so the fit is exact:
//           a = (d_2 . H d_2) / (2 ||d_2||^2) = 5993 / 11890, and the
//           learning rate s / ||d_2|| = (g_2 . d_2) / (0.8 d_2 . H d_2)
//           = 3055 / 4794.4 = 1175 / 1844.
//   approx: b = -||d_2||, so a picks up (||d_2|| - g_2 . u) / mu:
//           a = (5945 - 3055) / (1156 * 0.1 * ||d_2||) + 5993 / 11890
//             = 25 / ||d_2|| + 5993 / 11890, ||d_2|| = sqrt(5945) / 34,
//           and the learning rate is -b / (2 * 0.8 * a) / ||d_2|| = 1 / (1.6 a).
// Either way theta_2 = theta_1 - rate * d_2 and the momentum buffer is d_2.
void PALStepTest::TwoMomentumSteps(bool exact, double expected_rate) {
  SCOPED_TRACE(exact ? "exact directional derivative" : "approximate directional derivative");
  torch::Tensor theta = Vec({2, 1});
  Quadratic q({1, 4}, {0, 0});
  PAL pal({theta}, PALOptions(0.1)
                       .max_step(100)
                       .momentum(0.5)
                       .loose_approximation(0.8)
                       .exact_directional_derivative(exact));
  Use(pal);
  pal.step(q.Closure(theta));
  ExpectVec(theta, {43.0 / 34, -8.0 / 17});
  EXPECT_NEAR(pal.last_step_info().learning_rate, 25.0 / 68, kTight);
  pal.step(q.Closure(theta));
  EXPECT_NEAR(pal.last_step_info().learning_rate, expected_rate, kTight);
  EXPECT_EQ(pal.last_step_info().step_case, PALCase::kMinimum);
  ExpectVec(theta, {43.0 / 34 - expected_rate * 77.0 / 34, -8.0 / 17 - expected_rate * 2.0 / 17});
  const auto& state = static_cast<const PALParamState&>(*pal.state().begin()->second);
  ExpectVec(state.momentum_buffer(), {77.0 / 34, 2.0 / 17});
}

TEST_P(PALStepTest, TwoMomentumStepsWithTheExactDirectionalDerivative) {
  TwoMomentumSteps(true, 1175.0 / 1844);  // 0.63720...
}

TEST_P(PALStepTest, TwoMomentumStepsWithTheApproximateDirectionalDerivative) {
  const double a = 25 / (std::sqrt(5945.0) / 34) + 5993.0 / 11890;  // 11.528...
  TwoMomentumSteps(false, 1 / (1.6 * a));                            // 0.05421...
}

TEST_P(PALStepTest, ExactDerivativeRefusesAnUphillDirectionButAdvancesMomentum) {
  // L = 1/2 (theta - c)^2 in one dimension, momentum 1, lambda 1.
  // Step 1, c = -1, theta = 0: g = d = 1, the minimum is at theta = -1.
  // Step 2, c = -0.5: g = -0.5, d = g + d_1 = 0.5, g . d = -0.25 < 0: the
  // exact slope -(g . d) / |d| = +0.5 says no descent along -d: no update,
  // but d = 0.5 becomes the momentum vector. (The approximate slope -|d|
  // would have stepped uphill.)
  torch::Tensor theta = Vec({0});
  Quadratic q({1}, {-1});
  PAL pal({theta}, Plain().momentum(1).exact_directional_derivative(true));
  Use(pal);
  pal.step(q.Closure(theta));
  ExpectVec(theta, {-1});
  const double after_first = theta.item<double>();
  q.c.fill_(-0.5);
  pal.step(q.Closure(theta));
  EXPECT_EQ(pal.last_step_info().step_case, PALCase::kNoUpdate);
  EXPECT_EQ(theta.item<double>(), after_first);  // not moved at all
  const auto& state = static_cast<const PALParamState&>(*pal.state().begin()->second);
  ExpectVec(state.momentum_buffer(), {0.5});
}

// ------------------------------------------------------------------ decay

TEST_P(PALStepTest, MeasuringStepAndMaxStepDecayPerStep) {
  // mu_t = 0.4 * 0.5^(t / 2), s_max,t = 1 * 0.5^(t / 2), continuous.
  const PALOptions options =
      PALOptions(0.4).max_step(1).momentum(0).loose_approximation(1).decay(0.5).decay_steps(2);
  torch::Tensor theta = Vec({3, 4});
  PAL pal({theta}, options);
  Use(pal);
  EXPECT_NEAR(pal.measuring_step_at(3), 0.4 / (2 * std::sqrt(2.0)), kTight);
  EXPECT_NEAR(pal.max_step_at(3), 1 / (2 * std::sqrt(2.0)), kTight);
  // On the concave loss every step is mu_t long.
  const double expected[] = {0.4, 0.4 / std::sqrt(2.0), 0.2, 0.2 / std::sqrt(2.0)};
  for (int t = 0; t < 4; ++t) {
    torch::Tensor before = theta.detach().clone();
    pal.step([&] { return -0.5 * theta.pow(2).sum(); });
    EXPECT_NEAR((theta.detach() - before).norm().item<double>(), expected[t], kTight) << "t=" << t;
  }

  // s_max decays too: three steps at a minimum (no update, but they count),
  // then a far minimum: step t = 3 is clipped at 0.5^1.5 = 0.3536.
  torch::Tensor phi = Vec({0, 0});
  Quadratic q({1, 1}, {0, 0});
  PAL clipped({phi}, options);
  Use(clipped);
  for (int t = 0; t < 3; ++t) clipped.step(q.Closure(phi));
  ExpectVec(phi, {0, 0});
  q.c = torch::tensor({30.0, 40.0}, F64());
  clipped.step(q.Closure(phi));
  const double s = 1 / (2 * std::sqrt(2.0));
  ExpectVec(phi, {0.6 * s, 0.8 * s});
  EXPECT_EQ(clipped.steps(), 4);
}

// -------------------------------------------------------- random numbers

TEST_P(PALStepTest, BothPassesSeeTheSameDropoutMask) {
  torch::manual_seed(5);
  torch::Tensor w = torch::ones({256}, F64()).requires_grad_();
  std::vector<torch::Tensor> masks;
  auto closure = [&] {
    torch::Tensor kept = torch::dropout(torch::ones({256}, F64()), 0.5, /*train=*/true);
    masks.push_back(kept.detach().clone());
    return 0.5 * (kept * w).pow(2).sum() + w.sum();
  };
  PAL pal({w}, PALOptions());
  Use(pal);
  pal.step(closure);
  pal.step(closure);
  ASSERT_EQ(masks.size(), 4u);
  EXPECT_TRUE(torch::equal(masks[0], masks[1]));  // l(0) and l(mu) of step 1
  EXPECT_TRUE(torch::equal(masks[2], masks[3]));  // ... of step 2
  EXPECT_FALSE(torch::equal(masks[0], masks[2]));  // new numbers each step
  // The generator continues as after a single pass: the next draw is the
  // one a plain training loop would get.
  torch::Tensor after_pal = torch::rand({4}, F64());
  torch::manual_seed(5);
  torch::dropout(torch::ones({256}, F64()), 0.5, true);
  torch::dropout(torch::ones({256}, F64()), 0.5, true);
  EXPECT_TRUE(torch::equal(after_pal, torch::rand({4}, F64())));
}

TEST_P(PALStepTest, DropoutModelTrainsWithMatchingPasses) {
  // A network with a dropout layer: with matching masks the measured line is
  // a parabola-like function and PAL keeps finding minima.
  torch::manual_seed(3);
  torch::nn::Sequential net(torch::nn::Linear(8, 16), torch::nn::ReLU(),
                            torch::nn::Dropout(0.3), torch::nn::Linear(16, 3));
  net->train();
  net->to(TestDevice());
  torch::Tensor x = torch::randn({64, 8}).to(TestDevice());
  torch::Tensor y = torch::randint(3, {64}, torch::kLong).to(TestDevice());
  PAL pal(net->parameters(), PALOptions());
  Use(pal);
  auto closure = [&] { return BatchLoss(net, x, y); };
  double first = 0, last = 0;
  int minima = 0;
  for (int i = 0; i < 40; ++i) {
    double l = pal.step(closure).item<double>();
    if (i == 0) first = l;
    last = l;
    if (pal.last_step_info().step_case == PALCase::kMinimum) ++minima;
  }
  EXPECT_LT(last, first);
  EXPECT_GE(minima, 30);
}

// ------------------------------------------------------ non-finite values

TEST_P(PALStepTest, NonFiniteLossZeroMakesNoUpdateAndKeepsMomentum) {
  torch::Tensor theta = Vec({2, 1});
  Quadratic q({1, 4}, {0, 0});
  PAL pal({theta}, PALOptions(0.1).momentum(0.5));
  Use(pal);
  pal.step(q.Closure(theta));  // a good step fills the momentum buffer
  const torch::Tensor theta_before = theta.detach().clone();
  const auto& state = static_cast<const PALParamState&>(*pal.state().begin()->second);
  const torch::Tensor buffer_before = state.momentum_buffer().clone();

  for (double bad : {std::nan(""), HUGE_VAL}) {
    torch::Tensor l0 = pal.step([&] { return q.Closure(theta)() * bad; });
    EXPECT_FALSE(std::isfinite(l0.item<double>()));
    EXPECT_TRUE(torch::equal(theta, theta_before)) << bad;  // never moved
    EXPECT_TRUE(torch::equal(state.momentum_buffer(), buffer_before)) << bad;
    EXPECT_EQ(pal.last_step_info().step_case, PALCase::kNoUpdate);
    EXPECT_EQ(pal.last_step_info().learning_rate, 0);
  }
}

TEST_P(PALStepTest, NonFiniteLossAtTheMeasuringPointMakesNoUpdate) {
  torch::Tensor theta = Vec({2, 1});
  Quadratic q({1, 4}, {0, 0});
  PAL pal({theta}, PALOptions(0.1).momentum(0.5));
  Use(pal);
  pal.step(q.Closure(theta));
  const torch::Tensor theta_before = theta.detach().clone();
  const auto& state = static_cast<const PALParamState&>(*pal.state().begin()->second);
  const torch::Tensor buffer_before = state.momentum_buffer().clone();

  int call = 0;
  torch::Tensor l0 = pal.step([&] {
    torch::Tensor l = q.Closure(theta)();
    return ++call == 2 ? l * HUGE_VAL : l;  // only l(mu) is infinite
  });
  EXPECT_TRUE(std::isfinite(l0.item<double>()));
  // Back from the measuring point: equal up to one rounding.
  EXPECT_TRUE(torch::allclose(theta, theta_before, /*rtol=*/0, /*atol=*/1e-15));
  EXPECT_TRUE(torch::equal(state.momentum_buffer(), buffer_before));
  EXPECT_EQ(pal.last_step_info().step_case, PALCase::kNoUpdate);
}

TEST_P(PALStepTest, NonFiniteCurvatureMakesNoUpdate) {
  // mu = 1e-170: mu^2 underflows to 0, so a = (...) / mu^2 is infinite.
  torch::Tensor theta = Vec({2, 1});
  Quadratic q({1, 4}, {0, 0});
  PAL pal({theta}, PALOptions(1e-170).momentum(0.5));
  Use(pal);
  pal.step(q.Closure(theta));
  EXPECT_TRUE(torch::equal(theta, torch::tensor({2.0, 1.0}, F64())));
  EXPECT_EQ(pal.last_step_info().step_case, PALCase::kNoUpdate);
  const auto& state = static_cast<const PALParamState&>(*pal.state().begin()->second);
  // The first step had no momentum to keep: there is none yet (absent or 0).
  const torch::Tensor& buffer = state.momentum_buffer();
  EXPECT_TRUE(!buffer.defined() || buffer.abs().sum().item<double>() == 0);
}

// ---------------------------------------------------------------- options

TEST(PALTest, InvalidOptionsFailInTheConstructorNamingTheValue) {
  struct Case {
    PALOptions options;
    const char* name;
    const char* value;
  };
  const std::vector<Case> cases = {
      {PALOptions(0), "measuring_step", "got 0"},
      {PALOptions(-0.5), "measuring_step", "got -0.5"},
      {PALOptions().max_step(0), "max_step", "got 0"},
      {PALOptions().max_step(-2), "max_step", "got -2"},
      {PALOptions().momentum(-0.25), "momentum", "got -0.25"},
      {PALOptions().momentum(1.5), "momentum", "got 1.5"},
      {PALOptions().loose_approximation(0), "loose_approximation", "got 0"},
      {PALOptions().loose_approximation(-1), "loose_approximation", "got -1"},
      {PALOptions().decay(0), "decay", "got 0"},
      {PALOptions().decay(1.25), "decay", "got 1.25"},
      {PALOptions().decay_steps(-3), "decay_steps", "got -3"},
      {PALOptions().epsilon(-1), "epsilon", "got -1"},
  };
  for (const auto& c : cases) {
    try {
      PAL pal({Vec({1})}, c.options);
      ADD_FAILURE() << c.name << " " << c.value << " was accepted";
    } catch (const c10::Error& e) {
      std::string message = e.what_without_backtrace();
      EXPECT_NE(message.find(c.name), std::string::npos) << message;
      EXPECT_NE(message.find(c.value), std::string::npos) << message;
    }
  }
  // The edges of the valid ranges are accepted.
  EXPECT_NO_THROW(PAL({Vec({1})}, PALOptions().momentum(0).decay(1)));
  EXPECT_NO_THROW(PAL({Vec({1})}, PALOptions().momentum(1).epsilon(0)));
}

TEST(PALTest, StepWithoutClosureFails) {
  PAL pal({Vec({1})}, PALOptions());
  EXPECT_THROW(pal.step(nullptr), c10::Error);
}

// -------------------------------------------------------------- save/load

TEST_P(PALStepTest, SaveAndLoadRoundTrip) {
  const PALOptions options =
      PALOptions(0.05).momentum(0.6).loose_approximation(0.7).decay(0.9).decay_steps(3);
  torch::Tensor a = Vec({2, 1, -1});
  torch::Tensor b = Vec({0.5});
  Quadratic qa({1, 4, 2}, {0, 0, 0}), qb({3}, {1});
  auto closure_for = [&](torch::Tensor x, torch::Tensor y) {
    return [&qa, &qb, x, y] { return qa.Closure(x)() + qb.Closure(y)(); };
  };
  PAL pal({a, b}, options);
  Use(pal);
  pal.step(closure_for(a, b));
  pal.step(closure_for(a, b));

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("pal_test_" + std::to_string(::getpid()) + ".pt"))
                               .string();
  torch::save(pal, path);

  torch::Tensor a2 = a.detach().clone().requires_grad_();
  torch::Tensor b2 = b.detach().clone().requires_grad_();
  PAL restored({a2, b2}, options);
  Use(restored);
  torch::load(restored, path, TestDevice());
  std::filesystem::remove(path);
  EXPECT_EQ(restored.steps(), 2);
  ASSERT_EQ(restored.state().size(), pal.state().size());
  auto buffer = [](PAL& p, const torch::Tensor& param) {
    for (auto& [key, st] : p.state()) {
      const auto& s = static_cast<const PALParamState&>(*st);
      if (s.momentum_buffer().defined() && s.momentum_buffer().sizes() == param.sizes())
        return s.momentum_buffer();
    }
    return torch::Tensor();
  };
  EXPECT_TRUE(torch::equal(buffer(pal, a), buffer(restored, a2)));
  EXPECT_TRUE(torch::equal(buffer(pal, b), buffer(restored, b2)));

  // The next step is the same for both: momentum and decay carried over.
  pal.step(closure_for(a, b));
  restored.step(closure_for(a2, b2));
  EXPECT_TRUE(torch::equal(a, a2));
  EXPECT_TRUE(torch::equal(b, b2));
  EXPECT_EQ(restored.steps(), 3);
}

// ------------------------------------------------- factory and a real model

TEST(PALTest, MakeOptimizerBuildsPalFromTheCatalog) {
  std::map<std::string, double> params;
  ASSERT_TRUE(ResolveParams("pal", {{"momentum", 0.2}, {"exact_directional_derivative", 1}},
                            &params)
                  .ok());
  torch::Tensor theta = Vec({1, 1});
  std::unique_ptr<torch::optim::Optimizer> opt;
  Status s = MakeOptimizer("pal", params, {theta}, /*decay_steps=*/450, &opt);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto* pal = dynamic_cast<PAL*>(opt.get());
  ASSERT_NE(pal, nullptr);
  EXPECT_TRUE(UsesLossClosure("pal"));
  EXPECT_FALSE(UsesLossClosure("sgd"));
  const auto& o = static_cast<const PALOptions&>(pal->param_groups()[0].options());
  EXPECT_EQ(o.measuring_step(), 0.1);
  EXPECT_EQ(o.max_step(), 1);
  EXPECT_EQ(o.momentum(), 0.2);
  EXPECT_EQ(o.loose_approximation(), 0.6);
  EXPECT_EQ(o.decay(), 1);
  EXPECT_EQ(o.decay_steps(), 450);
  EXPECT_TRUE(o.exact_directional_derivative());
  EXPECT_EQ(o.epsilon(), 1e-10);

  EXPECT_FALSE(LastEffectiveLearningRate(*opt).defined());
  // PAL has no learning rate to set or get: no throw, NaN.
  EXPECT_NO_THROW(SetLearningRate(*opt, 0.5));
  EXPECT_TRUE(std::isnan(GetLearningRate(*opt)));
  Quadratic q({1, 3}, {0, 0});
  opt->step(q.Closure(theta));
  torch::Tensor rate = LastEffectiveLearningRate(*opt);
  ASSERT_TRUE(rate.defined());
  EXPECT_EQ(rate.dim(), 0);
  EXPECT_GT(rate.item<double>(), 0);

  // Out-of-range values come back as InvalidArgument, not exceptions.
  params["loose_approximation"] = 0;
  EXPECT_EQ(MakeOptimizer("pal", params, {theta}, 0, &opt).code(), Status::kInvalidArgument);
}

TEST(PALTest, TrainsTheMlpOnSyntheticData) {
  Dataset data;
  ASSERT_TRUE(LoadDataset({"synthetic", "", 1000}, &data).ok());
  torch::manual_seed(1);
  torch::nn::Sequential model;
  ASSERT_TRUE(MakeModel("mlp", data.input_shape, data.num_classes, &model).ok());
  model->to(TestDevice());
  std::map<std::string, double> params;
  ASSERT_TRUE(ResolveParams("pal", {}, &params).ok());
  std::unique_ptr<torch::optim::Optimizer> opt;
  ASSERT_TRUE(MakeOptimizer("pal", params, model->parameters(), 10, &opt).ok());
  const torch::Tensor train_x = data.train_x.to(TestDevice());
  const torch::Tensor train_y = data.train_y.to(TestDevice());
  double first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    torch::Tensor x = train_x.slice(0, (i % 10) * 100, (i % 10 + 1) * 100);
    torch::Tensor y = train_y.slice(0, (i % 10) * 100, (i % 10 + 1) * 100);
    double l = opt->step([&] { return BatchLoss(model, x, y); }).item<double>();
    ASSERT_TRUE(std::isfinite(l)) << "step " << i;
    if (i == 0) first = l;
    last = l;
  }
  EXPECT_LT(last, 0.5 * first);
}

// PAL on the test device, its step decided on 0-dim tensors, follows PAL on
// the CPU deciding on host doubles, in float64, on the same MLP and batches:
// on the CPU this compares the two arithmetic paths; with
// GRIDSEARCH_TEST_DEVICE=cuda it compares a GPU with the CPU.
TEST(PALTest, FollowsTheCpuStepForStepInFloat64) {
  constexpr int kSteps = 20;
  constexpr double kRelative = 1e-6;
  Dataset data;
  ASSERT_TRUE(LoadDataset({"synthetic", "", 1000}, &data).ok());
  torch::nn::Sequential cpu_model, device_model;
  torch::manual_seed(7);
  ASSERT_TRUE(MakeModel("mlp", data.input_shape, data.num_classes, &cpu_model).ok());
  torch::manual_seed(7);
  ASSERT_TRUE(MakeModel("mlp", data.input_shape, data.num_classes, &device_model).ok());
  cpu_model->to(torch::kDouble);
  device_model->to(TestDevice(), torch::kDouble);
  const PALOptions options = PALOptions(0.1).momentum(0.4).loose_approximation(0.6).max_step(1);
  PAL cpu_pal(cpu_model->parameters(), options);
  PAL device_pal(device_model->parameters(), options);
  device_pal.set_tensor_arithmetic_for_testing(true);
  const torch::Tensor x = data.train_x.to(torch::kDouble);
  const torch::Tensor y = data.train_y;
  const torch::Tensor device_x = x.to(TestDevice());
  const torch::Tensor device_y = y.to(TestDevice());
  int minima = 0;
  for (int i = 0; i < kSteps; ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    const int64_t begin = (i % 10) * 100, end = begin + 100;
    const torch::Tensor cpu_x = x.slice(0, begin, end), cpu_y = y.slice(0, begin, end);
    const torch::Tensor dev_x = device_x.slice(0, begin, end);
    const torch::Tensor dev_y = device_y.slice(0, begin, end);
    const double cpu_loss =
        cpu_pal.step([&] { return BatchLoss(cpu_model, cpu_x, cpu_y); }).item<double>();
    const double device_loss =
        device_pal.step([&] { return BatchLoss(device_model, dev_x, dev_y); }).item<double>();
    EXPECT_NEAR(device_loss, cpu_loss, kRelative * std::abs(cpu_loss));
    const PALStepInfo cpu_info = cpu_pal.last_step_info();
    const PALStepInfo device_info = device_pal.last_step_info();
    EXPECT_EQ(device_info.step_case, cpu_info.step_case);
    EXPECT_NEAR(device_info.learning_rate, cpu_info.learning_rate,
                kRelative * std::abs(cpu_info.learning_rate));
    if (cpu_info.step_case == PALCase::kMinimum) ++minima;
  }
  EXPECT_GE(minima, kSteps / 2);  // the parabola branch is exercised
  const auto cpu_params = cpu_model->parameters();
  const auto device_params = device_model->parameters();
  ASSERT_EQ(cpu_params.size(), device_params.size());
  for (size_t k = 0; k < cpu_params.size(); ++k) {
    const torch::Tensor difference = device_params[k].detach().cpu() - cpu_params[k].detach();
    EXPECT_LE(difference.abs().max().item<double>(),
              kRelative * cpu_params[k].detach().abs().max().item<double>())
        << "parameter " << k;
  }
}

}  // namespace
}  // namespace optim
}  // namespace gridsearch
