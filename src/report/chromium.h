// Headless Chromium, offline: what export_charts and the browser tests run. Internal to src/report.
#pragma once

#include <filesystem>
#include <string>

namespace scalelab {

// Every request Chromium makes goes to this proxy, where nothing listens: the page loads nothing and
// Chromium's own background requests (update checks) fail at once. DNS is refused as well.
inline constexpr const char* kRefusingProxy = "127.0.0.1:9";

// A fresh directory under the system's temp directory, removed with everything in it: a Chromium
// profile (Chromium refuses to share one between processes), or an export's one-chart pages.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);  // e.g. "scalelab-chromium"
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// $SCALELAB_CHROMIUM, else `chromium` on PATH. Throws InputError saying how to install it.
std::filesystem::path find_chromium();

struct ChromiumOptions {
  std::string proxy = kRefusingProxy;  // host:port; the browser test points it at a recording socket
  int timeout_s = 120;                 // a hung browser is killed after this long
};

// The DOM of the file `page` after its scripts ran (--virtual-time-budget: scripts get 10 s of
// virtual time). Throws std::runtime_error when Chromium fails.
std::string chromium_dump_dom(const std::filesystem::path& page, const ChromiumOptions& options = {});

// A PNG of the file `page` in a window of width x height CSS pixels, `scale` device pixels each.
void chromium_screenshot(const std::filesystem::path& page, const std::filesystem::path& png, int width, int height,
                         double scale = 1, const ChromiumOptions& options = {});

}  // namespace scalelab
