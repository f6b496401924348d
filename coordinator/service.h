// CoordinatorService: the gRPC handlers of the coordinator API. Each checks
// the caller's token, validates its request, calls the JobStore and maps its
// Status. CoordinatorServer serves it; the request fuzzer calls its blocking
// form directly.
#ifndef GRIDSEARCH_COORDINATOR_SERVICE_H_
#define GRIDSEARCH_COORDINATOR_SERVICE_H_

#include <memory>
#include <string>

#include "coordinator/job_store.h"
#include "proto/gridsearch.grpc.pb.h"

namespace gridsearch {

// The service the coordinator serves, over `store` (not owned). `token`
// empty: no token is asked for. The workers' calls (LeaseJob,
// ReportProgress, CompleteJob, CompleteAndLease) run on gRPC's callback API
// and are answered when their write commits; a waiting long-poll holds no
// thread. The other calls run on the synchronous API's thread pool.
std::unique_ptr<grpc::Service> MakeCoordinatorService(JobStore* store, const std::string& token);

// The same checks and answers with every method blocking, for callers in
// this process (the request fuzzer).
std::unique_ptr<v1::Coordinator::Service> MakeBlockingCoordinatorService(JobStore* store,
                                                                        const std::string& token);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_SERVICE_H_
