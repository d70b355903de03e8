// Test doubles for the system's device nodes.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace scalelab::testing {

// A private copy of a memory device (mknod, allowed as root), so that a broken writer replaces the
// copy and never the system's /dev node; without mknod, the system's node (which a non-root writer
// cannot replace either). device_copy(dir, "full", 7) is /dev/full's twin.
inline std::string device_copy(const std::filesystem::path& dir, const char* name, unsigned minor) {
  auto node = dir / name;
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, minor)) == 0) {
    int fd = ::open(node.c_str(), O_WRONLY);
    if (fd >= 0) {
      ::close(fd);
      return node.string();
    }
    ::unlink(node.c_str());
  }
  return std::string("/dev/") + name;
}

}  // namespace scalelab::testing
