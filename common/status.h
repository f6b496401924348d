// Status: the result of a fallible operation, in the style of leveldb::Status.
// Codes mirror grpc::StatusCode so a Status crosses the RPC boundary without
// losing meaning. Functions in gridsearch return Status instead of throwing
// across module edges; a value result is returned through an out-parameter.
#ifndef GRIDSEARCH_COMMON_STATUS_H_
#define GRIDSEARCH_COMMON_STATUS_H_

#include <string>
#include <utility>

namespace gridsearch {

class Status {
 public:
  // Same numbers as grpc::StatusCode.
  enum Code {
    kOk = 0,
    kCancelled = 1,
    kUnknown = 2,
    kInvalidArgument = 3,
    kDeadlineExceeded = 4,
    kNotFound = 5,
    kAlreadyExists = 6,
    kPermissionDenied = 7,
    kResourceExhausted = 8,
    kFailedPrecondition = 9,
    kAborted = 10,
    kOutOfRange = 11,
    kUnimplemented = 12,
    kInternal = 13,
    kUnavailable = 14,
    kDataLoss = 15,
    kUnauthenticated = 16,
  };

  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(kNotFound, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(kFailedPrecondition, std::move(m)); }
  static Status ResourceExhausted(std::string m) { return Status(kResourceExhausted, std::move(m)); }
  static Status Internal(std::string m) { return Status(kInternal, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(kUnavailable, std::move(m)); }
  static Status Cancelled(std::string m) { return Status(kCancelled, std::move(m)); }
  static Status IOError(std::string m) { return Status(kDataLoss, std::move(m)); }

  bool ok() const { return code_ == kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<CODE_NAME>: <message>".
  std::string ToString() const;

  // Prepends context: "reading foo: <old message>". OK stays OK.
  Status WithContext(const std::string& context) const;

 private:
  Code code_ = kOk;
  std::string message_;
};

const char* StatusCodeName(Status::Code code);

}  // namespace gridsearch

// Returns early from the enclosing function when `expr` is not OK.
#define GS_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    ::gridsearch::Status _gs_status = (expr);         \
    if (!_gs_status.ok()) return _gs_status;          \
  } while (0)

#endif  // GRIDSEARCH_COMMON_STATUS_H_
