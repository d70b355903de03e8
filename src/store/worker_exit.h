// The worker's exit statuses: the one contract between a worker process (scalelab-worker, the fake
// worker in testing/) and the sweep that judges how its run ended (docs/sweeps.md, "Endings").
// Header-only and dependency-free, beside claim.h: the libtorch worker and the fake worker include it.
// scalelab's own commands exit with the same numbers where they mean the same thing (bad input is 2
// everywhere; `scalelab train` is the worker).
#pragma once

namespace scalelab {

enum class WorkerExit : int {
  done = 0,        // result.json written, status done
  failed = 1,      // anything else went wrong
  bad_input = 2,   // the configuration or a flag was wrong; nothing written
  diverged = 3,    // result.json written, status diverged
  claim_lost = 4,  // another sweep took the run over (claim.h): nothing more written
};

constexpr int exit_status(WorkerExit exit) { return static_cast<int>(exit); }

}  // namespace scalelab
