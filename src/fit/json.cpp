// A fit result as JSON: everything `scalelab predict` needs to reproduce predictions (law, input
// columns and their scales, givens, parameters, bootstrap samples), plus the report's numbers.
#include <climits>
#include <cmath>
#include <limits>

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

json fit_object(const FitResult& r);
FitResult fit_from_object(const json& j, const std::string& source, const std::string& root, int depth);

}  // namespace

std::string to_json(const FitResult& r) { return fit_object(r).dump(2) + "\n"; }

FitResult from_json(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw InputError(source, 0, "", "not valid JSON");
  return fit_from_object(j, source, "", 0);
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
  if (!r.given_fit_samples.empty()) j["given_fit_samples"] = r.given_fit_samples;
  if (!r.start_points.empty()) j["start_points"] = r.start_points;
  json points = json::array();
  for (const auto& p : r.points) {
    json point{{"line", p.line}, {"inputs", p.inputs}, {"givens", p.givens}, {"measured", p.measured},
               {"predicted", p.predicted}, {"divergence", p.divergence}, {"fitted", p.fitted},
               {"interval", interval_json(p.interval)}, {"interval_bootstrap", interval_json(p.interval_bootstrap)}};
    if (p.parts)
      point["interval_parts"] = {{"bootstrap", p.parts->bootstrap}, {"seed", p.parts->seed},
                                 {"extrapolation", p.parts->extrapolation}, {"distance", p.parts->distance},
                                 {"gap", p.parts->gap}, {"sigma", p.parts->sigma}, {"half_width", p.parts->half_width}};
    points.push_back(point);
  }
  j["points"] = points;
  if (r.predictive) {
    const PredictiveSummary& q = *r.predictive;
    j["predictive"] = {{"level", q.level}, {"seed_relative_std", q.seed_relative_std}, {"seed_cells", q.seed_cells},
                       {"s0", q.s0}, {"s1", q.s1}, {"s2", q.s2}, {"multiplier", q.multiplier}, {"backtest_fits", q.backtest_fits},
                       {"backtests", q.backtests}, {"backtest_coverage", q.backtest_coverage},
                       {"backtest_mean_abs_error", q.backtest_mean_abs_error},
                       {"held_out", q.held_out}, {"held_out_coverage", q.held_out_coverage},
                       {"frontier", q.frontier}, {"seeds", q.seeds}};
  }
  j["summary"] = {{"fitted", summary_json(r.fitted)}, {"held_out", summary_json(r.held_out)}};
  if (r.cross_validation) j["summary"]["cross_validation"] = summary_json(*r.cross_validation);
  j["folds"] = r.folds;
  return j;
}

// The solver maps its variables onto the bounds with exp/log (see solver.cpp): a parameter at its
// bound can come out a few ulps beyond it (exp(log 1e-12) != 1e-12). Such a value is the bound.
bool within(double value, double lower, double upper) {
  constexpr double kRel = 1e-9;
  return value >= lower - kRel * std::abs(lower) && value <= upper + kRel * std::abs(upper);
}

