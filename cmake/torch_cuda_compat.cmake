# Included before find_package(Torch). PyTorch 2.x's CMake files before 2.7
# need the CUDA toolkit's standalone nvToolsExt library, which CUDA 12.5 and
# later no longer ship (PyTorch 2.7 moved to the header-only NVTX 3):
#   - 2.1 to 2.6 stop with "Failed to find nvToolsExt" unless the target
#     CUDA::nvToolsExt exists;
#   - TorchConfig.cmake links the result of find_library(LIBNVTOOLSEXT ...),
#     and a NOTFOUND there stops the generation.
# Nothing here calls NVTX, and the PyTorch libraries load their own, so where
# the toolkit lacks it an empty CUDA::nvToolsExt target stands in and
# LIBNVTOOLSEXT names the CUDA runtime, which is linked anyway. A machine
# without a CUDA toolkit, or with nvToolsExt, is left alone.
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND AND NOT TARGET CUDA::nvToolsExt)
  add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
  if(NOT DEFINED LIBNVTOOLSEXT AND CUDA_cudart_LIBRARY)
    set(LIBNVTOOLSEXT "${CUDA_cudart_LIBRARY}" CACHE FILEPATH
        "nvToolsExt for LibTorch's CMake files: the CUDA runtime, as this toolkit has none")
  endif()
  message(STATUS "CUDA ${CUDAToolkit_VERSION} has no nvToolsExt library: an empty "
                 "CUDA::nvToolsExt and LIBNVTOOLSEXT=${LIBNVTOOLSEXT} stand in for LibTorch's")
endif()
