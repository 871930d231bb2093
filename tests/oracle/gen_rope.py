#!/usr/bin/env python3
"""Generate the committed RoPE reference data in tests/data/.

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_rope.py

Writes tests/data/rope_inv_freq.txt, rope_cos_sin.txt and rope_rotate.txt. The output is
deterministic (fixed seeds, no timestamps). Needs Python 3 with mpmath and numpy; the C++
tests only read the text files, so CI does not need Python.

Everything is derived from the RoPE formulas (Su et al. 2021, RoFormer, arXiv 2104.09864;
HF transformers `modeling_rope_utils.py:_compute_default_rope_parameters` for the float32
inv_freq and `LlamaRotaryEmbedding.forward` for the float32 angle, cos and sin), never from the
library sources:

  exact mode
    inv_freq_exact[k] = RN64(base^(-2k/d))                 d = rotary_dim, k < d/2
    angle_exact       = RN64(pos * inv_freq_exact[k])      one double rounding (pos < 2^53)
    cos_f32, sin_f32  = RN32(cos/sin(angle_exact))         exact trig of the double angle
    cos_f64, sin_f64  = RN64(cos/sin(angle_exact))
  hf_f32 mode (HuggingFace transformers float32 arithmetic)
    e                 = RN32(RN32(2k) / RN32(d))           float32 division
    inv_freq_hf[k]    = RN32(1 / RN32(RN32(base)^e))       powf is taken correctly rounded
    angle_hf          = RN32(RN32(pos) * inv_freq_hf[k])   float32 position, float32 product
    cos_hf, sin_hf    = RN32(cos/sin(angle_hf))

RN32 / RN64 = round to nearest, ties to even, to IEEE binary32 / binary64. Transcendentals
are evaluated with mpmath at >= 256 bits and rounded by this script (not via an intermediate
double), with a check that the rounding cannot flip inside the evaluation error; every value
is computed at two working precisions and the results must agree.

Why powf is the correctly rounded one and not numpy.power: numpy 1.24 on AVX-512 machines
evaluates float32 power with SVML, which is not correctly rounded (it differs from glibc powf
in 63 of the 353 rows written here), so the data would depend on the generating machine.
torch's float32 pow (HF's `base ** (torch.arange(0, dim, 2).float() / dim)`) equals glibc powf
on x86-64 (they agreed bit for bit where compared), and glibc powf equals
the correctly rounded value for every exponent in this file; the script asserts that against
the local libm whenever it can load it, and cross-checks every basic float32 operation (the
division, reciprocal and product) against numpy.float32 arithmetic.
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

GENERATOR = "tests/oracle/gen_rope.py"
DATA_DIR = os.path.join("tests", "data")
PRECS = (256, 512)  # two independent mpmath working precisions; results must agree

# ----------------------------------------------------------------------------------------------
# Rounding helpers (exact, from first principles)
# ----------------------------------------------------------------------------------------------


def round_fraction(q, bits):
    """Round the exact rational q to the nearest float with a `bits`-bit significand (ties to
    even), returned as a Python float (exact). Unbounded exponent: callers stay in the normal
    range of the target format (asserted by check_normal)."""
    q = Fraction(q)
    if q == 0:
        return 0.0
    sign = -1 if q < 0 else 1
    q = abs(q)
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()  # floor(log2 q) is e or e-1
    if (n << max(0, -e)) < (d << max(0, e)):
        e -= 1
    s = e - (bits - 1)  # q = m * 2^s with 2^(bits-1) <= m < 2^bits
    num = n << max(0, -s)
    den = d << max(0, s)
    m, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and (m & 1)):
        m += 1
    if m == (1 << bits):
        m >>= 1
        s += 1
    assert (1 << (bits - 1)) <= m < (1 << bits)
    return math.ldexp(sign * m, s)


def check_normal(v, fmt):
    """The values written are never subnormal/overflowing in their format."""
    if v == 0:
        return
    a = abs(v)
    if fmt == 32:
        assert 2.0 ** -126 <= a < 2.0 ** 128, v
    else:
        assert 2.0 ** -1022 <= a <= sys.float_info.max, v


def rn32(q):
    v = round_fraction(q, 24)
    check_normal(v, 32)
    return v


def rn64(q):
    v = round_fraction(q, 53)
    check_normal(v, 64)
    return v


def mpf_to_fraction(x):
    sign, man, exp, _bc = x._mpf_
    if man == 0:
        assert x == 0, "mpmath special value"
        return Fraction(0)
    f = Fraction(man) * (Fraction(2) ** exp)
    return -f if sign else f


def round_mp(fn, bits):
    """Correctly round fn() (a real function evaluated by mpmath) to a `bits`-bit significand.

    fn is evaluated at each precision in PRECS. At each precision the approximation a is
    perturbed by +-2^-(prec-24) relative; both perturbed values must round to the same float
    (so the true value, which mpmath guarantees to be much closer than that, rounds to it too),
    and all precisions must agree. Exact results (0, 1) pass trivially."""
    results = []
    for prec in PRECS:
        with mp.workprec(prec):
            a = mpf_to_fraction(fn())
        eps = Fraction(1, 2 ** (prec - 24))
        lo = round_fraction(a * (1 - eps), bits)
        hi = round_fraction(a * (1 + eps), bits)
        if lo != hi:
            raise RuntimeError("rounding too close to a midpoint at prec %d; raise PRECS" % prec)
        results.append(lo)
    if any(r != results[0] for r in results):
        raise RuntimeError("mpmath precisions disagree: %r" % results)
    return results[0]


def hexf(v):
    """float.hex() with the trailing zeros of the fraction stripped (still exact; parsed by
    C's strtod and Python's float.fromhex)."""
    h = float(v).hex()
    mant, exp = h.split("p")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    out = mant + "p" + exp
    back = float.fromhex(out)
    assert back == v and math.copysign(1.0, back) == math.copysign(1.0, v)
    return out


def f32(v):
    """numpy float32 scalar of a double that must already be float32-representable."""
    r = np.float32(v)
    assert float(r) == v
    return r


# ----------------------------------------------------------------------------------------------
# libm powf (only for the cross-check; absent libm just skips it)
# ----------------------------------------------------------------------------------------------


def load_powf():
    name = ctypes.util.find_library("m")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        fn = lib.powf
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float, ctypes.c_float]
    return fn


LIBM_POWF = load_powf()
POWF_CHECKED = 0

# ----------------------------------------------------------------------------------------------
# RoPE definitions
# ----------------------------------------------------------------------------------------------

_inv_cache = {}


def inv_freq(base, d):
    """[(inv_freq_exact, inv_freq_hf)] for k < d/2; floats (hf ones are float32 values)."""
    global POWF_CHECKED
    key = (base, d)
    if key in _inv_cache:
        return _inv_cache[key]
    assert d % 2 == 0 and d > 0 and float(base) == int(base)
    rows = []
    b32 = rn32(base)
    for k in range(d // 2):
        # exact mode
        ex = round_mp(lambda: mp.power(mp.mpf(base), -mp.mpf(2 * k) / d), 53)
        check_normal(ex, 64)
        # hf_f32 mode, exact-rational emulation of the float32 operations
        e = rn32(Fraction(rn32(2 * k)) / Fraction(rn32(d)))
        pw = round_mp(lambda: mp.power(mp.mpf(b32), mp.mpf(e)), 24)
        check_normal(pw, 32)
        hf = rn32(Fraction(1) / Fraction(pw))
        # cross-check the basic float32 operations with numpy
        e_np = np.float32(2 * k) / np.float32(d)
        assert e_np.dtype == np.float32 and float(e_np) == e
        hf_np = np.float32(1.0) / f32(pw)
        assert hf_np.dtype == np.float32 and float(hf_np) == hf
        if LIBM_POWF is not None:
            g = LIBM_POWF(b32, e)
            if float(np.float32(g)) != pw:
                raise RuntimeError(
                    "libm powf(%r, %r) = %r differs from the correctly rounded %r; "
                    "decide which one HF emulation should follow" % (b32, e, g, pw))
            POWF_CHECKED += 1
        rows.append((ex, hf))
    _inv_cache[key] = rows
    return rows


def angle_exact(pos, inv):
    a = float(pos) * inv  # Python float product: one IEEE double rounding
    assert pos < 2 ** 53
    assert a == rn64(Fraction(pos) * Fraction(inv))
    return a


def angle_hf(pos, inv_hf):
    p32 = rn32(pos)
    a = rn32(Fraction(p32) * Fraction(inv_hf))
    a_np = np.float32(pos) * f32(inv_hf)  # torch: position_ids.float() @ inv_freq
    assert a_np.dtype == np.float32 and float(a_np) == a
    return a


def cos_r(a, bits):
    return round_mp(lambda: mp.cos(mp.mpf(a)), bits)


def sin_r(a, bits):
    return round_mp(lambda: mp.sin(mp.mpf(a)), bits)


# ----------------------------------------------------------------------------------------------
# Parameter sets
# ----------------------------------------------------------------------------------------------

CONFIGS = [(b, d) for b in (10000, 500000, 1000000) for d in (64, 128)]
CONFIGS += [(10000, 32), (10000, 2), (10000, 96)]


def positions():
    fixed = [0, 1, 2, 3, 7, 100, 1000, 4095, 4096, 8191, 65535, 65536, 1 << 20,
             (1 << 24) - 1, 1 << 24, (1 << 24) + 1, 123456789, 1000000007, (1 << 31) - 1]
    fixed = [p for p in fixed if p < 2 ** 31]
    rng = random.Random(20240601)
    rnd = []
    while len(rnd) < 20:
        p = rng.randrange(0, 2 ** 31)
        if p not in fixed and p not in rnd:
            rnd.append(p)
    return fixed + rnd


ROT_HEAD_DIMS = (64, 128, 80)
ROT_BASES = (10000, 500000)
ROT_LAYOUTS = ("half_split", "interleaved")
ROT_STORAGES = ("f32", "f64", "bf16", "f16")
ROT_POSITIONS = (0, 1, 17, 4095, 100000, 2147483647)


def rotary_dims(head_dim):
    out = []
    for r in (head_dim, head_dim // 2, 32, 16):
        if r % 2 == 0 and r <= head_dim and r not in out:
            out.append(r)
    return out


def rotate_cases():
    """About 200 cases: every (layout, storage, head_dim, rotary_dim) combination (88) with two
    (base, pos) choices cycling through all 12, plus for every (layout, storage) the full
    rotation at head_dim 128 at the extreme positions with both bases."""
    bp = [(b, p) for b in ROT_BASES for p in ROT_POSITIONS]  # 12
    cases = []
    c = 0
    for layout in ROT_LAYOUTS:
        for storage in ROT_STORAGES:
            for hd in ROT_HEAD_DIMS:
                for r in rotary_dims(hd):
                    for j in ((2 * c) % 12, (2 * c + 7) % 12):
                        cases.append((layout, storage, hd, r) + bp[j])
                    c += 1
    for layout in ROT_LAYOUTS:
        for storage in ROT_STORAGES:
            for b in ROT_BASES:
                for p in (0, 2147483647):
                    case = (layout, storage, 128, 128, b, p)
                    if case not in cases:
                        cases.append(case)
    return cases


def to_storage(v, storage):
    """Round the double v to a value exactly representable in the storage format."""
    if storage == "f64":
        return v
    x32 = np.float32(v)  # RN to float32
    if storage == "f32":
        out = float(x32)
    elif storage == "bf16":
        u = int(x32.view(np.uint32))
        u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000  # top 16 bits, RNE
        out = float(np.uint32(u).view(np.float32))
        assert out == 0.0 or out == round_fraction(Fraction(float(x32)), 8)
    elif storage == "f16":
        out = float(np.float16(x32))  # IEEE half, RNE (subnormals handled by numpy)
        if abs(out) >= 2.0 ** -14:
            assert out == round_fraction(Fraction(float(x32)), 11)
    else:
        raise ValueError(storage)
    return out


def pair_index(layout, r, k):
    if layout == "half_split":
        return k, k + r // 2
    return 2 * k, 2 * k + 1


# ----------------------------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------------------------


def header(f, title, columns, nrec):
    f.write("# %s\n" % title)
    f.write("# generated by %s (do not edit; regenerate with /usr/bin/python3 %s)\n"
            % (GENERATOR, GENERATOR))
    f.write("# python %s, mpmath %s, numpy %s; mpmath working precisions %s bits\n"
            % (sys.version.split()[0], mpmath.__version__, np.__version__,
               "/".join(str(p) for p in PRECS)))
    f.write("# RN32/RN64 = round to nearest even to binary32/binary64; all floating values are\n")
    f.write("# C99 hex floats (float.hex() minus trailing fraction zeros), exact; float32 values\n")
    f.write("# are written as the double of the same value. base is a decimal integer.\n")
    f.write("# columns:\n")
    for c in columns:
        f.write("#   %s\n" % c)
    f.write("# records: %d\n" % nrec)


def fmt_base(b):
    return "%d" % b


def write_inv_freq(path):
    rows = []
    for base, d in CONFIGS:
        for k, (ex, hf) in enumerate(inv_freq(base, d)):
            rows.append("%s %d %d %s %s" % (fmt_base(base), d, k, hexf(ex), hexf(hf)))
    cols = [
        "base rotary_dim k inv_freq_exact inv_freq_hf",
        "inv_freq_exact = RN64(base^(-2k/rotary_dim))",
        "inv_freq_hf    = RN32(1 / RN32(RN32(base)^RN32(RN32(2k)/RN32(rotary_dim))))"
        "  (HF float32; pow correctly rounded = glibc powf here)",
    ]
    with open(path, "w") as f:
        header(f, "RoPE inverse frequencies", cols, len(rows))
        f.write("\n".join(rows) + "\n")
    return len(rows)


def write_cos_sin(path):
    pos_list = positions()
    rows = []
    for base, d in CONFIGS:
        invs = inv_freq(base, d)
        for k, (ex, hf) in enumerate(invs):
            for pos in pos_list:
                a = angle_exact(pos, ex)
                ah = angle_hf(pos, hf)
                vals = [a, cos_r(a, 24), sin_r(a, 24), cos_r(a, 53), sin_r(a, 53),
                        ah, cos_r(ah, 24), sin_r(ah, 24)]
                rows.append("%s %d %d %d %s" % (fmt_base(base), d, k, pos,
                                                " ".join(hexf(v) for v in vals)))
    cols = [
        "base rotary_dim k pos angle_exact cos_f32 sin_f32 cos_f64 sin_f64 angle_hf cos_hf sin_hf",
        "inv_freq_exact, inv_freq_hf as in rope_inv_freq.txt (same base, rotary_dim, k)",
        "angle_exact = RN64(pos * inv_freq_exact)        (pos exact as a double)",
        "cos_f32/sin_f32 = RN32(cos/sin(angle_exact)),  cos_f64/sin_f64 = RN64(cos/sin(angle_exact))",
        "angle_hf = RN32(RN32(pos) * inv_freq_hf)         (float32 position: inexact above 2^24)",
        "cos_hf/sin_hf = RN32(cos/sin(angle_hf))          (exact trig of the float32 angle)",
        "positions: %s" % " ".join(str(p) for p in pos_list),
    ]
    with open(path, "w") as f:
        header(f, "RoPE angles and cos/sin, exact and HF-float32 modes", cols, len(rows))
        f.write("\n".join(rows) + "\n")
    return len(rows)


def write_rotate(path):
    rng = random.Random(7919)
    cases = rotate_cases()
    lines = []
    for layout, storage, hd, r, base, pos in cases:
        x = [to_storage(rng.uniform(-4.0, 4.0), storage) for _ in range(hd)]
        bits = 53 if storage == "f64" else 24
        invs = inv_freq(base, r)
        y = list(x)
        scale = [0.0] * hd
        for k in range(r // 2):
            a = angle_exact(pos, invs[k][0])
            c = Fraction(cos_r(a, bits))
            s = Fraction(sin_r(a, bits))
            ia, ib = pair_index(layout, r, k)
            xa, xb = Fraction(x[ia]), Fraction(x[ib])
            ya = xa * c - xb * s
            yb = xa * s + xb * c
            y[ia], y[ib] = rn64(ya), rn64(yb)
            assert y[ia] == float(ya) and y[ib] == float(yb)
            scale[ia] = rn64(abs(xa * c) + abs(xb * s))
            scale[ib] = rn64(abs(xa * s) + abs(xb * c))
        for i in range(r, hd):
            assert y[i] == x[i] and scale[i] == 0.0
        lines.append("%s %s %d %d %s %d %s %s %s" % (
            layout, storage, hd, r, fmt_base(base), pos,
            " ".join(hexf(v) for v in x), " ".join(hexf(v) for v in y),
            " ".join(hexf(v) for v in scale)))
    cols = [
        "layout storage head_dim rotary_dim base pos x[0..head_dim) y[0..head_dim) scale[0..head_dim)",
        "layout: half_split pairs (k, k + rotary_dim/2); interleaved pairs (2k, 2k+1); k < rotary_dim/2",
        "storage: f32 f64 bf16 f16; every x is exactly representable in it (x drawn uniform in [-4,4],",
        "  rounded RN to float32 then to bf16 (top 16 bits, RNE) / f16 (IEEE half, RNE)); x in f64 as-is",
        "coefficients c, s for pair k: angle = angle_exact as in rope_cos_sin.txt (inv_freq_exact of",
        "  this base and rotary_dim); c,s = RN64(cos/sin(angle)) for f64 storage, RN32(...) otherwise",
        "y[a] = RN64(x[a]*c - x[b]*s), y[b] = RN64(x[a]*s + x[b]*c), computed exactly from the rounded",
        "  c, s and exact x, then rounded ONCE to double (not to the storage type); y == x for",
        "  channels >= rotary_dim (pass-through). A zero y is +0.",
        "scale[a] = RN64(|x[a]*c| + |x[b]*s|), scale[b] = RN64(|x[a]*s| + |x[b]*c|) (the two terms",
        "  summed for that output element; conditioning scale for tolerances); 0 for pass-through",
    ]
    with open(path, "w") as f:
        header(f, "RoPE rotated vectors (exact rotation of storage-exact inputs)", cols, len(lines))
        f.write("\n".join(lines) + "\n")
    return len(lines)


def main():
    if not os.path.isdir(DATA_DIR):
        sys.exit("run from the repository root (no %s)" % DATA_DIR)
    n1 = write_inv_freq(os.path.join(DATA_DIR, "rope_inv_freq.txt"))
    n2 = write_cos_sin(os.path.join(DATA_DIR, "rope_cos_sin.txt"))
    n3 = write_rotate(os.path.join(DATA_DIR, "rope_rotate.txt"))
    print("rope_inv_freq.txt %d rows, rope_cos_sin.txt %d rows, rope_rotate.txt %d cases"
          % (n1, n2, n3))
    if LIBM_POWF is None:
        print("note: libm powf not loadable; glibc cross-check skipped")
    else:
        print("libm powf == correctly rounded powf for %d exponents" % POWF_CHECKED)


if __name__ == "__main__":
    main()
