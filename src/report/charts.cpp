#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/core.h>

#include "sweep/results.h"

namespace scalelab {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

std::string number_text(double v, int digits = 4) { return std::isfinite(v) ? fmt::format("{:.{}g}", v, digits) : ""; }
std::string count_text(double v) { return fmt::format("{:.0f}", v); }
std::string percent(double v) { return std::isfinite(v) ? fmt::format("{:+.1f}%", 100 * v) : ""; }

// A cell of the sweep: its axes as a label, its sizes, its measured error and, when the fit has it, the
// fit's view of it.
struct CellPoint {
  std::string label, role;
  double m = NAN, n = NAN, error = NAN, error_std = NAN, cost = NAN;
  const fit::PointResult* fitted = nullptr;  // the fit's point for this cell
};

// The grid's axes: the cell table's columns between in_fit and params (results.h).
std::vector<std::string> axis_columns(const Table& cells) {
  std::vector<std::string> axes;
  bool inside = false;
  for (const auto& column : cells.header()) {
    if (column == "params") break;
    if (inside) axes.push_back(column);
    if (column == "in_fit") inside = true;
  }
  return axes;
}

// A row's cell: its grid axes as "width=0.25 data_fraction=0.5".
std::string cell_label(const Table& t, std::size_t row, const std::vector<std::string>& axes) {
  std::string label;
  for (const auto& axis : axes) label += (label.empty() ? "" : " ") + axis + "=" + t.at(row, axis);
  return label;
}

bool fit_in_m_and_n(const ReportInputs& in) {
  return in.fit && in.fit->input_names == std::vector<std::string>{"m", "n"};
}

std::vector<CellPoint> cell_points(const ReportInputs& in) {
  std::vector<CellPoint> points;
  const Table& t = in.cells;
  if (t.rows() > 0 && t.has_column("samples") && t.has_column("params") && t.has_column("test_error")) {
    const auto axes = axis_columns(t);
    const bool pruning = t.has_column("level");
    for (std::size_t r = 0; r < t.rows(); ++r) {
      if (pruning && t.at(r, "level") != "0") continue;  // a pruning sweep's dense networks
      CellPoint p;
      p.label = cell_label(t, r, axes);
      p.role = t.at(r, "role");
      p.m = t.number(r, t.column("samples"));
      p.n = t.number(r, t.column("params"));
      p.error = t.at(r, "test_error").empty() ? NAN : t.number(r, t.column("test_error"));
      if (t.has_column("test_error_std") && !t.at(r, "test_error_std").empty())
        p.error_std = t.number(r, t.column("test_error_std"));
      if (t.has_column("cost")) p.cost = t.number(r, t.column("cost"));
      if (fit_in_m_and_n(in))
        for (const auto& fp : in.fit->points)
          if (fp.inputs[0] == p.m && fp.inputs[1] == p.n) p.fitted = &fp;
      if (std::isfinite(p.error)) points.push_back(p);
    }
    return points;
  }
  if (!fit_in_m_and_n(in)) return points;
  for (const auto& fp : in.fit->points) {  // a fit alone: its points are the cells
    CellPoint p;
    p.m = fp.inputs[0];
    p.n = fp.inputs[1];
    p.label = fmt::format("m={} n={}", count_text(p.m), count_text(p.n));
    p.role = fp.fitted ? "fit" : "held_out";
    p.error = fp.measured;
    p.fitted = &fp;
    points.push_back(p);
  }
  return points;
}

// The law's curve through one size, over the other size's range (a factor of 2 beyond each end).
Json law_curve(const fit::FitResult& fit, bool along_m, double fixed, double lo, double hi, const std::string& series) {
  Json values = Json::array();
  constexpr int kSteps = 40;
  for (int i = 0; i <= kSteps; ++i) {
    const double x = std::exp(std::log(lo / 2) + (std::log(hi * 2) - std::log(lo / 2)) * i / kSteps);
    try {
      const auto prediction = fit::predict(fit, {{"m", along_m ? x : fixed}, {"n", along_m ? fixed : x}});
      values.push_back({{"x", x}, {"series", series}, {"predicted", prediction.value}});
    } catch (const InputError&) {
      // outside where the law means anything: no point there
    }
  }
  return values;
}

// Chart (a) or (b): error against one size, a line per value of the other.
std::optional<Chart> error_against_size(const ReportInputs& in, bool along_m) {
  const auto points = cell_points(in);
  if (points.empty()) return std::nullopt;
  const std::string x_name = along_m ? "training samples m" : "parameters n";
  const std::string series_name = along_m ? "parameters n" : "training samples m";
  auto series_of = [&](const CellPoint& p) { return fmt::format("{}={}", along_m ? "n" : "m", count_text(along_m ? p.n : p.m)); };

  Json measured_fit = Json::array(), measured_held = Json::array(), intervals = Json::array(), curves = Json::array();
  std::map<double, std::string> series;  // ordered by the other size
  double lo = INFINITY, hi = 0;
  Chart chart;
  chart.columns = {"cell", "role", "m", "n", "measured", "seed std", "predicted", "interval 5-95%", "divergence"};
  for (const auto& p : points) {
    const double x = along_m ? p.m : p.n;
    lo = std::min(lo, x), hi = std::max(hi, x);
    series[along_m ? p.n : p.m] = series_of(p);
    Json row = {{"x", x}, {"series", series_of(p)}, {"error", p.error}, {"cell", p.label}, {"role", p.role}};
    if (p.fitted) row["predicted"] = p.fitted->predicted;
    (p.role == "fit" ? measured_fit : measured_held).push_back(row);
    std::string interval;
    if (p.fitted && p.fitted->interval) {
      interval = fmt::format("[{}, {}]", number_text(p.fitted->interval->p05), number_text(p.fitted->interval->p95));
      if (p.role != "fit")
        intervals.push_back({{"x", x}, {"series", series_of(p)}, {"p05", p.fitted->interval->p05}, {"p95", p.fitted->interval->p95}});
    }
    chart.rows.push_back({p.label, p.role, count_text(p.m), count_text(p.n), number_text(p.error), number_text(p.error_std, 2),
                          p.fitted ? number_text(p.fitted->predicted) : "", interval,
                          p.fitted ? percent(p.fitted->divergence) : ""});
  }
  if (fit_in_m_and_n(in))
    for (const auto& [size, label] : series)
      for (const auto& v : law_curve(*in.fit, along_m, size, lo, hi, label)) curves.push_back(v);

  std::vector<std::string> domain;
  for (const auto& [_, label] : series) domain.push_back(label);
  const Json color = {{"field", "series"}, {"type", "nominal"}, {"title", series_name}, {"scale", {{"domain", domain}}}};
  const Json x = {{"field", "x"}, {"type", "quantitative"}, {"title", x_name}, {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}};
  const Json tooltip = Json::array({{{"field", "cell"}}, {{"field", "role"}}, {{"field", "error"}, {"format", ".4f"}},
                                    {{"field", "predicted"}, {"format", ".4f"}}});
  Json layers = Json::array();
  if (!curves.empty())
    layers.push_back({{"data", {{"values", curves}}}, {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                      {"encoding", {{"x", x}, {"y", {{"field", "predicted"}, {"type", "quantitative"}, {"title", "test error"},
                                                      {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}}}, {"color", color}}}});
  if (!intervals.empty())
    layers.push_back({{"data", {{"values", intervals}}}, {"mark", {{"type", "rule"}, {"strokeWidth", 2}, {"opacity", 0.6}}},
                      {"encoding", {{"x", x}, {"y", {{"field", "p05"}, {"type", "quantitative"}}}, {"y2", {{"field", "p95"}}},
                                    {"color", color}}}});
  const Json y = {{"field", "error"}, {"type", "quantitative"}, {"title", "test error"}, {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}};
  if (!measured_fit.empty())
    layers.push_back({{"data", {{"values", measured_fit}}}, {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
                      {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}});
  if (!measured_held.empty())
    layers.push_back({{"data", {{"values", measured_held}}}, {"mark", {{"type", "point"}, {"filled", false}, {"size", 60}, {"strokeWidth", 2}}},
                      {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tooltip}}}});
  chart.id = along_m ? "error-vs-data" : "error-vs-model";
  chart.title = along_m ? "Error against data size, a line per model size" : "Error against model size, a line per data size";
  chart.caption = fmt::format(
      "Log-log. Filled points: the fit set's cells (mean over seeds); hollow points: held-out cells, with the "
      "fit's 5-95% predictive interval as a vertical bar{}. Lines: the fitted law over the whole range.",
      in.fit ? "" : " (no fit: measured points only)");
  chart.spec = {{"width", 560}, {"height", 380}, {"layer", layers}};
  return chart;
}

}  // namespace

