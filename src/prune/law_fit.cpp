// The pruning law from a pruning sweep's rows: the joint fit, its eps_np, the per-configuration fits.
#include "prune/law_fit.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "laws/laws.h"

namespace scalelab::prune {

namespace {

// The rows of `table` for which `keep(row)` holds, with the same header and source.
template <typename Keep>
Table rows_where(const Table& table, Keep keep) {
  Table out(table.header(), table.source());
  for (std::size_t row = 0; row < table.rows(); ++row) {
    if (!keep(row)) continue;
    std::vector<std::string> cells;
    for (std::size_t col = 0; col < table.cols(); ++col) cells.push_back(table.at(row, col));
    out.add_row(std::move(cells), table.line_of(row));
  }
  return out;
}

// eps_np from the unpruned networks: rosenfeld2020 (the spec's eps0) on the fit set's level-0 cells, in
// the paper's units, with as many starts and resamples as the joint fit.
fit::FitResult fit_unpruned(const Table& rows, const SweepSpec& spec, const fit::FitOptions& joint) {
  const std::size_t level = rows.column("level");
  Table unpruned = rows_where(rows, [&](std::size_t row) { return rows.number(row, level) == 0; });
  fit::FitOptions o;
  o.law = "rosenfeld2020";
  o.inputs = {{"m", std::string(kSweepQuantities[0].second)}, {"n", std::string(kSweepQuantities[1].second)}};
  o.target = joint.target;
  o.givens = {{"eps0", fit::Given::constant(spec.eps0)}};
  o.fit_where = spec.has_fit() ? "in_fit==1" : "";
  o.normalize = true;
  o.starts = joint.starts;
  o.seed = joint.seed;
  o.bootstrap = joint.bootstrap;
  try {
    return fit::fit_table(unpruned, o);
  } catch (const InputError& e) {
    throw InputError("eps_np", 0, e.field(), fmt::format("the rosenfeld2020 fit of the level-0 cells: {}", e.message()));
  }
}

// The column the joint fit reads the density from.
std::string density_column(const fit::FitOptions& joint) {
  for (const auto& [input, column] : joint.inputs)
    if (input == "d") return column;
  return std::string(kPruningQuantities[0].second);
}

// pruning2021 on each configuration's levels: the rows of one cell (its grid axes but the seed).
std::vector<ConfigurationFit> fit_configurations(const Table& rows, const SweepSpec& spec, const fit::FitOptions& joint,
                                                 std::vector<double>& divergences) {
  const auto keys = cell_keys(spec);
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::size_t>> members;
  for (std::size_t row = 0; row < rows.rows(); ++row) {
    std::string cell;
    for (const auto& key : keys) cell += (cell.empty() ? "" : " ") + key + "=" + rows.at(row, key);
    if (!members.count(cell)) order.push_back(cell);
    members[cell].push_back(row);
  }
  fit::FitOptions o;
  o.law = "pruning2021";
  o.inputs = {{"d", density_column(joint)}};
  o.target = joint.target;
  o.givens = {{"eps_np", fit::Given::from_column(std::string(kEpsNpColumn))}};
  o.starts = joint.starts;
  o.seed = joint.seed;
  const std::size_t needed = laws::find(o.law)->parameters.size();
  std::vector<ConfigurationFit> out;
  for (const auto& cell : order) {
    const auto& in_cell = members[cell];
    ConfigurationFit c;
    c.cell = cell;
    c.points = static_cast<int>(in_cell.size());
    if (in_cell.size() < needed) {
      c.note = fmt::format("{} levels, fewer than the {} parameters of pruning2021: not fitted", in_cell.size(), needed);
      out.push_back(c);
      continue;
    }
    Table table = rows_where(rows, [&](std::size_t row) { return std::find(in_cell.begin(), in_cell.end(), row) != in_cell.end(); });
    try {
      fit::FitResult r = fit::fit_table(table, o);
      for (const auto& p : r.parameters) {
        c.parameters.push_back(p.value);
        if (p.at_bound) c.note += (c.note.empty() ? "at its bound: " : ", ") + p.name;
      }
      c.mean_abs = r.fitted.mean_abs;
      for (const auto& point : r.points) divergences.push_back(std::abs(point.divergence));
    } catch (const InputError& e) {
      c.note = fmt::format("not fitted: {}", e.message());
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

EpsNp parse_eps_np(const std::string& text) {
  if (text == "measured") return EpsNp::measured;
  if (text == "fit") return EpsNp::fit;
  throw InputError("eps_np", 0, text, "expected measured (each cell's level-0 mean) or fit (a rosenfeld2020 fit of the level-0 cells)");
}

fit::FitOptions pruning_fit_options(const SweepSpec& spec) {
  if (!spec.prunes())
    throw InputError("law", 0, spec.source, "the sweep does not prune (no prune section, no prune_levels > 0)");
  const SweepFit defaults = sweep_fit(spec);
  fit::FitOptions o;
  o.law = defaults.law;
  o.inputs = defaults.inputs;
  o.target = defaults.target;
  for (const auto& [name, value] : defaults.givens) o.givens[name] = fit::Given::constant(value);
  for (const auto& [name, column] : defaults.given_columns) o.givens[name] = fit::Given::from_column(column);
  if (spec.has_fit()) o.fit_where = "in_fit==1";
  return o;
}

PruningFits fit_pruning_sweep(const Table& rows, const SweepSpec& spec, const PruningFitOptions& options) {
  PruningFits fits;
  fits.eps_np = options.eps_np;
  fit::FitOptions joint = options.joint;
  if (options.eps_np == EpsNp::fit) {
    fits.inner = fit_unpruned(rows, spec, joint);
    joint.givens[std::string(kEpsNpColumn)] = fit::Given::from_fit(std::make_shared<fit::FitResult>(*fits.inner));
  }
  fits.joint = fit::fit_table(rows, joint);
  if (!options.per_configuration) return fits;
  std::vector<double> divergences;
  fits.configurations = fit_configurations(rows, spec, joint, divergences);
  fits.points = static_cast<int>(divergences.size());
  if (!divergences.empty()) {
    double sum = 0, sum_sq = 0;
    for (double d : divergences) sum += d, sum_sq += d * d;
    fits.mean_abs = sum / divergences.size();
    fits.std_abs = std::sqrt(std::max(0.0, sum_sq / divergences.size() - fits.mean_abs * fits.mean_abs));
  }
  return fits;
}

std::string format_pruning_report(const PruningFits& fits) {
  std::string out;
  if (fits.inner)
    out += fmt::format("\neps_np: rosenfeld2020 fitted on {} level-0 cells ({} held out), predicted for every row\n",
                       fits.inner->fitted.count, fits.inner->held_out.count);
  if (fits.configurations.empty()) return out;
  out += "\npruning2021 per configuration (eps_np: its measured level-0 mean)\n";
  out += fmt::format("  {:<40} {:>6} {:>10} {:>8} {:>11} {:>8}\n", "configuration", "points", "eps_up", "gamma", "p", "mean|d|");
  for (const auto& c : fits.configurations) {
    if (c.parameters.empty()) {
      out += fmt::format("  {:<40} {:>6}  {}\n", c.cell, c.points, c.note);
      continue;
    }
    out += fmt::format("  {:<40} {:>6} {:>10.4g} {:>8.4g} {:>11.4g} {:>7.2f}%{}\n", c.cell, c.points, c.parameters[0],
                       c.parameters[1], c.parameters[2], 100 * c.mean_abs, c.note.empty() ? "" : "  (" + c.note + ")");
  }
  out += fmt::format("  every configuration's points: n={}, mean |divergence| {:.2f}%, std {:.2f}%\n", fits.points,
                     100 * fits.mean_abs, 100 * fits.std_abs);
  return out;
}

std::string pruning_json(const PruningFits& fits) {
  nlohmann::json j = nlohmann::json::parse(fit::to_json(fits.joint));
  nlohmann::json configurations = nlohmann::json::array();
  for (const auto& c : fits.configurations) {
    nlohmann::json entry = {{"cell", c.cell}, {"points", c.points}, {"note", c.note}};
    if (!c.parameters.empty()) {
      entry["eps_up"] = c.parameters[0];
      entry["gamma"] = c.parameters[1];
      entry["p"] = c.parameters[2];
      entry["mean_abs"] = c.mean_abs;
    }
    configurations.push_back(entry);
  }
  j["pruning"] = {{"eps_np", fits.eps_np == EpsNp::fit ? "fit" : "measured"},
                  {"per_configuration", configurations},
                  {"per_configuration_summary", {{"count", fits.points}, {"mean_abs", fits.mean_abs}, {"std_abs", fits.std_abs}}}};
  return j.dump(2) + "\n";
}

}  // namespace scalelab::prune
