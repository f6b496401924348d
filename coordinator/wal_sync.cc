#include "coordinator/wal_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace gridsearch {

WalSync::WalSync(std::string db_path) : path_(std::move(db_path) + "-wal") {}

WalSync::~WalSync() {
  if (fd_ >= 0) close(fd_);
}

Status WalSync::Sync() {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::Unavailable("cannot make the commit durable: stat '" + path_ +
                               "': " + std::strerror(errno));
  }
  // The WAL is a new file only if every connection closed in between; the
  // descriptor must be the file's that holds the commits.
  if (fd_ < 0 || st.st_dev != dev_ || st.st_ino != ino_) {
    if (fd_ >= 0) close(fd_);
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
      return Status::Unavailable("cannot make the commit durable: open '" + path_ +
                                 "': " + std::strerror(errno));
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  if (fdatasync(fd_) != 0)
    return Status::Unavailable("cannot make the commit durable: fdatasync '" + path_ +
                               "': " + std::strerror(errno));
  return Status::OK();
}

}  // namespace gridsearch
