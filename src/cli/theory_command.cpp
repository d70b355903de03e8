// `scalelab theory`: the theory lab (docs/theory.md). `nyquist` runs the band-limited experiment
// (src/theory/nyquist_experiment.h) into CSV files `fit --data` reads; `intrinsic-dim` estimates a data
// set's intrinsic dimension with TwoNN (src/theory/twonn.h); `teacher` runs a teacher/student sweep
// (examples/teacher-student.yaml) through the sweep store and fits its law. Flags and printing only.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include <fmt/core.h>

#include "cli/commands.h"
#include "cli/shared.h"
#include "data/catalogue.h"
#include "data/idx.h"
#include "fit/fit.h"
#include "sweep/results.h"
#include "sweep/spec.h"
#include "sweep/sweep.h"
#include "theory/bandlimited.h"
#include "theory/inputs.h"
#include "theory/nyquist_experiment.h"
#include "theory/twonn.h"

namespace scalelab::cli {

namespace {

namespace fs = std::filesystem;

struct NyquistFlags {
  int dim = 1, bandwidth = 8;
  std::vector<int> learner_bandwidths;
  std::string seed = "1", sampling = "both", csv, summary, students;
  std::int64_t max_samples = 0, test_points = 4096, kernel_max_samples = 1500;
  double threshold = 1e-8, growth = 1.25;
};

// The MLP students of a band-limited sweep on this very target, one learner per width: each cell's
// mean test error (MSE over the labels' variance, the labels being the standardised target) against m.
std::vector<theory::NyquistPoint> student_points(const NyquistFlags& f, std::uint64_t seed) {
  const fs::path dir = f.students;
  check_sweep_directory(dir);
  const SweepSpec spec = load_spec(dir / "spec.yaml");
  const std::string dataset = spec.fixed.text("dataset");
  const auto target = theory::band_limited_dataset(dataset);
  if (!target || target->dim != f.dim || target->bandwidth != f.bandwidth || target->target_seed != seed)
    throw InputError(f.students, 0, "dataset",
                     fmt::format("the sweep trained on '{}', not the target d={}, B={}, seed {} (band-limited-1d is "
                                 "d=1, B=8, seed 1; band-limited-2d is d=2, B=4, seed 1)",
                                 dataset, f.dim, f.bandwidth, seed));
  std::vector<std::string> warnings;
  const Table cells = sweep_measurements(dir, &warnings);
  print_warnings(warnings);
  std::map<double, std::vector<theory::NyquistPoint>> by_width;
  const bool has_width = cells.has_column("width");
  for (std::size_t r = 0; r < cells.rows(); ++r) {
    const double width = has_width ? cells.number(r, cells.column("width")) : spec.fixed.number("width");
    const double error = cells.number(r, cells.column("test_error"));
    if (!std::isfinite(error)) continue;
    by_width[width].push_back({fmt::format("mlp-w{}", format_number(width)), "random", -1,
                               std::int64_t(cells.number(r, cells.column("samples"))), error});
  }
  std::vector<theory::NyquistPoint> points;
  for (auto& [width, rows] : by_width) {
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.m < b.m; });
    points.insert(points.end(), rows.begin(), rows.end());
  }
  return points;
}

