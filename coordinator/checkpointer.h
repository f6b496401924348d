// Checkpointer: copies the writer's WAL back into the database file on a
// thread and connection of its own. Left to the writer (SQLite's automatic
// checkpoint, every 1,000 pages), that copying ran inside a commit, and under
// a cluster's load it was a good part of the writer's time; here it runs
// beside the writer, which goes on committing. PASSIVE checkpoints never
// wait for, or block, the writer or a reader.
//
// A writer that never pauses, on a machine whose cores are all busy, can
// outrun this thread: the WAL then only grows (by gigabytes in a minute of
// a cluster's saturating reports), its file takes disk space without bound
// and every commit extends the file instead of rewriting pages already
// cached. So once the WAL holds `catch_up_pages`, the writer copies back
// itself, between two transactions (CatchUpIfBehind), what the background
// checkpoints have not, and its next commit starts the WAL again from the
// beginning. A background run in progress finishes first: the writer
// commits on meanwhile, and waits for it only once the WAL has grown a
// quarter of the bound past it. Unless a reader holds pages not yet copied,
// the WAL stays under 1.25 times the bound and one commit.
#ifndef GRIDSEARCH_COORDINATOR_CHECKPOINTER_H_
#define GRIDSEARCH_COORDINATOR_CHECKPOINTER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "coordinator/database.h"

namespace gridsearch {

class Checkpointer {
 public:
  // Takes over the checkpoints of `writer` (not owned, outlives this): one
  // starts once its WAL holds `wal_pages` pages or more; at `catch_up_pages`
  // (normally several times `wal_pages`) the writer catches up itself.
  static Status Start(const std::string& path, Database* writer, int wal_pages,
                      int catch_up_pages, std::unique_ptr<Checkpointer>* out);
  // On the writer's thread, outside a transaction: if its last commit left
  // `catch_up_pages` or more in the WAL, checkpoints on the writer's own
  // connection. While a background checkpoint is in progress, no other
  // starts and this returns at once (the next call, before the writer's
  // next transaction, copies what that one left), until the WAL holds a
  // quarter of `catch_up_pages` more: then it waits for that run (at most
  // about a second, then it returns). If it did not copy everything (a
  // reader is on pages not yet copied), it tries again only once the WAL
  // has grown by `catch_up_pages` more. Returns whether it checkpointed.
  bool CatchUpIfBehind();
  // Stops after the checkpoint in progress (the last connection to close
  // the file checkpoints what is left).
  ~Checkpointer();

  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  Checkpointer() = default;
  // SQLite's WAL hook: runs on the writer's thread after each commit.
  static int OnCommit(void* self, sqlite3* db, const char* name, int wal_pages);
  void Loop();

  std::unique_ptr<Database> db_;   // its own connection
  Database* writer_ = nullptr;
  int wal_pages_ = 0;
  int catch_up_pages_ = 0;
  // The writer's thread only: the WAL's pages after its last commit, and
  // the size at which it catches up next.
  int last_wal_pages_ = 0;
  int catch_up_at_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stop_ = false;
  bool running_ = false;  // a background checkpoint is in progress
  bool holding_ = false;  // the writer catches up next: none starts
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_CHECKPOINTER_H_