ReportInputs read_report_inputs(const fs::path& path) {
  ReportInputs in;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    check_sweep_directory(path);
    in.name = path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
    std::vector<std::string> warnings;
    // The targets a selector switches between: the error, and the loss when the runs report one.
    in.cells = cell_table(path, &warnings, {"test_loss"});
    in.runs = run_table(path, &warnings);
    if (fs::is_regular_file(path / "fit.json", ec)) {
      in.fit = fit::from_json(read_file(path / "fit.json"), (path / "fit.json").string());
      in.fit_source = (path / "fit.json").string();
    }
    return in;
  }
  if (fs::is_regular_file(path, ec) && path.extension() == ".csv") {
    in.name = path.stem().string();
    in.nyquist = read_csv(path);
    for (const char* column : {"learner", "learner_bandwidth", "m", "relative_error", "dim", "bandwidth", "nyquist_count"})
      in.nyquist.column(column);  // names the missing column
    return in;
  }
  if (fs::is_regular_file(path, ec)) {
    in.name = path.stem().string();
    in.fit = fit::from_json(read_file(path), path.string());
    in.fit_source = path.string();
    return in;
  }
  throw InputError(path.string(), 0, "", "neither a sweep directory nor a fit JSON file");
}

std::optional<Chart> error_against_data_chart(const ReportInputs& in) { return error_against_size(in, true); }
std::optional<Chart> error_against_model_chart(const ReportInputs& in) { return error_against_size(in, false); }

