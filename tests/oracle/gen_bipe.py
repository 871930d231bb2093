#!/usr/bin/env python3
"""Oracle for tests/bipe_test.cpp, written from the BiPE paper and the released code's semantics
(zhenyuhe00/BiPE LlamaModel.get_bilevel_ids), independently of include/:

  segment index = exclusive cumulative sum of the delimiter indicator (numpy cumsum);
  intra position = token index minus the index of its segment's first token, clamped;
  BiPE-ALiBi attention in float64: logits = scale*q.k - s*m_h*(seg_i - seg_j), causal over tokens;
  BiPE-RoPE attention in float64: HF rotate_half RoPE at the segment index.

Writes tests/data/bipe.txt. Run: /usr/bin/python3 tests/oracle/gen_bipe.py (Debian python3-numpy)
"""
import math
import os
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "bipe.txt")


def bilevel(ids, delims, clamp=None):
    ids = np.asarray(ids, dtype=np.int64)
    d = np.isin(ids, np.asarray(delims, dtype=np.int64)).astype(np.int64)
    seg = np.cumsum(d) - d                      # delimiters strictly before t
    start = np.zeros(len(ids), dtype=np.int64)  # first token of t's segment
    for t in range(1, len(ids)):
        start[t] = t if d[t - 1] else start[t - 1]
    intra = np.arange(len(ids), dtype=np.int64) - start
    if clamp is not None:
        intra = np.minimum(intra, clamp)
    return seg, intra


def slopes(h):  # ofirpress get_slopes
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(h).is_integer():
        return pow2(h)
    c = 2 ** math.floor(math.log2(h))
    return pow2(c) + slopes(2 * c)[0::2][: h - c]


def attention(q, k, v, bias):  # q [T,H,D], bias [H,T,T] incl. -inf
    T, H, D = q.shape
    out = np.zeros((T, H, v.shape[2]))
    for h in range(H):
        s = q[:, h, :] @ k[:, h, :].T / math.sqrt(D) + bias[h]
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v[:, h, :]
    return out


def rope_half(x, pos, base):  # x [T,H,D] float64, HF rotate_half at positions pos
    T, H, D = x.shape
    inv = base ** (-np.arange(0, D, 2, dtype=np.float64) / D)
    ang = np.outer(pos.astype(np.float64), inv)  # [T, D/2]
    c = np.concatenate([np.cos(ang), np.cos(ang)], axis=1)[:, None, :]
    s = np.concatenate([np.sin(ang), np.sin(ang)], axis=1)[:, None, :]
    rot = np.concatenate([-x[..., D // 2:], x[..., : D // 2]], axis=2)
    return x * c + rot * s


def f32(a):
    return np.asarray(a, dtype=np.float32)


def line(name, arr, fmt="%d"):
    return name + " " + " ".join(fmt % x for x in np.ravel(arr)) + "\n"


def main():
    rng = np.random.default_rng(20240121)
    lines = []
    cases = [
        ("spec", [1, 450, 4996, 869, 13, 306, 763, 29889, 869, 869, 13, 22172, 3186, 13, 13, 3869],
         [869, 13], None),
        ("none", [5, 6, 7, 8, 9], [869, 13], None),
        ("only", [13, 13, 13, 13], [13], None),
        ("first_last", [13, 1, 2, 13], [869, 13], None),
        ("consecutive", [1, 13, 13, 13, 2, 3, 13, 4], [13], None),
        ("clamp", [1, 2, 3, 4, 5, 6, 13, 7, 8, 9, 10], [13], 3),
        ("many_delims", [10, 11, 12, 13, 14, 15, 16, 3, 99999], [11, 13, 15, 99999, 0], None),
    ]
    rnd = rng.integers(0, 40, size=300)
    cases.append(("random", rnd.tolist(), [0, 1, 2, 3], None))
    cases.append(("random_clamp", rnd.tolist(), [0], 7))
    for name, ids, delims, clamp in cases:
        seg, intra = bilevel(ids, delims, clamp)
        lines.append("case %s\n" % name)
        lines.append(line("delims", delims))
        lines.append("clamp %d\n" % (-1 if clamp is None else clamp))
        lines.append(line("ids", ids))
        lines.append(line("seg", seg))
        lines.append(line("intra", intra))
    # packed: three sequences, cu_seqlens
    seqs = [[1, 13, 2, 3], [13, 13], [4, 5, 13, 6, 7, 13]]
    ids = sum(seqs, [])
    cu = np.cumsum([0] + [len(s) for s in seqs])
    seg = np.concatenate([bilevel(s, [13])[0] for s in seqs])
    intra = np.concatenate([bilevel(s, [13])[1] for s in seqs])
    lines.append("packed\n")
    lines.append(line("ids", ids))
    lines.append(line("cu", cu))
    lines.append(line("seg", seg))
    lines.append(line("intra", intra))

    # Attention: T tokens, H heads, D dims; ids with delimiter 0.
    T, H, D, mult = 37, 6, 16, 96.0
    ids = rng.integers(0, 6, size=T)
    seg, _ = bilevel(ids, [0])
    q = f32(rng.standard_normal((T, H, D)))
    k = f32(rng.standard_normal((T, H, D)))
    v = f32(rng.standard_normal((T, H, D)))
    m = np.array(slopes(H)) * mult
    causal = np.where(np.arange(T)[None, :] <= np.arange(T)[:, None], 0.0, -np.inf)
    dseg = (seg[:, None] - seg[None, :]).astype(np.float64)
    bias = np.stack([-m[h] * dseg + causal for h in range(H)])
    out_alibi = attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), bias)
    qr = rope_half(q.astype(np.float64), seg, 10000.0)
    kr = rope_half(k.astype(np.float64), seg, 10000.0)
    out_rope = attention(qr, kr, v.astype(np.float64), np.stack([causal] * H))
    lines.append("attention %d %d %d %r\n" % (T, H, D, mult))
    lines.append(line("ids", ids))
    lines.append(line("seg", seg))
    lines.append(line("q", q, "%.9g"))
    lines.append(line("k", k, "%.9g"))
    lines.append(line("v", v, "%.9g"))
    lines.append(line("out_alibi", out_alibi, "%.17g"))
    lines.append(line("out_rope", out_rope, "%.17g"))
    with open(OUT, "w") as f:
        f.write("# generated by tests/oracle/gen_bipe.py; do not edit\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
