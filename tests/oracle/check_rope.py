#!/usr/bin/env python3
"""Sanity checks of the committed RoPE data by routes independent of gen_rope.py.

Run from the repository root after gen_rope.py:

    /usr/bin/python3 tests/oracle/check_rope.py

Exits non-zero on a failed check and prints the precision statistics quoted in
tests/data/README.md. Independent routes used:
  * glibc double pow/cos/sin through Python's math module (1-ulp agreement, exact at f32),
  * glibc powf through ctypes and numpy float32 arithmetic for the HF emulation,
  * numpy float32 cos/sin (a different, not correctly rounded implementation; <= 2 ulp),
  * mpmath at 600 bits rounded by mpmath itself (not by the generator's rounding code),
  * a long-double (x87 80-bit) recomputation of every rotated vector.
"""

import ctypes
import ctypes.util
import math
import os
import random
import sys

import numpy as np
from mpmath import mp

DATA = os.path.join("tests", "data")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        if len(FAILS) < 20:
            print("FAIL:", msg)


def records(name):
    path = os.path.join(DATA, name)
    out, declared = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# records:"):
                declared = int(line.split(":")[1])
            if not line or line.startswith("#"):
                continue
            out.append(line.split())
    check(declared == len(out), "%s: record count %r vs %d" % (name, declared, len(out)))
    return out


def hx(s):
    return float.fromhex(s)


def ulp32(v):
    return float(np.spacing(np.float32(abs(v)))) if v != 0 else 2.0 ** -149


def ulp64(v):
    return math.ulp(v)