std::optional<Chart> divergence_chart(const ReportInputs& in) {
  if (!fit_in_m_and_n(in)) return std::nullopt;
  const auto& fit = *in.fit;
  double m_max = 0, n_max = 0;
  for (const auto& p : fit.points)
    if (p.fitted) m_max = std::max(m_max, p.inputs[0]), n_max = std::max(n_max, p.inputs[1]);
  if (m_max <= 0) return std::nullopt;
  Chart chart;
  chart.id = "divergence";
  chart.title = "Divergence against extrapolation distance";
  chart.caption =
      "Divergence (predicted - measured) / measured of every cell, against how far it lies beyond the fit set: "
      "doublings of m beyond the fit set's largest m plus doublings of n beyond its largest n (0 inside the fit "
      "set's range). Fitted cells for comparison.";
  chart.columns = {"m", "n", "role", "distance (doublings)", "divergence"};
  Json values = Json::array();
  for (const auto& p : fit.points) {
    const double distance = std::max(0.0, std::log2(p.inputs[0] / m_max)) + std::max(0.0, std::log2(p.inputs[1] / n_max));
    const std::string role = p.fitted ? "fitted" : "held out";
    values.push_back({{"distance", distance}, {"divergence", 100 * p.divergence}, {"role", role},
                      {"m", p.inputs[0]}, {"n", p.inputs[1]}});
    chart.rows.push_back({count_text(p.inputs[0]), count_text(p.inputs[1]), role, number_text(distance, 3), percent(p.divergence)});
  }
  chart.spec = {
      {"width", 560},
      {"height", 300},
      {"layer", Json::array({
          {{"data", {{"values", values}}},
           {"mark", {{"type", "point"}, {"size", 60}}},
           {"encoding",
            {{"x", {{"field", "distance"}, {"type", "quantitative"}, {"title", "extrapolation distance (doublings of m and n)"}}},
             {"y", {{"field", "divergence"}, {"type", "quantitative"}, {"title", "divergence (%)"}}},
             {"color", {{"field", "role"}, {"type", "nominal"}}},
             {"shape", {{"field", "role"}, {"type", "nominal"}}},
             {"tooltip", Json::array({{{"field", "m"}}, {{"field", "n"}}, {{"field", "divergence"}, {"format", ".2f"}}})}}}},
          {{"data", {{"values", Json::array({{{"zero", 0}}})}}},
           {"mark", {{"type", "rule"}, {"color", "gray"}}},
           {"encoding", {{"y", {{"field", "zero"}, {"type", "quantitative"}}}}}},
      })}};
  return chart;
}

