// The design query: the closed form per candidate, its bootstrap spread, the sweep's measured answer,
// and the verification sweep of the chosen network.
#include "prune/design.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "laws/laws.h"
#include "store/hparam_schema.h"
#include "store/hparams.h"

namespace scalelab::prune {

namespace {

constexpr std::string_view kJointLaw = "pruning2021_joint";

// Hparams' canonical text of a value as written (0.50 -> 0.5), so it compares with the grid's.
std::string canonical(const std::string& text) {
  Hparams h;
  h.set("v", text);
  return h.text("v");
}

// The grid's data axis (data_fraction or data_count), "" when the data size is fixed.
std::string data_axis(const SweepSpec& spec) {
  for (const char* axis : {"data_fraction", "data_count"})
    if (spec.axis(axis)) return axis;
  return "";
}

// The data size the candidates share: as asked, else the grid's largest.
std::string chosen_data_size(const SweepSpec& spec, const std::string& axis, const std::string& asked) {
  if (axis.empty()) {
    const std::string fixed = spec.fixed.has("data_fraction") ? "data_fraction" : "data_count";
    if (!asked.empty() && canonical(asked) != spec.fixed.text(fixed))
      throw InputError("data_fraction", 0, asked,
                       fmt::format("the sweep has one data size, {} {}", fixed, spec.fixed.text(fixed)));
    return spec.fixed.text(fixed);
  }
  const auto& values = spec.axis(axis)->values;
  if (asked.empty())
    return *std::max_element(values.begin(), values.end(),
                             [](const std::string& a, const std::string& b) { return std::stod(a) < std::stod(b); });
  if (std::find(values.begin(), values.end(), canonical(asked)) == values.end())
    throw InputError("data_fraction", 0, asked, fmt::format("not on the grid's {} axis ({})", axis, fmt::join(values, ", ")));
  return canonical(asked);
}

std::string cell_of(const Table& rows, std::size_t row, const std::vector<std::string>& keys) {
  std::string cell;
  for (const auto& key : keys) cell += (cell.empty() ? "" : " ") + key + "=" + rows.at(row, key);
  return cell;
}

// The column a fit reads one of its inputs from.
std::string input_column(const fit::FitResult& fit, const std::string& input) {
  for (std::size_t i = 0; i < fit.input_names.size(); ++i)
    if (fit.input_names[i] == input) return fit.input_columns[i];
  throw InputError("fit", 0, input, fmt::format("the fit has no input '{}'", input));
}

std::string why_infeasible(const Density& density, const JointLaw& law, double eps_np, double max_error) {
  if (density.kind == Density::unreachable)
    return fmt::format("its unpruned error {:.4g} is not below the bound {:.4g}", eps_np, max_error);
  return fmt::format("the bound is at or above the law's high-error plateau eps_up = {:.4g}: the law names no density",
                     law.eps_up);
}

// The best candidate's remaining parameters under each bootstrap sample of the joint fit.
void bootstrap_remaining(const fit::FitResult& joint, const JointLaw& law, double max_error, Candidate& c) {
  std::vector<double> remaining;
  for (const auto& sample : joint.bootstrap_samples) {
    const Density d = density_for(law.with(sample), c.depth, c.width, c.eps_np, max_error);
    if (d.feasible()) remaining.push_back(c.prunable * d.value + c.params - c.prunable);
    else c.samples_without_answer += 1;
  }
  c.samples = static_cast<int>(joint.bootstrap_samples.size());
  if (!remaining.empty()) c.remaining_interval = fit::interval_of(remaining);
}

// The planned run of the best candidate's cell (any seed): its whole configuration.
const PlannedRun& planned_run(const std::vector<PlannedRun>& planned, const Design& design) {
  for (const auto& run : planned)
    if (run.cell == design.best()->cell) return run;
  throw InputError("design", 0, design.best()->cell, "no run of the sweep's spec has this cell");
}

}  // namespace

JointLaw JointLaw::of(const fit::FitResult& fit) {
  if (fit.law != kJointLaw)
    throw InputError("fit", 0, fit.law, fmt::format("the design query needs a {} fit, not {}", kJointLaw, fit.law));
  std::vector<double> values;
  for (const auto& p : fit.parameters) values.push_back(p.value);
  JointLaw law = JointLaw{}.with(values);
  law.d_scale = fit.input_scales[0];
  law.l_scale = fit.input_scales[1];
  law.w_scale = fit.input_scales[2];
  return law;
}

JointLaw JointLaw::with(const std::vector<double>& parameters) const {
  JointLaw law = *this;
  law.eps_up = parameters.at(0);
  law.gamma = parameters.at(1);
  law.p = parameters.at(2);
  law.phi = parameters.at(3);
  law.psi = parameters.at(4);
  return law;
}

double JointLaw::error(double density, double depth, double width, double eps_np) const {
  const double params[] = {eps_up, gamma, p, phi, psi};
  const double inputs[] = {density / d_scale, depth / l_scale, width / w_scale};
  return laws::find(kJointLaw)->evaluate(params, inputs, &eps_np);
}

Density density_for(const JointLaw& law, double depth, double width, double eps_np, double max_error) {
  Density out;
  const double log_k = std::log(law.eps_up / eps_np), log_r = std::log(max_error / eps_np);
  if (!(log_r > 0)) return out;  // unreachable (also for a NaN eps_np)
  if (log_r >= log_k) {
    out.kind = Density::unbounded;
    return out;
  }
  // log((e^a - e^b) / (e^b - 1)) with a = (2/gamma) log K > b = (2/gamma) log r > 0.
  const double a = 2 / law.gamma * log_k, b = 2 / law.gamma * log_r;
  const double log_ratio = a + std::log1p(-std::exp(b - a)) - std::log(std::expm1(b));
  const double log_invariant = std::log(law.p) + 0.5 * log_ratio;
  const double log_density = log_invariant - law.phi * std::log(depth / law.l_scale) - law.psi * std::log(width / law.w_scale) +
                             std::log(law.d_scale);
  out.kind = log_density >= 0 ? Density::dense : Density::pruned;
  out.value = std::min(1.0, std::exp(log_density));
  return out;
}

Design design(const Table& rows, const SweepSpec& spec, const fit::FitResult& joint, const DesignOptions& options) {
  if (!(std::isfinite(options.max_error) && options.max_error > 0))
    throw InputError("max_error", 0, "", fmt::format("{} is no error bound: give a positive error, e.g. 0.15", options.max_error));
  Design design;
  design.max_error = options.max_error;
  design.law = JointLaw::of(joint);
  design.target = joint.target;
  design.data_axis = data_axis(spec);
  design.data_size = chosen_data_size(spec, design.data_axis, options.data_size);

  std::map<std::string, const PlannedRun*> planned;
  const auto runs = expand(spec);
  for (const auto& run : runs) planned.emplace(run.cell, &run);
  const auto keys = cell_keys(spec);
  const std::size_t level = rows.column("level"), target = rows.column(joint.target);
  const std::size_t depth = rows.column(input_column(joint, "l")), width = rows.column(input_column(joint, "w"));
  const std::size_t eps_np = rows.column(kEpsNpColumn), params = rows.column("params");
  const std::size_t remaining = rows.column("remaining_params");
  const std::size_t weights = rows.column("remaining_weights");
  auto at_data_size = [&](std::size_t row) {
    return design.data_axis.empty() || rows.at(row, design.data_axis) == design.data_size;
  };

  for (std::size_t row = 0; row < rows.rows(); ++row) {
    if (!at_data_size(row)) continue;
    const double error = rows.number(row, target);
    if (std::isfinite(error) && error <= options.max_error &&
        (!design.measured || rows.number(row, remaining) < design.measured->remaining))
      design.measured = MeasuredPoint{cell_of(rows, row, keys), static_cast<int>(rows.number(row, level)),
                                      rows.number(row, rows.column("density")), rows.number(row, remaining), error};
    if (rows.number(row, level) != 0) continue;
    Candidate c;
    c.cell = cell_of(rows, row, keys);
    c.depth = rows.number(row, depth);
    c.width = rows.number(row, width);
    c.eps_np = rows.number(row, eps_np);
    c.params = rows.number(row, params);
    auto it = planned.find(c.cell);
    c.prunable = it != planned.end() ? it->second->prunable : rows.number(row, weights);
    c.density = density_for(design.law, c.depth, c.width, c.eps_np, options.max_error);
    if (c.density.feasible()) {
      c.remaining = c.prunable * c.density.value + c.params - c.prunable;
      c.predicted = design.law.error(c.density.value, c.depth, c.width, c.eps_np);
    } else {
      c.why = why_infeasible(c.density, design.law, c.eps_np, options.max_error);
    }
    design.candidates.push_back(c);
  }
  if (design.candidates.empty())
    throw InputError("design", 0, design.data_size,
                     fmt::format("no cell at {} {} has a measured level 0", design.data_axis, design.data_size));
  std::stable_sort(design.candidates.begin(), design.candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.density.feasible() != b.density.feasible()) return a.density.feasible();
    return a.density.feasible() && a.remaining < b.remaining;
  });
  if (design.best()) bootstrap_remaining(joint, design.law, options.max_error, design.candidates[0]);
  return design;
}

