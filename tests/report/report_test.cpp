// Reports: report_html's page (escaping, specs, data, no URL of ours), load_report_assets, and the
// browser tests: Chromium renders every chart of the page offline, and export_charts writes PNG/SVG.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/chromium.h"
#include "report/report.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A line chart of the given points, its data inline.
json line_spec(const std::string& title, const std::vector<std::pair<double, double>>& points) {
  json values = json::array();
  for (auto [x, y] : points) values.push_back({{"samples", x}, {"test_error", y}});
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v5.json"},
          {"title", title},
          {"width", 320},
          {"height", 200},
          {"data", {{"values", values}}},
          {"mark", {{"type", "line"}, {"point", true}}},
          {"encoding",
           {{"x", {{"field", "samples"}, {"type", "quantitative"}, {"scale", {{"type", "log"}}}}},
            {"y", {{"field", "test_error"}, {"type", "quantitative"}}}}}};
}

// Two charts with hostile text everywhere a text goes.
Report sample_report() {
  Report r;
  r.title = "scalelab report: <script>alert(1)</script> & co";
  r.header = {"swept: mlp <widths> & fractions", "fitted: rosenfeld2020 \"joint\""};
  Chart a;
  a.id = "error-vs-data";
  a.title = "Error <b>vs</b> data & size";
  a.caption = "Each line one width; read the slope as 'alpha'.";
  a.spec = line_spec("</script><script>alert(2)</script>", {{1375, 0.4213}, {2750, 0.3377}, {5500, 0.2791}});
  a.columns = {"samples", "test_error <measured>"};
  a.rows = {{"1375", "0.4213"}, {"2750", "0.3377"}, {"5500", "0.2791"}};
  Chart b;
  b.id = "2-divergence";  // starts with a digit: the page must not use it as a bare CSS selector
  b.title = "Divergence";
  b.caption = "Predicted over measured, minus one.";
  // Enough points that the SVG runs to tens of KB (a regex over it once overflowed the stack).
  std::vector<std::pair<double, double>> many = {{11000, 0.0517}, {22000, -0.0341}};
  for (int i = 0; i < 150; ++i) many.push_back({23000.0 + 100 * i, 0.01 * (i % 7) - 0.03});
  b.spec = line_spec("divergence", many);
  b.columns = {"samples", "divergence"};
  b.rows = {{"11000", "0.0517"}, {"22000", "-0.0341"}};
  r.charts = {a, b};
  return r;
}

// Bundles that stand in for the real ones: each holds a URL and a `</` that the page must keep as is.
ReportAssets fake_assets() {
  return {"/*vega*/ var re = /a<\\/b/; var u = 'https://vega.github.io/vega';",
          "/*vega-lite*/ var s = 'http://example.org/x';", "/*vega-embed*/ var e = '<\\/div>';",
          "vega 0, vega-lite 0, vega-embed 0"};
}

std::string remove_all(std::string text, const std::string& what) {
  for (std::size_t at; !what.empty() && (at = text.find(what)) != std::string::npos;) text.erase(at, what.size());
  return text;
}

// The specs the page holds, parsed as the page's own script parses them.
json page_specs(const std::string& page) {
  const std::string open = "<script id=\"scalelab-specs\" type=\"application/json\">";
  const auto from = page.find(open);
  if (from == std::string::npos) return nullptr;
  const auto start = from + open.size();
  return json::parse(page.substr(start, page.find("</script>", start) - start));
}

