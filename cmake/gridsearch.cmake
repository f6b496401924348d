# Shared helpers for gridsearch's targets.

# One interface target that carries the torch include paths, libraries and
# (when enabled) the precompiled <torch/torch.h>. Torch targets link it.
# Every torch translation unit, the PCH's own included, is compiled with
# -pthread: g++ refuses a PCH built with a different _REENTRANT, and targets
# that link gRPC get -pthread from it.
add_library(gridsearch_torch INTERFACE)
target_link_libraries(gridsearch_torch INTERFACE ${TORCH_LIBRARIES} Threads::Threads)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(gridsearch_torch INTERFACE -pthread)
endif()
target_include_directories(gridsearch_torch INTERFACE ${TORCH_INCLUDE_DIRS})

# A small static library whose only job is to own the torch PCH, so that every
# torch target can reuse it instead of compiling its own.
add_library(gridsearch_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cc)
target_link_libraries(gridsearch_torch_pch PUBLIC gridsearch_torch)
if(GRIDSEARCH_USE_PCH)
  target_precompile_headers(gridsearch_torch_pch PRIVATE <torch/torch.h>)
endif()

# With the coordinator and CLI (GS_ALL), the torch code is also linked into
# the plugin libgridsearch_torch.so (cli/, worker/torch_plugin.h), so every
# torch translation unit is position-independent: one flag for all, since
# they share the PCH.
if(GS_ALL)
  target_compile_options(gridsearch_torch_pch PRIVATE -fPIC)
endif()

# gs_torch_target(target): makes `target` a torch target that reuses the PCH.
function(gs_torch_target target)
  target_link_libraries(${target} PRIVATE gridsearch_torch)
  if(GS_ALL)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  if(GRIDSEARCH_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM gridsearch_torch_pch)
  endif()
endfunction()

# gs_add_test(name SOURCES a.cc b.cc LIBS x y [TORCH] [LABELS l]): one GoogleTest
# executable registered with ctest.
function(gs_add_test name)
  cmake_parse_arguments(T "TORCH" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE GRIDSEARCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(TARGET gridsearch)
    target_compile_definitions(${name} PRIVATE GRIDSEARCH_BIN="$<TARGET_FILE:gridsearch>")
  endif()
  if(TARGET gridsearch-train)
    target_compile_definitions(${name} PRIVATE
      GRIDSEARCH_TRAIN_BIN="$<TARGET_FILE:gridsearch-train>")
  endif()
  if(T_TORCH)
    gs_torch_target(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# gs_embed_text(OUT FUNCTION ROOT FILES...): generates the source OUT, which
# holds FILES (named relative to ROOT) as string constants returned by
# `const std::vector<std::pair<std::string, std::string>>& FUNCTION()` in
# namespace gridsearch (cmake/embed_text.cmake). Editing a file regenerates it.
function(gs_embed_text out function root)
  set(files ${ARGN})
  list(SORT files)
  # A list cannot cross the command line as is: it goes joined with "|".
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files_arg}" -DROOT=${root}
            -DFUNCTION=${function} -P ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${function}"
    VERBATIM)
endfunction()
