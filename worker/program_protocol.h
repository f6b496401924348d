// Version 1 of the protocol between a worker and a user's training program
// (README, "Your own training program"). The worker writes the job as JSON to
// the file named by GRIDSEARCH_JOB; the program writes one JSON object per
// line to the file descriptor named by GRIDSEARCH_REPORT_FD:
//
//   {"event": "train_start"}                        setup done: the budget starts
//   {"event": "point", "step": 12, "loss": 0.53,    one training step's loss;
//    "elapsed_seconds": 1.7, "epoch": 0.2,          elapsed, epoch and learning
//    "learning_rate": 0.1}                          rate are optional
//   {"event": "result", "final_train_loss": 0.41,   the final metrics, all
//    "test_loss": 0.45, "test_accuracy": 0.87}      optional
//   {"event": "heartbeat"}                          alive (long evaluations)
//
// A loss may be null, "nan", "inf" or "-inf" (and Python's bare NaN and
// Infinity are read as such): a non-finite loss ends the job as diverged.
// Unknown fields are ignored; an unknown event is an error.
#ifndef GRIDSEARCH_WORKER_PROGRAM_PROTOCOL_H_
#define GRIDSEARCH_WORKER_PROGRAM_PROTOCOL_H_

#include <string>

#include "common/job.h"
#include "common/status.h"

namespace gridsearch {

constexpr int kProgramProtocolVersion = 1;

struct ReportEvent {
  enum Kind { kTrainStart, kPoint, kResult, kHeartbeat };
  Kind kind = kHeartbeat;
  // kPoint: step and loss always; the others where `has_*` says so.
  CurvePoint point;
  bool has_elapsed = false;
  bool has_epoch = false;
  bool has_learning_rate = false;
  // kResult: NaN where not given.
  JobResult result;
  bool has_final_train_loss = false;
  // kTrainStart and kResult: the program's software, e.g. "torch 2.4.0".
  std::string software;
};

// Parses one line (without its newline). InvalidArgument says what is wrong
// with it, e.g. "not JSON (...)", "point: step must be a positive integer".
Status ParseReportLine(const std::string& line, ReportEvent* event);

}  // namespace gridsearch

#endif  // GRIDSEARCH_WORKER_PROGRAM_PROTOCOL_H_
