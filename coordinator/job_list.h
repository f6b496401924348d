// The jobs of a sweep, one page at a time, with their state, worker, device,
// attempts and last error: the dashboard's jobs table. Torch-free; works on
// any Database.
#ifndef GRIDSEARCH_COORDINATOR_JOB_LIST_H_
#define GRIDSEARCH_COORDINATOR_JOB_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

class Database;

struct JobListRow {
  int64_t job_id = 0;
  int64_t sweep_id = 0;
  int64_t config_id = 0;
  std::string optimizer;
  std::string params_json;
  int64_t seed = 0;
  std::string state;
  int64_t attempts = 0;
  std::string worker_id;     // empty: never leased
  std::string device;        // empty: unknown
  std::string error;         // the last failure's message; empty: none
  double final_train_loss = 0;  // NaN when unknown
  double train_seconds = 0;     // NaN when unknown
  int64_t steps = -1;           // -1 when unknown
};

// The jobs states a filter may name.
bool IsJobState(const std::string& state);

// Jobs of `sweep_id` in id order, `state` ("" for all) filtered, `limit` rows
// from `offset`; *total counts every job the filter matches. NotFound when
// the sweep does not exist.
Status QueryJobList(Database* db, int64_t sweep_id, const std::string& state, int64_t limit,
                    int64_t offset, std::vector<JobListRow>* rows, int64_t* total);

// One job; NotFound when there is none.
Status QueryJobListRow(Database* db, int64_t job_id, JobListRow* row);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_JOB_LIST_H_
