#include "theory/nyquist_experiment.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "theory/bandlimited.h"
#include "theory/learners.h"

namespace scalelab::theory {

namespace {

// m from 1 to `largest` growing by `growth` (rounded, distinct), plus c-1, c and c+1 of every count c.
std::vector<std::int64_t> sample_counts(std::int64_t largest, double growth, const std::vector<std::int64_t>& counts) {
  std::set<std::int64_t> m;
  for (double v = 1; v <= double(largest) + 0.5; v *= growth) m.insert(std::llround(v));
  m.insert(largest);
  for (auto c : counts)
    for (auto near : {c - 1, c, c + 1})
      if (near >= 1 && near <= largest) m.insert(near);
  return {m.begin(), m.end()};
}

double relative_mse(const std::vector<double>& predicted, const std::vector<double>& truth, double variance) {
  double sum = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) sum += (predicted[i] - truth[i]) * (predicted[i] - truth[i]);
  return sum / double(truth.size()) / variance;
}

}  // namespace

NyquistExperiment run_nyquist_experiment(NyquistOptions o) {
  check_dim_bandwidth(o.dim, o.bandwidth);
  if (o.learner_bandwidths.empty()) {
    if (o.bandwidth > 0) o.learner_bandwidths.push_back(o.bandwidth - 1);
    o.learner_bandwidths.push_back(o.bandwidth);
    o.learner_bandwidths.push_back(o.bandwidth + 2);
  }
  for (int b : o.learner_bandwidths) check_dim_bandwidth(o.dim, b);
  NyquistExperiment e;
  e.nyquist_count = int_power(2 * o.bandwidth + 1, o.dim);
  if (o.max_samples == 0) o.max_samples = 10 * e.nyquist_count;
  if (o.max_samples < 1 || o.max_samples > (std::int64_t{1} << 22)) throw std::invalid_argument("max samples 1..2^22");
  if (!(o.growth > 1 && o.growth <= 10)) throw std::invalid_argument("growth in (1, 10]");
  if (o.test_points < 1 || !(o.threshold > 0)) throw std::invalid_argument("test points >= 1, threshold > 0");
  e.options = o;

  const TrigSeries target = random_trig_series(o.dim, o.bandwidth, o.seed);
  e.target_variance = target.variance();
  // Independent streams for the test points and the training points, fixed by the target's seed.
  const Points test = uniform_points(o.dim, o.test_points, o.seed * 0x9E3779B97F4A7C15ull + 1);
  const auto truth = target.evaluate(test);
  auto error_of = [&](const std::vector<double>& predicted) { return relative_mse(predicted, truth, e.target_variance); };
  auto error_of_series = [&](const TrigSeries& s) { return error_of(s.evaluate(test)); };

  std::vector<std::int64_t> counts{e.nyquist_count};
  for (int b : o.learner_bandwidths) counts.push_back(int_power(2 * b + 1, o.dim));

  if (o.grid) {
    // Grids of n points per axis: n from 1 while n^d <= max m, all n (there are few).
    std::vector<int> sides;
    for (int n = 1; int_power(n, o.dim) <= o.max_samples; ++n) sides.push_back(n);
    for (int b : o.learner_bandwidths)
      for (int n : sides) {
        const Points x = grid_points(o.dim, n);
        e.points.push_back({"nyquist-fft", "grid", b, x.rows(), error_of_series(fit_trig_grid(o.dim, n, target.evaluate(x), b))});
      }
    for (int n : sides) {
      const Points x = grid_points(o.dim, n);
      e.points.push_back({"dirichlet", "grid", n / 2, x.rows(), error_of(dirichlet_interpolate(o.dim, n, target.evaluate(x), test))});
    }
  }
  if (o.random) {
    const auto ms = sample_counts(o.max_samples, o.growth, counts);
    // One nested sequence of points: the first m of them at each m.
    const Points all = uniform_points(o.dim, o.max_samples, o.seed * 0x9E3779B97F4A7C15ull + 2);
    const auto all_values = target.evaluate(all);
    for (int b : o.learner_bandwidths)
      for (auto m : ms) {
        const std::vector<double> y(all_values.begin(), all_values.begin() + m);
        e.points.push_back({"nyquist-lsq", "random", b, m, error_of_series(fit_trig_points(all.topRows(m), y, b))});
      }
    for (auto m : ms) {
      if (m > o.kernel_max_samples) break;
      const std::vector<double> y(all_values.begin(), all_values.begin() + m);
      e.points.push_back({"kernel-ridge", "random", -1, m, error_of(fit_kernel_ridge(all.topRows(m), y).predict(test))});
    }
  }

  add_learner_points(e, {});
  return e;
}