void nyquist_command(const NyquistFlags& f) {
  if (f.csv.empty()) throw InputError("--csv", 0, "", "give the CSV to write (error against m per learner)");
  check_output_path(f.csv, "--csv", {});
  if (!f.summary.empty()) check_output_path(f.summary, "--summary", {f.csv});
  if (!f.students.empty()) check_sweep_directory(f.students);
  double coefficients = std::pow(2.0 * f.bandwidth + 1, f.dim);
  if (coefficients > 1e5)
    throw InputError("--bandwidth", 0, "", fmt::format("(2B+1)^d = {:.0f} coefficients: at most 100000 here", coefficients));
  for (int b : f.learner_bandwidths)
    if (b < 0 || std::pow(2.0 * b + 1, f.dim) > 1e5)
      throw InputError("--learner-bandwidths", 0, "", fmt::format("{}: from 0 to where (2B'+1)^d reaches 100000", b));
  // The dense solve on random points holds an [m, (2B'+1)^d] matrix: refuse what would not fit in 1 GiB.
  if (f.sampling != "grid") {
    double widest = coefficients;
    for (int b : f.learner_bandwidths) widest = std::max(widest, std::pow(2.0 * b + 1, f.dim));
    if (f.learner_bandwidths.empty()) widest = std::pow(2.0 * f.bandwidth + 5, f.dim);  // the default B+2
    const double largest_m = f.max_samples > 0 ? double(f.max_samples) : 10 * coefficients;
    if (largest_m * widest > double(1 << 27))
      throw InputError("--max-m", 0, "",
                       fmt::format("the least-squares learners on random points would hold a {:.0f} x {:.0f} matrix (over "
                                   "1 GiB): lower --max-m or the bandwidths, or use --sampling grid",
                                   largest_m, widest));
  }
  theory::NyquistOptions o;
  o.dim = f.dim;
  o.bandwidth = f.bandwidth;
  o.learner_bandwidths = f.learner_bandwidths;
  o.seed = parse_seed(f.seed);
  o.max_samples = f.max_samples;
  o.growth = f.growth;
  o.test_points = f.test_points;
  o.threshold = f.threshold;
  o.grid = f.sampling != "random";
  o.random = f.sampling != "grid";
  o.kernel_max_samples = f.kernel_max_samples;
  // The students first: a sweep of another target is refused before the experiment's work.
  const auto students = f.students.empty() ? std::vector<theory::NyquistPoint>{} : student_points(f, o.seed);
  auto e = theory::run_nyquist_experiment(o);
  if (!students.empty()) theory::add_learner_points(e, students);
  const std::string points_csv = to_csv(theory::points_table(e));
  const Table reaches = theory::reach_table(e);
  write_file_atomic(f.csv, points_csv);
  if (!f.summary.empty()) write_file_atomic(f.summary, to_csv(reaches));
  fmt::print("target: d={}, B={}, seed {}: (2B+1)^d = {} coefficients, variance {:.4g}; error = test MSE / variance "
             "on {} fresh uniform points; floor reached when below {:g} from that m on\n",
             f.dim, f.bandwidth, f.seed, e.nyquist_count, e.target_variance, f.test_points, f.threshold);
  print_table(reaches);
  fmt::print("{}: {} rows (learner, m, relative_error){}\n", f.csv, e.points.size(),
             f.summary.empty() ? "" : fmt::format("; {}: the table above", f.summary));
}

struct IntrinsicFlags {
  std::string dataset, seed = "1", data_dir, fit;
  std::int64_t samples = 5000;
  double discard = 0.1;
};

// The points of a data set, `samples` of them drawn without replacement (all when fewer).
theory::Points dataset_points(const IntrinsicFlags& f, std::string& described) {
  const std::uint64_t seed = parse_seed(f.seed);
  if (f.dataset == "fashion-mnist") {
    const fs::path root = f.data_dir.empty() ? default_data_root() : fs::path(f.data_dir);
    const IdxArray images = read_idx_gz(root / "fashion-mnist" / "train-images-idx3-ubyte.gz", 3);
    const std::int64_t n = images.dims[0], pixels = images.dims[1] * images.dims[2];
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 gen(seed);
    std::shuffle(order.begin(), order.end(), gen);
    const std::int64_t count = std::min(n, f.samples);
    theory::Points x(count, pixels);
    for (std::int64_t r = 0; r < count; ++r)
      for (std::int64_t p = 0; p < pixels; ++p)
        x(r, p) = images.bytes[std::size_t(order[std::size_t(r)] * pixels + p)] / 255.0;
    described = fmt::format("fashion-mnist: {} of {} training images, {} pixels in [0, 1]", count, n, pixels);
    return x;
  }
  if (auto generated = theory::generated_inputs(f.dataset, f.samples, seed)) {
    described = generated->description;
    return std::move(generated->points);
  }
  throw InputError("--dataset", 0, "", fmt::format("unknown data set '{}' (known: fashion-mnist, {})", f.dataset,
                                                   theory::generated_input_names()));
}

