// CoordinatorService: the gRPC handlers of the coordinator API. Each checks
// the caller's token, validates its request, calls the JobStore and maps its
// Status. CoordinatorServer serves it; the request fuzzer calls it directly.
#ifndef GRIDSEARCH_COORDINATOR_SERVICE_H_
#define GRIDSEARCH_COORDINATOR_SERVICE_H_

#include <memory>
#include <string>

#include "coordinator/job_store.h"
#include "proto/gridsearch.grpc.pb.h"

namespace gridsearch {

// A service over `store` (not owned). `token` empty: no token is asked for.
std::unique_ptr<v1::Coordinator::Service> MakeCoordinatorService(JobStore* store,
                                                                std::string token);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_SERVICE_H_
