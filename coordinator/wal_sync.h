// WalSync: makes the writer's commits durable off the writer's thread.
//
// The writer commits with synchronous=NORMAL: a commit appends its pages to
// the WAL file and returns without waiting for the disk. Its callers are
// answered only after WalSync::Sync has returned for it: one fdatasync of
// the WAL, on the answer thread, covering every commit written before it.
// The writer meanwhile builds the next transaction, so the disk's flush and
// the writer's work overlap instead of taking turns, and one flush serves as
// many commits as were written while the last one ran.
//
// Why this is as durable as synchronous=FULL for anything answered: a
// commit's frames are on disk once an fsync of the WAL file that started
// after they were written has returned (on Linux, fsync of any descriptor
// of a file flushes the file). Frames are overwritten only when SQLite
// restarts the WAL after a checkpoint, which first copied them into the
// database file and synced it; the new WAL header is synced by SQLite itself
// (synchronous=NORMAL still syncs at WAL resets and checkpoints). After a
// power loss the WAL's checksums drop a torn tail, which holds only commits
// nobody was answered for; the commits kept are a prefix of those made.
#ifndef GRIDSEARCH_COORDINATOR_WAL_SYNC_H_
#define GRIDSEARCH_COORDINATOR_WAL_SYNC_H_

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace gridsearch {

class WalSync {
 public:
  // For the database at `db_path` (its WAL is db_path + "-wal").
  explicit WalSync(std::string db_path);
  ~WalSync();

  // Flushes the WAL file to the disk. No WAL file means nothing waits to be
  // flushed: SQLite removes it only after checkpointing all of it into the
  // synced database file. A failure names the file and the system's error.
  Status Sync();

  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace gridsearch

#endif  // GRIDSEARCH_COORDINATOR_WAL_SYNC_H_