void add_learner_points(NyquistExperiment& e, const std::vector<NyquistPoint>& points) {
  const NyquistOptions& o = e.options;
  e.points.insert(e.points.end(), points.begin(), points.end());
  e.reaches.clear();
  // Reaches, one per learner in the order the points came.
  for (std::size_t i = 0; i < e.points.size();) {
    const auto& first = e.points[i];
    const bool dirichlet = first.learner == "dirichlet";
    std::size_t end = i;
    while (end < e.points.size() && e.points[end].learner == first.learner && e.points[end].sampling == first.sampling &&
           (dirichlet || e.points[end].learner_bandwidth == first.learner_bandwidth))
      ++end;
    NyquistReach r{first.learner, first.sampling, dirichlet ? -1 : first.learner_bandwidth,
                   first.learner_bandwidth >= 0 && !dirichlet ? int_power(2 * first.learner_bandwidth + 1, o.dim) : 0,
                   std::nullopt, e.points[end - 1].m, e.points[end - 1].relative_error, std::nullopt};
    for (std::size_t j = i; j < end; ++j)
      if (e.points[j].m == 10 * e.nyquist_count) r.error_at_ten_nyquist = e.points[j].relative_error;
    for (std::size_t j = end; j-- > i;) {
      if (!(e.points[j].relative_error < o.threshold)) break;
      r.reached = e.points[j].m;
    }
    e.reaches.push_back(r);
    i = end;
  }
}

namespace {

std::size_t reach_index(const NyquistExperiment& e, const NyquistPoint& p) {
  for (std::size_t i = 0; i < e.reaches.size(); ++i) {
    const auto& r = e.reaches[i];
    if (r.learner == p.learner && r.sampling == p.sampling && (r.learner == "dirichlet" || r.learner_bandwidth == p.learner_bandwidth))
      return i;
  }
  throw std::logic_error("a point without its learner");
}

}  // namespace

Table points_table(const NyquistExperiment& e) {
  Table t({"learner", "sampling", "learner_bandwidth", "learner_index", "m", "relative_error", "dim", "bandwidth",
           "nyquist_count"});
  for (const auto& p : e.points)
    t.add_row({p.learner, p.sampling, std::to_string(p.learner_bandwidth), std::to_string(reach_index(e, p)),
               std::to_string(p.m), format_number(p.relative_error), std::to_string(e.options.dim),
               std::to_string(e.options.bandwidth), std::to_string(e.nyquist_count)});
  return t;
}

Table reach_table(const NyquistExperiment& e) {
  Table t({"learner_index", "learner", "sampling", "learner_bandwidth", "learner_count", "reached_m",
           "reached_over_nyquist", "error_at_10x_nyquist", "largest_m", "error_at_largest_m"});
  for (std::size_t i = 0; i < e.reaches.size(); ++i) {
    const auto& r = e.reaches[i];
    t.add_row({std::to_string(i), r.learner, r.sampling, r.learner_bandwidth >= 0 ? std::to_string(r.learner_bandwidth) : "",
               r.learner_count > 0 ? std::to_string(r.learner_count) : "",
               r.reached ? std::to_string(*r.reached) : "never in range",
               r.reached ? fmt::format("{:.3g}", double(*r.reached) / double(e.nyquist_count)) : "",
               r.error_at_ten_nyquist ? fmt::format("{:.3g}", *r.error_at_ten_nyquist) : "",
               std::to_string(r.largest_m), fmt::format("{:.3g}", r.error_at_largest_m)});
  }
  return t;
}

}  // namespace scalelab::theory
