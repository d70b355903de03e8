// report_html: one self-contained page. The three bundles are inlined unchanged; only our own JSON
// is escaped for the <script> element it sits in.
#include <set>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/page.h"
#include "report/report.h"
#include "table/table.h"

namespace scalelab {
namespace {

}  // namespace

void check_chart_ids(const Report& report) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < report.charts.size(); ++i) {
    const std::string& id = report.charts[i].id;
    const std::string field = fmt::format("charts[{}].id", i);
    if (id.empty() || id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
      throw InputError("report", 0, field, fmt::format("'{}' is not of [a-z0-9-]+", id));
    if (!seen.insert(id).second) throw InputError("report", 0, field, fmt::format("'{}' is used twice", id));
  }
}

namespace {

// JSON for inside a <script> element: every '<' as \u003c (legal in JSON strings, the only place a
// '<' can be), so no `</script` or `<!--` can end or derail the element.
std::string script_json(const nlohmann::json& value) {
  const std::string text = value.dump();
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

void append_bundles(std::string& page, const ReportAssets& assets) {
  for (const std::string* bundle : {&assets.vega, &assets.vega_lite, &assets.vega_embed}) {
    page += "<script>\n";
    page += *bundle;  // unchanged (load_report_assets checked it holds no `</script`)
    page += "\n</script>\n";
  }
}

constexpr const char* kStyle = R"(<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; background: #fff; }
header p { margin: 0.2em 0; color: #444; }
section.chart { margin-top: 2.5em; }
p.caption { color: #444; max-width: 60em; }
div.vis { min-height: 2em; }
div.vis.render-error { color: #b00; font-weight: bold; }
table.numbers { border-collapse: collapse; font-size: 0.85em; margin-top: 0.8em; }
table.numbers th, table.numbers td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
table.numbers th { background: #f4f4f4; }
footer { margin-top: 3em; color: #777; font-size: 0.8em; }
</style>
)";

// Renders every chart in its div; counts successes in window.scalelabRendered (and in
// <body data-rendered>, which a DOM dump shows) and failures in window.scalelabErrors, each failure
// also logged and shown in the chart's div.
constexpr const char* kRenderScript = R"(<script>
(function () {
  var specs = JSON.parse(document.getElementById('scalelab-specs').textContent);
  window.scalelabRendered = 0;
  window.scalelabErrors = 0;
  Object.keys(specs).forEach(function (id) {
    var div = document.getElementById('chart-' + id);
    vegaEmbed(div, specs[id], {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: false}})
      .then(function () {
        window.scalelabRendered += 1;
        document.body.setAttribute('data-rendered', String(window.scalelabRendered));
      })
      .catch(function (error) {
        window.scalelabErrors += 1;
        document.body.setAttribute('data-errors', String(window.scalelabErrors));
        console.error('scalelab: chart ' + id + ' failed to render:', error);
        div.className += ' render-error';
        div.textContent = 'This chart failed to render: ' + error;
      });
  });
})();
</script>
)";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string report_html(const Report& report, const ReportAssets& assets) {
  check_chart_ids(report);
  std::string page;
  page.reserve(assets.vega.size() + assets.vega_lite.size() + assets.vega_embed.size() + (64 << 10));
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += fmt::format("<meta name=\"generator\" content=\"scalelab; {}\">\n", html_escape(assets.versions));
  page += fmt::format("<title>{}</title>\n", html_escape(report.title));
  page += kStyle;
  append_bundles(page, assets);
  page += "</head>\n<body>\n<header>\n";
  page += fmt::format("<h1>{}</h1>\n", html_escape(report.title));
  for (const auto& line : report.header) page += fmt::format("<p>{}</p>\n", html_escape(line));
  page += "</header>\n";

  nlohmann::json specs = nlohmann::json::object();
  for (const Chart& chart : report.charts) {
    specs[chart.id] = chart.spec;
    page += fmt::format("<section class=\"chart\" id=\"section-{}\">\n", chart.id);
    page += fmt::format("<h2>{}</h2>\n", html_escape(chart.title));
    if (!chart.caption.empty()) page += fmt::format("<p class=\"caption\">{}</p>\n", html_escape(chart.caption));
    page += fmt::format("<div class=\"vis\" id=\"chart-{}\"></div>\n", chart.id);
    if (!chart.columns.empty()) {
      page += "<table class=\"numbers\">\n<thead><tr>";
      for (const auto& c : chart.columns) page += fmt::format("<th>{}</th>", html_escape(c));
      page += "</tr></thead>\n<tbody>\n";
      for (const auto& row : chart.rows) {
        page += "<tr>";
        for (const auto& cell : row) page += fmt::format("<td>{}</td>", html_escape(cell));
        page += "</tr>\n";
      }
      page += "</tbody>\n</table>\n";
    }
    page += "</section>\n";
  }
  page += fmt::format("<footer>Charts rendered in this page by {} (inlined; the page loads nothing).</footer>\n",
                      html_escape(assets.versions));
  page += "<script id=\"scalelab-specs\" type=\"application/json\">" + script_json(specs) + "</script>\n";
  page += kRenderScript;
  page += "</body>\n</html>\n";
  return page;
}

std::string chart_page_html(const Chart& chart, const ReportAssets& assets) {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += fmt::format("<title>{}</title>\n", html_escape(chart.title));
  page += "<style>html, body { margin: 0; padding: 0; background: #fff; } #vis { display: inline-block; } "
          "pre { display: none; }</style>\n";
  append_bundles(page, assets);
  page += "</head>\n<body>\n<div id=\"vis\"></div>\n";
  page += "<script id=\"scalelab-spec\" type=\"application/json\">" + script_json(chart.spec) + "</script>\n";
  page += R"(<script>
(function () {
  var spec = JSON.parse(document.getElementById('scalelab-spec').textContent);
  function show(id, text, attrs) {
    var pre = document.createElement('pre');
    pre.id = id;
    Object.keys(attrs).forEach(function (k) { pre.setAttribute(k, attrs[k]); });
    pre.textContent = text;
    document.body.appendChild(pre);
  }
  vegaEmbed('#vis', spec, {renderer: 'svg', actions: false})
    .then(function (result) {
      var box = document.getElementById('vis').getBoundingClientRect();
      return result.view.toSVG().then(function (svg) {
        show('svg', svg, {'data-width': Math.ceil(box.width), 'data-height': Math.ceil(box.height)});
      });
    })
    .catch(function (error) { console.error(error); show('error', String(error), {}); });
})();
</script>
</body>
</html>
)";
  return page;
}

}  // namespace scalelab
