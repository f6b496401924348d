#include "optimizers/pal.h"

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "common/decay.h"

namespace gridsearch {
namespace optim {
namespace {

// LibTorch 1.13 keys optimizer state by the parameter's TensorImpl address
// printed as a string, LibTorch 2.x by the address itself; this serves both.
template <typename Map>
typename Map::key_type StateKey(const Map& /*state*/, const torch::Tensor& param) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << param.unsafeGetTensorImpl();
    return os.str();
  } else {
    return param.unsafeGetTensorImpl();
  }
}

// The default generators a forward pass on `device` draws from, with their
// state before l(0), so that the l(mu) pass replays the same random numbers.
// Getting and setting a generator's state is host work (the CUDA generator
// keeps its seed and offset on the host): no synchronisation.
class RandomState {
 public:
  explicit RandomState(const torch::Device& device) {
    Save(at::globalContext().defaultGenerator(torch::Device(torch::kCPU)));
    if (device.is_cuda()) Save(at::globalContext().defaultGenerator(device));
  }

  void Restore() {
    for (auto& [generator, state] : saved_) {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(state);
    }
  }

 private:
  void Save(at::Generator generator) {
    torch::Tensor state;
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      state = generator.get_state();
    }
    saved_.emplace_back(std::move(generator), std::move(state));
  }

  std::vector<std::pair<at::Generator, torch::Tensor>> saved_;
};

// a . b over all elements, in the tensors' own dtype (BLAS dot on the CPU).
torch::Tensor FlatDot(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::dot(a.reshape({-1}), b.reshape({-1}));
}


// The loss a closure returned, checked: one element, defined.
const torch::Tensor& CheckedLoss(const torch::Tensor& loss, const char* which) {
  TORCH_CHECK(loss.defined(), "PAL: the closure returned an undefined tensor for ", which);
  TORCH_CHECK(loss.numel() == 1, "PAL: the closure must return the loss as one element, got ",
              loss.numel(), " elements for ", which);
  return loss;
}

// ---- The step's scalar arithmetic, written once for two kinds of scalar.
//
// S = double: the parameters are on the CPU. Reading a CPU scalar costs
// nothing, while every operation on a 0-dim tensor costs microseconds of
// dispatch, and a known decision lets the update skip work (no move at all
// when the step is 0).
// S = torch::Tensor (0-dim, on the parameters' device): a GPU. Nothing is
// read back; every decision is a tensor and every update runs
// unconditionally with coefficients that are 0 where nothing must move.
// Flag<S> is the matching boolean: bool, or a 0-dim bool tensor.
template <typename S>
using Flag = std::conditional_t<std::is_same_v<S, double>, bool, torch::Tensor>;

template <typename S>
S Value(const torch::Tensor& t);
template <>
double Value<double>(const torch::Tensor& t) { return t.item<double>(); }
template <>
torch::Tensor Value<torch::Tensor>(const torch::Tensor& t) {
  return t.detach().reshape({}).to(torch::kDouble);
}

// sum_i a_i . b_i: on the host a double sum of the parts; on a device one
// stack and one reduction (in double) rather than a chain of additions.
template <typename S>
S SumOfDots(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b);
template <>
double SumOfDots<double>(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += FlatDot(a[i], b[i]).item<double>();
  return sum;
}
template <>
torch::Tensor SumOfDots<torch::Tensor>(const std::vector<torch::Tensor>& a,
                                       const std::vector<torch::Tensor>& b) {
  std::vector<torch::Tensor> parts;
  parts.reserve(a.size());
  bool mixed = false;
  for (size_t i = 0; i < a.size(); ++i) {
    parts.push_back(FlatDot(a[i], b[i]));
    mixed = mixed || parts.back().scalar_type() != parts.front().scalar_type();
  }
  if (parts.size() == 1) return parts.front().to(torch::kDouble);
  if (mixed)
    for (auto& p : parts) p = p.to(torch::kDouble);
  return torch::stack(parts).sum(torch::kDouble);
}

