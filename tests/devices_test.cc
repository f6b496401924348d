// Device names and lists (worker/devices.h) on this machine: what "all"
// means without CUDA, lists taken as written, and refusals that name the
// device before anything starts.
#include "worker/devices.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gridsearch {
namespace {

TEST(DevicesTest, AllIsEveryCudaDeviceOrTheCpu) {
  std::vector<std::string> devices;
  ASSERT_TRUE(ResolveDevices("all", &devices).ok());
  const int cuda = CudaDeviceCount();
  if (cuda == 0) {
    EXPECT_EQ(devices, std::vector<std::string>{"cpu"});
  } else {
    ASSERT_EQ(devices.size(), static_cast<size_t>(cuda));
    for (int i = 0; i < cuda; ++i) EXPECT_EQ(devices[i], "cuda:" + std::to_string(i));
  }
}

TEST(DevicesTest, ListsAreTakenAsWritten) {
  std::vector<std::string> devices;
  ASSERT_TRUE(ResolveDevices("cpu,cpu", &devices).ok());
  EXPECT_EQ(devices, (std::vector<std::string>{"cpu", "cpu"}));
  ASSERT_TRUE(ResolveDevices(" cpu , cpu ,cpu", &devices).ok());
  EXPECT_EQ(devices.size(), 3u);
  if (CudaDeviceCount() > 0) {
    ASSERT_TRUE(ResolveDevices("cuda,cpu", &devices).ok());
    EXPECT_EQ(devices, (std::vector<std::string>{"cuda:0", "cpu"}));
  }
}

TEST(DevicesTest, UnknownDevicesAreRefusedWithTheirName) {
  std::vector<std::string> devices;
  Status s = ResolveDevices("cpu,tpu:0", &devices);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("tpu:0"), std::string::npos) << s.message();

  s = ResolveDevices("cuda:x", &devices);
  EXPECT_EQ(s.code(), Status::kInvalidArgument);
  EXPECT_NE(s.message().find("cuda:x"), std::string::npos) << s.message();

  // One past the last visible device (cuda:0 where there is none).
  const std::string missing = "cuda:" + std::to_string(CudaDeviceCount());
  s = ResolveDevices("cpu," + missing, &devices);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();

  EXPECT_EQ(ResolveDevices("", &devices).code(), Status::kInvalidArgument);
  EXPECT_EQ(ResolveDevices("cpu,,cpu", &devices).code(), Status::kInvalidArgument);
  std::string many;
  for (int i = 0; i < 300; ++i) many += i ? ",cpu" : "cpu";
  EXPECT_EQ(ResolveDevices(many, &devices).code(), Status::kInvalidArgument);
}

TEST(DevicesTest, CanonicalNames) {
  std::string c;
  ASSERT_TRUE(CanonicalDevice("cpu", &c).ok());
  EXPECT_EQ(c, "cpu");
  Status s = CanonicalDevice("cuda", &c);
  if (CudaDeviceCount() > 0) {
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(c, "cuda:0");
  } else {
    EXPECT_EQ(s.code(), Status::kFailedPrecondition);
    EXPECT_NE(s.message().find("no CUDA device"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace gridsearch
