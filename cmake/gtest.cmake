# GoogleTest for the test suite: the installed package when there is one,
# else its sources (Debian's libgtest-dev ships them in /usr/src/googletest;
# a machine without the package can point GRIDSEARCH_GTEST_SOURCE_DIR at a
# copy). Sets GS_HAVE_GTEST.
set(GRIDSEARCH_GTEST_SOURCE_DIR /usr/src/googletest CACHE PATH
    "GoogleTest sources, used when no installed GoogleTest is found")
set(GS_HAVE_GTEST OFF)
if(GS_ALL)
  find_package(GTest REQUIRED)
elseif(NOT TORCH_CXX_FLAGS MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
  find_package(GTest QUIET)
else()
  # An installed GoogleTest is built with the C++11 ABI, which this LibTorch
  # does not use: build it from its sources, with LibTorch's setting.
  message(STATUS "LibTorch uses the pre-C++11 string ABI: GoogleTest is built from "
                 "${GRIDSEARCH_GTEST_SOURCE_DIR}")
endif()
if(GTest_FOUND)
  set(GS_HAVE_GTEST ON)
elseif(EXISTS ${GRIDSEARCH_GTEST_SOURCE_DIR}/CMakeLists.txt)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  add_subdirectory(${GRIDSEARCH_GTEST_SOURCE_DIR} ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  if(NOT TARGET GTest::gtest)
    add_library(GTest::gtest ALIAS gtest)
    add_library(GTest::gtest_main ALIAS gtest_main)
  endif()
  set(GS_HAVE_GTEST ON)
else()
  message(STATUS "GoogleTest not found (nor its sources in ${GRIDSEARCH_GTEST_SOURCE_DIR}): "
                 "the tests are not built")
endif()