TEST(ReportHtml, EscapesEveryTextAndInlinesTheBundlesUnchanged) {
  const Report report = sample_report();
  const ReportAssets assets = fake_assets();
  const std::string page = report_html(report, assets);

  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(page.find("<title>scalelab report: &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</title>"),
            std::string::npos);
  EXPECT_NE(page.find("<p>swept: mlp &lt;widths&gt; &amp; fractions</p>"), std::string::npos);
  EXPECT_NE(page.find("<h2>Error &lt;b&gt;vs&lt;/b&gt; data &amp; size</h2>"), std::string::npos);
  EXPECT_NE(page.find("read the slope as &#39;alpha&#39;."), std::string::npos);
  EXPECT_NE(page.find("<th>test_error &lt;measured&gt;</th>"), std::string::npos);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(page.find("<b>vs"), std::string::npos);
  // Our JSON carries no '<' at all: the spec's hostile title cannot close its <script> element.
  EXPECT_EQ(page.find("</script><script>alert(2)"), std::string::npos);

  // Each bundle exactly once, unchanged, in a plain <script> element.
  for (const std::string* b : {&assets.vega, &assets.vega_lite, &assets.vega_embed}) {
    EXPECT_NE(page.find("<script>\n" + *b + "\n</script>"), std::string::npos) << *b;
  }
  // Outside the bundles, no URL: the page loads nothing. The specs' "$schema" is an identifier that
  // vega-embed reads (for the version) and never fetches: the one URL allowed.
  std::string ours = page;
  for (const std::string* b : {&assets.vega, &assets.vega_lite, &assets.vega_embed}) ours = remove_all(ours, *b);
  ours = remove_all(ours, "https://vega.github.io/schema/vega-lite/v5.json");  // "$schema": an id, never fetched
  EXPECT_EQ(ours.find("http://"), std::string::npos);
  EXPECT_EQ(ours.find("https://"), std::string::npos);
  EXPECT_EQ(ours.find("src="), std::string::npos);
  EXPECT_EQ(ours.find("href="), std::string::npos);

  // The specs are there, each under its chart's id, equal to what was given; the data values in them.
  const json specs = page_specs(page);
  ASSERT_TRUE(specs.is_object());
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs["error-vs-data"], report.charts[0].spec);
  EXPECT_EQ(specs["2-divergence"], report.charts[1].spec);
  for (const char* number : {"0.4213", "0.3377", "0.2791", "0.0517", "-0.0341"}) {
    EXPECT_NE(page.find(std::string("\"test_error\":") + number), std::string::npos) << number;
    EXPECT_NE(page.find(std::string("<td>") + number + "</td>"), std::string::npos) << number;
  }
  // One section and one chart div per chart, found by element (not CSS-selector) id.
  EXPECT_NE(page.find("<div class=\"vis\" id=\"chart-error-vs-data\"></div>"), std::string::npos);
  EXPECT_NE(page.find("<div class=\"vis\" id=\"chart-2-divergence\"></div>"), std::string::npos);
  EXPECT_NE(page.find("getElementById('chart-' + id)"), std::string::npos);
  EXPECT_NE(page.find("window.scalelabRendered"), std::string::npos);
}

TEST(ReportHtml, RefusesIdsThatCannotNameAnElementOrFile) {
  for (const std::string bad : {"", "Upper", "a b", "../x", "a_b"}) {
    Report r = sample_report();
    r.charts[1].id = bad;
    try {
      report_html(r, fake_assets());
      ADD_FAILURE() << "accepted id '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_EQ(e.field(), "charts[1].id");
    }
  }
  Report twice = sample_report();
  twice.charts[1].id = twice.charts[0].id;
  EXPECT_THROW(report_html(twice, fake_assets()), InputError);
}

// $SCALELAB_REPORT_ASSETS for one test.
struct AssetsDir {
  fs::path dir = fs::temp_directory_path() / ("scalelab-assets-test-" + std::to_string(getpid()));
  AssetsDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    setenv("SCALELAB_REPORT_ASSETS", dir.c_str(), 1);
  }
  ~AssetsDir() {
    unsetenv("SCALELAB_REPORT_ASSETS");
    fs::remove_all(dir);
  }
  void add(const std::string& package, const std::string& version, const std::string& bundle) {
    fs::create_directories(dir / package / "build");
    std::ofstream(dir / package / "build" / (package + ".min.js")) << bundle;
    std::ofstream(dir / package / "package.json") << json{{"name", package}, {"version", version}}.dump();
  }
};

