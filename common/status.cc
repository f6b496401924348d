#include "common/status.h"

namespace gridsearch {

const char* StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::kOk: return "OK";
    case Status::kCancelled: return "CANCELLED";
    case Status::kUnknown: return "UNKNOWN";
    case Status::kInvalidArgument: return "INVALID_ARGUMENT";
    case Status::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case Status::kNotFound: return "NOT_FOUND";
    case Status::kAlreadyExists: return "ALREADY_EXISTS";
    case Status::kPermissionDenied: return "PERMISSION_DENIED";
    case Status::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case Status::kFailedPrecondition: return "FAILED_PRECONDITION";
    case Status::kAborted: return "ABORTED";
    case Status::kOutOfRange: return "OUT_OF_RANGE";
    case Status::kUnimplemented: return "UNIMPLEMENTED";
    case Status::kInternal: return "INTERNAL";
    case Status::kUnavailable: return "UNAVAILABLE";
    case Status::kDataLoss: return "DATA_LOSS";
    case Status::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

}  // namespace gridsearch
