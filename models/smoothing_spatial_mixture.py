"""Summaries of a per-cell Gaussian mixture on the logit scale (internal).

After the hyperparameters are integrated out, the posterior of eta_i is
``sum_k w_k N(m_ik, v_ik)``.  On the SRB scale (``SRB = 100 exp(eta)``): mean
``sum_k w_k 100 exp(m + v / 2)``, ``prob_above = sum_k w_k Phi((m - log(level / 100)) / sd)``
(both exact for the mixture), and equal-tailed interval ends from the mixture quantiles,
found by safeguarded Newton iterations on the mixture CDF (bracketed by the components'
own quantiles, so the answer is always inside the bracket).
"""
from __future__ import annotations

import numpy as np
from scipy import special

QUANTILE_STEPS = 60   # bisection alone would need ~40 for the bracket down to 1e-12
QUANTILE_TOL = 1e-12


def mixture_summary(w, m, v, alert_level: float, confidence: float):
    """(mean, lo, hi, prob) per cell for weights w (pools, K), means/variances (K, pools, c)."""
    W = np.moveaxis(w, 1, 0)[:, :, None]
    sd = np.sqrt(v)
    mean = 100.0 * np.sum(W * np.exp(m + 0.5 * v), 0)
    # a weighted sum of probabilities can round to 1 + 2e-16: keep it a probability
    prob = np.clip(np.sum(W * special.ndtr((m - np.log(alert_level / 100.0)) / sd), 0), 0.0, 1.0)
    tail = 0.5 - confidence / 2.0
    lo = _quantile(W, m, sd, tail)
    hi = _quantile(W, m, sd, 1.0 - tail)
    return mean, 100.0 * np.exp(lo), 100.0 * np.exp(hi), prob


def _quantile(W, m, sd, level):
    """The ``level`` quantile of the mixture: Newton inside a shrinking bracket.

    Iterates only on the cells not yet within QUANTILE_TOL (on the logit) of the root.
    """
    z = special.ndtri(level)
    each = m + z * sd
    low, high = each.min(0).ravel(), each.max(0).ravel()   # the quantile lies between these
    shape = each.shape[1:]
    W = np.broadcast_to(W, each.shape).reshape(each.shape[0], -1)
    m, sd = m.reshape(each.shape[0], -1), sd.reshape(each.shape[0], -1)
    x = np.sum(W * each.reshape(each.shape[0], -1), 0)
    live = np.arange(x.size)
    for _ in range(QUANTILE_STEPS):
        ml, sl, wl, xl = m[:, live], sd[:, live], W[:, live], x[live]
        u = (xl[None] - ml) / sl
        gap = np.sum(wl * special.ndtr(u), 0) - level
        dens = np.sum(wl * np.exp(-0.5 * u * u) / sl, 0) / np.sqrt(2 * np.pi)
        lo_l = np.where(gap < 0, xl, low[live])
        hi_l = np.where(gap > 0, xl, high[live])
        step = xl - gap / np.maximum(dens, 1e-300)
        inside = (step > lo_l) & (step < hi_l)
        new = np.where(inside, step, 0.5 * (lo_l + hi_l))
        x[live], low[live], high[live] = new, lo_l, hi_l
        live = live[(np.abs(new - xl) > QUANTILE_TOL) & (hi_l - lo_l > QUANTILE_TOL)]
        if live.size == 0:
            break
    return x.reshape(shape)
