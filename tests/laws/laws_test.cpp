// Properties of the law functors themselves: limits the papers state, derivatives through Jets,
// and the registry.
#include <cmath>

#include <ceres/jet.h>
#include <gtest/gtest.h>

#include "laws/laws.h"

namespace scalelab::laws {
namespace {

TEST(Registry, ListsEveryLawOnceWithBoundsThatMakeSense) {
  const auto& all = registry();
  ASSERT_EQ(all.size(), std::tuple_size_v<Registry>);
  for (const auto& law : all) {
    EXPECT_EQ(find(law.name), &law);
    EXPECT_FALSE(law.formula.empty()) << law.name;
    EXPECT_FALSE(law.inputs.empty()) << law.name;
    for (const auto& p : law.parameters) {
      EXPECT_LT(p.lower, p.upper) << law.name << "." << p.name;
      if (p.scale == Scale::log) EXPECT_GT(p.lower, 0) << law.name << "." << p.name;
    }
  }
  for (auto name : {"rosenfeld2020", "pruning2021", "pruning2021_joint", "powerlaw", "kaplan2020", "chinchilla",
                    "bnsl", "m4"})
    EXPECT_NE(find(name), nullptr) << name;
  EXPECT_EQ(find("nonsense"), nullptr);
}

TEST(Rosenfeld2020, PaperParametersGiveAbout4point8PercentAtFullDataAndModel) {
  // science.md: CIFAR-10 ResNet (alpha 0.66, beta 0.53, b 0.0587, c_inf ~0, eta 19.77, eps0 0.9)
  // predicts ~4.8% at m = n = 1 (fractions of the full data set and largest model).
  const double p[] = {0.66, 0.0587, 0.53, 0.0, 19.77};
  const double x[] = {1.0, 1.0}, g[] = {0.9};
  EXPECT_NEAR(Rosenfeld2020{}(p, x, g), 0.048, 0.001);
  // Tiny data and model: the envelope saturates at the random-guess error.
  const double tiny[] = {1e-9, 1e-9};
  EXPECT_NEAR(Rosenfeld2020{}(p, tiny, g), 0.9, 1e-6);
}

TEST(Pruning2021, PlateausAtEpsNpForDenseAndEpsUpForSparseNetworks) {
  const double p[] = {0.9, 1.0, 1e-5};  // eps_up, gamma, p
  const double g[] = {0.001};           // eps_np: K = eps_up / eps_np = 900
  const double dense[] = {1.0}, sparse[] = {1e-12};
  EXPECT_NEAR(Pruning2021{}(p, dense, g), 0.001, 0.001 * 1e-3);
  EXPECT_NEAR(Pruning2021{}(p, sparse, g), 0.9, 0.9 * 1e-3);
  // Between the plateaus (p = 1e-5 << d << p K^(1/gamma) = 9e-3), a power law with slope -gamma in d;
  // the corrections are of order (p/d)^2 and (d/(p K))^2, about 1e-3 here.
  const double d1[] = {2e-4}, d2[] = {4e-4};
  EXPECT_NEAR(std::log(Pruning2021{}(p, d2, g) / Pruning2021{}(p, d1, g)) / std::log(2.0), -1.0, 0.01);
}

TEST(Pruning2021Joint, DependsOnDepthWidthAndDensityOnlyThroughTheInvariant) {
  const double p[] = {0.9, 2.0, 0.5, 1.5, 0.75};  // eps_up, gamma, p', phi, psi
  const double g[] = {0.1};
  // l^1.5 w^0.75 d is 4^1.5 * 16^0.75 * 0.01 = 0.64 both times.
  const double a[] = {0.01, 4.0, 16.0}, b[] = {0.04, 1.0, 16.0 * std::pow(2.0, 4.0 / 0.75) / 16.0};
  EXPECT_NEAR(Pruning2021Joint{}(p, a, g), Pruning2021Joint{}(p, b, g), 1e-12);
}

TEST(Bnsl, MatchesTheDirectFormulaWhereItDoesNotOverflow) {
  const double p[] = {0.41388, 2.27727, 0.055077, 5.66290, 612.584, 0.059193};
  for (double x : {1.0, 100.0, 612.584, 1000.0, 4095.0}) {
    double direct = p[0] + p[1] * std::pow(x, -p[2]) * std::pow(1 + std::pow(x / p[4], 1 / p[5]), -p[3] * p[5]);
    EXPECT_NEAR(Bnsl{}(p, &x, nullptr), direct, 1e-12 * direct) << x;
  }
}

TEST(Kaplan2020, MatchesTheDirectFormula) {
  const double p[] = {8.8e13, 0.076, 5.4e13, 0.095};  // Kaplan et al.'s fitted constants
  const double x[] = {1e9, 1e10};
  double direct = std::pow(std::pow(p[0] / x[0], p[1] / p[3]) + p[2] / x[1], p[3]);
  EXPECT_NEAR(Kaplan2020{}(p, x, nullptr), direct, 1e-12 * direct);
}

TEST(M4, SolvesItsImplicitEquation) {
  const double p[] = {0.05, 0.7, 3.0, -0.5};  // eps_inf, alpha, beta, c
  const double g[] = {0.9};
  for (double x : {1.0, 10.0, 1e4}) {
    double eps = M4{}(p, &x, g);
    ASSERT_GT(eps, p[0]);
    ASSERT_LT(eps, g[0]);
    EXPECT_NEAR((eps - p[0]) / std::pow(g[0] - eps, p[1]), p[2] * std::pow(x, p[3]), 1e-10) << x;
  }
}

// Automatic derivatives agree with central differences for every law at a typical point: the
// fitter relies on them, and the log-space and implicit (M4) forms are easy to get wrong.
template <typename Law>
void expect_jet_matches_finite_differences(std::vector<double> params, std::vector<double> inputs,
                                           std::vector<double> givens) {
  constexpr int N = static_cast<int>(Law::parameters.size());
  using Jet = ceres::Jet<double, N>;
  ASSERT_EQ(params.size(), static_cast<std::size_t>(N));
  Jet jets[N];
  for (int k = 0; k < N; ++k) jets[k] = Jet(params[k], k);
  Jet value = Law{}(jets, inputs.data(), givens.data());
  EXPECT_NEAR(value.a, Law{}(params.data(), inputs.data(), givens.data()), 1e-12);
  for (int k = 0; k < N; ++k) {
    auto up = params, down = params;
    double h = 1e-6 * std::max(1.0, std::abs(params[k]));
    up[k] += h;
    down[k] -= h;
    double numeric = (Law{}(up.data(), inputs.data(), givens.data()) - Law{}(down.data(), inputs.data(), givens.data())) / (2 * h);
    EXPECT_NEAR(value.v[k], numeric, 1e-5 * std::max(1.0, std::abs(numeric))) << Law::name << " d/d" << Law::parameters[k].name;
  }
}

TEST(Derivatives, JetsAgreeWithFiniteDifferences) {
  expect_jet_matches_finite_differences<Rosenfeld2020>({0.66, 0.0587, 0.53, 0.01, 19.77}, {0.25, 0.125}, {0.9});
  expect_jet_matches_finite_differences<Pruning2021>({0.9, 2.0, 0.01}, {0.02}, {0.08});
  expect_jet_matches_finite_differences<Pruning2021Joint>({0.9, 2.0, 0.5, 1.5, 0.75}, {0.02, 4, 2}, {0.08});
  expect_jet_matches_finite_differences<PowerLaw>({2.0, 0.5, 0.1}, {30.0}, {});
  expect_jet_matches_finite_differences<Kaplan2020>({8.8e13, 0.076, 5.4e13, 0.095}, {1e9, 1e10}, {});
  expect_jet_matches_finite_differences<Chinchilla>({1.69, 406.4, 0.34, 410.7, 0.28}, {1e9, 2e10}, {});
  expect_jet_matches_finite_differences<Bnsl>({0.41388, 2.27727, 0.055077, 5.66290, 612.584, 0.059193}, {500.0}, {});
  expect_jet_matches_finite_differences<M4>({0.05, 0.7, 3.0, -0.5}, {10.0}, {0.9});
}

}  // namespace
}  // namespace scalelab::laws
