// export_charts: each chart alone in a temporary page, rendered twice by headless Chromium: a DOM
// dump for vega's own SVG (and the chart's size), then a screenshot of exactly that size for the PNG.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <utility>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "report/chromium.h"
#include "report/page.h"
#include "report/report.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;

// PNGs at twice the CSS size: sharp in a paper or on a high-density screen.
constexpr double kPngScale = 2;


// The text of an element as Chromium serialises it (text nodes: & < > and U+00A0 escaped).
std::string html_unescape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '&') {
      bool matched = false;
      for (auto [entity, replacement] : {std::pair{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
                                         {"&#39;", "'"}, {"&nbsp;", "\xC2\xA0"}}) {
        const std::string_view e = entity;
        if (text.compare(i, e.size(), e) == 0) {
          out += replacement;
          i += e.size() - 1;
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out += text[i];
  }
  return out;
}

struct RenderedChart {
  std::string svg;
  int width = 0, height = 0;
};

// The text of the element that starts with `open` in the dump, and that start tag's rest (its
// attributes); nullopt when absent. Plain string search: std::regex recurses per character and
// overflows the stack on a chart's SVG.
std::optional<std::pair<std::string, std::string>> element(const std::string& dom, const std::string& open) {
  const auto at = dom.find(open);
  if (at == std::string::npos) return std::nullopt;
  const auto tag_end = dom.find('>', at);
  const auto close = dom.find("</pre>", tag_end);
  if (tag_end == std::string::npos || close == std::string::npos) return std::nullopt;
  return std::pair{html_unescape(dom.substr(tag_end + 1, close - tag_end - 1)),
                   dom.substr(at + open.size(), tag_end - at - open.size())};
}

int attribute(const std::string& attributes, const std::string& name) {
  const auto at = attributes.find(name + "=\"");
  if (at == std::string::npos) return 0;
  try {
    return std::stoi(attributes.substr(at + name.size() + 2));
  } catch (const std::exception&) {
    return 0;
  }
}

RenderedChart render(const Chart& chart, const fs::path& page) {
  const std::string dom = chromium_dump_dom(page);
  if (const auto error = element(dom, "<pre id=\"error\""))
    throw std::runtime_error(fmt::format("chart {} failed to render: {}", chart.id, error->first));
  const auto svg = element(dom, "<pre id=\"svg\"");
  if (!svg) throw std::runtime_error(fmt::format("chart {} did not render within Chromium's 10 s budget", chart.id));
  RenderedChart r{svg->first, attribute(svg->second, "data-width"), attribute(svg->second, "data-height")};
  if (r.svg.rfind("<svg", 0) != 0 || r.width <= 0 || r.height <= 0)
    throw std::runtime_error(fmt::format("chart {} rendered to no SVG ({}x{})", chart.id, r.width, r.height));
  return r;
}

}  // namespace

void export_charts(const Report& report, const fs::path& dir, const ReportAssets& assets) {
  check_chart_ids(report);
  find_chromium();  // missing: the InputError saying how to install it, before any work
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) throw InputError(dir.string(), 0, "", "cannot create the export directory");
  const ScratchDir tmp("scalelab-export");
  for (const Chart& chart : report.charts) {
    const fs::path page = tmp.path() / (chart.id + ".html");
    write_file_atomic(page, chart_page_html(chart, assets));
    const RenderedChart r = render(chart, page);
    const fs::path png = tmp.path() / (chart.id + ".png");
    chromium_screenshot(page, png, r.width, r.height, kPngScale);
    write_file_atomic(dir / (chart.id + ".svg"), r.svg);
    write_file_atomic(dir / (chart.id + ".png"), read_file(png));
  }
}

}  // namespace scalelab