// Reading checks every field: a fit JSON may have been edited by hand (or tampered with), and
// predict must never turn a broken one into numbers. Errors name the field by its JSON path.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw InputError(source_, 0, field, message);
  }
  const json& at(const json& object, const std::string& key, const std::string& path) const {
    if (!object.is_object()) fail(path, fmt::format("expected an object, got {}", object.type_name()));
    auto it = object.find(key);
    if (it == object.end()) fail(join(path, key), "missing");
    return *it;
  }
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, fmt::format("expected a string, got {}", v.type_name()));
    return v.get<std::string>();
  }
  bool boolean(const json& v, const std::string& path) const {
    if (!v.is_boolean()) fail(path, fmt::format("expected true or false, got {}", v.type_name()));
    return v.get<bool>();
  }
  double number(const json& v, const std::string& path) const {  // finite: JSON has no inf or NaN
    if (!v.is_number()) fail(path, fmt::format("expected a number, got {}", v.type_name()));
    double d = v.get<double>();
    if (!std::isfinite(d)) fail(path, fmt::format("{} is not finite", d));
    return d;
  }
  // A summary statistic or divergence may be NaN (no points), which to_json writes as null.
  double number_or_null(const json& v, const std::string& path) const {
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) fail(path, fmt::format("expected a number, got {}", v.type_name()));
    return v.get<double>();
  }
  long long integer(const json& v, const std::string& path, long long lo, long long hi) const {
    if (!v.is_number_integer()) fail(path, fmt::format("expected a whole number, got {}", v.type_name()));
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      fail(path, fmt::format("must be at most {}", hi));
    long long i = v.get<long long>();
    if (i < lo || i > hi) fail(path, fmt::format("{} is outside [{}, {}]", i, lo, hi));
    return i;
  }
  const json& array(const json& v, const std::string& path) const {
    if (!v.is_array()) fail(path, fmt::format("expected an array, got {}", v.type_name()));
    return v;
  }
  // An array whose entries are named, in order, as law `law` declares its `noun`s (input, given,
  // parameter): its length and every entry's "name" are checked. Returns the array.
  const json& named_as_law(const json& v, const std::string& path, std::string_view law, std::string_view noun,
                           const std::vector<std::string_view>& expected) const {
    const json& entries = array(v, path);
    if (entries.size() != expected.size())
      fail(path, fmt::format("law {} has {} {}s, the file {}", law, expected.size(), noun, entries.size()));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::string name_path = join(index(path, i), "name");
      std::string got = string(at(entries[i], "name", index(path, i)), name_path);
      if (got != expected[i]) fail(name_path, fmt::format("'{}' is not law {}'s {} '{}'", got, law, noun, expected[i]));
    }
    return entries;
  }
  std::vector<double> numbers(const json& v, const std::string& path, bool allow_null = false) const {
    std::vector<double> out;
    const json& a = array(v, path);
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(allow_null ? number_or_null(a[i], index(path, i)) : number(a[i], index(path, i)));
    return out;
  }
  std::optional<Interval> interval(const json& v, const std::string& path) const {
    if (v.is_null()) return std::nullopt;
    return Interval{number(at(v, "p05", path), join(path, "p05")), number(at(v, "p50", path), join(path, "p50")),
                    number(at(v, "p95", path), join(path, "p95"))};
  }
  Summary summary(const json& v, const std::string& path) const {
    return Summary{static_cast<int>(integer(at(v, "count", path), join(path, "count"), 0, INT_MAX)),
                   number_or_null(at(v, "mean", path), join(path, "mean")),
                   number_or_null(at(v, "std", path), join(path, "std")),
                   number_or_null(at(v, "mean_abs", path), join(path, "mean_abs")),
                   number_or_null(at(v, "max_abs", path), join(path, "max_abs"))};
  }

 private:
  const std::string& source_;
};

