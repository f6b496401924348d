// Reader for the binary versions of CIFAR-10 and CIFAR-100 (A. Krizhevsky's
// "binary version" downloads). A file is a sequence of records with no
// header:
//   CIFAR-10:  1 label byte (0..9), then 3072 pixel bytes;
//   CIFAR-100: 1 coarse label byte (0..19), 1 fine label byte (0..99), then
//              3072 pixel bytes. The fine label is the class.
// The pixels are the 32x32 red plane, then green, then blue, each row-major:
// exactly a [3, 32, 32] tensor.
//
// The official files hold 10000 records each (CIFAR-10 data_batch_1..5.bin
// and test_batch.bin; CIFAR-100 test.bin) or 50000 (CIFAR-100 train.bin).
// Smaller files in the same layout are accepted, so that tests and subsets
// work, but every file must hold a whole number of records, and the five
// CIFAR-10 training batches must hold the same number of records each: a
// copy cut short is reported, not silently trained on.
//
// Contract: every function returns OK and fills its out-parameter, or returns
// a non-OK Status whose message names the file and what was expected
// (NotFound: missing file; DataLoss: size not a whole number of records,
// short read; InvalidArgument: label out of range, batches of unequal size)
// and leaves the out-parameter in an unspecified state. Nothing throws.
// Torch-free: callers turn the bytes into tensors.
#ifndef GRIDSEARCH_MODELS_CIFAR_H_
#define GRIDSEARCH_MODELS_CIFAR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;  // 3072
// Records per official file (CIFAR-10 batches, both test files).
constexpr int64_t kCifarRecordsPerBatch = 10000;

enum class CifarVariant { kCifar10, kCifar100 };

// Label bytes before the pixels of each record: 1 for CIFAR-10, 2 for 100.
int64_t CifarLabelBytes(CifarVariant variant);
// Classes of the variant: 10 or 100.
int64_t CifarClasses(CifarVariant variant);

// `count` images of 3x32x32 bytes and their class labels, in file order.
struct CifarImages {
  int64_t count = 0;
  std::vector<uint8_t> pixels;  // count * kCifarImageBytes bytes
  std::vector<uint8_t> labels;  // count class indices
};

// The files of one data set folder, in the order they are read.
struct CifarFiles {
  std::vector<std::string> train;  // data_batch_1..5.bin, or train.bin
  std::string test;                // test_batch.bin, or test.bin
};

// Finds the official file names in `folder`, or in the folder the official
// archive unpacks to inside it (cifar-10-batches-bin, cifar-100-binary), so
// that both the archive's folder and its parent work. NotFound names the
// folder and the first missing file.
Status FindCifarFiles(const std::string& folder, CifarVariant variant, CifarFiles* out);

// Appends the records of `path` to *out.
Status ReadCifarFile(const std::string& path, CifarVariant variant, CifarImages* out);

// Reads `paths` in order into *out (cleared first). When more than one file
// is given they must hold the same number of records (the official
// training batches do); the error names the odd one out.
Status ReadCifarFiles(const std::vector<std::string>& paths, CifarVariant variant,
                      CifarImages* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_CIFAR_H_
