#include "models/cifar.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <system_error>

namespace gridsearch {
namespace {

// Refuse files that would make us allocate absurd amounts: the largest
// official file is 154 MB.
constexpr int64_t kMaxFileBytes = int64_t{1} << 34;
// Records read per fread: 3 MB of CIFAR-10.
constexpr int64_t kChunkRecords = 1024;

const char* VariantName(CifarVariant v) {
  return v == CifarVariant::kCifar10 ? "CIFAR-10" : "CIFAR-100";
}

int64_t RecordBytes(CifarVariant v) { return CifarLabelBytes(v) + kCifarImageBytes; }

// "1 label byte + 3072 pixel bytes" or "2 label bytes (coarse, fine) + ...".
std::string RecordLayout(CifarVariant v) {
  return v == CifarVariant::kCifar10
             ? "1 label byte + " + std::to_string(kCifarImageBytes) + " pixel bytes"
             : "2 label bytes (coarse, fine) + " + std::to_string(kCifarImageBytes) +
                   " pixel bytes";
}

// Owns a FILE*.
class File {
 public:
  File() = default;
  ~File() {
    if (f_ != nullptr) std::fclose(f_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  bool Open(const std::string& path) {
    f_ = std::fopen(path.c_str(), "rb");
    return f_ != nullptr;
  }
  FILE* get() const { return f_; }

 private:
  FILE* f_ = nullptr;
};

}  // namespace

int64_t CifarLabelBytes(CifarVariant variant) { return variant == CifarVariant::kCifar10 ? 1 : 2; }

int64_t CifarClasses(CifarVariant variant) { return variant == CifarVariant::kCifar10 ? 10 : 100; }

Status FindCifarFiles(const std::string& folder, CifarVariant variant, CifarFiles* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    return Status::NotFound("data set folder " + folder + " does not exist or is not a folder");
  std::vector<std::string> train_names;
  std::string test_name;
  const char* archive_folder;
  if (variant == CifarVariant::kCifar10) {
    for (int i = 1; i <= 5; ++i) train_names.push_back("data_batch_" + std::to_string(i) + ".bin");
    test_name = "test_batch.bin";
    archive_folder = "cifar-10-batches-bin";
  } else {
    train_names = {"train.bin"};
    test_name = "test.bin";
    archive_folder = "cifar-100-binary";
  }
  // The folder itself, or the archive's folder inside it.
  fs::path dir(folder);
  if (!fs::is_regular_file(dir / train_names[0], ec) &&
      fs::is_regular_file(dir / archive_folder / train_names[0], ec))
    dir /= archive_folder;
  out->train.clear();
  for (const std::string& name : train_names) {
    if (!fs::is_regular_file(dir / name, ec))
      return Status::NotFound(std::string(VariantName(variant)) + " folder " + dir.string() +
                              " has no " + name + " (expected " + train_names.front() +
                              (train_names.size() > 1 ? " .. " + train_names.back() : "") +
                              " and " + test_name + ", the binary version of the data set)");
    out->train.push_back((dir / name).string());
  }
  if (!fs::is_regular_file(dir / test_name, ec))
    return Status::NotFound(std::string(VariantName(variant)) + " folder " + dir.string() +
                            " has no " + test_name);
  out->test = (dir / test_name).string();
  return Status::OK();
}

Status ReadCifarFile(const std::string& path, CifarVariant variant, CifarImages* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::NotFound(path + ": no such file");
  if (!fs::is_regular_file(path, ec)) return Status::InvalidArgument(path + ": not a regular file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Status::IOError(path + ": cannot read its size: " + ec.message());
  const int64_t record = RecordBytes(variant);
  const int64_t bytes = static_cast<int64_t>(size);
  if (bytes == 0 || bytes % record != 0 || bytes > kMaxFileBytes) {
    std::string why = path + ": " + std::to_string(bytes) + " bytes is not a whole number of " +
                      std::to_string(record) + "-byte " + VariantName(variant) + " records (" +
                      RecordLayout(variant) + ")";
    if (bytes > 0 && bytes < record * kCifarRecordsPerBatch && variant == CifarVariant::kCifar10)
      why += "; an official batch holds " + std::to_string(kCifarRecordsPerBatch) +
             " records = " + std::to_string(record * kCifarRecordsPerBatch) +
             " bytes: is it truncated?";
    else
      why += ": is it truncated, or a file of the other CIFAR variant?";
    return Status::IOError(why);
  }
  const int64_t count = bytes / record;

  File file;
  errno = 0;
  if (!file.Open(path)) return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  // Records are read a chunk at a time and their pixels copied straight to
  // their place in *out: one pass, and no second copy of the whole file.
  const size_t first_pixel = out->pixels.size();
  std::unique_ptr<uint8_t[]> chunk;
  try {
    out->pixels.resize(first_pixel + static_cast<size_t>(count * kCifarImageBytes));
    out->labels.reserve(out->labels.size() + static_cast<size_t>(count));
    chunk.reset(new uint8_t[static_cast<size_t>(kChunkRecords * record)]);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(path + ": cannot allocate memory for " +
                                     std::to_string(count) + " images");
  }

  const int64_t label_bytes = CifarLabelBytes(variant);
  const int64_t classes = CifarClasses(variant);
  constexpr int64_t kCoarseClasses = 20;
  for (int64_t begin = 0; begin < count; begin += kChunkRecords) {
    const int64_t n = std::min(kChunkRecords, count - begin);
    const size_t want = static_cast<size_t>(n * record);
    const size_t got = std::fread(chunk.get(), 1, want, file.get());
    if (got != want)
      return Status::IOError(path + ": read " + std::to_string(begin * record + got) + " of its " +
                             std::to_string(bytes) + " bytes" +
                             (std::ferror(file.get()) ? std::string(": ") + std::strerror(errno)
                                                      : std::string(" (it shrank)")));
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = begin + k;
      const uint8_t* rec = chunk.get() + k * record;
      if (variant == CifarVariant::kCifar100 && rec[0] >= kCoarseClasses)
        return Status::InvalidArgument(
            path + ": record " + std::to_string(i) + " has coarse label " + std::to_string(rec[0]) +
            ", expected 0.." + std::to_string(kCoarseClasses - 1) +
            " (is this a CIFAR-100 file, records of " + RecordLayout(variant) + "?)");
      const uint8_t label = rec[label_bytes - 1];
      if (label >= classes)
        return Status::InvalidArgument(
            path + ": record " + std::to_string(i) + " has label " + std::to_string(label) +
            ", expected 0.." + std::to_string(classes - 1) + " (is this a " + VariantName(variant) +
            " file, records of " + RecordLayout(variant) + "?)");
      out->labels.push_back(label);
      std::memcpy(out->pixels.data() + first_pixel + static_cast<size_t>(i * kCifarImageBytes),
                  rec + label_bytes, static_cast<size_t>(kCifarImageBytes));
    }
  }
  out->count += count;
  return Status::OK();
}

Status ReadCifarFiles(const std::vector<std::string>& paths, CifarVariant variant,
                      CifarImages* out) {
  *out = CifarImages();
  // Room for every file at once, so that appending never moves what was read.
  uintmax_t total = 0;
  for (const std::string& path : paths) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec) total += size / static_cast<uintmax_t>(RecordBytes(variant));
  }
  try {
    out->pixels.reserve(static_cast<size_t>(total) * kCifarImageBytes);
  } catch (const std::bad_alloc&) {
    // ReadCifarFile reports it with the file's name.
  } catch (const std::length_error&) {
  }
  int64_t first_count = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const int64_t before = out->count;
    GS_RETURN_IF_ERROR(ReadCifarFile(paths[i], variant, out));
    const int64_t count = out->count - before;
    if (i == 0) {
      first_count = count;
    } else if (count != first_count) {
      return Status::InvalidArgument(paths[i] + " holds " + std::to_string(count) +
                                     " records but " + paths[0] + " holds " +
                                     std::to_string(first_count) +
                                     "; the training batches of a copy must be the same size "
                                     "(one of them is probably truncated)");
    }
  }
  return Status::OK();
}

}  // namespace gridsearch
