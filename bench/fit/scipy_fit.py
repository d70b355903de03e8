#!/usr/bin/python3
"""The scipy baseline for bench/fit/run.sh: rosenfeld2020 on the same CSV from the same starts.

usage: scipy_fit.py DATA.csv STARTS.json {natural|transformed}

natural:     scipy.optimize.least_squares(method="trf") on the parameters themselves, with bounds,
             the way a scipy user would write it.
transformed: least_squares(method="lm") on exactly scalelab's problem: the same logistic /
             log-logistic reparametrisation of the bounds, so both minimise the same function.
Prints the best objective (sum of squared divergences) over the starts and how many starts reached
it within 1e-4 relative.
"""
import csv
import json
import sys

import numpy as np
from scipy.optimize import least_squares

EPS0 = 0.9
# name, lower, upper, log scale: as in src/laws/laws.h (Rosenfeld2020::parameters)
BOUNDS = [("alpha", 0.0, 4.0, False), ("b", 1e-8, 1e8, True), ("beta", 0.0, 4.0, False),
          ("c_inf", 1e-12, 1e4, True), ("eta", 1e-8, 1e8, True)]


def law(p, m, n):
    alpha, b, beta, c_inf, eta = p
    t = m ** -alpha + b * n ** -beta + c_inf
    return EPS0 * t / np.sqrt(t * t + eta * eta)


def to_bounded(u):
    out = []
    for value, (_, lo, hi, log) in zip(u, BOUNDS):
        s = 1.0 / (1.0 + np.exp(-value))
        out.append(np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * s) if log else lo + (hi - lo) * s)
    return np.array(out)


def to_unbounded(p):
    out = []
    for value, (_, lo, hi, log) in zip(p, BOUNDS):
        s = (np.log(value) - np.log(lo)) / (np.log(hi) - np.log(lo)) if log else (value - lo) / (hi - lo)
        s = min(max(s, 1e-12), 1 - 1e-12)
        out.append(np.log(s / (1 - s)))
    return np.array(out)


def main():
    data_path, starts_path, mode = sys.argv[1:4]
    with open(data_path) as f:
        rows = list(csv.DictReader(f))
    m = np.array([float(r["m"]) for r in rows])
    n = np.array([float(r["n"]) for r in rows])
    y = np.array([float(r["error"]) for r in rows])
    with open(starts_path) as f:
        starts = json.load(f)["start_points"]

    def divergence(p):
        return (law(p, m, n) - y) / y

    objectives = []
    with np.errstate(all="ignore"):
        for start in starts:
            try:
                if mode == "natural":
                    lower = [lo for _, lo, _, _ in BOUNDS]
                    upper = [hi for _, _, hi, _ in BOUNDS]
                    fit = least_squares(divergence, np.clip(start, lower, upper), bounds=(lower, upper), method="trf")
                    r = divergence(fit.x)
                else:
                    fit = least_squares(lambda u: divergence(to_bounded(u)), to_unbounded(start), method="lm")
                    r = divergence(to_bounded(fit.x))
                objectives.append(float(r @ r) if np.all(np.isfinite(r)) else float("inf"))
            except (ValueError, FloatingPointError):
                objectives.append(float("inf"))
    best = min(objectives)
    reached = sum(o <= best + max(1e-4 * best, 1e-14 * len(y)) for o in objectives)
    print(f"objective {best:.10g} starts_at_best {reached} of {len(starts)}")


if __name__ == "__main__":
    main()