torch::Tensor AsTensor(double x) { return torch::scalar_tensor(x, torch::kDouble); }
torch::Tensor AsTensor(const torch::Tensor& x) { return x; }

bool IsFinite(double x) { return std::isfinite(x); }
torch::Tensor IsFinite(const torch::Tensor& x) { return torch::isfinite(x); }
double Sqrt(double x) { return std::sqrt(x); }
torch::Tensor Sqrt(const torch::Tensor& x) { return x.sqrt(); }
double Reciprocal(double x) { return 1 / x; }
torch::Tensor Reciprocal(const torch::Tensor& x) { return x.reciprocal(); }
bool Greater(double x, double y) { return x > y; }
torch::Tensor Greater(const torch::Tensor& x, double y) { return x.gt(y); }
bool Less(double x, double y) { return x < y; }
torch::Tensor Less(const torch::Tensor& x, double y) { return x.lt(y); }
bool Both(bool a, bool b) { return a && b; }
torch::Tensor Both(const torch::Tensor& a, const torch::Tensor& b) { return a.logical_and(b); }
// min(x, y); NaN stays NaN, as with clamp_max.
double AtMost(double x, double y) { return y < x ? y : x; }
torch::Tensor AtMost(const torch::Tensor& x, double y) { return x.clamp_max(y); }
// cond ? x : otherwise.
double OrElse(bool cond, double x, double otherwise) { return cond ? x : otherwise; }
torch::Tensor OrElse(const torch::Tensor& cond, const torch::Tensor& x, double otherwise) {
  return x.masked_fill(cond.logical_not(), otherwise);
}

torch::Tensor CaseOf(bool update, bool has_minimum) {
  const PALCase c = !update ? PALCase::kNoUpdate
                            : has_minimum ? PALCase::kMinimum : PALCase::kNoMinimum;
  return torch::scalar_tensor(static_cast<int64_t>(c), torch::kLong);
}
torch::Tensor CaseOf(const torch::Tensor& update, const torch::Tensor& has_minimum) {
  return has_minimum.logical_not().to(torch::kLong).masked_fill(
      update.logical_not(), static_cast<int64_t>(PALCase::kNoUpdate));
}

// The parameters on the line and their search vectors.
struct Line {
  std::vector<torch::Tensor> params;
  std::vector<torch::Tensor> grads;
  std::vector<torch::Tensor> dirs;           // d; the gradient itself when no previous d
  std::vector<PALParamState*> states;        // null when momentum is 0
  std::vector<torch::Tensor*> spares;        // where d lives when it is not g; null: none
  bool any_previous = false;                 // some d includes a previous d
};

// A non-finite direction must not reach the parameters, not even times a
// zero coefficient (0 * inf is NaN): zero it.
void ZeroUnless(bool finite, Line& line) {
  if (finite) return;
  for (auto& d : line.dirs) d.zero_();
}
void ZeroUnless(const torch::Tensor& finite, Line& line) {
  const torch::Tensor bad = finite.logical_not();
  for (auto& d : line.dirs) d.masked_fill_(bad, 0);
}

// theta += coefficient * d for every parameter on the line.
void Move(Line& line, double coefficient) {
  if (coefficient == 0) return;
  for (size_t i = 0; i < line.dirs.size(); ++i) line.params[i].add_(line.dirs[i], coefficient);
}
void Move(Line& line, const torch::Tensor& coefficient) {
  // Elementwise kernels are fastest with matching dtypes: cast once per dtype.
  torch::Tensor cast;
  for (size_t i = 0; i < line.dirs.size(); ++i) {
    torch::Tensor& p = line.params[i];
    if (!cast.defined() || cast.scalar_type() != p.scalar_type())
      cast = coefficient.to(p.scalar_type());
    p.addcmul_(line.dirs[i], cast);
  }
}