std::optional<Chart> parameters_chart(const ReportInputs& in) {
  if (!in.fit || in.fit->parameters.empty()) return std::nullopt;
  Chart chart;
  chart.id = "parameters";
  chart.title = "Fitted parameters with their bootstrap intervals";
  chart.caption = "Each parameter's best fit (point) and its bootstrap 5-95% interval (bar), one row per parameter, "
                  "each on its own scale. A parameter at a bound is marked: the bound, not the data, set it.";
  chart.columns = {"parameter", "value", "5%", "50%", "95%", "at bound"};
  Json values = Json::array();
  for (const auto& p : in.fit->parameters) {
    Json v = {{"parameter", p.name}, {"value", p.value}, {"at_bound", p.at_bound ? "yes" : "no"}};
    if (p.interval) v["p05"] = p.interval->p05, v["p95"] = p.interval->p95;
    values.push_back(v);
    chart.rows.push_back({p.name, number_text(p.value, 6), p.interval ? number_text(p.interval->p05, 6) : "",
                          p.interval ? number_text(p.interval->p50, 6) : "", p.interval ? number_text(p.interval->p95, 6) : "",
                          p.at_bound ? "yes" : ""});
  }
  const Json x = {{"type", "quantitative"}, {"title", nullptr}, {"scale", {{"zero", false}}}};
  Json value_x = x, low_x = x;
  value_x["field"] = "value";
  low_x["field"] = "p05";
  chart.spec = {{"data", {{"values", values}}},
                {"facet", {{"row", {{"field", "parameter"}, {"type", "nominal"}, {"title", nullptr}}}}},
                {"resolve", {{"scale", {{"x", "independent"}}}}},
                {"spec",
                 {{"width", 480},
                  {"height", 24},
                  {"layer", Json::array({{{"mark", {{"type", "rule"}, {"strokeWidth", 3}}},
                                          {"encoding", {{"x", low_x}, {"x2", {{"field", "p95"}}}}}},
                                         {{"mark", {{"type", "point"}, {"filled", true}, {"size", 80}}},
                                          {"encoding", {{"x", value_x}, {"color", {{"field", "at_bound"}, {"type", "nominal"},
                                                                                    {"title", "at a bound"}}}}}}})}}}};
  return chart;
}

std::optional<Chart> compute_chart(const ReportInputs& in) {
  const auto points = cell_points(in);
  if (points.empty() || !std::isfinite(points.front().cost)) return std::nullopt;
  double total = 0, fit_set = 0;
  for (const auto& p : points) total += p.cost, fit_set += p.role == "fit" ? p.cost : 0;
  Chart chart;
  chart.id = "compute";
  chart.title = "Compute per cell";
  chart.caption = fmt::format(
      "Planned training FLOPs of each cell, all its seeds (sweep/spec.h: every epoch's training and evaluation), "
      "coloured by role. The fit set cost {:.1f}% of the grid's planned compute: that is what the prediction of "
      "the rest cost.", 100 * fit_set / total);
  chart.columns = {"cell", "role", "planned FLOPs", "share"};
  Json values = Json::array();
  for (const auto& p : points) {
    values.push_back({{"cell", p.label}, {"role", p.role}, {"flops", p.cost}});
    chart.rows.push_back({p.label, p.role, fmt::format("{:.3g}", p.cost), fmt::format("{:.2f}%", 100 * p.cost / total)});
  }
  chart.rows.push_back({"fit set", "fit", fmt::format("{:.3g}", fit_set), fmt::format("{:.2f}%", 100 * fit_set / total)});
  chart.rows.push_back({"grid", "", fmt::format("{:.3g}", total), "100%"});
  chart.spec = {{"data", {{"values", values}}},
                {"width", 480},
                {"height", {{"step", 12}}},
                {"mark", "bar"},
                {"encoding",
                 {{"y", {{"field", "cell"}, {"type", "nominal"}, {"sort", "-x"}, {"title", nullptr}, {"axis", {{"labelLimit", 320}}}}},
                  {"x", {{"field", "flops"}, {"type", "quantitative"}, {"title", "planned FLOPs"}}},
                  {"color", {{"field", "role"}, {"type", "nominal"}}},
                  {"tooltip", Json::array({{{"field", "cell"}}, {{"field", "flops"}, {"format", ".3g"}}})}}}};
  return chart;
}

