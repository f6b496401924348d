// Checkpointer: the WAL stays bounded when the background checkpoints fall
// behind a writer that never pauses, and a reader that holds old pages
// stalls the writer at most once per growth of the bound.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>

#include "coordinator/checkpointer.h"
#include "coordinator/database.h"
#include "tests/test_util.h"

namespace gridsearch {
namespace {

constexpr int kCatchUpPages = 200;
constexpr int kPagesPerCommit = 20;  // twenty 4,000-byte rows, a page each

off_t WalBytes(const std::string& db_path) {
  struct stat st;
  return stat((db_path + "-wal").c_str(), &st) == 0 ? st.st_size : 0;
}

// One transaction of about kPagesPerCommit new pages.
void CommitPages(Database* db) {
  ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < kPagesPerCommit; ++i)
    ASSERT_TRUE(db->Exec("INSERT INTO blobs VALUES (randomblob(4000))").ok());
  ASSERT_TRUE(db->Exec("COMMIT").ok());
}

struct Writer {
  testing::TempDir dir;
  std::string path = dir.File("c.db");
  std::unique_ptr<Database> db;
  std::unique_ptr<Checkpointer> checkpointer;

  // By default the background thread never starts a checkpoint (its
  // threshold is never reached): it has fallen behind for good.
  void Open(int background_pages = 1000000) {
    ASSERT_TRUE(Database::Open(path, false, &db).ok());
    ASSERT_TRUE(db->Exec("CREATE TABLE blobs (b BLOB)").ok());
    ASSERT_TRUE(
        Checkpointer::Start(path, db.get(), background_pages, kCatchUpPages, &checkpointer).ok());
  }

  // The rows in the file.
  int64_t Rows() {
    Statement st;
    EXPECT_TRUE(db->Prepare("SELECT count(*) FROM blobs", &st).ok());
    bool has_row = false;
    EXPECT_TRUE(st.Step(&has_row).ok());
    EXPECT_TRUE(has_row);
    return has_row ? st.Int(0) : -1;
  }
};

TEST(CheckpointerTest, RefusesAThresholdUnderOnePage) {
  Writer w;
  ASSERT_TRUE(Database::Open(w.path, false, &w.db).ok());
  std::unique_ptr<Checkpointer> c;
  Status s = Checkpointer::Start(w.path, w.db.get(), 1000, 0, &c);
  EXPECT_EQ(s.code(), Status::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("catch-up pages"), std::string::npos) << s.ToString();
}

TEST(CheckpointerTest, TheWriterCatchesUpAndTheWalStaysBounded) {
  Writer w;
  w.Open();
  const off_t bound = (kCatchUpPages + 3 * kPagesPerCommit) * (4096 + 24) + 32;
  off_t largest = 0;
  int caught_up = 0;
  for (int i = 0; i < 100; ++i) {  // 2,000 pages: ten times the bound
    if (w.checkpointer->CatchUpIfBehind()) ++caught_up;
    CommitPages(w.db.get());
    largest = std::max(largest, WalBytes(w.path));
  }
  EXPECT_LE(largest, bound);
  EXPECT_GE(caught_up, 5);
  EXPECT_EQ(w.Rows(), 100 * kPagesPerCommit);  // every row is in the file
}

TEST(CheckpointerTest, WithBackgroundRunsTheWriterCatchesUpAfterThemAndTheWalStaysBounded) {
  // A background checkpoint starts after every commit, so the writer's
  // catch-ups meet runs in progress: it commits on while each finishes, no
  // other starts meanwhile, and the WAL stays near the bound.
  Writer w;
  w.Open(1);
  // The catch-up's bound, plus the quarter of it the writer may commit
  // while a background run finishes, plus the commits that cross each.
  const off_t bound =
      (kCatchUpPages + kCatchUpPages / 4 + 3 * kPagesPerCommit) * (4096 + 24) + 32;
  off_t largest = 0;
  for (int i = 0; i < 200; ++i) {  // 4,000 pages: twenty times the bound
    w.checkpointer->CatchUpIfBehind();
    CommitPages(w.db.get());
    largest = std::max(largest, WalBytes(w.path));
  }
  EXPECT_LE(largest, bound);
  w.checkpointer.reset();  // joins the background thread
  EXPECT_EQ(w.Rows(), 200 * kPagesPerCommit);
}

TEST(CheckpointerTest, WithoutCatchingUpTheWalOnlyGrows) {
  // The same writes without the catch-up: what the bound above prevents.
  Writer w;
  w.Open();
  for (int i = 0; i < 100; ++i) CommitPages(w.db.get());
  EXPECT_GT(WalBytes(w.path), 1500 * 4096);
}

TEST(CheckpointerTest, AReaderOnOldPagesDelaysTheCatchUpOnlyUntilTheWalGrowsAgain) {
  Writer w;
  w.Open();
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(w.path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM blobs", nullptr, nullptr, nullptr),
            SQLITE_OK);  // holds its snapshot: the pages after it cannot be copied back
  for (int i = 0; i * kPagesPerCommit < kCatchUpPages; ++i) CommitPages(w.db.get());
  EXPECT_TRUE(w.checkpointer->CatchUpIfBehind());   // tried, could not copy all
  CommitPages(w.db.get());
  EXPECT_FALSE(w.checkpointer->CatchUpIfBehind());  // not again at the next commit
  ASSERT_EQ(sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(reader);
  for (int i = 0; i * kPagesPerCommit < kCatchUpPages; ++i) CommitPages(w.db.get());
  EXPECT_TRUE(w.checkpointer->CatchUpIfBehind());   // the WAL grew as much again
  // Everything was copied back: the next commit starts the WAL again, so
  // the file does not grow.
  const off_t before = WalBytes(w.path);
  for (int i = 0; i < 3; ++i) CommitPages(w.db.get());
  EXPECT_EQ(WalBytes(w.path), before);
}

}  // namespace
}  // namespace gridsearch
