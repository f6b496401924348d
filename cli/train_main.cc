// gridsearch-train: `gridsearch train` on its own, for machines that have a
// (CUDA) LibTorch but not gRPC or SQLite (the trainer-only build).
#include "cli/train_command.h"

int main(int argc, char** argv) { return gridsearch::RunTrainMain(argc, argv); }