// The momentum vector becomes d when `keep`, else stays (an absent one is
// 0). Fresh memory is dear (on a CPU its first touch page-faults), so in the
// steady state nothing is allocated: d was computed into a spare tensor, and
// on the host the spare and the momentum vector swap roles; on a device the
// choice is made in place.
void Commit(bool keep, Line& line) {
  if (!keep) return;
  for (size_t i = 0; i < line.dirs.size(); ++i) {
    PALParamState& state = *line.states[i];
    if (line.dirs[i].is_same(line.grads[i])) {  // the first d is g, which is not ours
      state.momentum_buffer(line.dirs[i].clone());
    } else {
      torch::Tensor previous = state.momentum_buffer();
      state.momentum_buffer(line.dirs[i]);
      *line.spares[i] = std::move(previous);
    }
  }
}
void Commit(const torch::Tensor& keep, Line& line) {
  for (size_t i = 0; i < line.dirs.size(); ++i) {
    PALParamState& state = *line.states[i];
    torch::Tensor buffer = state.momentum_buffer();
    if (buffer.defined()) {
      torch::where_out(buffer, keep, line.dirs[i], buffer);
    } else {
      state.momentum_buffer(
          torch::where(keep, line.dirs[i], torch::zeros({}, line.dirs[i].options())));
    }
  }
}

struct Settings {
  double mu;        // measuring step of this step (decayed)
  double s_max;     // maximum step of this step (decayed)
  double lambda;    // loose approximation
  double epsilon;
  bool exact;       // exact directional derivative
  bool momentum;    // momentum > 0: keep the momentum vectors
};

struct Outcome {
  torch::Tensor step_size, learning_rate, step_case;
};

// From l(0) and the line's gradients to the updated parameters: the
// measuring point, l(mu) from `measure`, the parabola, its case, the step.
template <typename S>
Outcome SearchLine(const torch::Tensor& loss0, Line& line, const Settings& k,
                   const std::function<torch::Tensor()>& measure) {
  const S l0 = Value<S>(loss0);
  const S norm = Sqrt(SumOfDots<S>(line.dirs, line.dirs));
  S b = -norm;  // l'(0) = -||d||; exact as long as d is the gradient
  if (k.exact && line.any_previous) b = -SumOfDots<S>(line.grads, line.dirs) / norm;
  const Flag<S> dir_finite = IsFinite(norm);
  const Flag<S> line_ok = Both(Both(IsFinite(l0), dir_finite),
                               Both(Greater(norm, k.epsilon), Less(b, 0.0)));
  ZeroUnless(dir_finite, line);
  // 1 / ||d|| where there is a line to search, else 0, which pins theta.
  const S inv_norm = OrElse(line_ok, Reciprocal(norm), 0.0);

  // To the measuring point theta - mu * d / ||d||, and l(mu) there.
  Move(line, inv_norm * (-k.mu));
  const S l_mu = Value<S>(CheckedLoss(measure(), "l(mu)"));

  // The parabola a*s^2 + b*s + l(0) through l(mu); its case; the step,
  // clipped at s_max; 0 when any of it is not finite.
  const S a = (l_mu - l0 - b * k.mu) / (k.mu * k.mu);
  const Flag<S> has_minimum = Greater(a, 0.0);
  const Flag<S> a_finite = IsFinite(a);  // and so l(0), l(mu) and b
  const Flag<S> update = Both(line_ok, a_finite);
  S s = AtMost(OrElse(has_minimum, b / a * (-0.5 / k.lambda), k.mu), k.s_max);
  s = OrElse(update, s, 0.0);

  // From the measuring point to theta - s * d / ||d||.
  Move(line, -((s - k.mu) * inv_norm));
  // The momentum vector advances whenever the step's numbers are finite
  // (also when the case makes no update, as in the papers), and only then.
  if (k.momentum) Commit(Both(dir_finite, a_finite), line);
  return {AsTensor(s), AsTensor(s * inv_norm), CaseOf(update, has_minimum)};
}

}  // namespace