void intrinsic_dim_command(const IntrinsicFlags& f) {
  if (f.samples < 3 || f.samples > 60000) throw InputError("--samples", 0, "", "from 3 to 60000");
  if (!(f.discard >= 0 && f.discard < 1)) throw InputError("--discard", 0, "", "a fraction in [0, 1)");
  if (!f.fit.empty() && !fs::is_regular_file(f.fit)) throw InputError(f.fit, 0, "", "--fit: no such file");
  std::string described;
  const theory::Points x = dataset_points(f, described);
  const auto r = theory::two_nn_dimension(x, f.discard);
  fmt::print("{}\n", described);
  fmt::print("TwoNN (Facco et al. 2017, linear fit, largest {:g}% of mu left out): d = {:.3f}\n", 100 * f.discard, r.dimension);
  fmt::print("TwoNN maximum likelihood: d = {:.3f}   ({} points, {} duplicates left out)\n", r.mle_dimension, r.points,
             r.duplicates);
  fmt::print("approximation view (Sharma & Kaplan 2020, arXiv:2004.10802): exponent ~ 4/d = {:.3f} "
             "(for a loss; for an error rate a guide only)\n", 4 / r.dimension);
  if (f.fit.empty()) return;
  const fit::FitResult fitted = fit::from_json(read_text_file(f.fit), f.fit);
  for (const auto& p : fitted.parameters) {
    if (p.name != "alpha") continue;
    fmt::print("fitted data exponent ({}, {}): alpha = {:.4g}{}\n", f.fit, fitted.law, p.value,
               p.interval ? fmt::format(" (bootstrap 5-95%: {:.4g} .. {:.4g})", p.interval->p05, p.interval->p95) : "");
    return;
  }
  throw InputError(f.fit, 0, "alpha", fmt::format("the {} fit has no parameter alpha (the data exponent)", fitted.law));
}

struct TeacherFlags {
  std::string spec, dir, executor{kDefaultExecutor};
  int jobs = 0;
};

// `theory teacher SPEC`: the sweep (resumable, like `scalelab sweep`), then the spec's law fitted on
// its fit set with predictive intervals (DIR/fit.json), and how far above its floor of zero the best
// student is at the largest data size: the error comes from the learner, not from the labels.
void teacher_command(const TeacherFlags& f) {
  const auto& executor = executor_named(f.executor);
  const auto spec = load_spec(f.spec);
  const std::string dataset = spec.fixed.has("dataset") ? spec.fixed.text("dataset") : "";
  if (dataset != "teacher-student" && dataset != "teacher-student-classify")
    throw InputError(f.spec, 0, "dataset",
                     fmt::format("'{}' is not a teacher/student dataset (teacher-student, teacher-student-classify); "
                                 "`scalelab sweep` runs any other",
                                 dataset));
  const fs::path dir = f.dir.empty() ? fs::path("sweeps") / spec.name : fs::path(f.dir);
  const auto outcome = run_sweep(spec, dir, sweep_options(f.jobs, executor));
  print_outcome(outcome, dir);
  if (outcome.stopped) {
    fmt::print(stderr, "stopped: run the same command again to resume\n");
    exit_with(130);
  }
  std::vector<std::string> warnings;
  const Table cells = sweep_measurements(dir, &warnings);
  print_warnings(warnings);
  const SweepFit sf = sweep_fit(spec);
  // The floor is 0 (the student at the teacher's weights has it): the best student at the largest m.
  const std::size_t samples = cells.column("samples"), target = cells.column(sf.target);
  double largest = 0, best = INFINITY;
  for (std::size_t r = 0; r < cells.rows(); ++r) largest = std::max(largest, cells.number(r, samples));
  std::string best_cell;
  for (std::size_t r = 0; r < cells.rows(); ++r)
    if (cells.number(r, samples) == largest && cells.number(r, target) < best)
      best = cells.number(r, target), best_cell = fmt::format("width {}", cells.at(r, "width"));
  if (std::isfinite(best))
    fmt::print("best student at the largest m ({}): {} {:.4g} ({}), where the floor is 0: the teacher is in the "
               "students' family and the labels are noiseless\n",
               format_number(largest), sf.target, best, best_cell);
  if (!spec.has_fit()) {
    fmt::print("no fit set in the spec: `fit_where` names the cells the law is fitted on\n");
  } else {
    fit::FitOptions fo = fit_options(sf);
    fo.fit_where = "in_fit==1";
    fo.bootstrap = 100;
    fo.starts = 128;
    fo.predictive_intervals = true;
    const auto result = fit::fit_table(cells, fo);
    write_file_atomic(dir / "fit.json", fit::to_json(result));
    fmt::print("{}", fit::format_report(result));
    fmt::print("fit: {}\n", (dir / "fit.json").string());
  }
}

}  // namespace

