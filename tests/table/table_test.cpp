#include "table/table.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

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
// its old contents there, and a directory or symlink in the way is treated as rename treats it.
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

  // A symlink is replaced by the file (rename's behaviour), its target left alone.
  fs::create_symlink(dir / "kept.json", dir / "link.json");
  write_file_atomic(dir / "link.json", "third\n");
  EXPECT_FALSE(fs::is_symlink(dir / "link.json"));
  EXPECT_EQ(read_file(dir / "link.json"), "third\n");
  EXPECT_EQ(read_file(dir / "kept.json"), "first\n");

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

}  // namespace
}  // namespace scalelab
