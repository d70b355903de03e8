#include "table/table.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "testing/devices.h"

namespace scalelab {
namespace {

TEST(Csv, ReadsPandasShapeWithIndexColumnAndQuotes) {
  Table t = parse_csv(",samples,params,name\n0,1000,2e5,\"a, b\"\n1,2000,4.5e5,\"say \"\"hi\"\"\"\n", "runs.csv");
  ASSERT_EQ(t.rows(), 2u);
  ASSERT_EQ(t.cols(), 4u);
  EXPECT_EQ(t.header()[0], "");
  EXPECT_EQ(t.numbers("params"), (std::vector<double>{2e5, 4.5e5}));
  EXPECT_EQ(t.at(0, "name"), "a, b");
  EXPECT_EQ(t.at(1, "name"), "say \"hi\"");
  EXPECT_EQ(t.line_of(1), 3);
}

TEST(Csv, EmptyCellsAndNanReadAsNan) {
  Table t = parse_csv("x,y\n1,\n2,NaN\n", "f.csv");
  auto y = t.numbers("y");
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
}

TEST(Csv, ErrorsNameFileLineAndField) {
  Table t = parse_csv("x,y\n1,2\n3,abc\n", "runs.csv");
  try {
    t.numbers("y");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "runs.csv");
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.field(), "y");
    EXPECT_EQ(std::string(e.what()), "runs.csv:3: field 'y': 'abc' is not a number");
  }
  EXPECT_THROW(t.column("z"), InputError);
  EXPECT_THROW(parse_csv("x,y\n1,2,3\n", "r.csv"), InputError);
  EXPECT_THROW(parse_csv("", "r.csv"), InputError);
  EXPECT_THROW(parse_csv("x\n\"open\n", "r.csv"), InputError);
}

TEST(Csv, RoundTripsThroughAtomicFile) {
  auto dir = std::filesystem::temp_directory_path() / ("scalelab_table_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Table t({"a", "b"}, "built");
  t.add_row({"1", "x,y"});
  t.add_row({format_number(0.1), "z"});
  write_file_atomic(dir / "t.csv", to_csv(t));
  Table back = read_csv(dir / "t.csv");
  EXPECT_EQ(back.header(), t.header());
  EXPECT_EQ(back.at(0, "b"), "x,y");
  EXPECT_EQ(back.numbers("a")[1], 0.1);
  // No temporary files are left beside the result.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

// Replacing an existing file goes through an exchange of names (see write_file_atomic): the file
// gets the new contents, the old ones leave no temporary behind, a file hard-linked elsewhere keeps
// its old contents there, a symlink is followed (its target replaced, the link kept) and a directory
// in the way is refused.
TEST(AtomicFile, ReplacesExistingFilesAndLeavesNothingBehind) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("scalelab_atomic_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path file = dir / "fit.json";
  write_file_atomic(file, "first\n");
  EXPECT_EQ(read_file(file), "first\n");
  fs::create_hard_link(file, dir / "kept.json");
  write_file_atomic(file, "second, longer\n");
  EXPECT_EQ(read_file(file), "second, longer\n");
  EXPECT_EQ(read_file(dir / "kept.json"), "first\n");
  EXPECT_EQ(fs::hard_link_count(file), 1u);

  // A symlink is followed: its target gets the new contents, the link stays a link.
  fs::create_symlink(dir / "kept.json", dir / "link.json");
  write_file_atomic(dir / "link.json", "third\n");
  EXPECT_TRUE(fs::is_symlink(dir / "link.json"));
  EXPECT_EQ(read_file(dir / "link.json"), "third\n");
  EXPECT_EQ(read_file(dir / "kept.json"), "third\n");

  // A directory in the way: an error, the directory untouched.
  fs::create_directories(dir / "sub.json" / "inner");
  EXPECT_THROW(write_file_atomic(dir / "sub.json", "x\n"), std::runtime_error);
  EXPECT_TRUE(fs::is_directory(dir / "sub.json" / "inner"));

  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"fit.json", "kept.json", "link.json", "sub.json"}));
  fs::remove_all(dir);
}

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

