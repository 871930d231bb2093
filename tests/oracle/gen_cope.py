#!/usr/bin/env python3
"""Generate the committed CoPE reference data tests/data/cope_attention.txt.

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_cope.py

Deterministic (fixed seeds, no timestamps). Needs Python 3 with numpy; the C++ tests only read
the text file.

Written from the paper's listing (Golovneva, Wang, Weston, Sukhbaatar 2024, "Contextual
Position Encoding", arXiv 2405.18719, the CoPE module) and the official repository's options
(facebookresearch/RAM ContextPosSelfAttn: cope_nodiv, cope_sep_key), never from the library
sources. Per head h (batch of one), in float64 on the whole T x T matrices:

    attn_logits = q @ k^T / sqrt(d)                      (causal: -inf above the diagonal)
    gates       = sigmoid(gate_logits)                   gate_logits = attn_logits, or
                                                         q @ k_cope^T / sqrt(d) with sep_key
                                                         (masked: 0)
    pos         = gates.flip(-1).cumsum(-1).flip(-1).clamp(max = npos_max - 1)
    logits_int  = q @ E                                  [T, npos_max]  (nodiv: / sqrt(d))
    w           = pos - floor(pos)
    pos_logits  = logits_int[ceil(pos)] * w + logits_int[floor(pos)] * (1 - w)
    attn_logits = attn_logits + pos_logits (+ ALiBi -m_h (i - j) when alibi)
    weights     = softmax(attn_logits);  out = weights @ v

Inputs are float32 values (so the C++ float storage holds them exactly). Layouts: q [T][H][D],
k, v, k_cope [T][Hkv][D] (query head h reads kv head h // (H // Hkv)), E [tables][D][npos_max]
(tables = 1: shared by the heads, or H: one per head). ALiBi slopes: 2^(-8 (h+1) / H).

Record (one line, whitespace separated; floats as C99 hex, exact):
    name T H Hkv D npos tables nodiv sepkey alibi
    q[T*H*D] k[T*Hkv*D] v[T*Hkv*D] kc[T*Hkv*D if sepkey] E[tables*D*npos]
    pos[H*T*T] poslog[H*T*T] weights[H*T*T] out[T*H*D]
pos / poslog / weights are [h][i][j], 0 where j > i (masked).
"""
import sys

import numpy as np


def rn32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def hexs(a):
    out = []
    for x in np.asarray(a, dtype=np.float64).ravel():
        s = float(x).hex()
        m, e = s.split('p')
        if '.' in m:
            m = m.rstrip('0').rstrip('.')
        out.append(m + 'p' + e)
    return ' '.join(out)


def cope_case(rng, name, T, H, Hkv, D, npos, tables, nodiv, sepkey, alibi, qk_gain=1.0,
              qk_bias=0.0):
    q = rn32(rng.standard_normal((T, H, D)) * qk_gain + qk_bias)
    k = rn32(rng.standard_normal((T, Hkv, D)) * qk_gain + qk_bias)
    v = rn32(rng.standard_normal((T, Hkv, D)))
    kc = rn32(rng.standard_normal((T, Hkv, D))) if sepkey else None
    E = rn32(rng.standard_normal((tables, D, npos)) * 0.5)
    group = H // Hkv
    sq = np.sqrt(float(D))
    causal = np.tril(np.ones((T, T), dtype=bool))
    pos_all = np.zeros((H, T, T))
    pl_all = np.zeros((H, T, T))
    wt_all = np.zeros((H, T, T))
    out = np.zeros((T, H, D))
    for h in range(H):
        g = h // group
        qh = q[:, h, :]
        kh = k[:, g, :]
        logits = qh @ kh.T / sq
        logits = np.where(causal, logits, -np.inf)
        gl = (qh @ kc[:, g, :].T / sq) if sepkey else logits
        gates = np.where(causal, 1.0 / (1.0 + np.exp(-np.where(causal, gl, 0.0))), 0.0)
        pos = np.flip(np.cumsum(np.flip(gates, -1), -1), -1)
        pos = np.minimum(pos, npos - 1)
        li = qh @ E[0 if tables == 1 else h]
        if nodiv:
            li = li / sq
        fl = np.floor(pos).astype(np.int64)
        ce = np.ceil(pos).astype(np.int64)
        w = pos - fl
        rows = np.arange(T)[:, None]
        pl = li[rows, ce] * w + li[rows, fl] * (1 - w)
        pl = np.where(causal, pl, 0.0)
        full = logits + pl
        if alibi:
            m = 2.0 ** (-8.0 * (h + 1) / H)
            full = full - m * (np.arange(T)[:, None] - np.arange(T)[None, :])
        full = np.where(causal, full, -np.inf)
        mx = full.max(axis=1, keepdims=True)
        e = np.exp(full - mx)
        wt = e / e.sum(axis=1, keepdims=True)
        out[:, h, :] = wt @ v[:, g, :]
        pos_all[h] = np.where(causal, pos, 0.0)
        pl_all[h] = pl
        wt_all[h] = wt
    head = f"{name} {T} {H} {Hkv} {D} {npos} {tables} {int(nodiv)} {int(sepkey)} {int(alibi)}"
    parts = [head, hexs(q), hexs(k), hexs(v)]
    if sepkey:
        parts.append(hexs(kc))
    parts += [hexs(E), hexs(pos_all), hexs(pl_all), hexs(wt_all), hexs(out)]
    return ' '.join(parts)


def main():
    cases = []
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        cases.append(cope_case(rng, f"basic_s{seed}", 12, 2, 2, 8, 4, 1, False, False, False))
    rng = np.random.default_rng(11)
    cases.append(cope_case(rng, "npos_gt_T", 10, 2, 2, 8, 16, 1, False, False, False))
    rng = np.random.default_rng(12)
    # q, k with a common positive offset: logits mostly large, gates near 1, heavy clamping.
    cases.append(cope_case(rng, "heavy_clamp", 40, 2, 2, 8, 3, 1, False, False, False,
                           qk_gain=0.5, qk_bias=1.0))
    rng = np.random.default_rng(13)
    cases.append(cope_case(rng, "nodiv", 12, 2, 2, 8, 5, 1, True, False, False))
    rng = np.random.default_rng(14)
    cases.append(cope_case(rng, "sepkey", 12, 2, 2, 8, 5, 1, False, True, False))
    rng = np.random.default_rng(15)
    cases.append(cope_case(rng, "gqa_per_head", 11, 4, 2, 8, 6, 4, False, False, False))
    rng = np.random.default_rng(16)
    cases.append(cope_case(rng, "alibi", 12, 4, 2, 8, 5, 1, False, False, True))
    rng = np.random.default_rng(17)
    cases.append(cope_case(rng, "long", 70, 2, 1, 16, 20, 1, False, False, False))
    with open("tests/data/cope_attention.txt", "w") as f:
        f.write("# CoPE reference: gates/positions, position logits, attention weights and outputs\n")
        f.write("# generated by tests/oracle/gen_cope.py (do not edit; regenerate with "
                "/usr/bin/python3 tests/oracle/gen_cope.py)\n")
        f.write(f"# python {sys.version.split()[0]}, numpy {np.__version__}; float64 arithmetic;"
                " record layout in the generator's docstring\n")
        f.write(f"# records: {len(cases)}\n")
        for c in cases:
            f.write(c + "\n")


if __name__ == "__main__":
    main()
