// Reader for the IDX files of MNIST and Fashion-MNIST (Y. LeCun's format:
// a big-endian header of magic number and dimensions, then the raw bytes).
// Files may be gzip-compressed or raw; zlib's gzread reads both.
//
// Contract: every function returns OK and fills its out-parameter, or returns
// a non-OK Status whose message names the file and what is wrong with it
// (missing, bad magic, bad dimensions, truncated, trailing bytes, label out of
// range) and leaves the out-parameter in an unspecified state. Nothing
// throws. Torch-free: callers turn the bytes into tensors.
#ifndef GRIDSEARCH_MODELS_IDX_H_
#define GRIDSEARCH_MODELS_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gridsearch {

// Magic numbers of the two IDX files we read: unsigned bytes, 3 and 1 dims.
constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;
// MNIST and Fashion-MNIST both have ten classes; labels must be below this.
constexpr int kIdxNumClasses = 10;

// count images of rows x cols pixels, row-major, one byte per pixel.
struct IdxImages {
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols bytes
};

// One split: images and their labels, same count (checked).
struct IdxSplit {
  IdxImages images;
  std::vector<uint8_t> labels;  // each in [0, kIdxNumClasses)
};

// The four files of a data set folder.
struct IdxFiles {
  std::string train_images;
  std::string train_labels;
  std::string test_images;
  std::string test_labels;
};

// Reads an images file (magic 0x00000803). The file must hold exactly the
// bytes its header promises.
Status ReadIdxImages(const std::string& path, IdxImages* out);

// Reads a labels file (magic 0x00000801); every label must be a class index
// below kIdxNumClasses.
Status ReadIdxLabels(const std::string& path, std::vector<uint8_t>* out);

// Reads an images file and its labels file and checks that the counts agree.
Status ReadIdxSplit(const std::string& images_path, const std::string& labels_path,
                    IdxSplit* out);

// Finds the standard file names in `folder`: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each with ".gz" tried first, then raw. NotFound names the folder and the
// file that is missing.
Status FindIdxFiles(const std::string& folder, IdxFiles* out);

}  // namespace gridsearch

#endif  // GRIDSEARCH_MODELS_IDX_H_