TEST(ReportAssets, ReadsTheBundlesAndVersionsFromTheEnvironmentsDirectory) {
  AssetsDir d;
  d.add("vega", "5.1.0", "/*v*/ var re = /<\\/x/;");
  d.add("vega-lite", "5.2.0", "/*vl*/");
  d.add("vega-embed", "6.3.0", "/*ve*/");
  const ReportAssets a = load_report_assets();
  EXPECT_EQ(a.vega, "/*v*/ var re = /<\\/x/;");
  EXPECT_EQ(a.vega_lite, "/*vl*/");
  EXPECT_EQ(a.vega_embed, "/*ve*/");
  EXPECT_EQ(a.versions, "vega 5.1.0, vega-lite 5.2.0, vega-embed 6.3.0");
}

TEST(ReportAssets, AMissingBundleNamesTheFileAndScriptsSetup) {
  AssetsDir d;
  d.add("vega", "5.1.0", "/*v*/");
  try {
    load_report_assets();
    FAIL() << "no error for a missing vega-lite";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), (d.dir / "vega-lite/build/vega-lite.min.js").string());
    EXPECT_NE(std::string(e.what()).find("scripts/setup"), std::string::npos) << e.what();
  }
}

TEST(ReportAssets, ABundleThatWouldEndItsScriptElementIsRefused) {
  AssetsDir d;
  d.add("vega", "5.1.0", "var s = '</SCRIPT>';");
  d.add("vega-lite", "5.2.0", "/*vl*/");
  d.add("vega-embed", "6.3.0", "/*ve*/");
  try {
    load_report_assets();
    FAIL() << "accepted a bundle holding </script";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("</script"), std::string::npos) << e.what();
  }
}

// ---- Browser tests: headless Chromium with the real bundles (scripts/setup installs both). ----

bool have_chromium() {
  try {
    find_chromium();
    return true;
  } catch (const InputError&) {
    return false;
  }
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("scalelab-report-test-" + std::to_string(getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A proxy that answers nothing and records the first bytes of every request sent to it: pointing
// Chromium at it shows every network request the page (or the browser) tried.
class RecordingProxy {
 public:
  RecordingProxy() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen on loopback");
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) close(c);
          return;
        }
        char buf[256];
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        close(c);
        std::lock_guard lock(mu_);
        requests_.emplace_back(buf, n > 0 ? n : 0);
      }
    });
  }
  ~RecordingProxy() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// Chromium's own background services (update checks, sign-in): the browser asks them whatever the
// page holds, and the refusing proxy stops them. Anything else would be the page's request.
bool chromiums_own(const std::string& request) {
  for (const char* host : {"google.com", "googleapis.com", "gstatic.com"}) {
    const auto line_end = request.find('\r');
    const std::string line = request.substr(0, line_end);
    if (line.find(std::string(".") + host) != std::string::npos) return true;
  }
  return false;
}

TEST(ReportBrowser, ChromiumRendersEveryChartOfThePageOfflineAndScreenshotsIt) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup installs it): browser test skipped";
  const ReportAssets assets = load_report_assets();
  const Report report = sample_report();
  TempDir tmp;
  const fs::path page = tmp.path / "report.html";
  write_file_atomic(page, report_html(report, assets));

  RecordingProxy proxy;
  ChromiumOptions options;
  options.proxy = proxy.address();
  const std::string dom = chromium_dump_dom(page, options);
  EXPECT_NE(dom.find("data-rendered=\"2\""), std::string::npos) << "not every chart rendered";
  EXPECT_EQ(dom.find("data-errors="), std::string::npos);
  EXPECT_EQ(dom.find(" render-error\""), std::string::npos);  // the class a failed chart's div gets
  EXPECT_EQ(dom.find("\">This chart failed to render"), std::string::npos);  // its message, shown
  for (const Chart& chart : report.charts) {
    const auto at = dom.find("id=\"chart-" + chart.id + "\"");
    ASSERT_NE(at, std::string::npos) << chart.id;
    const auto svg = dom.find("<svg", at);
    const auto next = dom.find("</section>", at);
    ASSERT_NE(svg, std::string::npos) << chart.id;
    EXPECT_LT(svg, next) << "no <svg in chart " << chart.id << "'s div";
    const auto svg_end = dom.find("</svg>", svg);
    ASSERT_NE(svg_end, std::string::npos);
    EXPECT_NE(dom.substr(svg, svg_end - svg).find("<path"), std::string::npos) << chart.id << ": an empty chart";
  }
  // The hostile spec title was drawn as text, not run.
  EXPECT_NE(dom.find("&lt;/script&gt;&lt;script&gt;alert(2)"), std::string::npos);
  for (const std::string& r : proxy.requests())
    EXPECT_TRUE(chromiums_own(r)) << "the page made a network request: " << r.substr(0, r.find('\r'));

  const fs::path png = tmp.path / "report.png";
  chromium_screenshot(page, png, 1200, 900, 1, options);
  const std::string bytes = read_file(png);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(bytes.size(), 20000u) << "a near-blank screenshot";
}