void add_theory_command(CLI::App& app) {
  auto* theory = app.add_subcommand("theory", "the theory lab: band-limited targets and Nyquist learners, intrinsic dimension "
                                              "(teacher/student: a sweep, examples/teacher-student.yaml)");
  theory->require_subcommand(1);

  auto tf = std::make_shared<TeacherFlags>();
  auto* teacher = theory->add_subcommand(
      "teacher", "a teacher/student sweep (examples/teacher-student.yaml): trains it through the sweep store "
                 "(resumable), fits the spec's law with predictive intervals, and says how far the best student "
                 "sits above the floor of zero");
  teacher->add_option("spec", tf->spec, "a sweep spec on teacher-student or teacher-student-classify")->required();
  teacher->add_option("--dir", tf->dir, "sweep directory (default: sweeps/NAME)");
  teacher->add_option("--jobs,-j", tf->jobs, "runs at once (default: one per core)");
  teacher->add_option("--executor", tf->executor, executor_help());
  teacher->callback([tf] { teacher_command(*tf); });

  auto nf = std::make_shared<NyquistFlags>();
  auto* nyquist = theory->add_subcommand(
      "nyquist", "a random band-limited target on [0,1)^d: error against m for the Nyquist learners (FFT on grids, "
                 "least squares on random points), the Dirichlet interpolator and kernel ridge");
  nyquist->add_option("--dim", nf->dim, "d, 1 to 3")->check(CLI::Range(1, 3));
  nyquist->add_option("--bandwidth", nf->bandwidth, "B, the target's largest frequency (|k|_inf), 0 to 200")->check(CLI::Range(0, 200));
  nyquist->add_option("--learner-bandwidths", nf->learner_bandwidths, "B' of the Nyquist learners (default: B-1, B, B+2)")
      ->delimiter(',');
  nyquist->add_option("--seed", nf->seed, "the target's seed (points derive from it)");
  nyquist->add_option("--max-m", nf->max_samples, "largest m (default 10 (2B+1)^d)")->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  nyquist->add_option("--growth", nf->growth, "ratio between successive m of random points, 1.01 to 10")->check(CLI::Range(1.01, 10.0));
  nyquist->add_option("--test-points", nf->test_points, "fresh uniform points the error is measured on")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  nyquist->add_option("--threshold", nf->threshold, "relative error that counts as the floor (default 1e-8)")
      ->check(CLI::PositiveNumber);
  nyquist->add_option("--sampling", nf->sampling, "grid, random or both")->check(CLI::IsMember({"grid", "random", "both"}));
  nyquist->add_option("--kernel-max-m", nf->kernel_max_samples, "kernel ridge up to this m (O(m^3))")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{20000}));
  nyquist->add_option("--csv", nf->csv, "the rows (learner, m, relative_error, ...): `fit --data` reads it")->required();
  nyquist->add_option("--summary", nf->summary, "the per-learner table printed, as CSV");
  nyquist->add_option("--students", nf->students,
                      "a sweep of MLP students on this target (examples/band-limited-1d.yaml): one learner per width");
  nyquist->callback([nf] { nyquist_command(*nf); });

  auto inf = std::make_shared<IntrinsicFlags>();
  auto* intrinsic = theory->add_subcommand("intrinsic-dim", "TwoNN intrinsic dimension of a data set's inputs");
  intrinsic->add_option("--dataset", inf->dataset,
                        fmt::format("fashion-mnist, or {}", theory::generated_input_names()))
      ->required();
  intrinsic->add_option("--samples", inf->samples, "points drawn (without replacement), 3 to 60000 (default 5000)");
  intrinsic->add_option("--seed", inf->seed, "which points");
  intrinsic->add_option("--discard", inf->discard, "fraction of the largest ratios left out of the fit (default 0.1)");
  intrinsic->add_option("--data-dir", inf->data_dir, "datasets root [$SCALELAB_DATA_DIR or /usr/share/datasets]");
  intrinsic->add_option("--fit", inf->fit, "a fit JSON (`fit --json`) of this data set's sweep: its alpha printed beside 4/d");
  intrinsic->callback([inf] { intrinsic_dim_command(*inf); });
}

}  // namespace scalelab::cli
