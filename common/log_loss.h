// The log-loss integral of a job (DESIGN.md, "Metrics of a job"): the time
// average of log10(batch loss) over a curve, by trapezoids over elapsed time
// from the first point to the last. The built-in trainer and the program
// runner compute it alike.
#ifndef GRIDSEARCH_COMMON_LOG_LOSS_H_
#define GRIDSEARCH_COMMON_LOG_LOSS_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace gridsearch {

// With one point (or no elapsed time between the points) the value is that
// point's; with none, NaN.
class LogLossAverage {
 public:
  void Add(double elapsed, double loss) {
    // An exact zero loss would make the average -inf; the smallest positive
    // double keeps it finite and still ranks that run first.
    const double v = std::log10(std::max(loss, std::numeric_limits<double>::min()));
    if (count_ == 0) {
      first_elapsed_ = elapsed;
      first_value_ = v;
    } else {
      area_ += (elapsed - last_elapsed_) * (v + last_value_) / 2;
    }
    last_elapsed_ = elapsed;
    last_value_ = v;
    ++count_;
  }

  double Value() const {
    if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
    const double span = last_elapsed_ - first_elapsed_;
    if (count_ < 2 || span <= 0) return first_value_;
    return area_ / span;
  }

 private:
  int64_t count_ = 0;
  double first_elapsed_ = 0;
  double first_value_ = 0;
  double last_elapsed_ = 0;
  double last_value_ = 0;
  double area_ = 0;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COMMON_LOG_LOSS_H_
