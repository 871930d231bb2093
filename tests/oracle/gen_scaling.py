#!/usr/bin/env python3
"""Generate the committed RoPE-scaling reference data in tests/data/scaling_*.txt.

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_scaling.py

Writes scaling_linear.txt, scaling_ntk.txt, scaling_dynamic.txt, scaling_yarn.txt,
scaling_llama3.txt, scaling_longrope.txt, scaling_freq_factors.txt (one case per line: the
parameters, the attention factor and every scaled inverse frequency, in two modes) and
scaling_rotate.txt (head vectors rotated under those scalings). Deterministic (fixed seeds, no
timestamps). Needs Python 3 with mpmath and numpy; the C++ tests only read the text files.

Everything is written from the upstream code's formulas, never from include/posenc: HF
transformers `modeling_rope_utils.py` (`_compute_linear_scaling_rope_parameters`,
`_compute_dynamic_ntk_parameters`, `_compute_yarn_parameters` with `get_mscale`,
`_compute_longrope_parameters`, `_compute_llama3_parameters`) and its float32 arithmetic; vLLM
`rotary_embedding/dynamic_ntk_scaling_rope.py` (served-length dynamic NTK) and
`dynamic_ntk_alpha_rope.py`; llama.cpp `ggml.c:ggml_rope_yarn_corr_dims` and `ggml-cpu`
`rope_yarn` (ggml's YaRN variant); the papers (YaRN arXiv 2309.00071, LongRoPE 2402.13753):

  exact mode    every value is the exact-math value (mpmath, 256 and 512 bits, both must agree)
                rounded once: RN64 for inverse frequencies and attention factors.
  hf_f32 mode   an emulation of HF transformers' float32 torch arithmetic: every float32
                operation is computed exactly on rationals and rounded to binary32 (RN32);
                float32 pow is the correctly rounded powf (numpy's np.power uses SVML on this
                machine and is NOT glibc powf); Python-double steps (math.log, ** on floats) are
                the correctly rounded double results. The script asserts, whenever the local
                libm is loadable through ctypes, that glibc powf / logf / pow / log give these
                same correctly rounded values on every input used, and cross-checks the basic
                float32 operations against numpy.float32 arithmetic on a sample.

Each attention factor is also written as af_f32 = RN32(the value HF's Python double code
computes); the script asserts that it equals RN32(the exact value), i.e. that a library computing
the attention factor exactly and rounding it to float32 at the multiplication (as HF does) is
bit-exact with HF.
"""

import ctypes
import ctypes.util
import math
import os
import random
import sys
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_rope import PRECS, hexf, mpf_to_fraction, rn32, rn64, round_fraction, round_mp  # noqa: E402

GENERATOR = "tests/oracle/gen_scaling.py"
DATA_DIR = os.path.join("tests", "data")
NAN = float("nan")

# ----------------------------------------------------------------------------------------------
# libm cross-checks (glibc through ctypes; skipped, and reported, if libm cannot be loaded)
# ----------------------------------------------------------------------------------------------


def _libm():
    name = ctypes.util.find_library("m")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        for fn, t in (("powf", ctypes.c_float), ("logf", ctypes.c_float)):
            f = getattr(lib, fn)
            f.restype = t
            f.argtypes = [t] * (2 if fn == "powf" else 1)
        for fn in ("pow", "log"):
            f = getattr(lib, fn)
            f.restype = ctypes.c_double
            f.argtypes = [ctypes.c_double] * (2 if fn == "pow" else 1)
        return lib
    except (OSError, AttributeError):
        return None


LIBM = _libm()
CHECKS = {"powf": 0, "logf": 0, "pow": 0, "log": 0, "numpy_f32": 0}


def _libm_check(kind, got, want, args):
    if LIBM is None:
        return
    if got != want:
        raise RuntimeError("libm %s%r = %r differs from the correctly rounded %r; decide which "
                           "one the HF emulation should follow" % (kind, args, got, want))
    CHECKS[kind] += 1


# ----------------------------------------------------------------------------------------------
# float32 / double emulation (exact rationals, one rounding per operation)
# ----------------------------------------------------------------------------------------------


def F(x):
    return Fraction(x)


def f32(x):
    """RN32 of a rational / float."""
    return rn32(F(x))


def add32(a, b):
    return rn32(F(a) + F(b))


def sub32(a, b):
    return rn32(F(a) - F(b))


def mul32(a, b):
    return rn32(F(a) * F(b))


def div32(a, b):
    return rn32(F(a) / F(b))


def add64(a, b):
    return rn64(F(a) + F(b))


def sub64(a, b):
    return rn64(F(a) - F(b))


def mul64(a, b):
    return rn64(F(a) * F(b))


def div64(a, b):
    return rn64(F(a) / F(b))


_np_checks = random.Random(99)


def np_check(op, a, b, r):
    """Cross-check a float32 operation with numpy.float32 arithmetic (a sample of them)."""
    if _np_checks.random() > 0.05:
        return
    x, y = np.float32(a), np.float32(b)
    assert float(x) == a and float(y) == b
    ops = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y}
    z = ops[op]()
    assert z.dtype == np.float32 and float(z) == r, (op, a, b, r, z)
    CHECKS["numpy_f32"] += 1


def a32(a, b):
    r = add32(a, b)
    np_check("+", a, b, r)
    return r


def s32(a, b):
    r = sub32(a, b)
    np_check("-", a, b, r)
    return r


