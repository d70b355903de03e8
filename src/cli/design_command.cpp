// `scalelab design`: the pruning law's design question on a pruning sweep (src/prune/design.h), and its
// verification through the sweep's executor. Flags and printing only.
#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/shared.h"
#include "prune/design.h"
#include "prune/law_fit.h"
#include "store/worker_exit.h"
#include "sweep/results.h"
#include "sweep/spec.h"

namespace scalelab::cli {

namespace {

namespace fs = std::filesystem;

struct DesignFlags {
  std::string sweep, fit_path, json_path, data_size, seed = "1";
  std::string executor{kDefaultExecutor};
  double max_error = NAN;
  bool json_given = false, verify = false;
  int starts = 64, bootstrap = 100, jobs = 0;
};

// 1234567 -> "1,234,567": parameter counts are read, not parsed.
std::string count(double v) {
  std::string digits = fmt::format("{:.0f}", v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

// Where a density falls among IMP levels, when every run prunes at one rate.
std::string level_of(const SweepSpec& spec, double density) {
  if (!spec.fixed.has("prune_rate") || density >= 1) return "";
  return fmt::format(" (about level {:.1f} at rate {})", std::log(density) / std::log(1 - spec.fixed.number("prune_rate")),
                     spec.fixed.text("prune_rate"));
}

// The joint law: read from --fit, or fitted here as `fit --sweep` fits it (eps_np measured).
fit::FitResult joint_fit(const DesignFlags& flags, const Table& rows, const SweepSpec& spec) {
  if (!flags.fit_path.empty()) return fit::from_json(read_text_file(flags.fit_path), flags.fit_path);
  prune::PruningFitOptions options{prune::pruning_fit_options(spec)};
  options.joint.starts = flags.starts;
  options.joint.seed = parse_seed(flags.seed);
  options.joint.bootstrap = flags.bootstrap;
  options.per_configuration = false;
  return prune::fit_pruning_sweep(rows, spec, options).joint;
}

void print_design(const prune::Design& d, const SweepSpec& spec, const fit::FitResult& joint, std::FILE* out) {
  const auto& law = d.law;
  fmt::print(out, "design: {} <= {} at {}, from pruning2021_joint (eps_up {:.4g}, gamma {:.4g}, p {:.4g}, phi {:.4g}, "
             "psi {:.4g}; {} bootstrap fits)\n",
             d.target, d.max_error, d.data_axis.empty() ? "the sweep's one data size" : d.data_axis + "=" + d.data_size,
             law.eps_up, law.gamma, law.p, law.phi, law.psi, joint.bootstrap_samples.size());
  if (const prune::Candidate* best = d.best()) {
    std::string interval = best->remaining_interval ? fmt::format(" (5-95%: {} .. {})", count(best->remaining_interval->p05),
                                                                  count(best->remaining_interval->p95))
                                                    : "";
    const bool dense = best->density.kind == prune::Density::dense;
    fmt::print(out, "best: {}: {}: {} remaining parameters of {}{}, predicted {} {:.4g}{}\n", best->cell,
               dense ? std::string("dense, unpruned")
                     : fmt::format("prune to density {:.4g}{}", best->density.value, level_of(spec, best->density.value)),
               count(best->remaining), count(best->params), interval, d.target, best->predicted,
               dense ? fmt::format(" (measured unpruned: {:.4g})", best->eps_np) : "");
    if (best->samples_without_answer > 0)
      fmt::print(out, "      {} of {} bootstrap fits name no density for it (their law cannot reach the bound)\n",
                 best->samples_without_answer, best->samples);
  } else {
    fmt::print(out, "best: none of the {} candidates can meet the bound (below)\n", d.candidates.size());
  }
  Table table({"candidate", "eps_np", "density", "remaining", "predicted", "why not"});
  for (const auto& c : d.candidates)
    table.add_row({c.cell, fmt::format("{:.4g}", c.eps_np), c.density.feasible() ? fmt::format("{:.4g}", c.density.value) : "-",
                   c.density.feasible() ? count(c.remaining) : "-", c.density.feasible() ? fmt::format("{:.4g}", c.predicted) : "-",
                   c.why});
  fmt::print(out, "\n");
  print_table(table, out);
  if (d.measured) {
    fmt::print(out, "\nmeasured: {} level {} (density {:.4g}): {} remaining parameters at {} {:.4g}", d.measured->cell,
               d.measured->level, d.measured->density, count(d.measured->remaining), d.target, d.measured->error);
    if (d.best()) fmt::print(out, "; predicted/measured {:.2f}", d.best()->remaining / d.measured->remaining);
    fmt::print(out, "\n");
  } else {
    fmt::print(out, "\nmeasured: no (configuration, level) point of the sweep has a mean {} <= {}\n", d.target, d.max_error);
  }
}

// Trains and prunes the best candidate in DIR/verify through the executor; its measurements.
prune::Verification verify(const DesignFlags& flags, const prune::Design& d, const SweepSpec& spec, const ExecutorInfo& executor,
                           std::FILE* out) {
  // One directory per verified network and depth of pruning: the per-cell means of a directory that
  // held another network's verification would mix the two (its grid has only the seed).
  std::string name = fmt::format("{}_levels_{}", d.best()->cell, prune::verify_levels(spec, d));
  std::replace(name.begin(), name.end(), ' ', '_');
  const fs::path dir = fs::path(flags.sweep) / "verify" / name;
  const std::string yaml = prune::verify_spec_yaml(spec, d);
  const SweepSpec verify_spec = parse_spec(yaml, (dir / "spec.yaml").string());
  fmt::print(out, "\nverification: {} with {} levels into {}\n", d.best()->cell, prune::verify_levels(spec, d), dir.string());
  std::fflush(out);
  auto outcome = run_sweep(verify_spec, dir, sweep_options(flags.jobs, executor));
  print_outcome(outcome, dir);
  if (outcome.stopped) {
    fmt::print(stderr, "stopped: run the same command again to resume\n");
    exit_with(130);
  }
  std::vector<std::string> warnings;
  const prune::Verification v = prune::verification(sweep_measurements(dir, &warnings), d);
  print_warnings(warnings);

  const prune::Candidate& best = *d.best();
  std::size_t nearest = 0;  // the level whose density is nearest d_k (in log density)
  for (std::size_t i = 0; i < v.levels.size(); ++i)
    if (std::abs(std::log(v.levels[i].density / best.density.value)) <
        std::abs(std::log(v.levels[nearest].density / best.density.value)))
      nearest = i;
  Table table({"level", "density", "remaining", "measured", "predicted", "divergence", ""});
  for (std::size_t i = 0; i < v.levels.size(); ++i) {
    const auto& l = v.levels[i];
    table.add_row({std::to_string(l.level), fmt::format("{:.4g}", l.density), count(l.remaining), fmt::format("{:.4g}", l.measured),
                   fmt::format("{:.4g}", l.predicted), fmt::format("{:+.1f}%", 100 * (l.predicted - l.measured) / l.measured),
                   i == nearest ? "<- nearest the design's density" : ""});
  }
  fmt::print(out, "eps_np: {:.4g} measured here, {:.4g} in the sweep\n", v.eps_np, best.eps_np);
  print_table(table, out);
  if (v.smallest_within)
    fmt::print(out, "smallest measured within the bound: level {}, {} remaining parameters at {:.4g}; predicted {} "
               "(predicted/measured {:.2f})\n",
               v.smallest_within->level, count(v.smallest_within->remaining), v.smallest_within->measured,
               count(best.remaining), best.remaining / v.smallest_within->remaining);
  else
    fmt::print(out, "no level of the verification measured {} <= {}\n", d.target, d.max_error);
  if (outcome.failed) exit_with(exit_status(WorkerExit::failed));
  return v;
}

void design_command(const DesignFlags& flags) {
  const ExecutorInfo* executor = flags.verify ? &executor_named(flags.executor) : nullptr;  // a typo fails first
  const fs::path dir = flags.sweep;
  check_sweep_directory(dir);
  const SweepSpec spec = load_spec(dir / "spec.yaml");
  if (!spec.prunes())
    throw InputError("--sweep", 0, flags.sweep, "is no pruning sweep (its spec has no prune section): nothing to design from");
  if (flags.json_given && flags.json_path != "-") {
    std::vector<fs::path> inputs = {dir / "spec.yaml", dir / "store.sqlite"};
    if (!flags.fit_path.empty()) inputs.emplace_back(flags.fit_path);
    check_output_path(flags.json_path, "--json", inputs);
  }
  std::vector<std::string> warnings;
  const Table rows = sweep_measurements(dir, &warnings);
  print_warnings(warnings);
  const fit::FitResult joint = joint_fit(flags, rows, spec);
  const prune::Design d = prune::design(rows, spec, joint, {flags.max_error, flags.data_size});
  // With the JSON on stdout, the report goes to stderr.
  std::FILE* out = flags.json_path == "-" ? stderr : stdout;
  print_design(d, spec, joint, out);
  std::optional<prune::Verification> verified;
  if (flags.verify) {
    if (!d.best()) throw InputError("--max-error", 0, "", "no candidate can meet it: nothing to verify");
    verified = verify(flags, d, spec, *executor, out);
  }
  const std::string json = prune::design_json(d, verified ? &*verified : nullptr);
  if (flags.json_path == "-") fmt::print("{}", json);
  else if (flags.json_given) write_file_atomic(flags.json_path, json);
}

}  // namespace

void add_design_command(CLI::App& app) {
  auto flags = std::make_shared<DesignFlags>();
  auto* design = app.add_subcommand(
      "design", "the pruning law's design question: which network of a pruning sweep, pruned how far, meets an error "
                "bound with the fewest parameters");
  design->add_option("--sweep", flags->sweep, "a pruning sweep's directory")->required();
  design->add_option("--max-error", flags->max_error, "the error bound (the sweep's target, e.g. test_error)")->required();
  design->add_option("--fit", flags->fit_path, "a pruning2021_joint fit (fit --sweep DIR --json) instead of fitting here");
  design->add_option("--data-fraction", flags->data_size,
                     "the data size the candidates share, as on the grid's data_fraction (or data_count) axis "
                     "(default: the largest)");
  design->add_option("--starts", flags->starts, "multi-start count of the fit made here")->capture_default_str();
  design->add_option("--bootstrap", flags->bootstrap, "bootstrap resamples of the fit made here")->capture_default_str();
  design->add_option("--seed", flags->seed, "random seed of the fit made here")->capture_default_str();
  auto* json_option = design->add_option("--json", flags->json_path,
                                         "write everything as JSON (atomically); '-' prints it (the report then goes to stderr)");
  design->add_flag("--verify", flags->verify,
                   "train and prune the chosen network (DIR/verify, the sweep's seeds, two levels past its density) and "
                   "print measured beside predicted");
  design->add_option("--jobs,-j", flags->jobs, "with --verify: runs at once (default: one per core)")->check(CLI::Range(1, 256));
  design->add_option("--executor", flags->executor, executor_help());
  design->callback([flags, json_option] {
    flags->json_given = json_option->count() > 0;
    with_flags([&] { design_command(*flags); });
  });
}

}  // namespace scalelab::cli
