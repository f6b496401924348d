#include "models/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <system_error>

namespace gridsearch {
namespace {

// gzread takes an unsigned int length; reading in chunks also lets us count
// how many bytes a truncated file really held.
constexpr size_t kReadChunk = size_t{1} << 20;
// Refuse headers that would make us allocate absurd amounts: a corrupt
// header should be an error message, not an out-of-memory kill.
constexpr int64_t kMaxSide = 1 << 16;
constexpr int64_t kMaxPayloadBytes = int64_t{1} << 34;

// Owns a gzFile (which also reads uncompressed files transparently).
class GzReader {
 public:
  explicit GzReader(std::string path) : path_(std::move(path)) {}
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  Status Open() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec))
      return Status::NotFound(path_ + ": no such file");
    if (!std::filesystem::is_regular_file(path_, ec))
      return Status::InvalidArgument(path_ + ": not a regular file");
    errno = 0;
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      std::string why = errno != 0 ? std::strerror(errno) : "out of memory";
      return Status::IOError(path_ + ": cannot open: " + why);
    }
    gzbuffer(file_, 1 << 17);
    return Status::OK();
  }

  // Reads up to `n` bytes into `buf`; *got is how many arrived. Running out
  // of data is not an error here (the caller knows how many it expected);
  // a read or decompression error is.
  Status Read(uint8_t* buf, size_t n, size_t* got) {
    *got = 0;
    while (*got < n) {
      unsigned chunk = static_cast<unsigned>(std::min(kReadChunk, n - *got));
      int r = gzread(file_, buf + *got, chunk);
      if (r < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        std::string why = errnum == Z_ERRNO ? std::strerror(errno) : (msg ? msg : "read error");
        return Status::IOError(path_ + ": read failed after " + std::to_string(*got) +
                               " bytes: " + why);
      }
      if (r == 0) break;
      *got += static_cast<size_t>(r);
    }
    return Status::OK();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

// Reads the magic number, checks it, then reads `n_dims` dimensions. The
// magic comes first so that a file of the wrong kind is reported as such even
// when it is shorter than the header we expect.
Status ReadHeader(GzReader* reader, uint32_t magic, int n_dims, std::vector<int64_t>* dims) {
  const size_t header_bytes = 4 * static_cast<size_t>(1 + n_dims);
  uint8_t header[16];
  size_t got = 0;
  GS_RETURN_IF_ERROR(reader->Read(header, 4, &got));
  if (got == 4) {
    const uint32_t found = BigEndian32(header);
    if (found != magic)
      return Status::InvalidArgument(reader->path() + ": bad magic number " + Hex32(found) +
                                      " (expected " + Hex32(magic) +
                                      "; is this an IDX file of the right kind?)");
    size_t more = 0;
    GS_RETURN_IF_ERROR(reader->Read(header + 4, header_bytes - 4, &more));
    got += more;
  }
  if (got < header_bytes)
    return Status::IOError(reader->path() + ": truncated header: expected " +
                           std::to_string(header_bytes) + " bytes, got " + std::to_string(got));
  dims->clear();
  for (int i = 0; i < n_dims; ++i) dims->push_back(BigEndian32(header + 4 * (i + 1)));
  return Status::OK();
}

// Reads exactly `n` payload bytes after a header of `header_bytes`, and
// checks that nothing follows them.
Status ReadPayload(GzReader* reader, size_t header_bytes, const std::string& what,
                   std::vector<uint8_t>* out, size_t n) {
  try {
    out->resize(n);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(reader->path() + ": cannot allocate " + std::to_string(n) +
                                     " bytes");
  }
  size_t got = 0;
  GS_RETURN_IF_ERROR(reader->Read(out->data(), n, &got));
  if (got < n)
    return Status::IOError(reader->path() + ": truncated: expected " +
                           std::to_string(header_bytes + n) + " bytes (" +
                           std::to_string(header_bytes) + "-byte header + " + what + "), got " +
                           std::to_string(header_bytes + got));
  uint8_t extra = 0;
  size_t extra_got = 0;
  GS_RETURN_IF_ERROR(reader->Read(&extra, 1, &extra_got));
  if (extra_got != 0)
    return Status::InvalidArgument(reader->path() + ": trailing bytes after the " +
                                   std::to_string(header_bytes + n) +
                                   " bytes its header promises (" + what + ")");
  return Status::OK();
}

}  // namespace

