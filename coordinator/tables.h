// RenderTable: one entry point for every table and data export the CLI
// shows — ranking, best per optimizer, ablation, epochs, curves — from a
// Database, in table, markdown, csv or json. `gridsearch <cmd> --db FILE`
// calls it on a read-only file; the coordinator's QueryTable RPC calls it on
// its own store, so both print the same thing.
#ifndef GRIDSEARCH_COORDINATOR_TABLES_H_
#define GRIDSEARCH_COORDINATOR_TABLES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

class Database;

struct TableRequest {
  // results, best, ablation, epochs or curves.
  std::string kind = "results";
  int64_t sweep_id = 0;              // 0: the newest sweep
  std::string metric = "final_train_loss";
  std::string format = "table";      // table, markdown, csv, json
  size_t top = 20;                   // results: rows shown (0: all)
  // best: split the spec's ablation optimizer by the features named here
  // ("all": every ablation feature; "": no split).
  std::string split;
  // curves: which configurations (empty: each optimizer's best), the time
  // grid (bins over the budget) or every raw point, and the column.
  std::vector<int64_t> config_ids;
  int bins = 100;
  bool raw = false;
  std::string column = "loss";       // loss or learning_rate
};

Status RenderTable(Database* db, const TableRequest& request, std::string* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_TABLES_H_
