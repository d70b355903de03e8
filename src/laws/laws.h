// The scaling laws scalelab fits. Each law is a functor templated on the scalar, so Ceres can
// differentiate it automatically (T = double or ceres::Jet):
//
//   template <typename T>
//   T operator()(const T* params, const double* inputs, const double* givens) const;
//
// beside static descriptions: its name, formula, inputs (from the table), givens (known constants
// or per-row values, never fitted), and parameters with bounds. Adding a law is one functor here
// and one entry in `Registry` at the bottom.
//
// Formulas are written in log space where a direct form overflows (x^(1/f) with small f, K^(2/gamma)
// with small gamma): the optimiser wanders through such corners on its way to the optimum.
#pragma once

#include <array>
#include <cmath>
#include <string_view>
#include <tuple>
#include <vector>

#include <ceres/jet.h>

namespace scalelab::laws {

// How the fitter maps an unbounded solver variable u onto [lower, upper]:
//   linear: p = lower + (upper - lower) * logistic(u)
//   log:    p = exp(log lower + (log upper - log lower) * logistic(u))   (positive, many decades)
// Starts are spread uniformly in p (linear) or in log p (log).
enum class Scale { linear, log };

struct Parameter {
  std::string_view name;
  double lower, upper;
  Scale scale;
  std::string_view meaning;
  // Where multi-start draws initial values; 0, 0: the whole bounds. Narrower than the bounds where
  // most of the bounded range is a plateau (envelope saturated at eps0 or collapsed to 0): a start
  // there has no gradient to follow and is wasted.
  double start_lower = 0, start_upper = 0;
  // >= 0: draw starts over the observed range of this input instead (a location on the input's
  // axis, such as a break point: starts far outside the data never see it move the fit).
  int start_within_input = -1;
};

// The value part of a scalar, for code that must branch or solve in plain doubles.
inline double value_of(double x) { return x; }
template <typename T, int N>
double value_of(const ceres::Jet<T, N>& x) { return x.a; }

// log(exp(a) + exp(b)) without overflow.
template <typename T>
T log_sum_exp(const T& a, const T& b) {
  using std::exp;
  using std::log;
  return value_of(a) > value_of(b) ? a + log(1.0 + exp(b - a)) : b + log(1.0 + exp(a - b));
}
// log(1 + exp(t)) without overflow.
template <typename T>
T softplus(const T& t) {
  return log_sum_exp(T(0.0), t);
}

// Laws that only ever see their inputs through log x also define
//   template <typename T> static T from_logs(const T* params, const double* log_inputs, const double* givens);
// and operator() takes the logs and calls it: the fitter takes each point's logs once, not once per
// evaluation (two libm log calls per point and evaluation were 15% of a rosenfeld2020 fit).
template <std::size_t N>
std::array<double, N> logs_of(const double* x) {
  std::array<double, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = std::log(x[i]);
  return out;
}
#define SCALELAB_LAW_FROM_LOGS                                                          \
  template <typename T>                                                               \
  T operator()(const T* p, const double* x, const double* g) const {                  \
    return from_logs(p, logs_of<inputs.size()>(x).data(), g);                          \
  }

// ---------------------------------------------------------------------------------------------------
// Rosenfeld et al. 2020, joint in data size m and model size n, with the envelope from the
// random-guess plateau. a = 1: scaling (a, b, c_inf, eta) together leaves the prediction unchanged,
// so one of them must be fixed; the paper fixes a, and so do we, so values compare with its tables.
struct Rosenfeld2020 {
  static constexpr std::string_view name = "rosenfeld2020";
  static constexpr std::string_view formula =
      "eps = eps0 * t / sqrt(t^2 + eta^2),  t = m^-alpha + b * n^-beta + c_inf  (a = 1)";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 2> inputs{"m", "n"};
  static constexpr std::array<std::string_view, 1> givens{"eps0"};
  static constexpr std::array<Parameter, 5> parameters{{
      {"alpha", 0.0, 4.0, Scale::linear, "data-size exponent"},
      {"b", 1e-8, 1e8, Scale::log, "model-size coefficient (a = 1)", 1e-4, 1e4},
      {"beta", 0.0, 4.0, Scale::linear, "model-size exponent"},
      {"c_inf", 1e-12, 1e4, Scale::log, "floor of t (lower bound ~0)", 1e-8, 1.0},
      {"eta", 1e-8, 1e8, Scale::log, "envelope: where the power law meets the eps0 plateau", 1e-3, 1e3},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double* g) {
    using std::exp;
    using std::sqrt;
    const T& alpha = p[0], &b = p[1], &beta = p[2], &c_inf = p[3], &eta = p[4];
    const double eps0 = g[0];
    // m^-alpha as exp(-alpha log m): for Jets, half the cost of pow(double, Jet).
    T t = exp(-alpha * log_x[0]) + b * exp(-beta * log_x[1]) + c_inf;
    return eps0 * t / sqrt(t * t + eta * eta);
  }
  SCALELAB_LAW_FROM_LOGS
};

// Rosenfeld et al. 2021, one network pruned to density d. eps_np (the unpruned network's error) is
// given per row; eps_up (the high-error plateau) is fitted.
//   eps = eps_np * ((d^2 + p^2 K^(2/gamma)) / (d^2 + p^2))^(gamma/2),  K = eps_up / eps_np
template <typename T>
T pruning_envelope(const T& log_density, const T& log_p, const T& gamma, const T& eps_up, double eps_np) {
  using std::exp;
  using std::log;
  T log_k = log(eps_up / eps_np);
  T upper = log_sum_exp(2.0 * log_density, 2.0 * log_p + 2.0 * log_k / gamma);
  T lower = log_sum_exp(2.0 * log_density, 2.0 * log_p);
  return eps_np * exp(0.5 * gamma * (upper - lower));
}

struct Pruning2021 {
  static constexpr std::string_view name = "pruning2021";
  static constexpr std::string_view formula =
      "eps = eps_np * |(d - j p (eps_up/eps_np)^(1/gamma)) / (d - j p)|^gamma";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 1> inputs{"d"};
  static constexpr std::array<std::string_view, 1> givens{"eps_np"};
  static constexpr std::array<Parameter, 3> parameters{{
      {"eps_up", 1e-4, 1e3, Scale::log, "high-error plateau (near random guess)"},
      {"gamma", 0.05, 20.0, Scale::log, "power-law slope in density"},
      {"p", 1e-8, 1e2, Scale::log, "density where the error leaves the eps_np plateau"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double* g) {
    using std::log;
    return pruning_envelope(T(log_x[0]), log(p[2]), p[1], p[0], g[0]);
  }
  SCALELAB_LAW_FROM_LOGS
};

// The joint pruning law: networks of depth l and width w pruned to density d behave alike when
// m* = l^phi * w^psi * d is equal; five global constants over all (d, l, w) points.
struct Pruning2021Joint {
  static constexpr std::string_view name = "pruning2021_joint";
  static constexpr std::string_view formula =
      "eps = eps_np * |(m* - j p (eps_up/eps_np)^(1/gamma)) / (m* - j p)|^gamma,  m* = l^phi w^psi d";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 3> inputs{"d", "l", "w"};
  static constexpr std::array<std::string_view, 1> givens{"eps_np"};
  static constexpr std::array<Parameter, 5> parameters{{
      {"eps_up", 1e-4, 1e3, Scale::log, "high-error plateau (near random guess)"},
      {"gamma", 0.05, 20.0, Scale::log, "power-law slope in the invariant m*"},
      {"p", 1e-8, 1e8, Scale::log, "invariant m* where the error leaves the eps_np plateau"},
      {"phi", -4.0, 4.0, Scale::linear, "depth exponent of the invariant"},
      {"psi", -4.0, 4.0, Scale::linear, "width exponent of the invariant"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double* g) {
    using std::log;
    T log_invariant = p[3] * log_x[1] + p[4] * log_x[2] + log_x[0];
    return pruning_envelope(log_invariant, log(p[2]), p[1], p[0], g[0]);
  }
  SCALELAB_LAW_FROM_LOGS
};

// Power law with a floor (Hestness et al. 2017 style), one input.
struct PowerLaw {
  static constexpr std::string_view name = "powerlaw";
  static constexpr std::string_view formula = "eps = a * x^-alpha + c";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 1> inputs{"x"};
  static constexpr std::array<std::string_view, 0> givens{};
  static constexpr std::array<Parameter, 3> parameters{{
      {"a", 1e-8, 1e8, Scale::log, "coefficient"},
      {"alpha", 0.0, 4.0, Scale::linear, "exponent"},
      {"c", 1e-12, 1e4, Scale::log, "irreducible floor (lower bound ~0)"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double*) {
    using std::exp;
    return p[0] * exp(-p[1] * log_x[0]) + p[2];
  }
  SCALELAB_LAW_FROM_LOGS
};

// Kaplan et al. 2020, loss in parameters N and data D.
struct Kaplan2020 {
  static constexpr std::string_view name = "kaplan2020";
  static constexpr std::string_view formula = "L = ((N_c / N)^(alpha_N / alpha_D) + D_c / D)^alpha_D";
  static constexpr std::string_view default_loss = "huber-log";
  static constexpr std::array<std::string_view, 2> inputs{"N", "D"};
  static constexpr std::array<std::string_view, 0> givens{};
  static constexpr std::array<Parameter, 4> parameters{{
      {"N_c", 1e-10, 1e20, Scale::log, "parameter-count scale (below 1: inputs in fractions, --normalize)"},
      {"alpha_N", 0.01, 3.0, Scale::linear, "parameter exponent"},
      {"D_c", 1e-10, 1e20, Scale::log, "data scale (below 1: inputs in fractions, --normalize)"},
      {"alpha_D", 0.01, 3.0, Scale::linear, "data exponent"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double*) {
    using std::exp;
    using std::log;
    const T& n_c = p[0], &alpha_n = p[1], &d_c = p[2], &alpha_d = p[3];
    T model_term = (alpha_n / alpha_d) * (log(n_c) - log_x[0]);
    T data_term = log(d_c) - log_x[1];
    return exp(alpha_d * log_sum_exp(model_term, data_term));
  }
  SCALELAB_LAW_FROM_LOGS
};

// Hoffmann et al. 2022 (Chinchilla, approach 3).
struct Chinchilla {
  static constexpr std::string_view name = "chinchilla";
  static constexpr std::string_view formula = "L = E + A / N^alpha + B / D^beta";
  static constexpr std::string_view default_loss = "huber-log";
  static constexpr std::array<std::string_view, 2> inputs{"N", "D"};
  static constexpr std::array<std::string_view, 0> givens{};
  static constexpr std::array<Parameter, 5> parameters{{
      {"E", 1e-6, 1e2, Scale::log, "irreducible loss"},
      {"A", 1e-4, 1e10, Scale::log, "parameter coefficient"},
      {"alpha", 0.0, 3.0, Scale::linear, "parameter exponent"},
      {"B", 1e-4, 1e10, Scale::log, "data coefficient"},
      {"beta", 0.0, 3.0, Scale::linear, "data exponent"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_x, const double*) {
    using std::exp;
    return p[0] + p[1] * exp(-p[2] * log_x[0]) + p[3] * exp(-p[4] * log_x[1]);
  }
  SCALELAB_LAW_FROM_LOGS
};

// Caballero et al. 2023, broken neural scaling law with one break.
struct Bnsl {
  static constexpr std::string_view name = "bnsl";
  static constexpr std::string_view formula = "y = a + b * x^-c0 * (1 + (x / d1)^(1/f1))^(-c1 * f1)";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 1> inputs{"x"};
  static constexpr std::array<std::string_view, 0> givens{};
  static constexpr std::array<Parameter, 6> parameters{{
      {"a", 1e-12, 1e4, Scale::log, "limit at large x (lower bound ~0)"},
      {"b", 1e-8, 1e8, Scale::log, "coefficient"},
      {"c0", -1.0, 4.0, Scale::linear, "slope before the break"},
      {"c1", -4.0, 20.0, Scale::linear, "change of slope at the break"},
      {"d1", 1e-4, 1e12, Scale::log, "where the break happens", 0, 0, /*start_within_input=*/0},
      {"f1", 1e-3, 10.0, Scale::log, "sharpness of the break (smaller is sharper)"},
  }};

  template <typename T>
  static T from_logs(const T* p, const double* log_inputs, const double*) {
    using std::exp;
    using std::log;
    const T& a = p[0], &b = p[1], &c0 = p[2], &c1 = p[3], &d1 = p[4], &f1 = p[5];
    const double log_x = log_inputs[0];
    T bend = softplus((log_x - log(d1)) / f1);  // log(1 + (x/d1)^(1/f1))
    return a + exp(log(b) - c0 * log_x - c1 * f1 * bend);
  }
  SCALELAB_LAW_FROM_LOGS
};

// Alabdulmohsin et al. 2022 (M4): (eps - eps_inf) / (eps0 - eps)^alpha = beta * x^c, solved for eps.
// The left side grows monotonically in eps on (eps_inf, eps0), so the root is unique; it is found in
// doubles by bisection and then given its derivatives by one Newton step in T (implicit function
// theorem: at the root the step's value part is zero and its derivative part is exactly -F_p / F_eps).
struct M4 {
  static constexpr std::string_view name = "m4";
  static constexpr std::string_view formula = "(eps - eps_inf) / (eps0 - eps)^alpha = beta * x^c, solved for eps";
  static constexpr std::string_view default_loss = "divergence";
  static constexpr std::array<std::string_view, 1> inputs{"x"};
  static constexpr std::array<std::string_view, 1> givens{"eps0"};
  static constexpr std::array<Parameter, 4> parameters{{
      {"eps_inf", 1e-12, 1e4, Scale::log, "error floor at large x (must stay below eps0)"},
      {"alpha", 0.0, 4.0, Scale::linear, "shape of the approach to eps0"},
      {"beta", 1e-8, 1e8, Scale::log, "coefficient"},
      {"c", -4.0, 0.0, Scale::linear, "exponent in x (negative: error falls with x)"},
  }};

  template <typename T>
  T operator()(const T* p, const double* x, const double* g) const {
    using std::pow;
    const double eps0 = g[0];
    const T& eps_inf = p[0], &alpha = p[1], &beta = p[2], &c = p[3];
    // Residual F(eps) = eps - eps_inf - beta x^c (eps0 - eps)^alpha, increasing in eps.
    const double lo_bound = value_of(eps_inf);
    if (lo_bound >= eps0) return eps_inf;  // no root inside (eps_inf, eps0): a flat, finite answer
    const double rhs = value_of(beta) * std::pow(x[0], value_of(c));
    const double a = value_of(alpha);
    double lo = lo_bound, hi = eps0;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * eps0; ++i) {
      double mid = 0.5 * (lo + hi);
      (mid - lo_bound - rhs * std::pow(eps0 - mid, a) > 0 ? hi : lo) = mid;
    }
    const double root = 0.5 * (lo + hi);
    const double gap = eps0 - root;
    if (gap <= 0) return T(root) + 0.0 * eps_inf;
    const double slope = 1.0 + rhs * a * std::pow(gap, a - 1.0);  // dF/d eps at the root
    T residual = root - eps_inf - beta * pow(x[0], c) * pow(gap, alpha);
    return root - residual / slope;
  }
};

#undef SCALELAB_LAW_FROM_LOGS

// ---------------------------------------------------------------------------------------------------
// The registry: every law scalelab knows. Add a law here and it is listed, fitted and predicted.
using Registry = std::tuple<Rosenfeld2020, Pruning2021, Pruning2021Joint, PowerLaw, Kaplan2020, Chinchilla,
                            Bnsl, M4>;

// A law described at run time (for listing, validation and prediction without templates).
struct LawInfo {
  std::string_view name, formula, default_loss;
  std::vector<std::string_view> inputs, givens;
  std::vector<Parameter> parameters;
  // Evaluates the law in doubles.
  double (*evaluate)(const double* params, const double* inputs, const double* givens);
};

template <typename Law>
LawInfo describe() {
  return LawInfo{Law::name,
                 Law::formula,
                 Law::default_loss,
                 {Law::inputs.begin(), Law::inputs.end()},
                 {Law::givens.begin(), Law::givens.end()},
                 {Law::parameters.begin(), Law::parameters.end()},
                 [](const double* p, const double* x, const double* g) { return Law{}(p, x, g); }};
}

const std::vector<LawInfo>& registry();
const LawInfo* find(std::string_view name);  // nullptr when unknown

// Calls visitor(Law{}) with the registered law called `name`; returns false when there is none.
template <typename Visitor>
bool visit(std::string_view name, Visitor&& visitor) {
  return std::apply(
      [&](auto... law) { return ((decltype(law)::name == name ? (visitor(law), true) : false) || ...); },
      Registry{});
}

}  // namespace scalelab::laws