std::optional<Chart> seed_spread_chart(const ReportInputs& in) {
  const Table& t = in.runs;
  if (t.rows() == 0 || !t.has_column("test_error") || !t.has_column("seed") || !t.has_column("role")) return std::nullopt;
  std::vector<std::string> axes;
  for (const auto& column : t.header()) {
    if (column == "seed") break;
    if (column != "id" && column != "status" && column != "role") axes.push_back(column);
  }
  std::map<std::string, std::vector<double>> by_cell;
  Json values = Json::array();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.at(r, "test_error").empty() || (t.has_column("level") && t.at(r, "level") != "0")) continue;
    const std::string cell = cell_label(t, r, axes);
    const double error = t.number(r, t.column("test_error"));
    by_cell[cell].push_back(error);
    values.push_back({{"cell", cell}, {"seed", t.at(r, "seed")}, {"error", error}, {"role", t.at(r, "role")}});
  }
  if (values.empty()) return std::nullopt;
  Chart chart;
  chart.id = "seed-spread";
  chart.title = "Seed spread per cell";
  chart.caption = "Every finished run's test error, one row per cell, a point per seed: how much of a cell's error "
                  "is the seed's (the fit uses the mean over seeds).";
  chart.columns = {"cell", "seeds", "errors", "spread (max - min)"};
  for (const auto& [cell, errors] : by_cell) {
    std::string list;
    for (double e : errors) list += (list.empty() ? "" : ", ") + number_text(e);
    const auto [lo, hi] = std::minmax_element(errors.begin(), errors.end());
    chart.rows.push_back({cell, std::to_string(errors.size()), list, number_text(*hi - *lo, 3)});
  }
  chart.spec = {{"data", {{"values", values}}},
                {"width", 480},
                {"height", {{"step", 12}}},
                {"mark", {{"type", "point"}, {"filled", true}}},
                {"encoding",
                 {{"y", {{"field", "cell"}, {"type", "nominal"}, {"title", nullptr}, {"axis", {{"labelLimit", 320}}}}},
                  {"x", {{"field", "error"}, {"type", "quantitative"}, {"title", "test error"}, {"scale", {{"zero", false}}}}},
                  {"color", {{"field", "role"}, {"type", "nominal"}}},
                  {"tooltip", Json::array({{{"field", "cell"}}, {{"field", "seed"}}, {{"field", "error"}, {"format", ".4f"}}})}}}};
  return chart;
}

namespace {

// A pruning sweep's cell-levels (results.h): the network's label, its sizes and the measured error.
struct PrunedPoint {
  std::string network, role;
  double width = NAN, depth = NAN, density = NAN, error = NAN, eps_np = NAN;
};

std::vector<PrunedPoint> pruned_points(const Table& t) {
  std::vector<PrunedPoint> points;
  for (const char* column : {"level", "density", "width", "depth", "test_error", "eps_np", "role"})
    if (!t.has_column(column)) return points;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (t.at(r, "test_error").empty() || t.at(r, "eps_np").empty()) continue;
    PrunedPoint p;
    p.width = t.number(r, t.column("width"));
    p.depth = t.number(r, t.column("depth"));
    p.network = fmt::format("width={} depth={}", t.at(r, "width"), t.at(r, "depth"));
    p.role = t.at(r, "role");
    p.density = t.number(r, t.column("density"));
    p.error = t.number(r, t.column("test_error"));
    p.eps_np = t.number(r, t.column("eps_np"));
    points.push_back(p);
  }
  return points;
}

bool joint_pruning_fit(const ReportInputs& in) {
  return in.fit && in.fit->input_names == std::vector<std::string>{"d", "l", "w"} && in.fit->given_names.size() == 1;
}