// ---------------------------------------------------------------- options

PALOptions::PALOptions(double measuring_step) : measuring_step_(measuring_step) {}

bool operator==(const PALOptions& lhs, const PALOptions& rhs) {
  return lhs.measuring_step() == rhs.measuring_step() && lhs.max_step() == rhs.max_step() &&
         lhs.momentum() == rhs.momentum() &&
         lhs.loose_approximation() == rhs.loose_approximation() && lhs.decay() == rhs.decay() &&
         lhs.decay_steps() == rhs.decay_steps() &&
         lhs.exact_directional_derivative() == rhs.exact_directional_derivative() &&
         lhs.epsilon() == rhs.epsilon();
}

void PALOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(measuring_step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(max_step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(loose_approximation);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(decay_steps);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(exact_directional_derivative);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(epsilon);
}

void PALOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, measuring_step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, max_step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, loose_approximation);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, decay_steps);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, exact_directional_derivative);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, epsilon);
}

// ------------------------------------------------------------ param state

bool operator==(const PALParamState& lhs, const PALParamState& rhs) {
  const torch::Tensor& a = lhs.momentum_buffer();
  const torch::Tensor& b = rhs.momentum_buffer();
  const bool buffers_equal =
      a.defined() == b.defined() && (!a.defined() || torch::equal(a, b));
  return lhs.step() == rhs.step() && buffers_equal;
}

void PALParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(step);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_buffer);
}

void PALParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(int64_t, step);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, momentum_buffer);
}

const char* PALCaseName(PALCase c) {
  switch (c) {
    case PALCase::kMinimum:
      return "minimum";
    case PALCase::kNoMinimum:
      return "no-minimum";
    case PALCase::kNoUpdate:
      return "no-update";
  }
  return "unknown";
}

// -------------------------------------------------------------------- PAL

PAL::PAL(std::vector<torch::Tensor> params, PALOptions options)
    : torch::optim::Optimizer(std::move(params), std::make_unique<PALOptions>(options)) {
  const PALOptions& o = options;
  TORCH_CHECK(std::isfinite(o.measuring_step()) && o.measuring_step() > 0,
              "PAL: measuring_step (mu) must be finite and > 0, got ", o.measuring_step());
  TORCH_CHECK(std::isfinite(o.max_step()) && o.max_step() > 0,
              "PAL: max_step (s_max) must be finite and > 0, got ", o.max_step());
  TORCH_CHECK(o.momentum() >= 0 && o.momentum() <= 1,
              "PAL: momentum (direction adaptation) must be in [0, 1], got ", o.momentum());
  TORCH_CHECK(std::isfinite(o.loose_approximation()) && o.loose_approximation() > 0,
              "PAL: loose_approximation must be finite and > 0, got ", o.loose_approximation());
  TORCH_CHECK(o.decay() > 0 && o.decay() <= 1, "PAL: decay must be in (0, 1], got ", o.decay());
  TORCH_CHECK(o.decay_steps() >= 0, "PAL: decay_steps must be >= 0 (0: no decay), got ",
              o.decay_steps());
  TORCH_CHECK(std::isfinite(o.epsilon()) && o.epsilon() >= 0,
              "PAL: epsilon must be finite and >= 0, got ", o.epsilon());
  TORCH_CHECK(param_groups_.size() == 1 && !param_groups_.front().params().empty(),
              "PAL: needs one non-empty group of parameters");
}

const PALOptions& PAL::options() const {
  return static_cast<const PALOptions&>(param_groups_.front().options());
}

PALParamState& PAL::StateOf(const torch::Tensor& param) {
  auto key = StateKey(state_, param);
  auto it = state_.find(key);
  if (it == state_.end()) it = state_.emplace(key, std::make_unique<PALParamState>()).first;
  return static_cast<PALParamState&>(*it->second);
}

