// Conversions between the plain structs of common/job.h and the proto
// messages, shared by the coordinator and the worker.
#ifndef GRIDSEARCH_PROTO_CONVERT_H_
#define GRIDSEARCH_PROTO_CONVERT_H_

#include <vector>

#include "common/job.h"
#include "common/status.h"
#include "proto/gridsearch.pb.h"

namespace grpc {
class Status;
}

namespace gridsearch {

void ToProto(const JobSpec& in, v1::Job* out);
JobSpec FromProto(const v1::Job& in);
void ToProto(const CurvePoint& in, v1::CurvePoint* out);
CurvePoint FromProto(const v1::CurvePoint& in);
void ToProto(const JobResult& in, v1::JobMetrics* out);
JobResult FromProto(const v1::JobMetrics& in);

template <typename Repeated>
std::vector<CurvePoint> PointsFromProto(const Repeated& points) {
  std::vector<CurvePoint> out;
  out.reserve(points.size());
  for (const auto& p : points) out.push_back(FromProto(p));
  return out;
}

grpc::Status ToGrpc(const Status& s);
Status FromGrpc(const grpc::Status& s);

}  // namespace gridsearch

#endif  // GRIDSEARCH_PROTO_CONVERT_H_
