// report: the charts of a sweep and its fit as one self-contained HTML page, and PNG/SVG (src/report).
// Flags and printing only.
#include <chrono>
#include <filesystem>

#include <fmt/core.h>

#include "cli/commands.h"
#include "report/charts.h"
#include "table/table.h"

namespace scalelab::cli {

namespace fs = std::filesystem;

namespace {

struct ReportFlags {
  std::vector<std::string> inputs;
  std::string out, png;
};

// One sweep directory and/or one fit file: the sweep's tables, and the fit given (else the sweep's
// own fit.json).
ReportInputs gather(const std::vector<std::string>& paths) {
  std::optional<ReportInputs> sweep, fit;
  for (const auto& path : paths) {
    ReportInputs in = read_report_inputs(path);
    auto& slot = fs::is_directory(path) ? sweep : fit;
    if (slot)
      throw InputError(path, 0, "", fs::is_directory(path) ? "a second sweep directory: give one sweep and at most one fit"
                                                           : "a second fit file: give one sweep and at most one fit");
    slot = std::move(in);
  }
  if (!sweep) return std::move(*fit);
  if (fit) sweep->fit = std::move(fit->fit), sweep->fit_source = fit->fit_source;
  return std::move(*sweep);
}

void report_command(const ReportFlags& flags) {
  const auto started = std::chrono::steady_clock::now();
  const fs::path first = flags.inputs.front();
  const fs::path out = !flags.out.empty()           ? fs::path(flags.out)
                       : fs::is_directory(first)    ? first / "report.html"
                                                    : first.parent_path() / (first.stem().string() + ".report.html");
  std::vector<fs::path> inputs(flags.inputs.begin(), flags.inputs.end());
  for (const auto& path : flags.inputs)
    if (fs::is_directory(path)) inputs.push_back(fs::path(path) / "store.sqlite"), inputs.push_back(fs::path(path) / "spec.yaml");
  check_output_path(out, "--out", inputs);
  const ReportAssets assets = load_report_assets();  // before any work: a missing bundle says how to install it
  const Report report = build_report(gather(flags.inputs));
  write_file_atomic(out, report_html(report, assets));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  fmt::print("{}: {} charts ({:.2f} s)\n", out.string(), report.charts.size(), seconds);
  if (!flags.png.empty()) {
    export_charts(report, flags.png, assets);
    fmt::print("{}: PNG and SVG of each chart\n", flags.png);
  }
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto flags = std::make_shared<ReportFlags>();
  auto* report = app.add_subcommand(
      "report", "the charts of a sweep and its fit: one self-contained HTML page (opens offline), and PNG/SVG");
  report->add_option("inputs", flags->inputs, "a sweep directory (its fit.json drawn when present) and/or a fit JSON file")
      ->required()
      ->expected(1, 2);
  report->add_option("--out", flags->out, "the HTML file (default: DIR/report.html, or FIT.report.html beside the fit)");
  report->add_option("--png", flags->png, "also write each chart as DIR/<chart>.png and .svg (headless Chromium)");
  report->callback([flags] { report_command(*flags); });
}

}  // namespace scalelab::cli
