#include "sweep/gpus.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "sweep/command.h"

namespace scalelab {

namespace fs = std::filesystem;

std::vector<std::string> parse_nvidia_smi_list(const std::string& out) {
  std::vector<std::string> gpus;
  std::stringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("GPU ", 0) != 0) continue;  // MIG devices are listed indented under their GPU
    auto colon = line.find(':');
    std::string index = line.substr(4, colon == std::string::npos ? std::string::npos : colon - 4);
    if (!index.empty() && std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
      gpus.push_back(index);
  }
  return gpus;
}

std::vector<std::string> visible_gpus() {
  std::vector<std::string> gpus;
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::string list = visible;
    if (list == "NoDevFiles") return gpus;
    std::stringstream parts(list);
    std::string part;
    while (std::getline(parts, part, ','))
      if (!part.empty()) gpus.push_back(part);
    return gpus;
  }
  // /proc first: reading it starts no process (a sweep's children are its workers).
  const char* proc = std::getenv("SCALELAB_NVIDIA_PROC");
  std::error_code ec;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(proc ? proc : "/proc/driver/nvidia/gpus", ec)) {
    (void)entry;
    ++count;
  }
  for (int i = 0; i < count; ++i) gpus.push_back(std::to_string(i));
  if (!gpus.empty() || find_on_path("nvidia-smi").empty()) return gpus;
  // A container may show the GPUs without the driver's /proc folder.
  auto smi = run_command({"nvidia-smi", "-L"});
  if (smi.ok()) gpus = parse_nvidia_smi_list(smi.out);
  return gpus;
}

std::string GpuPool::take(const std::string& job) {
  if (gpus_.empty()) return "";
  give_back(job);
  std::size_t best = std::min_element(load_.begin(), load_.end()) - load_.begin();
  load_[best] += 1;
  held_[job] = best;
  return gpus_[best];
}

void GpuPool::give_back(const std::string& job) {
  auto it = held_.find(job);
  if (it == held_.end()) return;
  load_[it->second] -= 1;
  held_.erase(it);
}

}  // namespace scalelab
