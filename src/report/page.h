// The pieces of report pages that html.cpp and export.cpp share. Internal to src/report.
#pragma once

#include <string>
#include <string_view>

#include "report/report.h"

namespace scalelab {

// Chart ids become element ids and file names: [a-z0-9-]+ and unique, else InputError naming the chart.
void check_chart_ids(const Report& report);

// Text for HTML content and attribute values: & < > " ' as character references.
std::string html_escape(std::string_view text);

// A page holding one chart alone (no header, caption or table) on a white background, for
// export_charts: once vega-embed has rendered it, the page writes vega's own SVG of the chart
// (view.toSVG()) as text into <pre id="svg" data-width=W data-height=H>, or an error into
// <pre id="error">.
std::string chart_page_html(const Chart& chart, const ReportAssets& assets);

}  // namespace scalelab
