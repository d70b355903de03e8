#include "sweep/executors.h"

#include "sweep/slurm.h"

#include <algorithm>

namespace scalelab {

const std::vector<ExecutorInfo>& executor_registry() {
  static const std::vector<ExecutorInfo> registry = {
      {"local", "on this machine: one worker loads libtorch and the data once and forks each run", make_zygote_executor},
      {"process", "on this machine: a fresh worker process per run (pays ~2 s of start-up a run)", make_process_executor},
      {"slurm", "on a Slurm cluster: one job array of the pending runs (sbatch), followed with squeue/scontrol",
       [](int, WorkerCommand command) { return make_slurm_executor(SlurmOptions{}, std::move(command)); }},
  };
  return registry;
}

std::vector<std::string> WorkerCommand::train(const Job& job) const {
  return {program.string(), "train", "--config", (job.dir / "hparams.yaml").string(), "--out", job.dir.string(),
          "--threads", std::to_string(job.threads)};
}

std::vector<std::string> WorkerCommand::serve() const { return {program.string(), "serve"}; }

WorkerCommand scalelab_worker_command(const std::filesystem::path& worker) { return {worker}; }

const ExecutorInfo* find_executor(std::string_view name) {
  const auto& registry = executor_registry();
  auto it = std::find_if(registry.begin(), registry.end(), [&](const ExecutorInfo& e) { return e.name == name; });
  return it == registry.end() ? nullptr : &*it;
}

}  // namespace scalelab
