// GPUs for the local executors (issue 22): which GPUs a machine shows (CUDA_VISIBLE_DEVICES,
// nvidia-smi -L, /proc/driver/nvidia/gpus, here with stand-ins), and one GPU per running job through
// CUDA_VISIBLE_DEVICES under both local executors (the fake worker logs what it was given).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "cli_helpers.h"
#include "sweep/gpus.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;
using namespace testing;

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A folder holding a stand-in nvidia-smi that lists `gpus` GPUs.
fs::path fake_nvidia_smi(const fs::path& dir, int gpus) {
  fs::create_directories(dir);
  std::string script = "#!/bin/sh\n[ \"$1\" = -L ] || exit 2\n";
  for (int i = 0; i < gpus; ++i)
    script += "echo 'GPU " + std::to_string(i) + ": NVIDIA H200 (UUID: GPU-0000000" + std::to_string(i) + ")'\n";
  spit(dir / "nvidia-smi", script);
  fs::permissions(dir / "nvidia-smi", fs::perms::owner_all);
  return dir;
}

TEST(Gpus, ParsesNvidiaSmiList) {
  EXPECT_EQ(parse_nvidia_smi_list("GPU 0: NVIDIA H200 (UUID: GPU-a)\nGPU 1: NVIDIA H200 (UUID: GPU-b)\n"),
            (std::vector<std::string>{"0", "1"}));
  // MIG devices are listed under their GPU; the GPU is what CUDA_VISIBLE_DEVICES names by index.
  EXPECT_EQ(parse_nvidia_smi_list("GPU 0: A100 (UUID: GPU-a)\n  MIG 1g.10gb Device 0: (UUID: MIG-x)\n"),
            std::vector<std::string>{"0"});
  EXPECT_TRUE(parse_nvidia_smi_list("No devices were found\n").empty());
}

TEST(Gpus, VisibleGpusPrefersTheAllocationThenProcThenNvidiaSmi) {
  TempDir tmp;
  const std::string path = fake_nvidia_smi(tmp / "bin", 2).string() + ":/usr/bin:/bin";
  {
    ScopedEnv p("PATH", path.c_str());
    ScopedEnv v("CUDA_VISIBLE_DEVICES", "3,5");
    EXPECT_EQ(visible_gpus(), (std::vector<std::string>{"3", "5"}));
  }
  {
    ScopedEnv v("CUDA_VISIBLE_DEVICES", "NoDevFiles");  // what Slurm sets in a job without GPUs
    EXPECT_TRUE(visible_gpus().empty());
  }
  {
    ScopedEnv p("PATH", path.c_str());
    ScopedEnv v("CUDA_VISIBLE_DEVICES", nullptr);
    ScopedEnv proc("SCALELAB_NVIDIA_PROC", (tmp / "absent").c_str());  // no driver folder: nvidia-smi
    EXPECT_EQ(visible_gpus(), (std::vector<std::string>{"0", "1"}));
  }
  fs::create_directories(tmp / "proc" / "0000:17:00.0");
  fs::create_directories(tmp / "proc" / "0000:65:00.0");
  fs::create_directories(tmp / "proc" / "0000:b3:00.0");
  fs::create_directories(tmp / "empty");
  {
    ScopedEnv p("PATH", path.c_str());  // the driver folder wins: nothing is started
    ScopedEnv v("CUDA_VISIBLE_DEVICES", nullptr);
    ScopedEnv proc("SCALELAB_NVIDIA_PROC", (tmp / "proc").c_str());
    EXPECT_EQ(visible_gpus(), (std::vector<std::string>{"0", "1", "2"}));
  }
  {
    ScopedEnv p("PATH", (tmp / "empty").c_str());  // neither
    ScopedEnv v("CUDA_VISIBLE_DEVICES", nullptr);
    ScopedEnv none("SCALELAB_NVIDIA_PROC", (tmp / "absent").c_str());
    EXPECT_TRUE(visible_gpus().empty());
  }
}

TEST(Gpus, PoolGivesEachJobTheLeastLoadedGpu) {
  GpuPool pool({"0", "1"});
  EXPECT_EQ(pool.take("a"), "0");
  EXPECT_EQ(pool.take("b"), "1");
  EXPECT_EQ(pool.take("c"), "0");  // more jobs than GPUs: shared, evenly
  pool.give_back("b");
  EXPECT_EQ(pool.take("d"), "1");
  pool.give_back("unknown");
  GpuPool none({});
  EXPECT_EQ(none.take("a"), "");
}

// A sweep with 2 jobs on a machine showing 2 GPUs: every run gets one, and both are used; on a
// machine without GPUs, no run gets CUDA_VISIBLE_DEVICES.
TEST(Gpus, LocalExecutorsAssignOneGpuPerJob) {
  ScopedEnv v("CUDA_VISIBLE_DEVICES", nullptr);
  for (const std::string executor : {"local", "process"}) {
    for (int gpus : {2, 0}) {
      TempDir tmp;
      spit(tmp / "spec.yaml", grid_spec("0.0625, 0.125, 0.25", "0.125, 0.25", "1", "", "width <= 0.25"));
      const std::string path = fake_nvidia_smi(tmp / "bin", gpus).string() + ":" + std::getenv("PATH");
      auto r = run({"sweep", (tmp / "spec.yaml").string(), "--dir", (tmp / "sweep").string(), "--jobs", "2",
                    "--executor", executor},
                   {{"PATH", path}, {"FAKE_GPU_LOG", (tmp / "gpus.log").string()}, {"FAKE_SLEEP_MS", "50"},
                    {"SCALELAB_NVIDIA_PROC", (tmp / "no-proc").string()}},
                   tmp.path());
      ASSERT_EQ(r.code, 0) << r.err;
      std::ifstream in(tmp / "gpus.log");
      std::map<std::string, int> runs_on;
      std::string id, gpu;
      int lines = 0;
      while (in >> id >> gpu) runs_on[gpu] += 1, lines += 1;
      EXPECT_EQ(lines, 6) << executor;
      if (gpus == 2) {
        EXPECT_EQ(runs_on.size(), 2u) << executor;  // only "0" and "1", both used
        EXPECT_GT(runs_on["0"], 0) << executor;
        EXPECT_GT(runs_on["1"], 0) << executor;
      } else {
        EXPECT_EQ(runs_on, (std::map<std::string, int>{{"-", 6}})) << executor;
      }
    }
  }
}

}  // namespace
}  // namespace scalelab
