// PAL, Parabolic Approximation Line search, as a LibTorch optimizer: both
// versions by Mutschler and Zell, "PAL: A fast DNN optimization method based
// on curvature information" (2019; "PAL 2019" below) and "Parabolic
// Approximation Line Search for DNNs" (NeurIPS 2020; "PAL 2020").
//
// One step on a batch, with d the search vector and g the batch gradient:
//
//   l(0)    = closure() with autograd, then backward: g = dL/dtheta
//   d       = g + momentum * d_prev      (d_prev = 0 at the first step)
//   l(s)    = L(theta - s * d / ||d||)   the loss on the line
//   l(mu)   = closure() without autograd, at theta - mu * d / ||d||
//   b       = l'(0) = -||d||              (papers' approximation), or
//           = -(g . d) / ||d||            (exact_directional_derivative)
//   a       = (l(mu) - l(0) - b * mu) / mu^2       (the parabola's a*s^2)
//   case    minimum:    b < 0, a > 0   s = -b / (2 * loose_approximation * a)
//           no-minimum: b < 0, a <= 0  s = mu   (the second point is lower)
//           no-update:  otherwise      s = 0
//   s_upd   = min(s, max_step);   theta <- theta - s_upd * d / ||d||
//
// PAL 2019's momentum alpha is PAL 2020's direction adaptation beta
// (d here is PAL 2020's -d_t); PAL 2019's loose approximation lambda
// divides the curvature, so PAL 2020's update step adaptation, which
// multiplies s_upd, is 1 / lambda. With loose_approximation 1 and a loss that
// is exactly quadratic along the line, one step lands on the line's minimum.
// The effective learning rate of a step is s_upd / ||d||: the update equals
// SGD's theta <- theta - lr * d with that lr.
//
// Decay (DESIGN.md): the step with index t (0 for the first) measures with
// mu = measuring_step * decay^(t / decay_steps) and clips at
// max_step * decay^(t / decay_steps); decay 1 or decay_steps 0 is none.
//
// Failure: when l(0), l(mu), ||d|| or the curvature is not finite the step
// makes no update (case no-update, learning rate 0) and the momentum vector
// keeps its previous value. If l(0) or the gradient is not finite the
// parameters are never moved; if only l(mu) or the curvature is, they return
// from the measuring point, exact up to one rounding. ||d|| <= epsilon is a
// zero direction: no update. A non-finite search vector is zeroed (so the
// gradients of such a step may read 0 afterwards).
//
// Random numbers: both forward passes of a step draw the same random numbers
// (dropout masks match): the default CPU generator, and the CUDA generator of
// the parameters' device when they are on a GPU, are restored to their state
// before l(0) ahead of the l(mu) pass. The closure must draw from those
// default generators only.
//
// BatchNorm and other layers with running statistics: the second forward
// pass runs in whatever mode the model is in. In train mode it normalises
// with the batch's own statistics, as the first pass does (so l(mu) lies on
// the same function as l(0)), and it updates the running statistics a second
// time, with the activations at the measuring point: running means and
// variances move twice per step and num_batches_tracked counts two per step.
// PAL only sees the parameters and cannot undo this; a closure that wants to
// skip the update can tell the passes apart by torch::GradMode::is_enabled()
// (true only for l(0)), e.g. to set the BatchNorm momentum to 0 for l(mu).
//
// GPU: step() never synchronises host and device. The case discrimination,
// the clipping and the update are tensor operations; the scalars (losses,
// norm, step size, learning rate, case) stay on the device as 0-dim tensors
// until someone reads them. last_learning_rate() and last_case() hand them
// out without reading them; read them in batches (e.g. torch::stack, then
// one copy to the CPU) when a GPU is involved. On the CPU, where reading a
// scalar is free and each 0-dim tensor operation costs microseconds, the same
// arithmetic runs on host doubles (one source for both, see pal.cc).
//
// Per-parameter state (PALParamState): the momentum vector d of each
// parameter (only when momentum > 0) and, in the first parameter's state,
// the number of steps taken, which drives the decay. save()/load() with
// torch::save/torch::load restore both, like LibTorch's own optimizers (and,
// like theirs, keep the options given to the constructor). The last step's
// learning rate and case are diagnostics and are not saved.
//
// Memory: with momentum, two parameter-sized tensors per parameter (the
// momentum vector and a spare that the next search vector is computed into,
// so that steps do not allocate); without, none beyond the gradients.
//
// Parameters whose gradient is undefined after backward do not take part in
// the step (they are not on the line). One parameter group only (PAL's line
// spans all parameters, so per-group options have no meaning).
//
// Not thread-safe; one PAL per training loop, as any LibTorch optimizer.
#ifndef GRIDSEARCH_OPTIMIZERS_PAL_H_
#define GRIDSEARCH_OPTIMIZERS_PAL_H_

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace gridsearch {
namespace optim {

struct PALOptions : public torch::optim::OptimizerCloneableOptions<PALOptions> {
  // The single-argument form is what LibTorch's loader constructs (with 0)
  // before reading the saved values.
  explicit PALOptions(double measuring_step = 0.1);

  // mu: distance along the normalised line of the second loss sample; > 0.
  // 0.1: PAL 2019's best configurations (Table 3) and its suggested
  // interval [0.01, 0.1] (section 5).
  TORCH_ARG(double, measuring_step);
  // s_max: longest step taken; > 0. 1: PAL 2019's best configurations
  // (Table 3; suggested interval [0.1, 1]).
  TORCH_ARG(double, max_step) = 1.0;
  // PAL 2019's momentum alpha = PAL 2020's direction adaptation beta, in
  // [0, 1]. 0.4: PAL 2019's best ResNet-32 configuration (Table 3); paper
  // 001 finds 0.2 and 0.4 equally good (section 4.3).
  TORCH_ARG(double, momentum) = 0.4;
  // PAL 2019's lambda, > 0; PAL 2020's update step adaptation is
  // 1 / lambda. 0.6: PAL 2019's suggested interval [0.4, 0.6] (section 5)
  // and best DenseNet-40 configuration (Table 3); PAL 2020 asks for an
  // update step adaptation >= 1 (section 4.3), i.e. lambda <= 1.
  TORCH_ARG(double, loose_approximation) = 0.6;
  // d in (0, 1]: mu and s_max are multiplied by d every decay_steps steps
  // (continuously). 1: no decay (PAL 2020 uses none; PAL 2019's grids
  // search 0.85 .. 0.95).
  TORCH_ARG(double, decay) = 1.0;
  // Steps per decay period; 0: no decay. Usually one epoch.
  TORCH_ARG(int64_t, decay_steps) = 0;
  // false: l'(0) = -||d|| (PAL 2019, Algorithm 1); true: the exact
  // -(g . d) / ||d|| (PAL 2020, Eq. 4), one more dot product per step when
  // momentum > 0 (with momentum 0 both are -||g||).
  TORCH_ARG(bool, exact_directional_derivative) = false;
  // Directions with ||d|| <= epsilon make no update. 1e-10: not in the
  // papers; the authors' reference implementation guards with it too.
  TORCH_ARG(double, epsilon) = 1e-10;

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  friend bool operator==(const PALOptions& lhs, const PALOptions& rhs);
  ~PALOptions() override = default;
};

struct PALParamState : public torch::optim::OptimizerCloneableParamState<PALParamState> {
  // Steps taken; kept in the first parameter's state only.
  TORCH_ARG(int64_t, step) = 0;
  // d of this parameter; undefined while momentum is 0 or before the first
  // step that counted.
  TORCH_ARG(torch::Tensor, momentum_buffer);

 public:
  void serialize(torch::serialize::InputArchive& archive) override;
  void serialize(torch::serialize::OutputArchive& archive) const override;
  friend bool operator==(const PALParamState& lhs, const PALParamState& rhs);
  ~PALParamState() override = default;
};

// Which branch of the case discrimination the last step took.
enum class PALCase : int64_t {
  kMinimum = 0,    // positive curvature, negative slope: to the parabola's minimum
  kNoMinimum = 1,  // non-positive curvature, negative slope: a step of mu
  kNoUpdate = 2,   // non-negative slope, zero direction or non-finite values
};

const char* PALCaseName(PALCase c);

// The last step, read to the host (this synchronises with a GPU).
struct PALStepInfo {
  double learning_rate = 0;  // s_upd / ||d||
  double step_size = 0;      // s_upd
  PALCase step_case = PALCase::kNoUpdate;
};

class PAL : public torch::optim::Optimizer {
 public:
  // Fails (c10::Error from TORCH_CHECK, naming the value) when
  // measuring_step <= 0, max_step <= 0, momentum outside [0, 1],
  // loose_approximation <= 0, decay outside (0, 1], decay_steps < 0,
  // epsilon < 0 or any of them not finite, or on an empty parameter list.
  PAL(std::vector<torch::Tensor> params, PALOptions options);

  // One PAL step. `closure` computes and returns the (scalar) loss of the
  // current batch, nothing else: PAL zeroes the gradients, runs it with
  // autograd and calls backward for l(0), then runs it again under
  // NoGradGuard for l(mu). Returns l(0), detached. Throws (c10::Error) when
  // closure is empty or returns something other than one element, or from
  // the closure itself; the parameters may then sit at the measuring point.
  torch::Tensor step(LossClosure closure) override;

  // The last step's effective learning rate s_upd / ||d|| (double) and its
  // case (int64 holding a PALCase), as 0-dim tensors on the parameters'
  // device; undefined before the first step. Handing them out does not
  // synchronise; reading them does.
  const torch::Tensor& last_learning_rate() const { return last_learning_rate_; }
  const torch::Tensor& last_step_size() const { return last_step_size_; }
  const torch::Tensor& last_case() const { return last_case_; }
  // Reads the three (synchronises). Zeros / kNoUpdate before the first step.
  PALStepInfo last_step_info() const;

  // Steps taken so far (the decay's t for the next step).
  int64_t steps() const;
  // mu and s_max that step `t` uses.
  double measuring_step_at(int64_t t) const;
  double max_step_at(int64_t t) const;

  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  // For tests: decide on 0-dim tensors, as on a GPU, even when the
  // parameters are on the CPU (where host doubles are used otherwise).
  void set_tensor_arithmetic_for_testing(bool on) { tensor_arithmetic_for_testing_ = on; }

 private:
  PALParamState& StateOf(const torch::Tensor& param);
  const PALOptions& options() const;

  template <typename Self, typename Archive>
  static void serialize(Self& self, Archive& archive) {
    torch::optim::serialize<PALParamState, PALOptions>(archive, self);
  }

  torch::Tensor last_learning_rate_;
  torch::Tensor last_step_size_;
  torch::Tensor last_case_;
  // Per parameter of the group: the tensor the next search vector is
  // computed into (with momentum), so that steps do not allocate.
  std::vector<torch::Tensor> spares_;
  bool tensor_arithmetic_for_testing_ = false;
};

}  // namespace optim
}  // namespace gridsearch

#endif  // GRIDSEARCH_OPTIMIZERS_PAL_H_
