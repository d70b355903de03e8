// The report's charts hold the store's numbers (issue 18): a demo run by the fake worker (25 cells, 2
// seeds, its fit.json), drawn; every chart's data checked against the store and the fit, count and value.
#include <gtest/gtest.h>

#include <set>

#include "fit/fit.h"
#include "report/charts.h"
#include "sweep/results.h"
#include "tests/sweep/sweep_fixture.h"

namespace scalelab {
namespace {

using namespace scalelab::testing;
using Json = nlohmann::json;

struct ReportFixture : SweepFixture {
  void SetUp() override {
    SweepFixture::SetUp();
    spit(spec, grid_spec("0.03125, 0.0625, 0.125, 0.25, 0.5", "0.0625, 0.125, 0.25, 0.5, 1", "1, 2"));
    auto r = run({"demo", "--spec", spec.string(), "--dir", dir.string(), "--jobs", "2"}, env(5), tmp.path());
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  const Chart& chart(const Report& report, const std::string& id) {
    for (const auto& c : report.charts)
      if (c.id == id) return c;
    throw std::runtime_error("no chart " + id);
  }
  // The values of every layer of a chart's spec, concatenated.
  static std::vector<Json> values(const Chart& c, const std::string& mark_type = "") {
    std::vector<Json> out;
    auto take = [&](const Json& spec) {
      if (!spec.contains("data")) return;
      const Json mark = spec.value("mark", Json());
      const std::string type = mark.is_string() ? mark.get<std::string>() : mark.is_object() ? mark.value("type", "") : "";
      if (!mark_type.empty() && type != mark_type) return;
      for (const auto& v : spec["data"]["values"]) out.push_back(v);
    };
    take(c.spec);
    if (c.spec.contains("layer"))
      for (const auto& layer : c.spec["layer"]) take(layer);
    return out;
  }
};

TEST_F(ReportFixture, EveryChartHoldsTheStoresNumbers) {
  const ReportInputs in = read_report_inputs(dir);
  ASSERT_TRUE(in.fit);
  const Report report = build_report(in);
  std::set<std::string> ids;
  for (const auto& c : report.charts) ids.insert(c.id);
  EXPECT_EQ(ids, (std::set<std::string>{"error-vs-data", "error-vs-model", "divergence", "parameters", "compute",
                                        "seed-spread", "targets"}));

  std::vector<std::string> warnings;
  const Table cells = cell_table(dir, &warnings);
  ASSERT_EQ(cells.rows(), 25u);
  // (a): one point per cell, its mean error; the held-out ones with their intervals; law lines.
  const auto points = values(chart(report, "error-vs-data"), "point");
  ASSERT_EQ(points.size(), 25u);
  for (std::size_t r = 0; r < cells.rows(); ++r) {
    const double m = cells.number(r, cells.column("samples")), error = cells.number(r, cells.column("test_error"));
    int found = 0;
    for (const auto& p : points)
      if (p["x"] == m && p["error"] == error && p["role"] == cells.at(r, "role")) ++found;
    EXPECT_EQ(found, 1) << "cell " << r;
  }
  const auto held_out = std::count_if(points.begin(), points.end(), [](const Json& p) { return p["role"] == "held_out"; });
  EXPECT_EQ(values(chart(report, "error-vs-data"), "rule").size(), std::size_t(held_out));
  EXPECT_GT(values(chart(report, "error-vs-data"), "line").size(), 25u);
  EXPECT_EQ(values(chart(report, "error-vs-model"), "point").size(), 25u);
  // (c): every fit point, its divergence in percent.
  const auto divergences = values(chart(report, "divergence"), "point");
  ASSERT_EQ(divergences.size(), in.fit->points.size());
  for (std::size_t i = 0; i < divergences.size(); ++i) {
    EXPECT_DOUBLE_EQ(divergences[i]["divergence"].get<double>(), 100 * in.fit->points[i].divergence);
    EXPECT_EQ(divergences[i]["role"] == "fitted", in.fit->points[i].fitted);
    if (in.fit->points[i].fitted) EXPECT_EQ(divergences[i]["distance"], 0.0);
  }
  // (d): the fit's parameters, values and intervals.
  const auto params = values(chart(report, "parameters"));
  ASSERT_EQ(params.size(), in.fit->parameters.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i]["parameter"], in.fit->parameters[i].name);
    EXPECT_EQ(params[i]["value"], in.fit->parameters[i].value);
    EXPECT_EQ(params[i]["p05"], in.fit->parameters[i].interval->p05);
  }
  // (e): each cell's planned cost, summing to the grid's.
  double total = 0, charted = 0;
  for (std::size_t r = 0; r < cells.rows(); ++r) total += cells.number(r, cells.column("cost"));
  for (const auto& v : values(chart(report, "compute"))) charted += v["flops"].get<double>();
  EXPECT_DOUBLE_EQ(charted, total);
  // (f): one point per finished run.
  EXPECT_EQ(values(chart(report, "seed-spread")).size(), std::size_t(2 * 25));
  // The selector's chart: both targets of every cell (the fake worker reports test_loss too), and the
  // selector offering exactly them.
  const auto& targets = chart(report, "targets");
  ASSERT_EQ(targets.spec["data"]["values"].size(), 50u);
  EXPECT_EQ(targets.spec["params"][0]["bind"]["options"], Json::array({"test_error", "test_loss"}));
  const Table with_loss = cell_table(dir, &warnings, {"test_loss"});
  for (const auto& v : targets.spec["data"]["values"]) {
    int found = 0;
    for (std::size_t r = 0; r < with_loss.rows(); ++r)
      if (v["x"] == with_loss.number(r, with_loss.column("samples")) && v["n"] == with_loss.number(r, with_loss.column("params")) &&
          v["value"] == with_loss.number(r, with_loss.column(v["target"].get<std::string>())))
        ++found;
    EXPECT_EQ(found, 1) << v.dump();
  }
  // The header says what was swept and fitted.
  std::string header;
  for (const auto& line : report.header) header += line + "\n";
  EXPECT_NE(header.find("swept: 25 cells, 50 runs"), std::string::npos) << header;
  EXPECT_NE(header.find("rosenfeld2020"), std::string::npos) << header;
  EXPECT_NE(header.find("predicted (held out)"), std::string::npos) << header;
}

TEST_F(ReportFixture, AFitFileAloneIsDrawnFromItsPoints) {
  const ReportInputs in = read_report_inputs(dir / "fit.json");
  EXPECT_EQ(in.cells.rows(), 0u);
  const Report report = build_report(in);
  EXPECT_EQ(values(chart(report, "error-vs-data"), "point").size(), in.fit->points.size());
  EXPECT_THROW(read_report_inputs(tmp / "nothing-here"), InputError);
}


// The theory lab's Nyquist CSV (docs/theory.md) is a report input of its own: one chart, every point
// drawn (exact recoveries at the 1e-32 floor), and per learner the m from which it stays below 1e-8.
TEST(NyquistReport, OneChartWithTheReachOfEveryLearner) {
  const fs::path csv = fs::temp_directory_path() / ("scalelab_nyquist_report_" + std::to_string(::getpid()) + ".csv");
  write_file_atomic(csv, "learner,sampling,learner_bandwidth,learner_index,m,relative_error,dim,bandwidth,nyquist_count\n"
                         "nyquist-lsq,random,1,0,2,0.5,1,1,3\n"
                         "nyquist-lsq,random,1,0,3,0,1,1,3\n"
                         "nyquist-lsq,random,1,0,4,1e-30,1,1,3\n"
                         "kernel-ridge,random,-1,1,2,0.9,1,1,3\n"
                         "kernel-ridge,random,-1,1,3,1e-9,1,1,3\n"
                         "kernel-ridge,random,-1,1,4,2e-8,1,1,3\n");
  const ReportInputs in = read_report_inputs(csv);
  fs::remove(csv);
  const Report report = build_report(in);
  ASSERT_EQ(report.charts.size(), 1u);
  const Chart& chart = report.charts[0];
  EXPECT_EQ(chart.id, "nyquist");
  EXPECT_EQ(chart.spec["layer"][0]["data"]["values"].size(), 6u);
  EXPECT_EQ(chart.spec["layer"][0]["data"]["values"][1]["error"].get<double>(), 1e-32);
  ASSERT_EQ(chart.rows.size(), 2u);
  EXPECT_EQ(chart.rows[0], (std::vector<std::string>{"nyquist-lsq B'=1", "3", "4", "1e-30"}));
  EXPECT_EQ(chart.rows[1], (std::vector<std::string>{"kernel-ridge", "never in range", "4", "2e-08"}));
  EXPECT_NE(report.header.at(0).find("d = 1, B = 1"), std::string::npos);
}

TEST(NyquistReport, ACsvWithoutTheColumnsIsRefusedNamingOne) {
  const fs::path csv = fs::temp_directory_path() / ("scalelab_not_nyquist_" + std::to_string(::getpid()) + ".csv");
  write_file_atomic(csv, "samples,test_error\n1,0.5\n");
  try {
    read_report_inputs(csv);
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("learner"), std::string::npos) << e.what();
  }
  fs::remove(csv);
}

}  // namespace
}  // namespace scalelab
