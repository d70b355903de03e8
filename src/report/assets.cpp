// load_report_assets: the three bundles npm installed, read whole and checked to be inlinable as is.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "table/table.h"

namespace scalelab {
namespace {

namespace fs = std::filesystem;

fs::path assets_dir() {
  const char* env = std::getenv("SCALELAB_REPORT_ASSETS");
  if (env && *env) return env;
  return SCALELAB_REPORT_ASSETS_DIR;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One package's minified bundle and its version. The page inlines the bundle in a plain <script>
// element unchanged (escaping `</` inside vega breaks one of its regular expressions), so a bundle
// holding `</script` or `<!--` would end or derail that element: refuse it instead.
std::string read_bundle(const fs::path& dir, const std::string& package, std::string& versions) {
  const fs::path bundle = dir / package / "build" / (package + ".min.js");
  const fs::path manifest = dir / package / "package.json";
  for (const auto& file : {bundle, manifest})
    if (!fs::is_regular_file(file))
      throw InputError(file.string(), 0, "",
                       fmt::format("missing: the charting library {} is not installed (scripts/setup installs it "
                                   "with npm ci; or point $SCALELAB_REPORT_ASSETS at a node_modules directory)",
                                   package));
  std::string text = read_text_file(bundle);
  const std::string folded = lower(text);
  for (const char* marker : {"</script", "<!--"})
    if (folded.find(marker) != std::string::npos)
      throw InputError(bundle.string(), 0, "",
                       fmt::format("holds `{}`: it cannot be inlined unchanged into a <script> element "
                                   "(and escaping inside the bundle breaks vega); pin another version",
                                   marker));
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(read_text_file(manifest));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(manifest.string(), 0, "", std::string("is not JSON: ") + e.what());
  }
  if (!meta.contains("version") || !meta["version"].is_string())
    throw InputError(manifest.string(), 0, "version", "missing or not a string");
  versions += (versions.empty() ? "" : ", ") + package + " " + meta["version"].get<std::string>();
  return text;
}

}  // namespace

ReportAssets load_report_assets() {
  const fs::path dir = assets_dir();
  ReportAssets assets;
  assets.vega = read_bundle(dir, "vega", assets.versions);
  assets.vega_lite = read_bundle(dir, "vega-lite", assets.versions);
  assets.vega_embed = read_bundle(dir, "vega-embed", assets.versions);
  return assets;
}

}  // namespace scalelab
