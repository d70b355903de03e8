// `scalelab laws`, `scalelab fit`, `scalelab predict`: flag parsing and printing around src/fit.
#include <algorithm>
#include <charconv>
#include <map>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/shared.h"
#include "fit/fit.h"
#include "fit/plan.h"
#include "fit/predictive.h"
#include "laws/laws.h"
#include "models/spec.h"
#include "prune/law_fit.h"
#include "sweep/results.h"
#include "sweep/spec.h"
#include "table/table.h"

namespace scalelab::cli {

namespace {

// "name=value" -> (name, value); InputError naming the flag otherwise.
std::pair<std::string, std::string> split_assignment(const std::string& text, const std::string& flag) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw InputError(flag, 0, text, "expected NAME=VALUE");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

std::optional<double> parse_number(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void print_laws() {
  for (const auto& law : laws::registry()) {
    std::string inputs, givens;
    for (auto i : law.inputs) inputs += (inputs.empty() ? "" : ", ") + std::string(i);
    for (auto g : law.givens) givens += (givens.empty() ? "" : ", ") + std::string(g);
    fmt::print("{}\n  {}\n  inputs: {}   given: {}   default loss: {}\n", law.name, law.formula, inputs,
               givens.empty() ? "-" : givens, law.default_loss);
    for (const auto& p : law.parameters)
      fmt::print("    {:<8} {:<18} {:<6}  {}\n", p.name, fmt::format("[{:g}, {:g}]", p.lower, p.upper),
                 p.scale == laws::Scale::log ? "log" : "linear", p.meaning);
    fmt::print("\n");
  }
}

struct FitFlags {
  std::string law, data, sweep, y, fit_where, loss, json_path, seed = "1", eps_np;
  std::string compare;    // law[:loss],... ranked by backtest extrapolation error; or --law auto
  std::string intervals;  // predictive | bootstrap; empty: predictive with --sweep, bootstrap with --data
  bool json_given = false;  // `--json ''` is an error, not "no output"
  std::vector<std::string> x, given;
  std::optional<double> eps0;
  double huber_delta = 1e-3;
  bool normalize = false, record_starts = false;
  int starts = 64, bootstrap = 0, folds = 0;
};

// The candidates of `--compare law[:loss],...` (every one must be usable) or of `--law auto` (every
// law whose inputs and givens are at hand, with its default loss). Inputs come from `pool` (law input
// -> column: --x, the sweep's m, n, and with a sweep N=params, D=samples), givens from `givens`.
std::vector<fit::LawCandidate> law_candidates(const FitFlags& flags,
                                              const std::vector<std::pair<std::string, std::string>>& pool,
                                              const std::map<std::string, fit::Given>& givens) {
  std::vector<std::pair<std::string, std::optional<fit::Loss>>> wanted;
  const bool automatic = flags.compare.empty();
  if (automatic) {
    for (const auto& law : laws::registry()) wanted.emplace_back(std::string(law.name), std::nullopt);
  } else {
    std::string_view rest = flags.compare;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string item(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      const auto colon = item.find(':');
      std::optional<fit::Loss> loss;
      // An unknown law or loss here is the --compare flag's fault, not --law's / --loss's.
      try {
        if (colon != std::string::npos) loss = fit::parse_loss(item.substr(colon + 1)), item.resize(colon);
        fit::check_law(item);
      } catch (const InputError& e) {
        throw InputError("--compare", 0, e.field(), e.message());
      }
      wanted.emplace_back(item, loss);
    }
    if (wanted.empty()) throw InputError("--compare", 0, flags.compare, "name at least one law");
  }
  std::vector<fit::LawCandidate> out;
  for (const auto& [name, loss] : wanted) {
    const laws::LawInfo& info = *laws::find(name);
    fit::LawCandidate c{name, loss, {}, {}};
    std::string missing;
    for (auto input : info.inputs) {
      auto it = std::find_if(pool.begin(), pool.end(), [&](const auto& p) { return p.first == input; });
      if (it == pool.end()) missing += fmt::format(" input {}", input);
      else c.inputs.push_back(*it);
    }
    for (auto given : info.givens) {
      auto it = givens.find(std::string(given));
      if (it == givens.end()) missing += fmt::format(" given {}", given);
      else c.givens.insert(*it);
    }
    if (!missing.empty()) {
      if (automatic) continue;
      throw InputError("--compare", 0, name, fmt::format("lacks{} (map inputs with --x, e.g. N=params)", missing));
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) throw InputError("--law", 0, "auto", "no law has its inputs mapped: give --x (e.g. m=samples,n=params)");
  return out;
}

void print_comparison(std::FILE* out, const std::vector<fit::LawComparison>& rows) {
  fmt::print(out, "laws ranked by backtest extrapolation error (mean |pred - meas| / meas of refits on the fit set "
             "less its largest levels, predicting them)\n");
  fmt::print(out, "  {:<4} {:<16} {:<10} {:>14} {:>10} {:>12} {:>12}\n", "rank", "law", "loss", "backtest err",
             "backtests", "in-sample", "held out");
  int rank = 0;
  for (const auto& r : rows) {
    if (!r.failure.empty()) {
      fmt::print(out, "  {:<4} {:<16} {:<10} failed: {}\n", "-", r.law, fit::to_string(r.loss), r.failure);
      continue;
    }
    fmt::print(out, "  {:<4} {:<16} {:<10} {:>13.2f}% {:>10} {:>11.2f}% {:>12}\n", ++rank, r.law, fit::to_string(r.loss),
               100 * r.backtest_error, r.backtests, 100 * r.in_sample,
               r.held_out ? fmt::format("{:.2f}%", 100 * *r.held_out) : std::string("-"));
  }
  fmt::print(out, "\n");
}

void run_fit(const FitFlags& flags) {
  fit::FitOptions options;
  options.starts = flags.starts;
  options.seed = parse_seed(flags.seed);
  options.bootstrap = flags.bootstrap;
  options.huber_delta = flags.huber_delta;
  fit::check_options(options);  // bad counts fail before any file is read

  // The output must not be an input (a --json naming the CSV once silently replaced the data), nor
  // empty, nor a directory: checked before any work.
  std::vector<std::filesystem::path> inputs;
  if (!flags.data.empty()) inputs.emplace_back(flags.data);
  if (!flags.sweep.empty()) inputs.push_back(std::filesystem::path(flags.sweep) / "spec.yaml");
  for (const auto& text : flags.given) {
    auto eq = text.find('=');
    if (eq != std::string::npos && text.compare(eq + 1, 4, "fit:") == 0) inputs.emplace_back(text.substr(eq + 5));
  }
  if (flags.json_given && flags.json_path != "-") check_output_path(flags.json_path, "--json", inputs);

  const bool comparing = flags.law == "auto" || !flags.compare.empty();
  if (flags.law == "auto" && !flags.compare.empty())
    throw InputError("--compare", 0, flags.compare, "give either --compare or --law auto");
  options.law = comparing ? "" : flags.law;
  for (const auto& text : flags.x) options.inputs.push_back(split_assignment(text, "--x"));
  options.target = flags.y;
  if (flags.eps0) options.givens["eps0"] = fit::Given::constant(*flags.eps0);
  for (const auto& text : flags.given) {
    auto [name, value] = split_assignment(text, "--given");
    auto number = parse_number(value);
    if (value.rfind("fit:", 0) == 0) {
      std::string path = value.substr(4);
      options.givens[name] = fit::Given::from_fit(std::make_shared<fit::FitResult>(fit::from_json(read_text_file(path), path)));
    } else {
      options.givens[name] = number ? fit::Given::constant(*number) : fit::Given::from_column(value);
    }
  }
  options.fit_where = flags.fit_where;
  if (!flags.loss.empty()) options.loss = fit::parse_loss(flags.loss);
  options.normalize = flags.normalize;
  options.folds = flags.folds;
  options.record_starts = flags.record_starts;
  if (!flags.intervals.empty() && flags.intervals != "predictive" && flags.intervals != "bootstrap")
    throw InputError("--intervals", 0, flags.intervals, "choose predictive or bootstrap");
  options.predictive_intervals = flags.intervals.empty() ? !flags.sweep.empty() : flags.intervals == "predictive";

  // A sweep directory brings its own defaults: the spec's law, the law's inputs mapped to the cells'
  // columns, its givens (eps0; a pruning sweep's eps_np column), target and fit set (sweep_fit); flags
  // given override them.
  Table table;
  std::optional<SweepSpec> pruning;  // the spec of a pruning sweep: its rows are (cell, level) points
  if (!flags.eps_np.empty() && flags.sweep.empty())
    throw InputError("--eps-np", 0, flags.eps_np, "is for a pruning sweep: give it with --sweep");
  if (!flags.sweep.empty()) {
    std::vector<std::string> warnings;  // diverged runs and unfinished cells
    // --y: any numeric field of the runs' result.json, aggregated per cell like the spec's target.
    table = sweep_measurements(flags.sweep, &warnings,
                               options.target.empty() ? std::vector<std::string>{} : std::vector{options.target});
    for (const auto& w : warnings) fmt::print(stderr, "scalelab: warning: {}\n", w);
    auto spec = load_spec(std::filesystem::path(flags.sweep) / "spec.yaml");
    if (options.law.empty()) options.law = spec.law;
    fit::check_law(options.law);
    SweepFit defaults = sweep_fit(spec, options.law);
    if (options.inputs.empty()) {
      if (defaults.inputs.empty())
        throw InputError("--x", 0, "",
                         fmt::format("law {} is not the spec's ({}) and its inputs are not m and n: map them to "
                                     "columns (samples, params)",
                                     options.law, spec.law));
      options.inputs = defaults.inputs;
    }
    if (options.target.empty()) options.target = defaults.target;
    for (const auto& [name, value] : defaults.givens)
      if (!options.givens.count(name)) options.givens[name] = fit::Given::constant(value);
    for (const auto& [name, column] : defaults.given_columns)
      if (!options.givens.count(name)) options.givens[name] = fit::Given::from_column(column);
    if (options.fit_where.empty() && spec.has_fit()) options.fit_where = "in_fit==1";
    if (spec.prunes()) {
      if (comparing) throw InputError("--compare", 0, flags.compare.empty() ? "auto" : flags.compare, "not built for pruning sweeps");
      if (flags.intervals == "predictive")
        throw InputError("--intervals", 0, "predictive", "not built for pruning sweeps yet (their intervals are the bootstrap's)");
      options.predictive_intervals = false;
      pruning = spec;
    }
    else if (!flags.eps_np.empty())
      throw InputError("--eps-np", 0, flags.eps_np, fmt::format("{} is no pruning sweep (its spec has no prune section)", flags.sweep));
  } else if (flags.data.empty()) {
    throw InputError("--data", 0, "", "give a CSV with --data, or a sweep directory with --sweep");
  } else {
    if (options.law.empty() && !comparing) throw InputError("--law", 0, "", "required with --data");
    if (options.inputs.empty()) throw InputError("--x", 0, "", "required with --data (e.g. m=samples,n=params)");
    if (options.target.empty()) throw InputError("--y", 0, "", "required with --data");
    table = read_csv(flags.data);
    if (!comparing) fit::check_law(options.law);
  }
  std::string json, report;
  if (pruning) {
    // The joint law over every row, pruning2021 per configuration, eps_np measured or fitted.
    prune::PruningFitOptions pruning_options{options};
    if (!flags.eps_np.empty()) pruning_options.eps_np = prune::parse_eps_np(flags.eps_np);
    const bool eps_np_given = std::any_of(flags.given.begin(), flags.given.end(),
                                          [](const std::string& g) { return g.rfind("eps_np=", 0) == 0; });
    if (pruning_options.eps_np == prune::EpsNp::fit && eps_np_given)
      throw InputError("--eps-np", 0, "fit", "eps_np comes from the rosenfeld2020 fit: leave out --given eps_np=...");
    const prune::PruningFits fits = prune::fit_pruning_sweep(table, *pruning, pruning_options);
    json = prune::pruning_json(fits);
    report = fit::format_report(fits.joint) + prune::format_pruning_report(fits);
  } else {
    if (comparing) {
      auto pool = options.inputs;
      if (!flags.sweep.empty()) pool.insert(pool.end(), {{"N", "params"}, {"D", "samples"}});
      const auto candidates = law_candidates(flags, pool, options.givens);
      const auto rows = fit::compare_laws(table, options, candidates);
      print_comparison(flags.json_path == "-" ? stderr : stdout, rows);
      if (!rows.front().failure.empty()) throw InputError("--compare", 0, flags.compare, "every candidate failed");
      const auto& best = *std::find_if(candidates.begin(), candidates.end(),
                                       [&](const auto& c) { return c.law == rows.front().law && (!c.loss || *c.loss == rows.front().loss); });
      options.law = best.law, options.loss = rows.front().loss, options.inputs = best.inputs, options.givens = best.givens;
      fmt::print(flags.json_path == "-" ? stderr : stdout, "predicting with the best: {} ({} loss)\n\n", options.law, fit::to_string(rows.front().loss));
    }
    fit::FitResult result = fit::fit_table(table, options);
    json = fit::to_json(result);
    report = fit::format_report(result);
  }
  if (flags.json_path == "-") {
    fmt::print("{}", json);
    return;
  }
  if (flags.json_given) write_file_atomic(flags.json_path, json);
  fmt::print("{}", report);
}

void run_predict(const std::string& fit_path, const std::vector<std::string>& at_flags) {
  fit::FitResult fit = fit::from_json(read_text_file(fit_path), fit_path);
  std::map<std::string, double> at;
  for (const auto& text : at_flags) {
    auto [name, value] = split_assignment(text, "--at");
    auto number = parse_number(value);
    if (!number) throw InputError("--at", 0, name, fmt::format("'{}' is not a number", value));
    at[name] = *number;
  }
  fit::Prediction prediction = fit::predict(fit, at);
  fmt::print("{:.6g}\n", prediction.value);
  if (prediction.parts) {
    const auto& p = *prediction.parts;
    fmt::print("5%-95%: {:.6g} .. {:.6g}  (predictive: exp(+-{:.4g}), {:.3g} octaves beyond the fit set; sigma {:.4g} = "
               "bootstrap {:.4g}, seed {:.4g}, extrapolation {:.4g})\n",
               prediction.interval->p05, prediction.interval->p95, p.half_width, p.distance, p.sigma, p.bootstrap, p.seed,
               p.extrapolation);
    if (prediction.interval_bootstrap)
      fmt::print("bootstrap 5%-95%: {:.6g} .. {:.6g}  (median {:.6g}, {} bootstrap fits)\n", prediction.interval_bootstrap->p05,
                 prediction.interval_bootstrap->p95, prediction.interval_bootstrap->p50, fit.bootstrap_samples.size());
  } else if (prediction.interval) {
    fmt::print("5%-95%: {:.6g} .. {:.6g}  (median {:.6g}, {} bootstrap fits)\n", prediction.interval->p05,
               prediction.interval->p95, prediction.interval->p50, fit.bootstrap_samples.size());
  }
}

struct PlanFlags {
  std::string fit_path, compute, loss, k = "6";
  std::string family;          // "transformer": its own training FLOPs per token instead of k N
  int depth = 2, context = 64, vocab = 256;
};

double plan_number(const std::string& text, const std::string& flag) {
  auto number = parse_number(text);
  if (!number) throw InputError(flag, 0, "", fmt::format("'{}' is not a number", text));
  return *number;
}

void run_plan(const PlanFlags& f) {
  if (f.compute.empty() == f.loss.empty()) throw InputError("--compute", 0, "", "give --compute C or --loss L (one)");
  fit::PlanCost cost;
  cost.k = plan_number(f.k, "--flops-per-param-token");
  std::string cost_text = format_number(cost.k) + " N D";
  if (!f.family.empty()) {
    if (f.family != "transformer")
      throw InputError("--family", 0, f.family, "only transformer has FLOPs per token at any size (or leave it out: k N D)");
    if (f.depth < 1 || f.context < 1 || f.vocab < 2)
      throw InputError("--depth", 0, "", "depth and context >= 1, vocab >= 2");
    // Training: the forward pass and a backward pass of twice its cost (Kaplan et al. 2020).
    cost.per_token = [d = f.depth, t = f.context, v = f.vocab](double n) {
      return 3 * transformer_flops_per_token_at(n, d, t, v);
    };
    cost_text = fmt::format("D x 3 x transformer forward FLOPs per token (depth {}, context {}, vocab {})", f.depth,
                            f.context, f.vocab);
  }
  fit::FitResult fit = fit::from_json(read_text_file(f.fit_path), f.fit_path);
  const bool loss_asked = !f.loss.empty();
  const fit::Plan plan = loss_asked ? fit::plan_for_loss(fit, plan_number(f.loss, "--loss"), cost)
                                    : fit::plan_for_compute(fit, plan_number(f.compute, "--compute"), cost);
  fmt::print("{} ({}), C = {}\n", fit.law, f.fit_path, cost_text);
  fmt::print("{}", fit::format_plan(plan, loss_asked));
}

}  // namespace

void add_fit_commands(CLI::App& app) {
  app.add_subcommand("laws", "list the scaling laws: formula, inputs, givens, parameters and bounds")
      ->callback(print_laws);

  auto flags = std::make_shared<FitFlags>();
  auto* fit = app.add_subcommand("fit", "fit a scaling law to a table of measurements");
  fit->add_option("--law", flags->law,
                  "law name (see `scalelab laws`; with --sweep: the spec's); auto: every law whose inputs are "
                  "mapped, ranked by backtest extrapolation error, the best one fitted");
  fit->add_option("--compare", flags->compare,
                  "law[:loss],... : rank these by backtest extrapolation error (printed with the in-sample fit), "
                  "then fit and predict with the best");
  auto* data = fit->add_option("--data", flags->data, "CSV with one row per measured cell");
  fit->add_option("--sweep", flags->sweep,
                  "fit a sweep directory's cells (mean over seeds; defaults: m=samples, n=params, "
                  "y=test_error, the spec's law, eps0 and fit set)")
      ->excludes(data);
  fit->add_option("--x", flags->x, "law inputs from columns: m=samples,n=params")->delimiter(',');
  fit->add_option("--y", flags->y, "column of measured error");
  fit->add_option("--eps0", flags->eps0, "random-guess error (same as --given eps0=VALUE)");
  fit->add_option("--given", flags->given, "law givens: NAME=NUMBER, NAME=COLUMN (eps_np=unpruned_error) or NAME=fit:FIT.json (predicted per row)")
      ->delimiter(',');
  fit->add_option("--fit-where", flags->fit_where, "fit only rows matching, e.g. 'm<=3750 && n<=2e5'; predict the rest");
  fit->add_option("--loss", flags->loss, "divergence | huber-log | lsq (default: the law's)");
  fit->add_option("--huber-delta", flags->huber_delta, "Huber threshold on log residuals")->capture_default_str();
  fit->add_flag("--normalize", flags->normalize, "divide each input by its largest value (the paper's units)");
  fit->add_option("--starts", flags->starts, "multi-start count (Latin hypercube over the bounds)")->capture_default_str();
  fit->add_option("--seed", flags->seed, "random seed for starts, bootstrap and folds")->capture_default_str();
  fit->add_option("--bootstrap", flags->bootstrap, "bootstrap resamples for 5-95% intervals (0: none)")
      ->capture_default_str();
  fit->add_option("--folds", flags->folds, "k-fold cross-validation on the fitted rows (0: none)");
  fit->add_option("--intervals", flags->intervals,
                  "predictive (bootstrap + seed noise + extrapolation error from backtests in the fit set, widened "
                  "to 90%; the default with --sweep) or bootstrap (the fitted points' bootstrap only; the default "
                  "with --data)");
  fit->add_option("--eps-np", flags->eps_np,
                  "a pruning sweep's eps_np: measured (each cell's level-0 mean; default) or fit (a rosenfeld2020 "
                  "fit of the level-0 cells, resampled with the bootstrap)");
  auto* json_option =
      fit->add_option("--json", flags->json_path, "write the full result as JSON (atomically); '-' prints it instead");
  fit->add_flag("--record-starts", flags->record_starts, "keep the initial parameters in the JSON (benchmarks)");
  fit->callback([flags, json_option] {
    flags->json_given = json_option->count() > 0;
    with_flags([&] { run_fit(*flags); });
  });

  auto fit_path = std::make_shared<std::string>();
  auto at = std::make_shared<std::vector<std::string>>();
  auto* predict = app.add_subcommand("predict", "predict the error at new sizes from a fit saved with --json");
  predict->add_option("--fit", *fit_path, "fit JSON written by `scalelab fit --json`")->required();
  predict->add_option("--at", *at, "inputs: m=60000,n=1.2e6 (plus any given read from a column)")
      ->required()
      ->delimiter(',');
  predict->callback([fit_path, at] { with_flags([&] { run_predict(*fit_path, *at); }); });

  auto plan_flags = std::make_shared<PlanFlags>();
  auto* plan = app.add_subcommand(
      "plan", "compute-optimal model size and tokens from a fit of a law of parameters and tokens (C = 6ND)");
  plan->add_option("--fit", plan_flags->fit_path, "fit JSON written by `scalelab fit --json` (rosenfeld2020, "
                                                  "kaplan2020, chinchilla: inputs n and m, or N and D)")
      ->required();
  plan->add_option("--compute", plan_flags->compute, "budget in FLOPs: the (N, D) minimising the predicted loss");
  plan->add_option("--loss", plan_flags->loss, "or a loss: the least compute whose optimum reaches it");
  plan->add_option("--flops-per-param-token", plan_flags->k, "k in C = k N D (default 6: forward and backward)");
  plan->add_option("--family", plan_flags->family,
                   "transformer: C = D x the family's exact training FLOPs per token at N non-embedding parameters");
  plan->add_option("--depth", plan_flags->depth, "with --family: blocks (default 2)");
  plan->add_option("--context", plan_flags->context, "with --family: context length (default 64)");
  plan->add_option("--vocab", plan_flags->vocab, "with --family: vocabulary (default 256)");
  plan->callback([plan_flags] { with_flags([&] { run_plan(*plan_flags); }); });
}

}  // namespace scalelab::cli
