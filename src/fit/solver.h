// Inside the fitter: one law's least-squares problem on a set of points, solved from many starts
// with Ceres's TinySolver (dense Levenberg-Marquardt, header-only, automatic derivatives).
//
// Why TinySolver and not ceres::Problem: a 6x6 rosenfeld2020 fit has 36 residuals and 5 parameters;
// building a Problem per start costs more than solving it (measured in bench/fit), and TinySolver
// needs no libceres at run time, so `scalelab` starts without glog, SuiteSparse or BLAS.
#pragma once

#include <memory>
#include <vector>

#include "fit/fit.h"
#include "laws/laws.h"

namespace scalelab::fit::detail {

// The points a law sees, already in the law's units (inputs divided by their scales).
struct Points {
  int num_inputs = 0, num_givens = 0;
  std::vector<double> inputs;  // row-major: point i's inputs start at i * num_inputs
  std::vector<double> givens;  // row-major: point i's givens start at i * num_givens
  std::vector<double> measured;
  std::size_t size() const { return measured.size(); }
};

// Bounded parameter <-> the solver's unbounded variable (see laws::Scale).
double to_bounded(double u, const laws::Parameter& p);
double to_unbounded(double value, const laws::Parameter& p);
// Where a value sits inside its bounds on the start scale, 0..1 (0.5 = the middle).
double bound_fraction(double value, const laws::Parameter& p);

struct StartOutcome {
  std::vector<double> unbounded;  // the solver's variables at the end
  double objective = 0;           // the loss (see Loss), +inf when the start could not be evaluated
};

// How long and how boldly Levenberg-Marquardt runs from each start.
struct Budget {
  int max_iterations = 200;
  double trust_region = 0.1;  // initial radius: small is cautious, gradient-like; large is Gauss-Newton
  // Stop when one step lowers the loss by less than this fraction of the start's loss (0: never).
  // Cheap exits for starts stranded on a plateau, where every step gains almost nothing.
  double relative_cost_change = 0;
  // Every check_every steps, a start whose loss is still above abandon_ratio times the best loss
  // seen so far in this batch is abandoned (0: never). Starts stranded on a plateau otherwise burn
  // the whole budget: about half the time of a 100-start rosenfeld2020 fit.
  int check_every = 0;
  double abandon_ratio = 0;
};

// Solves one law on a set of points from many starts. `rows` index into the points and may repeat
// (bootstrap resamples).
class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::vector<StartOutcome> solve(const std::vector<int>& rows,
                                          const std::vector<std::vector<double>>& starts,
                                          const Budget& budget) const = 0;
};

std::unique_ptr<Solver> make_solver(const laws::LawInfo& law, const Points& points, Loss loss, double huber_delta);

}  // namespace scalelab::fit::detail