// The joint law at density d for p's network (its eps_np); nullopt where the law gives no usable error.
std::optional<double> joint_prediction(const fit::FitResult& fit, const PrunedPoint& p, double d) {
  try {
    return fit::predict(fit, {{"d", d}, {"l", p.depth}, {"w", p.width}, {fit.given_names[0], p.eps_np}}).value;
  } catch (const InputError&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<Chart> pruning_curves_chart(const ReportInputs& in) {
  const auto points = pruned_points(in.cells);
  if (points.empty()) return std::nullopt;
  Chart chart;
  chart.id = "pruning-curves";
  chart.title = "Error against density, a curve per network (iterative magnitude pruning)";
  chart.caption = fmt::format(
      "Log-log. Points: the mean over seeds at each IMP level (filled: the fit set's networks; hollow: held out). "
      "{}The three regions: the plateau at the unpruned error, the power law, the high-error plateau.",
      joint_pruning_fit(in) ? "Lines: the fitted joint law (pruning2021_joint) with each network's measured eps_np. " : "");
  chart.columns = {"network", "role", "density", "measured", "predicted", "divergence"};
  Json measured = Json::array(), curves = Json::array();
  std::map<std::string, std::pair<double, double>> range;  // network -> densities, for its curve
  std::map<std::string, PrunedPoint> first;
  for (const auto& p : points) {
    std::optional<double> predicted;
    if (joint_pruning_fit(in)) predicted = joint_prediction(*in.fit, p, p.density);
    Json v = {{"network", p.network}, {"density", p.density}, {"error", p.error}, {"role", p.role}};
    if (predicted) v["predicted"] = *predicted;
    measured.push_back(v);
    auto [it, added] = range.emplace(p.network, std::make_pair(p.density, p.density));
    it->second.first = std::min(it->second.first, p.density), it->second.second = std::max(it->second.second, p.density);
    first.emplace(p.network, p);
    chart.rows.push_back({p.network, p.role, number_text(p.density, 4), number_text(p.error), predicted ? number_text(*predicted) : "",
                          predicted ? percent((*predicted - p.error) / p.error) : ""});
  }
  if (joint_pruning_fit(in))
    for (const auto& [network, span] : range) {
      const PrunedPoint& p = first.at(network);
      for (int i = 0; i <= 40; ++i) {
        const double d = std::exp(std::log(span.first) + (std::log(span.second) - std::log(span.first)) * i / 40);
        if (const auto e = joint_prediction(*in.fit, p, d)) curves.push_back({{"network", network}, {"density", d}, {"predicted", *e}});
      }
    }
  const Json x = {{"field", "density"}, {"type", "quantitative"}, {"title", "density (remaining fraction of prunable weights)"},
                  {"scale", {{"type", "log"}, {"reverse", true}, {"nice", false}, {"padding", 8}}}};
  const Json color = {{"field", "network"}, {"type", "nominal"}};
  Json layers = Json::array();
  if (!curves.empty())
    layers.push_back({{"data", {{"values", curves}}}, {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                      {"encoding", {{"x", x}, {"y", {{"field", "predicted"}, {"type", "quantitative"}, {"title", "test error"},
                                                      {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}}}, {"color", color}}}});
  layers.push_back({{"data", {{"values", measured}}},
                    {"mark", {{"type", "point"}, {"size", 40}}},
                    {"encoding", {{"x", x},
                                  {"y", {{"field", "error"}, {"type", "quantitative"}, {"title", "test error"}, {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}}},
                                  {"color", color},
                                  {"fill", {{"condition", {{"test", "datum.role == 'fit'"}, {"field", "network"}, {"type", "nominal"}, {"legend", nullptr}}},
                                            {"value", "transparent"}}},
                                  {"tooltip", Json::array({{{"field", "network"}}, {{"field", "density"}, {"format", ".4g"}},
                                                           {{"field", "error"}, {"format", ".4f"}}})}}}});
  chart.spec = {{"width", 560}, {"height", 380}, {"layer", layers}};
  return chart;
}

std::optional<Chart> pruning_collapse_chart(const ReportInputs& in) {
  const auto points = pruned_points(in.cells);
  if (points.empty() || !joint_pruning_fit(in)) return std::nullopt;
  double phi = NAN, psi = NAN;
  for (const auto& p : in.fit->parameters) {
    if (p.name == "phi") phi = p.value;
    if (p.name == "psi") psi = p.value;
  }
  if (!std::isfinite(phi) || !std::isfinite(psi)) return std::nullopt;
  Chart chart;
  chart.id = "pruning-collapse";
  chart.title = "The collapse onto the invariant m* = l^phi w^psi d";
  chart.caption = fmt::format(
      "Every network's error relative to its unpruned error, against the fitted invariant (phi = {:.3g}, psi = {:.3g}, "
      "the width and depth in the sweep's units): networks of different shapes pruned to the same m* should fall on "
      "one curve.", phi, psi);
  chart.columns = {"network", "density", "m*", "error / eps_np"};
  Json values = Json::array();
  for (const auto& p : points) {
    const double invariant = std::pow(p.depth, phi) * std::pow(p.width, psi) * p.density;
    values.push_back({{"network", p.network}, {"invariant", invariant}, {"relative", p.error / p.eps_np}, {"role", p.role}});
    chart.rows.push_back({p.network, number_text(p.density), number_text(invariant), number_text(p.error / p.eps_np)});
  }
  chart.spec = {{"data", {{"values", values}}},
                {"width", 560},
                {"height", 340},
                {"mark", {{"type", "point"}, {"size", 40}}},
                {"encoding",
                 {{"x", {{"field", "invariant"}, {"type", "quantitative"}, {"title", "m* = l^phi w^psi d"},
                         {"scale", {{"type", "log"}, {"reverse", true}, {"nice", false}, {"padding", 8}}}}},
                  {"y", {{"field", "relative"}, {"type", "quantitative"}, {"title", "test error / eps_np"}, {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}}},
                  {"color", {{"field", "network"}, {"type", "nominal"}}},
                  {"tooltip", Json::array({{{"field", "network"}}, {{"field", "invariant"}, {"format", ".3g"}},
                                           {{"field", "relative"}, {"format", ".3f"}}})}}}};
  return chart;
}

std::optional<Chart> targets_chart(const ReportInputs& in) {
  const Table& t = in.cells;
  std::vector<std::string> targets;
  for (const char* target : {"test_error", "test_loss", "val_error", "val_loss"})
    if (t.has_column(target)) targets.push_back(target);
  if (targets.size() < 2 || !t.has_column("samples") || !t.has_column("params")) return std::nullopt;
  const bool pruning = t.has_column("level");
  Chart chart;
  chart.id = "targets";
  chart.title = "Every measured target against data size (choose the target)";
  chart.caption = "The cells' means over seeds for the target chosen below the chart, against training samples, log-log, "
                  "a line per model size (filled: the fit set; hollow: held out). Measured values only: the law is "
                  "fitted to one target (the charts above).";
  chart.columns = {"cell", "role", "m", "n"};
  for (const auto& target : targets) chart.columns.push_back(target);
  const auto axes = axis_columns(t);
  Json values = Json::array();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    if (pruning && t.at(r, "level") != "0") continue;
    const std::string cell = cell_label(t, r, axes);
    const double m = t.number(r, t.column("samples")), n = t.number(r, t.column("params"));
    std::vector<std::string> row = {cell, t.at(r, "role"), count_text(m), count_text(n)};
    for (const auto& target : targets) {
      row.push_back(t.at(r, target));
      if (t.at(r, target).empty()) continue;
      values.push_back({{"x", m}, {"series", fmt::format("n={}", count_text(n))}, {"n", n}, {"target", target},
                        {"value", t.number(r, t.column(target))}, {"cell", cell}, {"fit", t.at(r, "role") == "fit"}});
    }
    chart.rows.push_back(row);
  }
  if (values.empty()) return std::nullopt;
  const Json x = {{"field", "x"}, {"type", "quantitative"}, {"title", "training samples m"},
                  {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}}}};
  const Json y = {{"field", "value"}, {"type", "quantitative"}, {"title", "the chosen target"},
                  {"scale", {{"type", "log"}, {"nice", false}, {"padding", 8}, {"zero", false}}}};
  const Json color = {{"field", "series"}, {"type", "nominal"}, {"title", "parameters n"}, {"sort", {{"field", "n"}}}};
  chart.spec = {{"width", 560},
                {"height", 340},
                {"data", {{"values", values}}},
                {"params", Json::array({{{"name", "target"}, {"value", targets[0]},
                                         {"bind", {{"input", "select"}, {"options", targets}, {"name", "target "}}}}})},
                {"transform", Json::array({{{"filter", "datum.target == target"}}})},
                {"layer", Json::array({{{"mark", {{"type", "line"}, {"opacity", 0.5}}},
                                        {"encoding", {{"x", x}, {"y", y}, {"color", color}}}},
                                       {{"mark", {{"type", "point"}, {"size", 50}}},
                                        {"encoding", {{"x", x}, {"y", y}, {"color", color},
                                                      {"fill", {{"condition", {{"test", "datum.fit"}, {"field", "series"}, {"type", "nominal"},
                                                                               {"sort", {{"field", "n"}}}, {"legend", nullptr}}},
                                                                {"value", "transparent"}}},
                                                      {"tooltip", Json::array({{{"field", "cell"}}, {{"field", "target"}},
                                                                               {{"field", "value"}, {"format", ".4f"}}})}}}}})}};
  return chart;
}