int verify_levels(const SweepSpec& spec, const Design& design) {
  const std::vector<PlannedRun> planned = expand(spec);  // planned_run refers into it: keep it alive
  const Hparams& h = planned_run(planned, design).hparams;
  const double rate = h.has("prune_rate") ? h.number("prune_rate") : hparam_default_number("prune_rate");
  // The first level at or below the density, and two past it.
  const double reach = std::ceil(std::log(design.best()->density.value) / std::log(1 - rate) - 1e-9);
  const double most = find_hparam("prune_levels")->hi;
  return static_cast<int>(std::clamp(std::max(0.0, reach) + 2, 1.0, most));
}

std::string verify_spec_yaml(const SweepSpec& spec, const Design& design) {
  const std::vector<PlannedRun> planned = expand(spec);  // planned_run refers into it: keep it alive
  const Hparams& h = planned_run(planned, design).hparams;
  std::string yaml = fmt::format("# The design's verification (scalelab design --verify): {} pruned past density {:.6g}\n",
                                 design.best()->cell, design.best()->density.value);
  yaml += fmt::format("name: {}-verify\ndataset: {}\nmodel: {}\n", spec.name, h.text("dataset"), h.text("model"));
  // The training set's size as the sweep planned it (the catalogue's, or the sweep's own train_size).
  if (spec.dataset_size > 0) yaml += fmt::format("train_size: {}\n", format_number(spec.dataset_size));
  yaml += "fixed:\n";
  for (const auto& [key, value] : h.values())
    if (key != "dataset" && key != "model" && key != "seed" && key != "prune_levels") yaml += fmt::format("  {}: {}\n", key, value);
  yaml += fmt::format("  prune_levels: {}\n", verify_levels(spec, design));
  const SweepSpec::Axis* seeds = spec.axis("seed");
  yaml += fmt::format("grid:\n  seed: [{}]\n", seeds ? fmt::format("{}", fmt::join(seeds->values, ", ")) : spec.fixed.text("seed"));
  yaml += "law: pruning2021\n";
  return yaml;
}