def main():
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.powf.restype = ctypes.c_float
    libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]

    # ------------------------------------------------------------------ inv_freq
    inv = {}
    np_power_diff = 0
    rows = records("rope_inv_freq.txt")
    for r in rows:
        b, d, k = int(r[0]), int(r[1]), int(r[2])
        ex, hf = hx(r[3]), hx(r[4])
        inv[(b, d, k)] = (ex, hf)
        ref = float(b) ** (-2.0 * k / d)  # glibc pow, exponent rounded: within a few ulp
        check(abs(ex - ref) <= 4 * ulp64(ex), "inv_freq_exact %r" % r)
        e = np.float32(2 * k) / np.float32(d)
        g = np.float32(1.0) / np.float32(libm.powf(np.float32(b), e))
        check(float(g) == hf, "inv_freq_hf vs glibc powf %r" % r)
        n = np.float32(1.0) / np.power(np.float32(b), e)
        np_power_diff += float(n) != hf
    print("inv_freq: %d rows; glibc powf route identical; numpy.power route differs in %d"
          % (len(rows), np_power_diff))

    # ------------------------------------------------------------------ cos/sin
    rows = records("rope_cos_sin.txt")
    rnd = random.Random(1)
    subset = set(rnd.sample(range(len(rows)), 400))
    f32_eq = f32_tot = 0
    hf_np_max = 0.0
    by_pos = {}
    sec7 = {}
    dup = {}
    for idx, r in enumerate(rows):
        b, d, k, p = int(r[0]), int(r[1]), int(r[2]), int(r[3])
        a, c32, s32, c64, s64, ah, ch, sh = (hx(v) for v in r[4:12])
        ex, hf = inv[(b, d, k)]
        check(a == float(p) * ex, "angle_exact %r" % r[:4])
        check(ah == float(np.float32(p) * np.float32(hf)), "angle_hf %r" % r[:4])
        # glibc double cos/sin: within 1 ulp of RN64, and RN32 of them matches unless the
        # double result sits on a float32 rounding boundary
        mc, ms = math.cos(a), math.sin(a)
        check(abs(mc - c64) <= ulp64(c64) and abs(ms - s64) <= ulp64(s64), "f64 %r" % r[:4])
        for got, m in ((c32, mc), (s32, ms)):
            f32_tot += 1
            f32_eq += float(np.float32(m)) == got
            check(abs(float(np.float32(m)) - got) <= ulp32(got), "f32 %r" % r[:4])
        # numpy float32 trig on the hf angle
        for got, m in ((ch, np.cos(np.float32(ah))), (sh, np.sin(np.float32(ah)))):
            u = abs(float(m) - got) / ulp32(got)
            hf_np_max = max(hf_np_max, u)
            check(u <= 2, "hf numpy trig %r (%g ulp)" % (r[:4], u))
        # mpmath 600 bits, rounded by mpmath itself
        if idx in subset:
            mp.prec = 600
            X, XH = mp.mpf(a), mp.mpf(ah)
            cc, ss, chh, shh = mp.cos(X), mp.sin(X), mp.cos(XH), mp.sin(XH)
            check(float(cc) == c64 and float(ss) == s64, "mp f64 %r" % r[:4])
            with mp.workprec(24):
                check(float(+cc) == c32 and float(+ss) == s32, "mp f32 %r" % r[:4])
                check(float(+chh) == ch and float(+shh) == sh, "mp hf %r" % r[:4])
        # statistics: hf vs exact-mode float32, and vs the ideal cos(p*b^(-2k/d))
        st = by_pos.setdefault(p, [0, 0, 0.0, 0.0])
        st[0] += 2
        st[1] += (ch != c32) + (sh != s32)
        st[2] = max(st[2], abs(ch - c32) / ulp32(c32), abs(sh - s32) / ulp32(s32))
        st[3] = max(st[3], abs(ch - c32), abs(sh - s32))
        if b == 10000 and d == 128:
            mp.prec = 300
            ideal = mp.mpf(p) * mp.power(10000, -mp.mpf(2 * k) / 128)
            ic, is_ = float(mp.cos(ideal)), float(mp.sin(ideal))
            e7 = sec7.setdefault(p, [0.0, 0.0, 0.0])
            e7[0] = max(e7[0], abs(ch - ic), abs(sh - is_))      # HF f32 vs ideal
            e7[1] = max(e7[1], abs(c64 - ic), abs(s64 - is_))    # exact-mode f64 vs ideal
            # HF vs exact trig of the float32 inv_freq at the exact (real) product
            t = mp.mpf(p) * mp.mpf(hf)
            e7[2] = max(e7[2], abs(ch - float(mp.cos(t))), abs(sh - float(mp.sin(t))))
        if d in (64, 32, 2):
            dup[(b, d, k, p)] = r[4:]
    ndup = 0
    big = {(int(r[0]), int(r[1]), int(r[2]), int(r[3])): r[4:] for r in rows if r[1] == "128"}
    for (b, d, k, p), vals in dup.items():
        k128 = k * (128 // d)
        check(big[(b, 128, k128, p)] == vals, "d=%d row equals d=128 row %r" % (d, (b, k, p)))
        ndup += 1
    print("cos_sin: %d rows; glibc double trig within 1 ulp of RN64 everywhere; RN32(glibc) == "
          "cos_f32/sin_f32 for %d/%d; numpy float32 trig within %.2f ulp of cos_hf/sin_hf; "
          "%d rows re-derived by mpmath@600; %d d<128 rows equal the matching d=128 rows"
          % (len(rows), f32_eq, f32_tot, hf_np_max, len(subset), ndup))
    print("precision check (b=1e4, d=128): max |err| of HF f32 cos/sin vs ideal cos(p*b^(-2k/d))")
    print("   pos          hf_vs_ideal  exact_f64_vs_ideal  hf_vs_trig(p*inv_hf)")
    for p in sorted(sec7):
        e = sec7[p]
        print("   %-12d %.3e    %.3e           %.3e" % (p, e[0], e[1], e[2]))
    print("hf_f32 vs exact-mode float32 (all configs): values differing / total, max diff")
    print("   pos          differ/total   max_ulp32     max_abs")
    for p in sorted(by_pos):
        n, nd, mu, ma = by_pos[p]
        print("   %-12d %5d/%-5d   %-12.4g  %.3e" % (p, nd, n, mu, ma))

    # ------------------------------------------------------------------ rotate
    rows = records("rope_rotate.txt")
    cs = {}
    for r in records("rope_cos_sin.txt"):
        cs[(int(r[0]), int(r[1]), int(r[2]), int(r[3]))] = r
    axes = {i: set() for i in range(6)}
    per_storage_layout = set()
    max_rel = 0.0
    cross = 0
    for r in rows:
        layout, storage = r[0], r[1]
        D, R, b, p = int(r[2]), int(r[3]), int(r[4]), int(r[5])
        for i, v in enumerate((layout, storage, D, R, b, p)):
            axes[i].add(v)
        per_storage_layout.add((storage, layout))
        vals = [hx(v) for v in r[6:]]
        check(len(vals) == 3 * D, "rotate length %r" % r[:6])
        x, y, sc = vals[:D], vals[D:2 * D], vals[2 * D:]
        for v in x:
            if storage == "f32":
                check(float(np.float32(v)) == v, "x not f32")
            elif storage == "f16":
                check(float(np.float16(v)) == v, "x not f16")
            elif storage == "bf16":
                u = int(np.float32(v).view(np.uint32))
                check(float(np.float32(v)) == v and (u & 0xFFFF) == 0, "x not bf16")
        for i in range(R, D):
            check(y[i] == x[i] and sc[i] == 0.0, "pass-through %r" % r[:6])
        for k in range(R // 2):
            ia, ib = (k, k + R // 2) if layout == "half_split" else (2 * k, 2 * k + 1)
            # coefficients recomputed via glibc (independent of the generator), rounded to the
            # coefficient type; where the cos_sin file has the same (b, R, k, p) use its values
            a = float(p) * (float(b) ** (-2.0 * k / R))
            key = (b, R, k, p)
            if key in cs:
                col = (7, 8) if storage == "f64" else (5, 6)
                c, s = hx(cs[key][col[0]]), hx(cs[key][col[1]])
                cross += 1
            else:
                mp.prec = 300
                ex = float(mp.power(b, -mp.mpf(2 * k) / R))
                a = float(p) * ex
                mc, ms = mp.cos(mp.mpf(a)), mp.sin(mp.mpf(a))
                c, s = float(mc), float(ms)
                if storage != "f64":
                    with mp.workprec(24):  # mpmath's own RN to 24 bits
                        c, s = float(+mc), float(+ms)
            L = np.longdouble
            ya = L(x[ia]) * L(c) - L(x[ib]) * L(s)
            yb = L(x[ia]) * L(s) + L(x[ib]) * L(c)
            sa = abs(L(x[ia]) * L(c)) + abs(L(x[ib]) * L(s))
            sb = abs(L(x[ia]) * L(s)) + abs(L(x[ib]) * L(c))
            for got, ref, scale, sref in ((y[ia], ya, sc[ia], sa), (y[ib], yb, sc[ib], sb)):
                rel = float(abs(L(got) - ref) / sref) if sref else 0.0
                max_rel = max(max_rel, rel)
                check(rel <= 2.0 ** -52, "rotate y %r (%g)" % (r[:6], rel))
                check(abs(scale - float(sref)) <= 2 * ulp64(scale), "rotate scale %r" % r[:6])
    print("rotate: %d cases; axes %s; (storage, layout) combos %d; long-double recomputation "
          "max |y - y_ld| / scale = %.3g; %d pairs cross-checked against rope_cos_sin.txt"
          % (len(rows), {i: sorted(v, key=str) for i, v in axes.items()},
             len(per_storage_layout), max_rel, cross))

    if FAILS:
        print("%d check(s) FAILED" % len(FAILS))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
