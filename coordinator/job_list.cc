#include "coordinator/job_list.h"

#include "coordinator/database.h"

namespace gridsearch {
namespace {

constexpr const char* kColumns =
    "SELECT j.id, j.sweep_id, j.config_id, c.optimizer, c.params_json, j.seed, j.state, "
    "j.attempts, COALESCE(j.worker_id, ''), COALESCE(j.device, ''), COALESCE(j.error, ''), "
    "j.final_train_loss, j.train_seconds, j.steps FROM jobs j JOIN configs c ON c.id = j.config_id ";

JobListRow ReadRow(const Statement& st) {
  JobListRow r;
  r.job_id = st.Int(0);
  r.sweep_id = st.Int(1);
  r.config_id = st.Int(2);
  r.optimizer = st.Text(3);
  r.params_json = st.Text(4);
  r.seed = st.Int(5);
  r.state = st.Text(6);
  r.attempts = st.Int(7);
  r.worker_id = st.Text(8);
  r.device = st.Text(9);
  r.error = st.Text(10);
  r.final_train_loss = st.Double(11);
  r.train_seconds = st.Double(12);
  r.steps = st.IsNull(13) ? -1 : st.Int(13);
  return r;
}

}  // namespace

bool IsJobState(const std::string& state) {
  return state == "queued" || state == "leased" || state == "done" || state == "failed" ||
         state == "diverged" || state == "cancelled";
}

Status QueryJobList(Database* db, int64_t sweep_id, const std::string& state, int64_t limit,
                    int64_t offset, std::vector<JobListRow>* rows, int64_t* total) {
  rows->clear();
  *total = 0;
  Statement exists;
  GS_RETURN_IF_ERROR(db->Prepare("SELECT 1 FROM sweeps WHERE id = ?1", &exists));
  exists.Bind(1, sweep_id);
  bool row = false;
  GS_RETURN_IF_ERROR(exists.Step(&row));
  if (!row) return Status::NotFound("no sweep with id " + std::to_string(sweep_id));

  Statement count;
  GS_RETURN_IF_ERROR(db->Prepare(
      "SELECT COUNT(*) FROM jobs WHERE sweep_id = ?1 AND (?2 = '' OR state = ?2)", &count));
  count.Bind(1, sweep_id).Bind(2, state);
  GS_RETURN_IF_ERROR(count.Step(&row));
  *total = count.Int(0);

  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare(
      std::string(kColumns) +
          "WHERE j.sweep_id = ?1 AND (?2 = '' OR j.state = ?2) ORDER BY j.id LIMIT ?3 OFFSET ?4",
      &st));
  st.Bind(1, sweep_id).Bind(2, state).Bind(3, limit).Bind(4, offset);
  while (true) {
    GS_RETURN_IF_ERROR(st.Step(&row));
    if (!row) break;
    rows->push_back(ReadRow(st));
  }
  return Status::OK();
}

Status QueryJobListRow(Database* db, int64_t job_id, JobListRow* out) {
  Statement st;
  GS_RETURN_IF_ERROR(db->Prepare(std::string(kColumns) + "WHERE j.id = ?1", &st));
  st.Bind(1, job_id);
  bool row = false;
  GS_RETURN_IF_ERROR(st.Step(&row));
  if (!row) return Status::NotFound("no job with id " + std::to_string(job_id));
  *out = ReadRow(st);
  return Status::OK();
}

}  // namespace gridsearch