Verification verification(const Table& rows, const Design& design) {
  const Candidate& best = *design.best();
  Verification v;
  const std::size_t target = rows.column(design.target);
  for (std::size_t row = 0; row < rows.rows(); ++row) {
    VerifiedLevel l{static_cast<int>(rows.number(row, rows.column("level"))), rows.number(row, rows.column("density")),
                    rows.number(row, rows.column("remaining_params")), rows.number(row, target), 0};
    l.predicted = design.law.error(l.density, best.depth, best.width, best.eps_np);
    if (l.level == 0) v.eps_np = rows.number(row, rows.column(kEpsNpColumn));
    if (l.measured <= design.max_error && (!v.smallest_within || l.remaining < v.smallest_within->remaining))
      v.smallest_within = l;
    v.levels.push_back(l);
  }
  return v;
}

namespace {

nlohmann::json interval_json(const std::optional<fit::Interval>& i) {
  if (!i) return nullptr;
  return {{"p05", i->p05}, {"p50", i->p50}, {"p95", i->p95}};
}

nlohmann::json level_json(const VerifiedLevel& l) {
  return {{"level", l.level}, {"density", l.density}, {"remaining_params", l.remaining}, {"measured", l.measured},
          {"predicted", l.predicted}};
}

const char* kind_name(Density::Kind kind) {
  switch (kind) {
    case Density::pruned: return "pruned";
    case Density::dense: return "dense";
    case Density::unreachable: return "unreachable";
    case Density::unbounded: return "unbounded";
  }
  return "?";
}

}  // namespace

std::string design_json(const Design& design, const Verification* verified) {
  nlohmann::json j;
  j["max_error"] = design.max_error;
  j["data_axis"] = design.data_axis;
  j["data_size"] = design.data_size;
  j["target"] = design.target;
  const JointLaw& law = design.law;
  j["law"] = {{"name", kJointLaw}, {"eps_up", law.eps_up}, {"gamma", law.gamma}, {"p", law.p}, {"phi", law.phi},
              {"psi", law.psi}, {"scales", {{"d", law.d_scale}, {"l", law.l_scale}, {"w", law.w_scale}}}};
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : design.candidates) {
    nlohmann::json entry = {{"cell", c.cell},         {"depth", c.depth},   {"width", c.width},
                            {"eps_np", c.eps_np},     {"prunable", c.prunable}, {"params", c.params},
                            {"answer", kind_name(c.density.kind)}, {"feasible", c.density.feasible()}};
    if (c.density.feasible()) {
      entry["density"] = c.density.value;
      entry["remaining_params"] = c.remaining;
      entry["predicted"] = c.predicted;
    } else {
      entry["why"] = c.why;
    }
    candidates.push_back(entry);
  }
  j["candidates"] = candidates;
  j["best"] = nullptr;
  if (const Candidate* best = design.best())
    j["best"] = {{"cell", best->cell}, {"density", best->density.value}, {"remaining_params", best->remaining},
                 {"predicted", best->predicted}, {"remaining_interval", interval_json(best->remaining_interval)},
                 {"bootstrap_samples", best->samples}, {"samples_without_answer", best->samples_without_answer}};
  j["measured"] = nullptr;
  if (design.measured)
    j["measured"] = {{"cell", design.measured->cell}, {"level", design.measured->level}, {"density", design.measured->density},
                     {"remaining_params", design.measured->remaining}, {"error", design.measured->error}};
  if (design.best() && design.measured) j["predicted_over_measured"] = design.best()->remaining / design.measured->remaining;
  if (verified) {
    nlohmann::json levels = nlohmann::json::array();
    for (const auto& l : verified->levels) levels.push_back(level_json(l));
    j["verify"] = {{"eps_np", verified->eps_np}, {"levels", levels},
                   {"smallest_within", verified->smallest_within ? level_json(*verified->smallest_within) : nlohmann::json()}};
  }
  return j.dump(2) + "\n";
}

}  // namespace scalelab::prune
