#include "coordinator/checkpointer.h"

#include <sqlite3.h>
#include <pthread.h>

#include <chrono>
#include <cstdio>

namespace gridsearch {

Status Checkpointer::Start(const std::string& path, Database* writer, int wal_pages,
                           int catch_up_pages, std::unique_ptr<Checkpointer>* out) {
  if (wal_pages < 1 || catch_up_pages < 1)
    return Status::InvalidArgument("checkpoint thresholds (WAL pages, catch-up pages) must be at "
                                   "least 1 page");
  std::unique_ptr<Checkpointer> c(new Checkpointer());
  GS_RETURN_IF_ERROR(Database::Open(path, false, &c->db_));
  c->writer_ = writer;
  c->wal_pages_ = wal_pages;
  c->catch_up_pages_ = catch_up_pages;
  c->catch_up_at_ = catch_up_pages;
  // Replaces the writer's automatic checkpoint (itself a WAL hook).
  sqlite3_wal_hook(writer->handle(), &Checkpointer::OnCommit, c.get());
  c->thread_ = std::thread([p = c.get()] {
    pthread_setname_np(pthread_self(), "gs-checkpoint");  // in top -H, perf, /proc
    p->Loop();
  });
  *out = std::move(c);
  return Status::OK();
}

Checkpointer::~Checkpointer() {
  if (writer_ != nullptr) sqlite3_wal_hook(writer_->handle(), nullptr, nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int Checkpointer::OnCommit(void* self, sqlite3*, const char*, int wal_pages) {
  auto* c = static_cast<Checkpointer*>(self);
  c->last_wal_pages_ = wal_pages;
  if (wal_pages < c->wal_pages_) return SQLITE_OK;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(c->mu_);
    wake = !c->due_;
    c->due_ = true;
  }
  if (wake) c->cv_.notify_one();
  return SQLITE_OK;
}

bool Checkpointer::CatchUpIfBehind() {
  if (last_wal_pages_ < catch_up_at_) return false;
  {
    // No background run starts from now until this catch-up is over. One
    // in progress holds SQLite's checkpoint lock: the writer commits on and
    // tries again before its next transaction, when only what that run left
    // behind is still to copy, unless the WAL has grown a quarter of the
    // bound past it meanwhile (a run slowed by a disk busy with its writes):
    // then it waits for the run, at most about a second at each try.
    std::unique_lock<std::mutex> lock(mu_);
    holding_ = true;
    if (running_) {
      if (last_wal_pages_ < catch_up_at_ + catch_up_pages_ / 4) return false;
      if (!cv_.wait_for(lock, std::chrono::seconds(1), [&] { return !running_; })) return false;
    }
  }
  int log = 0, copied = 0;
  // PASSIVE: with the writer here, nothing is added while it copies.
  const int rc = sqlite3_wal_checkpoint_v2(writer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log, &copied);
  // BUSY: another process's checkpoint, which ends by itself; tried again
  // before the next transaction.
  if (rc == SQLITE_BUSY) return false;
  // Copied everything: the next commit starts the WAL again. Anything else
  // (a reader still on pages not copied, an error) would not end by
  // waiting: the commits go on, and the writer tries again once the WAL has
  // grown as much again.
  catch_up_at_ = rc == SQLITE_OK && copied >= log ? catch_up_pages_
                                                   : last_wal_pages_ + catch_up_pages_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    holding_ = false;
  }
  cv_.notify_one();
  return true;
}

void Checkpointer::Loop() {
  // At the writer's priority, not below it: what this thread leaves
  // uncopied the writer copies itself in its catch-up, between two
  // transactions, so on a busy machine a thread that yields only moves the
  // work onto the writer (at 10,000 simulated workers on 2 cores, with this
  // thread at a lower priority the catch-ups took 15-16% of the writer's
  // time, at the same priority 10-13%).
  int last_error = SQLITE_OK;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return (due_ && !holding_) || stop_; });
      if (stop_) return;
      due_ = false;
      running_ = true;
    }
    int log = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &log, &copied);
    // A failed checkpoint loses nothing (the pages stay in the WAL, and the
    // next one tries again); it is told once, not at every commit.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != last_error)
      std::fprintf(stderr, "coordinator: WAL checkpoint failed: %s\n",
                   sqlite3_errmsg(db_->handle()));
    last_error = rc;
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;
    }
    cv_.notify_all();  // a writer waiting for this run
  }
}

}  // namespace gridsearch
