#!/bin/sh
# Linker launcher for `scalelab` (CXX_LINKER_LAUNCHER, see src/cli/CMakeLists.txt): links the
# executable statically, so that a start maps no shared library and runs no dynamic loader. With
# libfmt, libsqlite3, libyaml-cpp, libstdc++ and libc loaded dynamically, the loader and its page
# faults took half of a `scalelab fit` (measured in bench/fit/README.md).
#
#   static-link.sh FMT_ARCHIVE <the link command CMake would run...>
#
# Each shared library on the command line is replaced by its static archive (fmt's by FMT_ARCHIVE,
# built from cmake/fmt_static.cpp). If one has no archive, or the static link fails, the original
# dynamic link runs instead: the build never breaks because of this script.
fmt_archive=$1
shift
static=
for arg in "$@"; do
  case $arg in
    */libfmt.so*) arg=$fmt_archive ;;
    *.so | *.so.*)
      archive=${arg%%.so*}.a
      if [ -f "$archive" ]; then arg=$archive; else exec "$@"; fi ;;
  esac
  static="$static$(printf '%s' "$arg" | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/") "
done
# glibc warns that dlopen (sqlite's load_extension, never used by scalelab) needs its own version
# at run time; the warning is expected, any other output is shown.
if out=$(eval "$static -static" 2>&1); then
  printf '%s\n' "$out" | grep -v -e "in function \`unixDlOpen'" -e "statically linked applications requires at runtime" >&2
  exit 0
fi
printf 'static-link.sh: static link failed, linking dynamically:\n%s\n' "$out" >&2
exec "$@"