using scalelab::testing::device_copy;

// Devices and FIFOs are written through, never replaced by a regular file (as root, `--json
// /dev/full` once replaced the system's /dev/full); a write error is reported.
TEST(AtomicFile, WritesThroughDevicesAndFifos) {
  namespace fs = std::filesystem;
  TempDir devices("scalelab_devices");
  const std::string null = device_copy(devices.path, "null", 3), full = device_copy(devices.path, "full", 7);
  write_file_atomic(null, "discarded\n");
  EXPECT_TRUE(fs::is_character_file(null));
  try {
    write_file_atomic(full, "x\n");
    FAIL() << "expected an error writing " << full;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(full), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOSPC)), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_character_file(full));

  TempDir dir("scalelab_fifo");
  const fs::path fifo = dir.path / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t child = ::fork();
  if (child == 0) {
    write_file_atomic(fifo, "through the pipe\n");
    ::_exit(0);
  }
  std::string got = read_file(fifo);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(got, "through the pipe\n");
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(names_in(dir.path), (std::vector<std::string>{"pipe"}));
}

TEST(AtomicFile, RefusesEmptyPathsAndDirectories) {
  TempDir dir("scalelab_atomic_refuse");
  EXPECT_THROW(write_file_atomic("", "x"), InputError);
  try {
    write_file_atomic(dir.path, "x");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(names_in(dir.path).empty());
}

// Temporary files of writers that were killed (their PID no longer runs) are removed on the next
// write of the same name; those of live processes and of other names are left alone.
TEST(AtomicFile, RemovesStaleTemporariesOfDeadWriters) {
  TempDir dir("scalelab_atomic_stale");
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = ".fit.json.tmp." + std::to_string(dead) + ".0";
  const std::string live = ".fit.json.tmp." + std::to_string(::getppid()) + ".3";
  const std::string other = ".other.json.tmp." + std::to_string(dead) + ".0";
  for (const auto& name : {stale, live, other}) write_file_atomic(dir.path / name, "old");
  write_file_atomic(dir.path / "fit.json", "new\n");
  EXPECT_EQ(names_in(dir.path), (std::vector<std::string>{live, other, "fit.json"}));
}

// A writer killed in the middle of writing leaves no temporary file (O_TMPFILE: no name until done).
TEST(AtomicFile, KilledWriterLeavesNoTemporary) {
  TempDir dir("scalelab_atomic_kill");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    // A large write that the parent interrupts: tell it we started, then keep writing.
    std::string big(std::size_t{64} << 20, 'x');
    (void)::write(fds[1], "go", 2);
    for (;;) write_file_atomic(dir.path / "big.json", big);
  }
  ::close(fds[1]);
  char buf[2];
  ASSERT_EQ(::read(fds[0], buf, 2), 2);
  ::usleep(20000);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  for (const auto& name : names_in(dir.path)) EXPECT_EQ(name, "big.json");
}

TEST(Csv, RejectsDuplicateColumnNames) {
  try {
    parse_csv("samples,test_error,test_error\n1,0.5,0.1\n", "runs.csv");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "runs.csv");
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.field(), "test_error");
  }
  // Unnamed columns (pandas' index) may repeat.
  EXPECT_EQ(parse_csv(",,x\n1,2,3\n", "f.csv").cols(), 3u);
}