FitResult fit_from_object(const json& j, const std::string& source, const std::string& root, int depth) {
  Reader in(source);
  // A given may hold a whole fit; bounded so a crafted file cannot nest it until the stack ends.
  if (depth > 8) in.fail(root, "fits nested inside givens more than 8 deep");
  if (!j.is_object()) in.fail(root, fmt::format("expected an object, got {}", j.type_name()));
  auto field = [&](const char* key) -> const json& { return in.at(j, key, root); };
  auto name = [&](const char* key) { return Reader::join(root, key); };
  if (!j.contains("format") || !j["format"].is_string() || j["format"] != "scalelab-fit/1")
    in.fail(name("format"), "not a scalelab fit (expected format scalelab-fit/1)");
  FitResult r;
  r.law = in.string(field("law"), name("law"));
  const laws::LawInfo* law = laws::find(r.law);
  if (!law) in.fail(name("law"), fmt::format("unknown law '{}'", r.law));
  r.formula = in.string(field("formula"), name("formula"));
  try {
    r.loss = parse_loss(in.string(field("loss"), name("loss")));
  } catch (const InputError& e) {
    in.fail(name("loss"), e.message());
  }
  r.huber_delta = in.number(field("huber_delta"), name("huber_delta"));
  if (!(r.huber_delta > 0)) in.fail(name("huber_delta"), "must be positive");
  r.target = in.string(field("target"), name("target"));
  r.fit_where = in.string(field("fit_where"), name("fit_where"));
  if (!field("seed").is_number_unsigned()) in.fail(name("seed"), "expected a whole number from 0 to 2^64-1");
  r.seed = field("seed").get<std::uint64_t>();

  // Inputs: exactly the law's, in its order, each scale finite and positive.
  const json& inputs = in.named_as_law(field("inputs"), name("inputs"), r.law, "input", law->inputs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = Reader::index(name("inputs"), i);
    r.input_names.emplace_back(law->inputs[i]);
    r.input_columns.push_back(in.string(in.at(inputs[i], "column", path), Reader::join(path, "column")));
    double scale = in.number(in.at(inputs[i], "scale", path), Reader::join(path, "scale"));
    if (!(scale > 0)) in.fail(Reader::join(path, "scale"), fmt::format("must be positive, got {}", scale));
    r.input_scales.push_back(scale);
  }
  bool normalized = in.boolean(field("normalized"), name("normalized"));
  bool scaled = std::any_of(r.input_scales.begin(), r.input_scales.end(), [](double s) { return s != 1.0; });
  if (normalized != scaled)
    in.fail(name("normalized"), fmt::format("is {} but the input scales say {}", normalized, scaled));

  // Givens: the law's, in order; a constant must be finite and positive (eps0 > 0).
  const json& givens = in.named_as_law(field("givens"), name("givens"), r.law, "given", law->givens);
  for (std::size_t g = 0; g < givens.size(); ++g) {
    const std::string path = Reader::index(name("givens"), g);
    const std::string given_name(law->givens[g]);
    r.given_names.push_back(given_name);
    const json& given = givens[g];
    if (given.contains("value")) {
      double value = in.number(given["value"], Reader::join(path, "value"));
      if (!(value > 0)) in.fail(Reader::join(path, "value"), fmt::format("{} must be positive, got {}", given_name, value));
      r.givens.push_back(Given::constant(value));
    } else if (given.contains("fit")) {
      r.givens.push_back(Given::from_fit(
          std::make_shared<FitResult>(fit_from_object(given["fit"], source, Reader::join(path, "fit"), depth + 1))));
    } else {
      r.givens.push_back(Given::from_column(in.string(in.at(given, "column", path), Reader::join(path, "column"))));
    }
  }

  // Parameters: the law's names in order, bounds within the law's, values within the bounds.
  std::vector<std::string_view> parameter_names;
  for (const auto& p : law->parameters) parameter_names.push_back(p.name);
  const json& params = in.named_as_law(field("parameters"), name("parameters"), r.law, "parameter", parameter_names);
  for (std::size_t k = 0; k < params.size(); ++k) {
    const std::string path = Reader::index(name("parameters"), k);
    const auto& declared = law->parameters[k];
    const json& p = params[k];
    ParameterResult result;
    result.name = std::string(declared.name);
    const std::string where = Reader::join(name("parameters"), result.name);
    result.lower = in.number(in.at(p, "lower", path), where + ".lower");
    result.upper = in.number(in.at(p, "upper", path), where + ".upper");
    if (!(within(result.lower, declared.lower, declared.upper) && within(result.upper, declared.lower, declared.upper) &&
          result.lower <= result.upper))
      in.fail(where, fmt::format("bounds [{}, {}] are not within the law's [{}, {}]", result.lower, result.upper,
                                 declared.lower, declared.upper));
    result.value = in.number(in.at(p, "value", path), where + ".value");
    if (!within(result.value, result.lower, result.upper))
      in.fail(where + ".value", fmt::format("{} is outside its bounds [{}, {}]", result.value, result.lower, result.upper));
    result.at_bound = in.boolean(in.at(p, "at_bound", path), where + ".at_bound");
    result.interval = in.interval(in.at(p, "interval", path), where + ".interval");
    r.parameters.push_back(std::move(result));
  }

  r.objective = in.number_or_null(field("objective"), name("objective"));
  r.starts = static_cast<int>(in.integer(field("starts"), name("starts"), 0, kMaxStarts));
  r.starts_at_best = static_cast<int>(in.integer(field("starts_at_best"), name("starts_at_best"), 0, r.starts));
  const json& warnings = in.array(field("warnings"), name("warnings"));
  for (std::size_t i = 0; i < warnings.size(); ++i)
    r.warnings.push_back(in.string(warnings[i], Reader::index(name("warnings"), i)));

  // Bootstrap samples: each one value per parameter, finite and within that parameter's bounds.
  const json& samples = in.array(field("bootstrap_samples"), name("bootstrap_samples"));
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const std::string path = Reader::index(name("bootstrap_samples"), s);
    std::vector<double> sample = in.numbers(samples[s], path);
    if (sample.size() != r.parameters.size())
      in.fail(path, fmt::format("has {} values for {} parameters", sample.size(), r.parameters.size()));
    for (std::size_t k = 0; k < sample.size(); ++k)
      if (!within(sample[k], r.parameters[k].lower, r.parameters[k].upper))
        in.fail(Reader::index(path, k), fmt::format("{} = {} is outside its bounds [{}, {}]", r.parameters[k].name,
                                                    sample[k], r.parameters[k].lower, r.parameters[k].upper));
    r.bootstrap_samples.push_back(std::move(sample));
  }
  // Which resample's givens each bootstrap sample was fitted with (FitResult::given_fit_samples): one
  // whole number per sample, and a given fit with samples to draw them from.
  if (j.contains("given_fit_samples")) {
    const json& draws = in.array(j["given_fit_samples"], name("given_fit_samples"));
    if (draws.size() != r.bootstrap_samples.size())
      in.fail(name("given_fit_samples"), fmt::format("has {} entries for {} bootstrap samples", draws.size(),
                                                     r.bootstrap_samples.size()));
    if (!draws.empty() && std::none_of(r.givens.begin(), r.givens.end(), [](const Given& g) {
          return g.fit && !g.fit->bootstrap_samples.empty();
        }))
      in.fail(name("given_fit_samples"), "no given is a fit with bootstrap samples to draw from");
    for (std::size_t s = 0; s < draws.size(); ++s)
      r.given_fit_samples.push_back(
          static_cast<int>(in.integer(draws[s], Reader::index(name("given_fit_samples"), s), 0, kMaxBootstrap)));
  }
  if (j.contains("start_points")) {
    const json& starts = in.array(j["start_points"], name("start_points"));
    for (std::size_t s = 0; s < starts.size(); ++s)
      r.start_points.push_back(in.numbers(starts[s], Reader::index(name("start_points"), s)));
  }

  const json& points = in.array(field("points"), name("points"));
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string path = Reader::index(name("points"), i);
    const json& p = points[i];
    auto get = [&](const char* key) -> const json& { return in.at(p, key, path); };
    PointResult point;
    point.line = static_cast<int>(in.integer(get("line"), Reader::join(path, "line"), 0, INT_MAX));
    point.inputs = in.numbers(get("inputs"), Reader::join(path, "inputs"));
    point.givens = in.numbers(get("givens"), Reader::join(path, "givens"));
    point.measured = in.number(get("measured"), Reader::join(path, "measured"));
    point.predicted = in.number_or_null(get("predicted"), Reader::join(path, "predicted"));
    point.divergence = in.number_or_null(get("divergence"), Reader::join(path, "divergence"));
    point.fitted = in.boolean(get("fitted"), Reader::join(path, "fitted"));
    point.interval = in.interval(get("interval"), Reader::join(path, "interval"));
    if (p.contains("interval_bootstrap"))
      point.interval_bootstrap = in.interval(p["interval_bootstrap"], Reader::join(path, "interval_bootstrap"));
    if (p.contains("interval_parts")) {
      const std::string parts_path = Reader::join(path, "interval_parts");
      auto part = [&](const char* key) { return in.number(in.at(p["interval_parts"], key, parts_path), Reader::join(parts_path, key)); };
      // gap: absent from files written before it was modelled (their intervals had none).
      const double gap = p["interval_parts"].contains("gap") ? part("gap") : 0.0;
      point.parts = PointResult::Parts{part("bootstrap"), part("seed"), part("extrapolation"), part("distance"),
                                       gap,               part("sigma"), part("half_width")};
    }
    r.points.push_back(std::move(point));
  }
  const json& summary = field("summary");
  r.fitted = in.summary(in.at(summary, "fitted", name("summary")), name("summary.fitted"));
  r.held_out = in.summary(in.at(summary, "held_out", name("summary")), name("summary.held_out"));
  if (summary.contains("cross_validation"))
    r.cross_validation = in.summary(summary["cross_validation"], name("summary.cross_validation"));
  if (j.contains("predictive")) {
    const json& q = j["predictive"];
    auto number = [&](const char* key) { return in.number(in.at(q, key, name("predictive")), Reader::join(name("predictive"), key)); };
    auto count = [&](const char* key) {
      return static_cast<int>(in.integer(in.at(q, key, name("predictive")), Reader::join(name("predictive"), key), 0, INT_MAX));
    };
    r.predictive = PredictiveSummary{number("level"), number("seed_relative_std"), count("seed_cells"), number("s0"),
                                     number("s1"), q.contains("s2") ? number("s2") : 0.0, number("multiplier"),
                                     count("backtest_fits"), count("backtests"), number("backtest_coverage"), 0.0,
                                     count("held_out"), number("held_out_coverage")};
    if (q.contains("backtest_mean_abs_error")) r.predictive->backtest_mean_abs_error = number("backtest_mean_abs_error");
    // What predict() needs at new points: both or neither (older files have neither). The model's
    // numbers must make an interval: a level in (0, 1), non-negative spreads, a positive multiplier.
    PredictiveSummary& p = *r.predictive;
    const std::string at = name("predictive");
    if (!(p.level > 0 && p.level < 1)) in.fail(Reader::join(at, "level"), fmt::format("{} is not in (0, 1)", p.level));
    for (auto [key, v] : {std::pair{"seed_relative_std", p.seed_relative_std}, {"s0", p.s0}, {"s1", p.s1}, {"s2", p.s2}, {"multiplier", p.multiplier}})
      if (v < 0) in.fail(Reader::join(at, key), fmt::format("{} is negative", v));
    if (q.contains("frontier") != q.contains("seeds"))
      in.fail(Reader::join(at, q.contains("frontier") ? "seeds" : "frontier"), "missing (frontier and seeds go together)");
    if (q.contains("frontier")) {
      p.frontier = in.numbers(q["frontier"], Reader::join(at, "frontier"));
      if (p.frontier.size() != r.input_names.size())
        in.fail(Reader::join(at, "frontier"), fmt::format("has {} values for {} inputs", p.frontier.size(), r.input_names.size()));
      for (std::size_t i = 0; i < p.frontier.size(); ++i)
        if (!(p.frontier[i] > 0) || !std::isnormal(p.frontier[i]))
          in.fail(Reader::index(Reader::join(at, "frontier"), i), fmt::format("{} is not a positive normal number", p.frontier[i]));
      p.seeds = number("seeds");
      if (!(p.seeds >= 1)) in.fail(Reader::join(at, "seeds"), fmt::format("{} is below 1", p.seeds));
    }
  }
  r.folds = j.contains("folds") ? static_cast<int>(in.integer(j["folds"], name("folds"), 0, INT_MAX)) : 0;
  return r;
}

}  // namespace

}  // namespace scalelab::fit
