// Tables generated from a law with known parameters, optionally with multiplicative noise.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "laws/laws.h"
#include "table/table.h"

namespace scalelab::testing {

struct Synthetic {
  std::vector<std::string> input_columns;    // one per law input
  std::vector<std::vector<double>> inputs;   // one vector per point
  std::vector<std::string> given_columns;    // per-row givens (empty: none)
  std::vector<std::vector<double>> givens;   // one vector per point, when given_columns is set
  double noise = 0;                          // relative: y *= 1 + noise * N(0, 1)
  unsigned seed = 7;
};

// Evaluates `law` with `params` at every point and returns the table with column "y".
inline Table synthetic_table(const laws::LawInfo& law, const std::vector<double>& params, const Synthetic& s,
                             const std::vector<double>& constant_givens = {}) {
  std::vector<std::string> header = s.input_columns;
  header.insert(header.end(), s.given_columns.begin(), s.given_columns.end());
  header.push_back("y");
  Table table(header, "synthetic.csv");
  std::mt19937 engine(s.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::size_t i = 0; i < s.inputs.size(); ++i) {
    const std::vector<double>& g = s.given_columns.empty() ? constant_givens : s.givens[i];
    double y = law.evaluate(params.data(), s.inputs[i].data(), g.data());
    if (s.noise > 0) y *= 1 + s.noise * normal(engine);
    std::vector<std::string> cells;
    for (double x : s.inputs[i]) cells.push_back(format_number(x));
    if (!s.given_columns.empty())
      for (double v : s.givens[i]) cells.push_back(format_number(v));
    cells.push_back(format_number(y));
    table.add_row(cells, static_cast<int>(i) + 2);
  }
  return table;
}

// Every combination of the values, first axis slowest.
inline std::vector<std::vector<double>> grid(const std::vector<std::vector<double>>& axes) {
  std::vector<std::vector<double>> out{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<double>> next;
    for (const auto& prefix : out)
      for (double v : axis) {
        next.push_back(prefix);
        next.back().push_back(v);
      }
    out = std::move(next);
  }
  return out;
}

inline std::vector<double> geometric(double first, double ratio, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(first * std::pow(ratio, i));
  return out;
}

}  // namespace scalelab::testing