// PNG width and height from the IHDR chunk.
std::pair<int, int> png_size(const std::string& bytes) {
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(bytes[at]) << 24) | (static_cast<unsigned char>(bytes[at + 1]) << 16) |
           (static_cast<unsigned char>(bytes[at + 2]) << 8) | static_cast<unsigned char>(bytes[at + 3]);
  };
  return {be32(16), be32(20)};
}

TEST(ReportBrowser, ExportWritesAPngAndAnSvgPerChart) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup installs it): export test skipped";
  const ReportAssets assets = load_report_assets();
  const Report report = sample_report();
  TempDir tmp;
  const fs::path out = tmp.path / "figures";  // created by export_charts
  export_charts(report, out, assets);
  if (const char* keep = std::getenv("SCALELAB_KEEP_EXPORT")) fs::copy(out, keep, fs::copy_options::recursive);
  for (const Chart& chart : report.charts) {
    const std::string png = read_file(out / (chart.id + ".png"));
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << chart.id;
    const auto [w, h] = png_size(png);
    EXPECT_GT(w, 2 * 320) << chart.id << ": sized to the chart, at twice the CSS size";
    EXPECT_GT(h, 2 * 200) << chart.id;
    EXPECT_LT(w, 2 * 600) << chart.id;
    const std::string svg = read_file(out / (chart.id + ".svg"));
    EXPECT_EQ(svg.rfind("<svg", 0), 0u) << chart.id;
    EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos) << chart.id;
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << chart.id;
    EXPECT_NE(svg.find("<path"), std::string::npos) << chart.id;
  }
  // The hostile title is escaped in the standalone SVG (an XML file).
  EXPECT_NE(read_file(out / "error-vs-data.svg").find("&lt;/script&gt;"), std::string::npos);
}

TEST(ReportBrowser, AChartThatFailsToRenderIsAnErrorNamingIt) {
  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (scripts/setup installs it): export test skipped";
  Report report = sample_report();
  report.charts[1].spec["mark"] = "no-such-mark";
  TempDir tmp;
  try {
    export_charts(report, tmp.path, load_report_assets());
    FAIL() << "a broken spec exported";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("chart 2-divergence failed to render"), std::string::npos) << e.what();
  }
}

TEST(ReportBrowser, ExportWithoutChromiumSaysHowToInstallIt) {
  setenv("SCALELAB_CHROMIUM", "/nonexistent/chromium", 1);
  EXPECT_THROW(export_charts(sample_report(), fs::temp_directory_path() / "never-written", fake_assets()),
               InputError);
  unsetenv("SCALELAB_CHROMIUM");
  const std::string path = std::getenv("PATH");
  setenv("PATH", "/nonexistent", 1);
  try {
    find_chromium();
    ADD_FAILURE() << "found a chromium on an empty PATH";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("apt-get install chromium"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("scripts/setup"), std::string::npos) << e.what();
  }
  setenv("PATH", path.c_str(), 1);
  EXPECT_FALSE(fs::exists(fs::temp_directory_path() / "never-written"));
}

}  // namespace
}  // namespace scalelab
