// Owns the precompiled <torch/torch.h> that torch targets reuse.
namespace gridsearch { int torch_pch_anchor = 0; }