TEST(ReadFile, RefusesDirectoriesAndEndlessStreams) {
  TempDir dir("scalelab_read");
  try {
    read_csv(dir.path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  // /dev/zero: a text read stops at the first NUL, a plain read at the size limit.
  EXPECT_THROW(read_csv("/dev/zero"), InputError);
  try {
    read_file("/dev/zero", 1 << 20);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "/dev/zero");
  }
  write_file_atomic(dir.path / "big.csv", std::string(2000, 'a'));
  EXPECT_THROW(read_file(dir.path / "big.csv", 1000), InputError);
  EXPECT_EQ(read_file(dir.path / "big.csv", 2000).size(), 2000u);
}

TEST(OutputPath, RefusesTheInputThroughLinksEmptyAndDirectories) {
  namespace fs = std::filesystem;
  TempDir dir("scalelab_outpath");
  const fs::path data = dir.path / "runs.csv";
  write_file_atomic(data, "x,y\n1,2\n");
  fs::create_symlink(data, dir.path / "link.csv");
  fs::create_hard_link(data, dir.path / "hard.csv");
  for (const char* name : {"runs.csv", "link.csv", "hard.csv"}) {
    try {
      check_output_path(dir.path / name, "--json", {data});
      FAIL() << name;
    } catch (const InputError& e) {
      EXPECT_EQ(e.source(), "--json");
      EXPECT_NE(std::string(e.what()).find("runs.csv"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(check_output_path("", "--json", {data}), InputError);
  EXPECT_THROW(check_output_path(dir.path, "--json", {data}), InputError);
  EXPECT_NO_THROW(check_output_path(dir.path / "new.json", "--json", {data}));
  EXPECT_THROW(check_output_path(dir.path / "no" / "new.json", "--json", {data}), InputError);
  EXPECT_EQ(read_file(data), "x,y\n1,2\n");
}

TEST(Predicate, EvaluatesComparisonsAndLogic) {
  std::map<std::string, double, std::less<>> v{{"m", 3000}, {"n", 1e5}};
  auto lookup = [&](std::string_view name) { return v.find(name)->second; };
  EXPECT_TRUE(Predicate::parse("m<=3750 && n<=2e5")(lookup));
  EXPECT_FALSE(Predicate::parse("m>3750 || n>2e5")(lookup));
  EXPECT_TRUE(Predicate::parse("!(m>3750) && (n==1e5 || m<0)")(lookup));
  EXPECT_TRUE(Predicate::parse("m != 1")(lookup));
  EXPECT_EQ(Predicate::parse("m<=1 && n>2 && m>0").names(), (std::vector<std::string>{"m", "n"}));
}

TEST(Predicate, RejectsMalformedText) {
  EXPECT_THROW(Predicate::parse("m <"), InputError);
  EXPECT_THROW(Predicate::parse("m 3"), InputError);
  EXPECT_THROW(Predicate::parse("(m < 3"), InputError);
  EXPECT_THROW(Predicate::parse("m < 3 extra"), InputError);
}

// Deep nesting once overflowed the stack (SIGSEGV): it is refused with an InputError, and long flat
// chains (kept as one node) evaluate, list names and destroy without deep recursion.
TEST(Predicate, BoundsNestingAndHandlesLongChains) {
  auto expect_too_deep = [](const std::string& text) {
    try {
      Predicate::parse(text);
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_EQ(e.source(), "--fit-where");
      EXPECT_NE(std::string(e.what()).find("nested more than 100 deep"), std::string::npos) << e.what();
      EXPECT_LT(std::string(e.what()).size(), 300u);
    }
  };
  expect_too_deep(std::string(10000, '(') + "n<=1e9" + std::string(10000, ')'));
  expect_too_deep(std::string(100000, '!') + "n<=1e9");
  auto lookup = [](std::string_view) { return 1.0; };
  EXPECT_TRUE(Predicate::parse(std::string(100, '(') + "n<=1e9" + std::string(100, ')'))(lookup));
  EXPECT_TRUE(Predicate::parse(std::string(100, '!') + "n<=1e9")(lookup));
  std::string chain = "n<=2";
  for (int i = 0; i < 100000; ++i) chain += i % 2 ? " && n<=2" : " || m>0";
  {
    Predicate p = Predicate::parse(chain);
    EXPECT_TRUE(p(lookup));
    EXPECT_EQ(p.names(), (std::vector<std::string>{"n", "m"}));
  }
}

}  // namespace
}  // namespace scalelab