int64_t PAL::steps() const {
  const torch::Tensor& first = param_groups_.front().params().front();
  auto it = state_.find(StateKey(state_, first));
  if (it == state_.end()) return 0;
  return static_cast<const PALParamState&>(*it->second).step();
}

double PAL::measuring_step_at(int64_t t) const {
  const PALOptions& o = options();
  return ExponentialDecay(o.measuring_step(), o.decay(), t, o.decay_steps());
}

double PAL::max_step_at(int64_t t) const {
  const PALOptions& o = options();
  return ExponentialDecay(o.max_step(), o.decay(), t, o.decay_steps());
}

PALStepInfo PAL::last_step_info() const {
  PALStepInfo info;
  if (!last_case_.defined()) return info;
  info.learning_rate = last_learning_rate_.item<double>();
  info.step_size = last_step_size_.item<double>();
  info.step_case = static_cast<PALCase>(last_case_.item<int64_t>());
  return info;
}

torch::Tensor PAL::step(LossClosure closure) {
  TORCH_CHECK(closure != nullptr,
              "PAL::step needs a closure that returns the loss of the current batch");
  torch::NoGradGuard no_grad;
  const PALOptions& o = options();
  std::vector<torch::Tensor>& params = param_groups_.front().params();
  const torch::Device device = params.front().device();
  PALParamState& counter = StateOf(params.front());
  const int64_t t = counter.step();

  // l(0) and the gradient. The generators' state is taken first so that the
  // l(mu) pass can replay this pass's random numbers.
  RandomState random_state(device);
  zero_grad();
  torch::Tensor loss0;
  {
    torch::AutoGradMode enable_grad(true);
    loss0 = closure();
    CheckedLoss(loss0, "l(0)");
    loss0.backward();
  }

  // The search vector d = g + momentum * d_prev of each parameter with a
  // gradient: a new tensor when there is a previous d, else g itself.
  Line line;
  bool all_on_cpu = true;
  const double beta = o.momentum();
  if (beta > 0 && spares_.size() != params.size()) spares_.assign(params.size(), torch::Tensor());
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& p = params[i];
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    torch::Tensor d = g;
    PALParamState* state = nullptr;
    if (beta > 0) {
      state = &StateOf(p);
      const torch::Tensor& previous = state->momentum_buffer();
      if (previous.defined()) {
        torch::Tensor& spare = spares_[i];
        if (!spare.defined() || !spare.is_same_size(g) || spare.scalar_type() != g.scalar_type() ||
            spare.device() != g.device())
          spare = torch::empty_like(g);
        torch::add_out(spare, g, previous, beta);
        d = spare;
        line.any_previous = true;
      }
    }
    all_on_cpu = all_on_cpu && p.is_cpu();
    line.params.push_back(p);
    line.grads.push_back(g);
    line.dirs.push_back(std::move(d));
    line.states.push_back(state);
    line.spares.push_back(beta > 0 ? &spares_[i] : nullptr);
  }
  TORCH_CHECK(!line.dirs.empty(), "PAL: no parameter has a gradient after backward of l(0)");

  const Settings settings{measuring_step_at(t), max_step_at(t), o.loose_approximation(),
                          o.epsilon(), o.exact_directional_derivative(), beta > 0};
  auto measure = [&] {
    random_state.Restore();
    return closure();
  };
  Outcome outcome = all_on_cpu && loss0.is_cpu() && !tensor_arithmetic_for_testing_
                        ? SearchLine<double>(loss0, line, settings, measure)
                        : SearchLine<torch::Tensor>(loss0, line, settings, measure);
  last_step_size_ = std::move(outcome.step_size);
  last_learning_rate_ = std::move(outcome.learning_rate);
  last_case_ = std::move(outcome.step_case);
  counter.step(t + 1);
  return loss0.detach();
}

void PAL::save(torch::serialize::OutputArchive& archive) const { serialize(*this, archive); }

void PAL::load(torch::serialize::InputArchive& archive) { serialize(*this, archive); }

}  // namespace optim
}  // namespace gridsearch
