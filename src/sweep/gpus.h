// GPUs for the local executors: one per running job, through CUDA_VISIBLE_DEVICES.
//
//   GpuPool pool(visible_gpus());   // empty on a machine without NVIDIA GPUs: nothing is assigned
//   std::string gpu = pool.take(job.id);   // "" when there are none
//   ...
//   pool.give_back(job.id);
#pragma once

#include <map>
#include <string>
#include <vector>

namespace scalelab {

// The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them: the variable's own list when it
// is set (a Slurm or container allocation; empty or "NoDevFiles": none), else one per entry of
// /proc/driver/nvidia/gpus ($SCALELAB_NVIDIA_PROC overrides the folder, for tests), else the indices
// `nvidia-smi -L` lists (run only when it is on PATH). Empty: no GPU.
std::vector<std::string> visible_gpus();

// `nvidia-smi -L` lines ("GPU 0: NVIDIA H200 (UUID: GPU-...)"): the indices, in order.
std::vector<std::string> parse_nvidia_smi_list(const std::string& out);

// Hands each job the GPU running the fewest jobs (one each while there are as many GPUs as jobs).
class GpuPool {
 public:
  explicit GpuPool(std::vector<std::string> gpus) : gpus_(std::move(gpus)), load_(gpus_.size(), 0) {}
  bool empty() const { return gpus_.empty(); }
  std::string take(const std::string& job);  // "" when there is no GPU
  void give_back(const std::string& job);    // unknown jobs are ignored

 private:
  std::vector<std::string> gpus_;
  std::vector<int> load_;
  std::map<std::string, std::size_t> held_;  // job -> index into gpus_
};

}  // namespace scalelab