Status ReadIdxImages(const std::string& path, IdxImages* out) {
  GzReader reader(path);
  GS_RETURN_IF_ERROR(reader.Open());
  std::vector<int64_t> dims;
  GS_RETURN_IF_ERROR(ReadHeader(&reader, kIdxImagesMagic, 3, &dims));
  const int64_t count = dims[0], rows = dims[1], cols = dims[2];
  if (rows <= 0 || cols <= 0 || rows > kMaxSide || cols > kMaxSide)
    return Status::InvalidArgument(path + ": bad image size " + std::to_string(rows) + " x " +
                                   std::to_string(cols));
  if (count > kMaxPayloadBytes / (rows * cols))
    return Status::InvalidArgument(path + ": implausible image count " + std::to_string(count));
  out->count = count;
  out->rows = rows;
  out->cols = cols;
  const std::string what = std::to_string(count) + " x " + std::to_string(rows) + " x " +
                           std::to_string(cols) + " pixels";
  return ReadPayload(&reader, 16, what, &out->pixels, static_cast<size_t>(count * rows * cols));
}

Status ReadIdxLabels(const std::string& path, std::vector<uint8_t>* out) {
  GzReader reader(path);
  GS_RETURN_IF_ERROR(reader.Open());
  std::vector<int64_t> dims;
  GS_RETURN_IF_ERROR(ReadHeader(&reader, kIdxLabelsMagic, 1, &dims));
  const int64_t count = dims[0];
  if (count > kMaxPayloadBytes)
    return Status::InvalidArgument(path + ": implausible label count " + std::to_string(count));
  GS_RETURN_IF_ERROR(ReadPayload(&reader, 8, std::to_string(count) + " labels", out,
                                 static_cast<size_t>(count)));
  for (size_t i = 0; i < out->size(); ++i) {
    if ((*out)[i] >= kIdxNumClasses)
      return Status::InvalidArgument(path + ": label " + std::to_string((*out)[i]) +
                                     " at index " + std::to_string(i) + " is outside 0.." +
                                     std::to_string(kIdxNumClasses - 1));
  }
  return Status::OK();
}

Status ReadIdxSplit(const std::string& images_path, const std::string& labels_path,
                    IdxSplit* out) {
  GS_RETURN_IF_ERROR(ReadIdxImages(images_path, &out->images));
  GS_RETURN_IF_ERROR(ReadIdxLabels(labels_path, &out->labels));
  if (static_cast<int64_t>(out->labels.size()) != out->images.count)
    return Status::InvalidArgument(images_path + " holds " + std::to_string(out->images.count) +
                                   " images but " + labels_path + " holds " +
                                   std::to_string(out->labels.size()) + " labels");
  return Status::OK();
}

Status FindIdxFiles(const std::string& folder, IdxFiles* out) {
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    return Status::NotFound("data set folder " + folder + " does not exist or is not a folder");
  auto find = [&](const char* base, std::string* path) -> Status {
    for (const char* suffix : {".gz", ""}) {
      const std::filesystem::path candidate =
          std::filesystem::path(folder) / (std::string(base) + suffix);
      if (std::filesystem::is_regular_file(candidate, ec)) {
        *path = candidate.string();
        return Status::OK();
      }
    }
    return Status::NotFound("data set folder " + folder + " has no " + base + " (nor " + base +
                            ".gz)");
  };
  GS_RETURN_IF_ERROR(find("train-images-idx3-ubyte", &out->train_images));
  GS_RETURN_IF_ERROR(find("train-labels-idx1-ubyte", &out->train_labels));
  GS_RETURN_IF_ERROR(find("t10k-images-idx3-ubyte", &out->test_images));
  GS_RETURN_IF_ERROR(find("t10k-labels-idx1-ubyte", &out->test_labels));
  return Status::OK();
}

}  // namespace gridsearch