def m32(a, b):
    r = mul32(a, b)
    np_check("*", a, b, r)
    return r


def d32(a, b):
    r = div32(a, b)
    np_check("/", a, b, r)
    return r


HARD = [False]  # set by powf when its input is a hard case (see powf)
HARD_STATS = {"powf_calls": 0, "powf_hard": 0, "glibc_powf_not_cr": 0}


def powf(b, e):
    """Correctly rounded float32 pow of two float32 values.

    Hard cases: when the exact power lies within 2^-8 ulp of a rounding midpoint, a float32
    pow that is not correctly rounded (glibc powf: "0.82 ulp", torch's Sleef powf: 1 ulp) may
    round the other way. Such an input sets HARD[0]; the writers list the affected frequencies
    so the C++ test allows 1 ulp there (and only there). glibc powf is cross-checked on every
    other input and must agree with the correctly rounded value."""
    assert f32(b) == b and f32(e) == e
    r = round_mp(lambda: mp.power(mp.mpf(b), mp.mpf(e)), 24)
    HARD_STATS["powf_calls"] += 1
    with mp.workprec(200):
        v = mpf_to_fraction(mp.power(mp.mpf(b), mp.mpf(e)))
    ulp = Fraction(2) ** (math.frexp(r)[1] - 24)
    off = abs(v - F(r)) / ulp  # in [0, 1/2]
    hard = off > Fraction(1, 2) - Fraction(1, 256)
    if LIBM is not None:
        g = float(np.float32(LIBM.powf(b, e)))
        if g != r:
            HARD_STATS["glibc_powf_not_cr"] += 1
            if not hard:
                raise RuntimeError("glibc powf(%r, %r) = %r differs from the correctly rounded %r "
                                   "outside the hard-case band" % (b, e, g, r))
        else:
            CHECKS["powf"] += 1
    if hard:
        HARD_STATS["powf_hard"] += 1
        HARD[0] = True
    return r


def tracked(fn):
    """(value, hard) of one float32 computation."""
    HARD[0] = False
    v = fn()
    return v, HARD[0]


