// A fit result as JSON: everything `scalelab predict` needs to reproduce predictions (law, input
// columns and their scales, givens, parameters, bootstrap samples), plus the report's numbers.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "fit/fit.h"
#include "laws/laws.h"

namespace scalelab::fit {

namespace {

using nlohmann::json;

json interval_json(const std::optional<Interval>& i) {
  if (!i) return nullptr;
  return json{{"p05", i->p05}, {"p50", i->p50}, {"p95", i->p95}};
}

json summary_json(const Summary& s) {
  return json{{"count", s.count}, {"mean", s.mean}, {"std", s.std}, {"mean_abs", s.mean_abs}, {"max_abs", s.max_abs}};
}

Summary summary_from(const json& j) {
  return Summary{j.at("count").get<int>(), j.at("mean").get<double>(), j.at("std").get<double>(),
                 j.at("mean_abs").get<double>(), j.at("max_abs").get<double>()};
}

std::optional<Interval> interval_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  return Interval{j.at("p05").get<double>(), j.at("p50").get<double>(), j.at("p95").get<double>()};
}

json fit_object(const FitResult& r);
FitResult fit_from_object(const json& j, const std::string& source);

}  // namespace

std::string to_json(const FitResult& r) { return fit_object(r).dump(2) + "\n"; }

FitResult from_json(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw InputError(source, 0, "", "not valid JSON");
  return fit_from_object(j, source);
}

namespace {

json fit_object(const FitResult& r) {
  json j;
  j["format"] = "scalelab-fit/1";
  j["law"] = r.law;
  j["formula"] = r.formula;
  j["loss"] = to_string(r.loss);
  j["huber_delta"] = r.huber_delta;
  j["target"] = r.target;
  j["fit_where"] = r.fit_where;
  j["seed"] = r.seed;
  json inputs = json::array();
  for (std::size_t i = 0; i < r.input_names.size(); ++i)
    inputs.push_back({{"name", r.input_names[i]}, {"column", r.input_columns[i]}, {"scale", r.input_scales[i]}});
  j["inputs"] = inputs;
  j["normalized"] = std::any_of(r.input_scales.begin(), r.input_scales.end(), [](double s) { return s != 1.0; });
  json givens = json::array();
  for (std::size_t g = 0; g < r.given_names.size(); ++g) {
    json given{{"name", r.given_names[g]}};
    if (r.givens[g].value) given["value"] = *r.givens[g].value;
    else if (r.givens[g].fit) given["fit"] = fit_object(*r.givens[g].fit);  // nested: predict needs no other file
    else given["column"] = r.givens[g].column;
    givens.push_back(given);
  }
  j["givens"] = givens;
  json params = json::array();
  for (const auto& p : r.parameters)
    params.push_back({{"name", p.name}, {"value", p.value}, {"lower", p.lower}, {"upper", p.upper},
                      {"at_bound", p.at_bound}, {"interval", interval_json(p.interval)}});
  j["parameters"] = params;
  j["objective"] = r.objective;
  j["starts"] = r.starts;
  j["starts_at_best"] = r.starts_at_best;
  j["warnings"] = r.warnings;
  j["bootstrap_samples"] = r.bootstrap_samples;
  if (!r.start_points.empty()) j["start_points"] = r.start_points;
  json points = json::array();
  for (const auto& p : r.points)
    points.push_back({{"line", p.line}, {"inputs", p.inputs}, {"givens", p.givens}, {"measured", p.measured},
                      {"predicted", p.predicted}, {"divergence", p.divergence}, {"fitted", p.fitted},
                      {"interval", interval_json(p.interval)}});
  j["points"] = points;
  j["summary"] = {{"fitted", summary_json(r.fitted)}, {"held_out", summary_json(r.held_out)}};
  if (r.cross_validation) j["summary"]["cross_validation"] = summary_json(*r.cross_validation);
  j["folds"] = r.folds;
  return j;
}

FitResult fit_from_object(const json& j, const std::string& source) {
  try {
    if (j.value("format", "") != "scalelab-fit/1")
      throw InputError(source, 0, "format", "not a scalelab fit (expected format scalelab-fit/1)");
    FitResult r;
    r.law = j.at("law").get<std::string>();
    const laws::LawInfo* law = laws::find(r.law);
    if (!law) throw InputError(source, 0, "law", fmt::format("unknown law '{}'", r.law));
    r.formula = j.at("formula").get<std::string>();
    r.loss = parse_loss(j.at("loss").get<std::string>());
    r.huber_delta = j.at("huber_delta").get<double>();
    r.target = j.at("target").get<std::string>();
    r.fit_where = j.at("fit_where").get<std::string>();
    r.seed = j.at("seed").get<std::uint64_t>();
    for (const auto& input : j.at("inputs")) {
      r.input_names.push_back(input.at("name").get<std::string>());
      r.input_columns.push_back(input.at("column").get<std::string>());
      r.input_scales.push_back(input.at("scale").get<double>());
    }
    for (const auto& given : j.at("givens")) {
      r.given_names.push_back(given.at("name").get<std::string>());
      if (given.contains("value")) r.givens.push_back(Given::constant(given.at("value").get<double>()));
      else if (given.contains("fit"))
        r.givens.push_back(Given::from_fit(std::make_shared<FitResult>(fit_from_object(given.at("fit"), source))));
      else r.givens.push_back(Given::from_column(given.at("column").get<std::string>()));
    }
    for (const auto& p : j.at("parameters"))
      r.parameters.push_back({p.at("name").get<std::string>(), p.at("value").get<double>(), p.at("lower").get<double>(),
                              p.at("upper").get<double>(), p.at("at_bound").get<bool>(), interval_from(p.at("interval"))});
    if (r.input_names.size() != law->inputs.size() || r.given_names.size() != law->givens.size() ||
        r.parameters.size() != law->parameters.size())
      throw InputError(source, 0, "law", fmt::format("inputs, givens or parameters do not match law {}", r.law));
    r.objective = j.at("objective").get<double>();
    r.starts = j.at("starts").get<int>();
    r.starts_at_best = j.at("starts_at_best").get<int>();
    r.warnings = j.at("warnings").get<std::vector<std::string>>();
    r.bootstrap_samples = j.at("bootstrap_samples").get<std::vector<std::vector<double>>>();
    if (j.contains("start_points")) r.start_points = j.at("start_points").get<std::vector<std::vector<double>>>();
    for (const auto& sample : r.bootstrap_samples)
      if (sample.size() != r.parameters.size())
        throw InputError(source, 0, "bootstrap_samples", "a sample has the wrong number of parameters");
    for (const auto& p : j.at("points")) {
      PointResult point;
      point.line = p.at("line").get<int>();
      point.inputs = p.at("inputs").get<std::vector<double>>();
      point.givens = p.at("givens").get<std::vector<double>>();
      point.measured = p.at("measured").get<double>();
      point.predicted = p.at("predicted").get<double>();
      point.divergence = p.at("divergence").get<double>();
      point.fitted = p.at("fitted").get<bool>();
      point.interval = interval_from(p.at("interval"));
      r.points.push_back(std::move(point));
    }
    r.fitted = summary_from(j.at("summary").at("fitted"));
    r.held_out = summary_from(j.at("summary").at("held_out"));
    if (j.at("summary").contains("cross_validation"))
      r.cross_validation = summary_from(j.at("summary").at("cross_validation"));
    r.folds = j.value("folds", 0);
    return r;
  } catch (const json::exception& e) {
    throw InputError(source, 0, "", fmt::format("malformed fit JSON: {}", e.what()));
  }
}

}  // namespace

}  // namespace scalelab::fit