std::optional<Chart> nyquist_chart(const ReportInputs& in) {
  const Table& t = in.nyquist;
  if (t.rows() == 0) return std::nullopt;
  // The floor the experiment counts as reached; errors at or below 1e-32 (exact recovery) are drawn there.
  constexpr double kFloor = 1e-8, kLowest = 1e-32;
  Chart chart;
  chart.id = "nyquist";
  chart.title = "Error against the number of samples, per learner";
  const double nyquist = t.number(0, t.column("nyquist_count"));
  chart.caption = fmt::format(
      "Test MSE over the target's variance against m (log-log), a line per learner; the vertical rule is the "
      "Nyquist count (2B+1)^d = {}, the horizontal one the floor 1e-8. Errors below 1e-32 are drawn at 1e-32. "
      "The table gives, per learner, the m from which every measured error is below 1e-8.",
      count_text(nyquist));
  chart.columns = {"learner", "reaches 1e-8 at m", "largest m", "error there"};
  Json values = Json::array();
  struct Reach {
    std::optional<double> reached;
    double largest_m = 0, last_error = NAN;
  };
  std::vector<std::pair<std::string, Reach>> reaches;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const std::string learner = t.at(r, "learner"), bandwidth = t.at(r, "learner_bandwidth");
    const std::string label = learner == "dirichlet" || bandwidth == "-1" ? learner : learner + " B'=" + bandwidth;
    const double m = t.number(r, t.column("m")), error = t.number(r, t.column("relative_error"));
    values.push_back({{"learner", label}, {"m", m}, {"error", std::max(error, kLowest)}});
    if (reaches.empty() || reaches.back().first != label) reaches.push_back({label, {}});
    Reach& reach = reaches.back().second;
    if (error < kFloor) {
      if (!reach.reached) reach.reached = m;
    } else {
      reach.reached.reset();
    }
    reach.largest_m = m, reach.last_error = error;
  }
  for (const auto& [label, reach] : reaches)
    chart.rows.push_back({label, reach.reached ? count_text(*reach.reached) : "never in range", count_text(reach.largest_m),
                          number_text(reach.last_error, 3)});
  const Json x = {{"field", "m"}, {"type", "quantitative"}, {"title", "samples m"}, {"scale", {{"type", "log"}}}};
  const Json y = {{"field", "error"}, {"type", "quantitative"}, {"title", "test MSE / target variance"},
                  {"scale", {{"type", "log"}}}};
  const Json color = {{"field", "learner"}, {"type", "nominal"}};
  chart.spec = {
      {"width", 560},
      {"height", 340},
      {"layer", Json::array({
          {{"data", {{"values", values}}},
           {"mark", {{"type", "line"}, {"point", true}}},
           {"encoding", {{"x", x}, {"y", y}, {"color", color},
                         {"tooltip", Json::array({{{"field", "learner"}}, {{"field", "m"}}, {{"field", "error"}, {"format", ".3g"}}})}}}},
          {{"data", {{"values", Json::array({{{"m", nyquist}}})}}},
           {"mark", {{"type", "rule"}, {"color", "gray"}, {"strokeDash", Json::array({4, 4})}}},
           {"encoding", {{"x", {{"field", "m"}, {"type", "quantitative"}}}}}},
          {{"data", {{"values", Json::array({{{"error", kFloor}}})}}},
           {"mark", {{"type", "rule"}, {"color", "gray"}}},
           {"encoding", {{"y", {{"field", "error"}, {"type", "quantitative"}}}}}},
      })}};
  return chart;
}