def f32_list(case, fn):
    """Fill case.inv_f32 with fn(k) and case.hard with the k whose pow was a hard case."""
    vals = [tracked(lambda: fn(k)) for k in range(case.r // 2)]
    case.inv_f32 = [v for v, _ in vals]
    case.hard = [k for k, (_, h) in enumerate(vals) if h]


def logf(x):
    assert f32(x) == x
    r = round_mp(lambda: mp.log(mp.mpf(x)), 24)
    if LIBM is not None:
        _libm_check("logf", float(np.float32(LIBM.logf(x))), r, (x,))
    return r


def pow64(x, y):
    """Correctly rounded double pow (= Python's ** on floats = glibc pow, asserted)."""
    r = round_mp(lambda: mp.power(mp.mpf(x), mp.mpf(y)), 53)
    assert float(x) ** float(y) == r, (x, y)
    if LIBM is not None:
        _libm_check("pow", LIBM.pow(x, y), r, (x, y))
    return r


def log64(x):
    r = round_mp(lambda: mp.log(mp.mpf(x)), 53)
    assert math.log(x) == r, x
    if LIBM is not None:
        _libm_check("log", LIBM.log(x), r, (x,))
    return r


def sqrt64(x):
    r = round_mp(lambda: mp.sqrt(mp.mpf(x)), 53)
    assert math.sqrt(x) == r
    return r


def exact(fn):
    """RN64 of an exact-math expression (fn evaluated by mpmath at the context precision)."""
    return round_mp(fn, 53)


PI64 = rn64(Fraction(mpf_to_fraction(mp.pi)))  # math.pi
assert PI64 == math.pi
with mp.workprec(600):
    PI_FR = mpf_to_fraction(mp.pi)
PI32 = rn32(PI_FR)  # (float)M_PI


# ----------------------------------------------------------------------------------------------
# The unscaled ladder
# ----------------------------------------------------------------------------------------------


def theta_mp(b, r, k):
    return mp.power(mp.mpf(b), -mp.mpf(2 * k) / r)


def hf_e32(r, k):
    """arange(0, r, 2).float() / r : RN32(RN32(2k) / RN32(r))."""
    return d32(f32(2 * k), f32(r))


def hf_posfreq32(b, r, k):
    """base ** (arange(0, r, 2).float() / r): powf(RN32(base), e_k)."""
    return powf(f32(b), hf_e32(r, k))


def hf_default32(b, r, k):
    """HF's default inv_freq: 1.0 / (base ** e) = reciprocal(pow) (torch __rtruediv__)."""
    return d32(1.0, hf_posfreq32(b, r, k))


# ----------------------------------------------------------------------------------------------
# Scalings: exact values (mpmath) and HF float32 emulation
# ----------------------------------------------------------------------------------------------


def py_get_mscale(s, m=1.0):
    """HF get_mscale in Python doubles: 0.1 * m * math.log(s) + 1.0."""
    if s <= 1:
        return 1.0
    return add64(mul64(mul64(0.1, m), log64(s)), 1.0)


def mp_get_mscale(s, m=1.0):
    if s <= 1:
        return mp.mpf(1)
    return mp.mpf("0.1") * mp.mpf(m) * mp.log(mp.mpf(s)) + 1


class Case:
    """One scaling case: params (list of scalars), lists, extra, af pair, inv lists."""

    def __init__(self, hd, r, b):
        self.hd, self.r, self.b = hd, r, b
        self.params, self.lists, self.extra = [], [], []
        self.af_exact = self.af_f32 = None
        self.inv_exact, self.inv_f32 = [], []
        self.hard = []  # k whose float32 pow input is a hard case (1 ulp allowed in inv_f32)
        self.theta_exact_mp = None  # callable k -> mp value (for the rotation data)

    def pairs(self):
        return self.r // 2


def set_af(case, af_mp_fn, af_py):
    """Exact attention factor (RN64) and HF's float32 view of the Python double value."""
    ex = exact(af_mp_fn)
    case.af_exact = ex
    case.af_f32 = rn32(F(af_py))
    if rn32(F(ex)) != case.af_f32:
        raise RuntimeError("attention factor: RN32(exact) %r != RN32(HF double) %r"
                           % (ex, af_py))


# --- linear -----------------------------------------------------------------------------------


def linear_case(hd, r, b, s):
    c = Case(hd, r, b)
    c.params = [s]
    c.theta_exact_mp = lambda k: theta_mp(b, r, k) / mp.mpf(s)
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    f32_list(c, lambda k: d32(hf_default32(b, r, k), f32(s)))  # inv_freq /= factor
    set_af(c, lambda: mp.mpf(1), 1.0)
    return c


# --- static NTK ---------------------------------------------------------------------------------


def ntk_theta_mp(b, r, alpha, k):
    bb = mp.mpf(b) * mp.power(mp.mpf(alpha), mp.mpf(r) / (r - 2))
    return mp.power(bb, -mp.mpf(2 * k) / r)


def ntk_case(hd, r, b, alpha):
    c = Case(hd, r, b)
    c.params = [alpha]
    c.theta_exact_mp = lambda k: ntk_theta_mp(b, r, alpha, k)
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    # HF has no static NTK: "rope_theta = base'", base' a Python double.
    bp = mul64(b, pow64(alpha, div64(r, r - 2)))
    f32_list(c, lambda k: hf_default32(bp, r, k))
    set_af(c, lambda: mp.mpf(1), 1.0)
    return c


# --- dynamic NTK --------------------------------------------------------------------------------


def dynamic_case(hd, r, b, s, L0, current, served):
    c = Case(hd, r, b)
    c.params = [s, L0, current, served]
    L = served if served else current
    Leff = max(L, L0)

    def alpha_mp():
        return mp.mpf(s) * Leff / L0 - (mp.mpf(s) - 1)

    c.theta_exact_mp = lambda k: (mp.mpf(b) * mp.power(alpha_mp(), mp.mpf(r) / (r - 2))) ** (
        -mp.mpf(2 * k) / r)
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    ex = div64(r, r - 2)  # dim / (dim - 2), Python double
    if served == 0 and Leff > L0:
        # HF forward: seq_len is an int64 tensor; factor * seq_len / L0 - (factor - 1) is float32.
        t1 = m32(f32(s), f32(Leff))
        t2 = d32(t1, f32(L0))
        t3 = s32(t2, f32(sub64(s, 1.0)))
        # torch pow(float32 tensor, python float) on one element: std::pow(float, double).
        t4 = rn32(F(pow64(t3, ex)))
        assert not HARD[0]
        b32 = m32(f32(b), t4)
        f32_list(c, lambda k: d32(1.0, powf(b32, hf_e32(r, k))))
    else:
        # HF init (seq_len = max_position_embeddings) / vLLM's static base: Python doubles.
        x = sub64(div64(mul64(s, Leff), L0), sub64(s, 1.0))
        bp = mul64(b, pow64(x, ex))
        f32_list(c, lambda k: hf_default32(bp, r, k))
    set_af(c, lambda: mp.mpf(1), 1.0)
    return c


# --- YaRN ---------------------------------------------------------------------------------------


def corr_mp(r, b, L, n):
    return mp.mpf(r) * mp.log(mp.mpf(L) / (mp.mpf(n) * 2 * mp.pi)) / (2 * mp.log(mp.mpf(b)))


def corr_py(r, b, L, n):
    """HF find_correction_dim in Python doubles."""
    den = mul64(mul64(n, 2.0), PI64)
    return div64(mul64(r, log64(div64(L, den))), mul64(2.0, log64(b)))


def corr_ggml(r, b, L, n):
    """ggml_rope_yarn_corr_dim in float32."""
    t = m32(m32(f32(n), 2.0), PI32)
    q = d32(f32(L), t)
    return d32(m32(f32(r), logf(q)), m32(2.0, logf(f32(b))))


def yarn_bounds_exact(r, b, L, bf, bs, trunc, variant):
    """(low, high, width) as exact mp numbers."""
    if variant == 1:  # llama.cpp: float32 dims, always floor/ceil, ramp width max(0.001, hi-lo)
        lo = math.floor(corr_ggml(r, b, L, bf))
        hi = math.ceil(corr_ggml(r, b, L, bs))
        with mp.workprec(300):  # the float dims floor/ceil like the exact ones (robustness)
            assert lo == int(mp.floor(corr_mp(r, b, L, bf))), (r, b, L, bf)
            assert hi == int(mp.ceil(corr_mp(r, b, L, bs))), (r, b, L, bs)
        lo, hi = max(0, lo), min(r - 1, hi)
        w = max(mp.mpf(1) / 1000, mp.mpf(hi - lo))
        return mp.mpf(lo), mp.mpf(hi), w
    lo, hi = corr_mp(r, b, L, bf), corr_mp(r, b, L, bs)
    if trunc:
        for v in (lo, hi):  # floor/ceil are not within the evaluation error of an integer
            assert abs(v - mp.nint(v)) > mp.mpf(2) ** -(mp.prec - 40), v
        lo, hi = mp.floor(lo), mp.ceil(hi)
    lo, hi = max(lo, mp.mpf(0)), min(hi, mp.mpf(r - 1))
    w = (hi - lo) if lo != hi else mp.mpf(1) / 1000
    return lo, hi, w


def yarn_theta_mp(b, r, s, L, bf, bs, trunc, variant, k):
    lo, _hi, w = yarn_bounds_exact(r, b, L, bf, bs, trunc, variant)
    g = min(max((k - lo) / w, mp.mpf(0)), mp.mpf(1))
    t = theta_mp(b, r, k)
    return t * (1 - g) + t / mp.mpf(s) * g


def yarn_f32(b, r, s, L, bf, bs, trunc, variant, k_list):
    if variant == 1:
        lo = max(0, math.floor(corr_ggml(r, b, L, bf)))
        hi = min(r - 1, math.ceil(corr_ggml(r, b, L, bs)))
        w = max(0.001, float(hi - lo))
    else:
        lo, hi = corr_py(r, b, L, bf), corr_py(r, b, L, bs)
        if trunc:
            lo, hi = math.floor(lo), math.ceil(hi)  # Python ints
        lo, hi = max(lo, 0), min(hi, r - 1)
        if lo == hi:
            hi = add64(hi, 0.001)
        w = sub64(hi, lo)
    lo32, w32, sf = f32(lo), f32(w), f32(s)
    out = []
    for k in k_list:
        pf = hf_posfreq32(b, r, k)
        extrap = d32(1.0, pf)
        interp = d32(1.0, m32(sf, pf))
        lin = d32(s32(f32(k), lo32), w32)
        ramp = min(max(lin, 0.0), 1.0)
        ef = s32(1.0, ramp)
        out.append(a32(m32(interp, s32(1.0, ef)), m32(extrap, ef)))
    return out


def yarn_case(hd, r, b, s, L, bf=32.0, bs=1.0, trunc=1, variant=0, ms=NAN, msad=NAN, att=NAN):
    c = Case(hd, r, b)
    c.params = [s, L, bf, bs, trunc, variant, ms, msad, att]
    with mp.workprec(300):
        lo, hi, _w = yarn_bounds_exact(r, b, L, bf, bs, trunc, variant)
    c.extra = [exact(lambda: yarn_bounds_exact(r, b, L, bf, bs, trunc, variant)[0]),
               exact(lambda: yarn_bounds_exact(r, b, L, bf, bs, trunc, variant)[1])]
    c.theta_exact_mp = lambda k: yarn_theta_mp(b, r, s, L, bf, bs, trunc, variant, k)
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    f32_list(c, lambda k: yarn_f32(b, r, s, L, bf, bs, trunc, variant, [k])[0])
    has = lambda v: not math.isnan(v)  # noqa: E731
    if variant == 1:  # llama.cpp: mscale ignored; GGUF attn_factor multiplies
        def af_mp():
            if has(msad) and msad != 0:
                m = mp_get_mscale(s, 1.0) / mp_get_mscale(s, msad)
            else:
                m = mp_get_mscale(s)
            return m * mp.mpf(att) if has(att) else m
        # No HF double to emulate: the float32 view is RN32 of the exact value.
        ex = exact(af_mp)
        c.af_exact, c.af_f32 = ex, rn32(F(ex))
    else:
        if has(att):
            af_mp, af_py = (lambda: mp.mpf(att)), att
        elif has(ms) and has(msad) and ms != 0 and msad != 0:
            af_mp = lambda: mp_get_mscale(s, ms) / mp_get_mscale(s, msad)  # noqa: E731
            af_py = div64(py_get_mscale(s, ms), py_get_mscale(s, msad))
        else:
            af_mp, af_py = (lambda: mp_get_mscale(s)), py_get_mscale(s)
        set_af(c, af_mp, af_py)
    return c


# --- Llama-3 ------------------------------------------------------------------------------------


def llama3_theta_mp(b, r, s, lo, hi, L, k):
    t = theta_mp(b, r, k)
    wl = 2 * mp.pi / t
    if wl < mp.mpf(L) / hi:
        return t
    if wl > mp.mpf(L) / lo:
        return t / s
    if lo == hi:
        return t
    sig = (mp.mpf(L) / wl - lo) / (mp.mpf(hi) - lo)
    return (1 - sig) * t / s + sig * t


def llama3_f32(b, r, s, lo, hi, L, k):
    t = hf_default32(b, r, k)
    wl = m32(d32(1.0, t), f32(mul64(2.0, PI64)))  # 2 * math.pi / inv_freq = reciprocal * 2pi
    low_wl, high_wl = f32(div64(L, lo)), f32(div64(L, hi))  # python scalars compared in float32
    tl = d32(t, f32(s)) if wl > low_wl else t
    medium = (not wl < high_wl) and (not wl > low_wl)
    if not medium:
        return tl
    span = f32(sub64(hi, lo))
    if span == 0:
        sig = 0.0  # vLLM's guard (HF would divide by zero)
    else:
        sig = d32(s32(m32(d32(1.0, wl), f32(L)), f32(lo)), span)
    return a32(d32(m32(s32(1.0, sig), tl), f32(s)), m32(sig, tl))


def llama3_case(hd, r, b, s, lo, hi, L):
    c = Case(hd, r, b)
    c.params = [s, lo, hi, L]
    c.theta_exact_mp = lambda k: llama3_theta_mp(b, r, s, lo, hi, L, k)
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    f32_list(c, lambda k: llama3_f32(b, r, s, lo, hi, L, k))
    set_af(c, lambda: mp.mpf(1), 1.0)
    return c


# --- LongRoPE -----------------------------------------------------------------------------------


def longrope_case(hd, r, b, L0, s, att, current, served, short, long_):
    c = Case(hd, r, b)
    c.params = [L0, s, att, current, served]
    c.lists = [short, long_]
    sel = served if served else current
    f = long_ if sel > L0 else short
    c.theta_exact_mp = lambda k: theta_mp(b, r, k) / mp.mpf(f[k])
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    # 1.0 / (tensor(ext, float32) * base ** shape)
    f32_list(c, lambda k: d32(1.0, m32(f32(f[k]), hf_posfreq32(b, r, k))))
    if not math.isnan(att):
        set_af(c, lambda: mp.mpf(att), att)
    elif s <= 1:
        set_af(c, lambda: mp.mpf(1), 1.0)
    else:
        set_af(c, lambda: mp.sqrt(1 + mp.log(mp.mpf(s)) / mp.log(mp.mpf(L0))),
               sqrt64(add64(1.0, div64(log64(s), log64(L0)))))
    return c


# --- per-pair divisors --------------------------------------------------------------------------


def freq_case(hd, r, b, att, div):
    c = Case(hd, r, b)
    c.params = [att]
    c.lists = [div]
    c.theta_exact_mp = lambda k: theta_mp(b, r, k) / mp.mpf(div[k])
    c.inv_exact = [exact(lambda: c.theta_exact_mp(k)) for k in range(r // 2)]
    f32_list(c, lambda k: d32(hf_default32(b, r, k), f32(div[k])))
    ex = exact(lambda: mp.mpf(att))
    c.af_exact, c.af_f32 = ex, rn32(F(ex))
    return c


# ----------------------------------------------------------------------------------------------
# Grids
# ----------------------------------------------------------------------------------------------

GEOMS = [(hd, int(hd * p), b) for hd in (64, 128) for p in (1.0, 0.5) for b in (10000, 500000)]


def grid_linear():
    return [linear_case(hd, r, b, s) for hd, r, b in GEOMS for s in (1.0, 2.0, 3.0, 4.0, 16.0, 40.0)]


def grid_ntk():
    return [ntk_case(hd, r, b, a) for hd, r, b in GEOMS for a in (1.0, 1.5, 2.0, 4.0, 8.0)]


def grid_dynamic():
    out = []
    for hd, r, b in GEOMS:
        for s, L0 in ((1.0, 4096), (2.0, 4096), (4.0, 2048), (1.5, 4096)):
            for cur in (0, L0 // 2, L0, L0 + 1, 2 * L0, 3 * L0 + 123, 8 * L0):
                out.append(dynamic_case(hd, r, b, s, L0, cur, 0))
            for srv in (L0 // 2, L0, 4 * L0, 8 * L0 + 7):
                out.append(dynamic_case(hd, r, b, s, L0, 0, srv))
    return out


def grid_yarn():
    out = []
    for hd, r, b in GEOMS:
        for s in (1.0, 4.0, 32.0, 40.0):
            for L in (4096, 32768):
                for trunc in (1, 0):
                    for variant in (0, 1):
                        out.append(yarn_case(hd, r, b, s, L, trunc=trunc, variant=variant))
        out.append(yarn_case(hd, r, b, 16.0, 4096, bf=16.0, bs=2.0))
        out.append(yarn_case(hd, r, b, 2.5, 2048, bf=24.0, bs=1.5, trunc=0))
    # GPT-OSS (d = 64, base 150000, s = 32, L = 4096, truncate = false), and llama.cpp's view
    out.append(yarn_case(64, 64, 150000, 32.0, 4096, trunc=0))
    out.append(yarn_case(64, 64, 150000, 32.0, 4096, trunc=0, variant=1))
    # Qwen2.5 (d = 128, base 1e6, s = 4, L = 32768)
    out.append(yarn_case(128, 128, 1000000, 4.0, 32768))
    # attention-factor rules (DeepSeek-V3: s = 40, d = 64, base 1e4, L = 4096)
    for variant in (0, 1):
        for ms, msad, att in ((1.0, 1.0, NAN), (0.707, 1.0, NAN), (1.0, NAN, NAN), (NAN, 1.0, NAN),
                              (0.0, 1.0, NAN), (1.0, 0.0, NAN), (NAN, NAN, 1.0),
                              (NAN, NAN, 0.5), (1.0, 1.0, 1.25)):
            out.append(yarn_case(64, 64, 10000, 40.0, 4096, variant=variant, ms=ms, msad=msad,
                                 att=att))
    # degenerate ranges: low == high == 0 after clamping (L = 6), and low > high (huge L)
    for variant in (0, 1):
        out.append(yarn_case(64, 64, 10000, 4.0, 6, variant=variant))
        out.append(yarn_case(64, 64, 10000, 4.0, 100000000000, variant=variant))
    return out


def grid_llama3():
    out = []
    for hd, r, b in GEOMS:
        for s in (1.0, 8.0, 32.0):
            for lo, hi in ((1.0, 4.0), (2.0, 8.0), (1.0, 1.0)):
                for L in (8192, 2048):
                    out.append(llama3_case(hd, r, b, s, lo, hi, L))
    return out


def factor_lists(n, rng):
    short = [round(rng.uniform(1.0, 2.0), 4) for _ in range(n)]
    long_ = sorted(round(rng.uniform(1.0, 64.0), 4) for _ in range(n))
    return short, long_


def grid_longrope():
    rng = random.Random(31415)
    out = []
    for hd, r, b in GEOMS:
        short, long_ = factor_lists(r // 2, rng)
        ones = [1.0] * (r // 2)
        for s, att in ((32.0, NAN), (1.0, NAN), (8.0, 1.25)):
            for cur, srv in ((0, 0), (4096, 0), (4097, 0), (0, 4096), (0, 131072)):
                out.append(longrope_case(hd, r, b, 4096, s, att, cur, srv, short, long_))
        out.append(longrope_case(hd, r, b, 4096, 1.0, NAN, 8192, 0, ones, ones))
    return out


def grid_freq():
    rng = random.Random(2718)
    out = []
    for hd, r, b in GEOMS:
        div = [round(rng.uniform(0.5, 40.0), 5) for _ in range(r // 2)]
        out.append(freq_case(hd, r, b, 1.0, div))
        out.append(freq_case(hd, r, b, 1.25, div))
        out.append(freq_case(hd, r, b, 1.0, [1.0] * (r // 2)))
    return out


# ----------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------

COMMON_COLS = [
    "RN32/RN64 = round to nearest even to binary32/binary64; floating values are C99 hex floats",
    "(float.hex() minus trailing fraction zeros), exact; 'nan' marks an unset optional value;",
    "float32 values are written as the double of the same value; base is a decimal integer.",
    "Row: id head_dim rotary_dim base <params> [<lists>] [<extra>] af_exact af_f32",
    "     inv_exact[0..r/2) inv_f32[0..r/2) nhard hard_k[0..nhard)        (r = rotary_dim)",
    "af_exact  = RN64(exact attention factor)    af_f32 = RN32(HF's Python-double value)",
    "inv_exact = RN64(exact scaled base^(-2k/r))  (mpmath 256/512 bits)",
    "inv_f32   = HF transformers float32 arithmetic, emulated operation by operation",
    "hard_k    = pairs whose float32 pow input lies within 2^-8 ulp of a rounding midpoint: a",
    "            pow that is not correctly rounded (glibc powf, torch's Sleef) may differ by 1 ulp",
]


def fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, int):
        return "%d" % v
    return hexf(float(v))


def write_cases(name, title, param_doc, cases):
    path = os.path.join(DATA_DIR, name)
    lines = []
    for i, c in enumerate(cases):
        c.id = i
        toks = [str(i), str(c.hd), str(c.r), "%d" % c.b]
        toks += [fmt(p) for p in c.params]
        for lst in c.lists:
            toks += [fmt(float(v)) for v in lst]
        toks += [fmt(v) for v in c.extra]
        toks += [fmt(c.af_exact), fmt(c.af_f32)]
        toks += [fmt(v) for v in c.inv_exact]
        toks += [fmt(v) for v in c.inv_f32]
        toks += [str(len(c.hard))] + [str(k) for k in c.hard]
        lines.append(" ".join(toks))
    with open(path, "w") as f:
        f.write("# %s\n" % title)
        f.write("# generated by %s (do not edit; regenerate with /usr/bin/python3 %s)\n"
                % (GENERATOR, GENERATOR))
        f.write("# python %s, mpmath %s, numpy %s; mpmath working precisions %s bits\n"
                % (sys.version.split()[0], mpmath.__version__, np.__version__,
                   "/".join(str(p) for p in PRECS)))
        for line in COMMON_COLS:
            f.write("# %s\n" % line)
        for line in param_doc:
            f.write("# %s\n" % line)
        f.write("# records: %d\n" % len(lines))
        f.write("\n".join(lines) + "\n")
    return len(lines)


DOCS = {
    "linear": ["params: factor s", "exact: base^(-2k/r) / s", "f32: RN32(default_f32 / RN32(s))",
               "default_f32 = RN32(1 / powf(RN32(base), RN32(RN32(2k)/RN32(r))))"],
    "ntk": ["params: alpha", "exact: (base*alpha^(r/(r-2)))^(-2k/r)",
            "f32: default_f32 of base' = RN64(base * pow(alpha, RN64(r/(r-2)))) (HF: rope_theta = base')"],
    "dynamic": ["params: factor L0 current_length served_length",
                "exact: L = served or current, Leff = max(L, L0), alpha = s*Leff/L0 - (s-1),",
                "       (base*alpha^(r/(r-2)))^(-2k/r)",
                "f32: current mode and Leff > L0 (HF forward, float32 tensors):",
                "       t = RN32(RN32(RN32(RN32(s)*RN32(L))/RN32(L0)) - RN32(s-1)),",
                "       b32 = RN32(RN32(base) * RN32(pow64(t, RN64(r/(r-2))))),",
                "       RN32(1 / powf(b32, e_k));",
                "     otherwise (HF init, vLLM static): default_f32 of the Python double",
                "       base' = base * ((s*Leff/L0) - (s-1)) ** (r/(r-2))"],
    "yarn": ["params: factor L beta_fast beta_slow truncate variant mscale mscale_all_dim "
             "attention_factor",
             "  variant 0 = HF, 1 = llama.cpp (float32 logf dims, always floor/ceil, width",
             "  max(0.001, hi-lo), mscale ignored, attention_factor multiplies)",
             "extra: low high = exact-mode correction range after truncation and clamping",
             "exact: corr(n) = r ln(L/(2 pi n)) / (2 ln base); [low, high] floor/ceil if truncate,",
             "  clamped to [0, r-1]; width = high-low (0.001 if equal); g = clamp((k-low)/width,0,1);",
             "  theta (1-g) + theta/s g",
             "f32: bounds in Python doubles, ramp/blend in float32 as HF _compute_yarn_parameters",
             "af: explicit, else get_mscale(s,mscale)/get_mscale(s,mscale_all_dim) if both non-zero,",
             "  else 0.1 ln s + 1 (llama.cpp: mscale := 1, times explicit)"],
    "llama3": ["params: factor low_freq_factor high_freq_factor original_max_position",
               "exact: wl = 2 pi / theta; wl < L/high: theta; wl > L/low: theta/s; else",
               "  sigma = (L/wl - low)/(high - low), (1-sigma) theta/s + sigma theta",
               "f32: HF _compute_llama3_parameters in float32 (2pi/t = RN32(RN32(1/t)*RN32(2pi)))"],
    "longrope": ["params: L0 factor attention_factor current_length served_length",
                 "lists: short_factor[r/2] long_factor[r/2] (synthetic, seeded)",
                 "exact: theta / f_k, f = long if (served or current) > L0 else short",
                 "f32: RN32(1 / RN32(RN32(f_k) * powf(RN32(base), e_k)))",
                 "af: explicit, else 1 if s <= 1, else sqrt(1 + ln s / ln L0)"],
    "freq_factors": ["params: attention_factor", "lists: divisors c[r/2] (synthetic, seeded)",
                     "exact: theta / c_k", "f32: RN32(default_f32 / RN32(c_k))",
                     "af: the given value (af_f32 = RN32 of it)"],
}


# ----------------------------------------------------------------------------------------------
# Rotated vectors
# ----------------------------------------------------------------------------------------------

ROT_POS = (0, 1, 17, 4095, 100000, 1000003)
STORAGES = ("f32", "f64", "bf16", "f16")


def to_storage(v, storage):
    if storage == "f64":
        return v
    x32 = np.float32(v)
    if storage == "f32":
        return float(x32)
    if storage == "bf16":
        u = int(x32.view(np.uint32))
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
        return float(np.uint32(u).view(np.float32))
    return float(np.float16(x32))


def pair_index(layout, r, k):
    return (k, k + r // 2) if layout == "half_split" else (2 * k, 2 * k + 1)


def rotate_rows(tag, case, rng, which):
    """Rows for one case: exact mode in every storage, hf_f32 mode in f32 and bf16."""
    rows = []
    r, hd = case.r, case.hd
    assert not case.hard, (tag, case.id)
    combos = [("exact", s) for s in STORAGES] + [("hf_f32", "f32"), ("hf_f32", "bf16")]
    for li, layout in enumerate(("half_split", "interleaved")):
        for ci, (mode, storage) in enumerate(combos):
            pos = ROT_POS[(which + 3 * li + ci) % len(ROT_POS)]
            x = [to_storage(rng.uniform(-4.0, 4.0), storage) for _ in range(hd)]
            y, sc, dsc = list(x), [0.0] * hd, [0.0] * hd
            for k in range(r // 2):
                ia, ib = pair_index(layout, r, k)
                xa, xb = F(x[ia]), F(x[ib])
                if mode == "exact":
                    with mp.workprec(300):
                        th = case.theta_exact_mp(k)
                        ang = mp.mpf(pos) * th
                        m = mp.mpf(case.af_exact)
                        cv = mpf_to_fraction(m * mp.cos(ang))
                        sv = mpf_to_fraction(m * mp.sin(ang))
                        angle = mpf_to_fraction(ang)
                else:
                    a32_ = mul32(f32(pos), case.inv_f32[k])
                    cc = round_mp(lambda: mp.cos(mp.mpf(a32_)), 24)
                    ss = round_mp(lambda: mp.sin(mp.mpf(a32_)), 24)
                    if case.af_f32 != 1.0:
                        cc, ss = mul32(cc, case.af_f32), mul32(ss, case.af_f32)
                    cv, sv, angle = F(cc), F(ss), F(0)
                ya, yb = xa * cv - xb * sv, xa * sv + xb * cv
                y[ia], y[ib] = rn64(ya), rn64(yb)
                sc[ia] = rn64(abs(xa * cv) + abs(xb * sv))
                sc[ib] = rn64(abs(xa * sv) + abs(xb * cv))
                # angle-error sensitivity: |d y_a / d angle| = |x_a s + x_b c| <= |x_a s| + |x_b c|
                dsc[ia] = rn64((abs(xa * sv) + abs(xb * cv)) * abs(angle))
                dsc[ib] = rn64((abs(xa * cv) + abs(xb * sv)) * abs(angle))
            rows.append("%s %d %s %s %s %d %d %d %s %s %s %s" % (
                tag, case.id, mode, layout, storage, hd, r, pos,
                " ".join(fmt(v) for v in x), " ".join(fmt(v) for v in y),
                " ".join(fmt(v) for v in sc), " ".join(fmt(v) for v in dsc)))
    return rows


def write_rotate(path, picks):
    rng = random.Random(8675309)
    lines = []
    for which, (tag, case) in enumerate(picks):
        lines += rotate_rows(tag, case, rng, which)
    cols = [
        "Row: scaling id mode layout storage head_dim rotary_dim pos x[D] y[D] scale[D] dscale[D]",
        "scaling/id: the case (file scaling_<scaling>.txt, column id) whose parameters apply",
        "mode exact : cos/sin folded with the attention factor, exact math:",
        "             c = af_exact * cos(pos * theta'_k), s = af_exact * sin(...) (theta' unrounded)",
        "mode hf_f32: angle = RN32(RN32(pos) * inv_f32[k]), c = RN32(cos(angle)), s = RN32(sin(angle)),",
        "             then c = RN32(c * af_f32), s = RN32(s * af_f32) unless af_f32 == 1",
        "layout: half_split pairs (k, k + r/2); interleaved pairs (2k, 2k+1); channels >= r pass through",
        "storage: f32 f64 bf16 f16; x uniform in [-4, 4] (seeded) rounded to the storage type",
        "y[a] = RN64(x[a] c - x[b] s), y[b] = RN64(x[a] s + x[b] c) (exact from c, s; rounded once)",
        "scale[a] = RN64(|x[a] c| + |x[b] s|), scale[b] = RN64(|x[a] s| + |x[b] c|)",
        "dscale = sensitivity to the angle: (|x[a] s| + |x[b] c|) * |angle| for a (and symmetric),",
        "  0 in hf_f32 mode (the float32 angle is reproduced exactly there)",
    ]
    with open(path, "w") as f:
        f.write("# RoPE rotated vectors under the scalings\n")
        f.write("# generated by %s (do not edit; regenerate with /usr/bin/python3 %s)\n"
                % (GENERATOR, GENERATOR))
        f.write("# python %s, mpmath %s, numpy %s\n"
                % (sys.version.split()[0], mpmath.__version__, np.__version__))
        for c in cols:
            f.write("# %s\n" % c)
        f.write("# records: %d\n" % len(lines))
        f.write("\n".join(lines) + "\n")
    return len(lines)


def main():
    if not os.path.isdir(DATA_DIR):
        sys.exit("run from the repository root (no %s)" % DATA_DIR)
    grids = [
        ("linear", grid_linear, "Linear scaling (Position Interpolation)"),
        ("ntk", grid_ntk, "Static NTK-aware scaling"),
        ("dynamic", grid_dynamic, "Dynamic NTK scaling (HF current length / vLLM served length)"),
        ("yarn", grid_yarn, "YaRN scaling (HF and llama.cpp variants)"),
        ("llama3", grid_llama3, "Llama-3.1 scaling"),
        ("longrope", grid_longrope, "LongRoPE scaling"),
        ("freq_factors", grid_freq, "Per-pair frequency divisors"),
    ]
    all_cases = {}
    for tag, fn, title in grids:
        cases = fn()
        n = write_cases("scaling_%s.txt" % tag, title, DOCS[tag], cases)
        all_cases[tag] = cases
        print("scaling_%s.txt: %d cases" % (tag, n))

    def pick(tag, pred):
        for c in all_cases[tag]:
            if pred(c) and not c.hard:
                return (tag, c)
        raise RuntimeError("no %s case matches" % tag)

    picks = [
        pick("linear", lambda c: c.params == [4.0] and c.hd == 128 and c.r == 128),
        pick("ntk", lambda c: c.params == [8.0] and c.r == 32),
        pick("dynamic", lambda c: c.params[0] == 2.0 and c.params[2] == 3 * 4096 + 123 and c.r == 64),
        pick("dynamic", lambda c: c.params[0] == 4.0 and c.params[3] > 2048 and c.r >= 64),
        pick("yarn", lambda c: c.params[:2] == [40.0, 4096] and c.params[4:6] == [1, 0] and c.r == 64
             and c.b == 10000 and c.hd == 64 and math.isnan(c.params[6])),
        pick("yarn", lambda c: c.b == 150000 and c.params[5] == 0),
        pick("yarn", lambda c: c.b == 150000 and c.params[5] == 1),
        pick("yarn", lambda c: c.params[6] == 0.707 and c.params[5] == 0),
        pick("llama3", lambda c: c.params == [8.0, 1.0, 4.0, 8192] and c.r >= 64),
        pick("llama3", lambda c: c.params == [32.0, 2.0, 8.0, 2048] and c.r == 32),
        pick("longrope", lambda c: c.params[1] == 32.0 and c.params[4] == 131072 and c.r == 128),
        pick("longrope", lambda c: c.params[2] == 1.25 and c.params[3] == 4096 and c.r == 64),
        pick("freq_factors", lambda c: c.params == [1.25] and c.r == 64 and c.hd == 128),
    ]
    n = write_rotate(os.path.join(DATA_DIR, "scaling_rotate.txt"), picks)
    print("scaling_rotate.txt: %d rotated vectors" % n)
    print("float32 pow: %(powf_calls)d evaluations, %(powf_hard)d hard cases, "
          "%(glibc_powf_not_cr)d where glibc powf is not correctly rounded" % HARD_STATS)
    if LIBM is None:
        print("note: libm not loadable; glibc cross-checks skipped")
    else:
        print("libm == correctly rounded: %s; numpy float32 ops checked: %d"
              % (", ".join("%s %d" % (k, v) for k, v in CHECKS.items() if k != "numpy_f32"),
                 CHECKS["numpy_f32"]))


if __name__ == "__main__":
    main()
