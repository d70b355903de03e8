// Starting a worker process the way both local executors do (internal to the sweep library).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace scalelab {

// Forks and executes argv with stdin, stdout and stderr on the given descriptors (which the caller
// closes afterwards), in a process group of its own, dying with this process (PR_SET_PDEATHSIG), with
// this process's environment plus $SCALELAB_CLAIM = claim (or without it when claim is empty) and,
// when `gpu` is not empty, $CUDA_VISIBLE_DEVICES = gpu.
// Returns the pid; throws std::runtime_error when it cannot fork. An argv[0] that cannot be executed
// exits 127 with a line on stderr.
pid_t spawn_worker(const std::vector<std::string>& argv, const std::string& claim, int stdin_fd, int stdout_fd,
                   int stderr_fd, const std::string& gpu = "");

}  // namespace scalelab