Report build_report(const ReportInputs& in) {
  Report report;
  report.title = "scalelab report: " + in.name;
  if (in.cells.rows() > 0)
    report.header.push_back(fmt::format("swept: {} cells, {} runs ({})", in.cells.rows(), in.runs.rows(), in.name));
  if (in.fit) {
    const auto& f = *in.fit;
    report.header.push_back(fmt::format("fitted: {} ({}), {} on {} points{}", f.law, f.formula, to_string(f.loss), f.fitted.count,
                                        f.fit_where.empty() ? "" : ", fit where " + f.fit_where));
    std::string params;
    for (const auto& p : f.parameters) params += fmt::format("{}{}={}", params.empty() ? "" : ", ", p.name, number_text(p.value));
    report.header.push_back("parameters: " + params);
    report.header.push_back(fmt::format("fitted cells: mean |divergence| {:.1f}%, max {:.1f}%", 100 * f.fitted.mean_abs,
                                        100 * f.fitted.max_abs));
    if (f.held_out.count > 0)
      report.header.push_back(fmt::format("predicted (held out): {} cells, mean |divergence| {:.1f}%, max {:.1f}%, bias {:+.1f}%",
                                          f.held_out.count, 100 * f.held_out.mean_abs, 100 * f.held_out.max_abs,
                                          100 * f.held_out.mean));
    report.header.push_back("fit from " + in.fit_source);
  }
  if (in.nyquist.rows() > 0)
    report.header.push_back(fmt::format("the Nyquist experiment (scalelab theory nyquist): d = {}, B = {}, {} rows",
                                        in.nyquist.at(0, "dim"), in.nyquist.at(0, "bandwidth"), in.nyquist.rows()));
  for (auto* kind : {&error_against_data_chart, &error_against_model_chart, &divergence_chart, &pruning_curves_chart,
                     &pruning_collapse_chart, &parameters_chart, &compute_chart, &seed_spread_chart, &targets_chart,
                     &nyquist_chart})
    if (auto chart = (*kind)(in)) report.charts.push_back(std::move(*chart));
  return report;
}

}  // namespace scalelab
