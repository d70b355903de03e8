// Reports: the plots researchers read, as one self-contained HTML page (Vega-Lite charts, the charting
// libraries inlined, no network request) and as PNG/SVG files. Torch-free.
//
//   Report report = sweep_report("sweeps/demo");          // charts.h: chart specs from the store and fit
//   write_file_atomic("report.html", report_html(report, load_report_assets()));
//   export_charts(report, "figures/", load_report_assets());   // PNG and SVG, through headless Chromium
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace scalelab {

// One chart: a Vega-Lite spec (its data inline, under "data": {"values": [...]}) and the numbers it
// shows, as a table printed under it.
struct Chart {
  std::string id;     // unique in the report, [a-z0-9-]+ (the element id; the PNG/SVG file name)
  std::string title;  // one line
  std::string caption;  // what it shows and how to read it, a sentence or two
  nlohmann::json spec;  // a Vega-Lite v5 spec
  std::vector<std::string> columns;             // the numbers under the chart
  std::vector<std::vector<std::string>> rows;
};

struct Report {
  std::string title;                // e.g. "scalelab report: demo"
  std::vector<std::string> header;  // lines: what was swept, fitted and predicted
  std::vector<Chart> charts;
};

// The JavaScript the page inlines, unchanged: vega, vega-lite and vega-embed as npm installs them
// (pinned by scripts/setup).
struct ReportAssets {
  std::string vega, vega_lite, vega_embed;  // the minified bundles' text
  std::string versions;                     // e.g. "vega 5.30.0, vega-lite 5.21.0, vega-embed 6.26.0"
};

// Reads the bundles from $SCALELAB_REPORT_ASSETS or the directory scripts/setup installs them into;
// throws InputError naming the missing file (and saying to run scripts/setup).
ReportAssets load_report_assets();

// The whole page: the header, then each chart (rendered by vega-embed, SVG renderer) with its caption
// and its numbers as an HTML table. Every text is HTML-escaped; the bundles are inlined unchanged.
std::string report_html(const Report& report, const ReportAssets& assets);

// Writes DIR/<chart id>.png and DIR/<chart id>.svg for every chart, rendered from the same specs by
// Debian's headless Chromium with network disabled. Throws InputError when Chromium is not installed
// (naming the command to install it), std::runtime_error when a chart fails to render.
void export_charts(const Report& report, const std::filesystem::path& dir, const ReportAssets& assets);

}  // namespace scalelab
