#!/usr/bin/env python3
"""Generate the committed multi-axis RoPE reference data in tests/data/mrope_*.txt.

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_mrope.py

Deterministic (fixed seed, no timestamps). Needs Python 3 with mpmath and numpy; the C++ tests
only read the text files.

Written from the models' reference code (Hugging Face transformers), never from include/:

  position ids   Qwen2VLModel.get_rope_index / Qwen2_5_VLModel.get_rope_index: text runs
                 continue from 1 + the largest position so far on all three axes; a vision item
                 with grid (t, h, w) and merge m gives t*(h/m)*(w/m) tokens in (frame, row, col)
                 order at (st + T, st + row, st + col), with T = frame (Qwen2-VL) or
                 long(frame * second_per_grid * tokens_per_second) in float32 (Qwen2.5-VL video;
                 images use second_per_grid = 0). Qwen3-VL: one vision item per video frame.
                 Written here with numpy arange/expand like the reference.
  pair -> axis   sectioned (apply_multimodal_rotary_pos_emb): the head_dim cos is split into
                 mrope_section * 2 chunks, chunk i taken from axis i % 3; here we build the full
                 head_dim cos exactly that way and read pair k from column k.
                 interleaved (Qwen3VLTextRotaryEmbedding.apply_interleaved_mrope): start from the
                 t frequencies, overwrite slice [1 : 3*s_h : 3] with h and [2 : 3*s_w : 3] with w.
  vision 2-D     VisionRotaryEmbedding(head_dim // 2) + rot_pos_emb: inv_freq over dim = head_dim/2,
                 angles [row * inv_freq, col * inv_freq] concatenated, then cat(emb, emb)
                 (rotate_half). Patch order: merge blocks (reshape/permute of rot_pos_emb);
                 window order: get_window_index of Qwen2.5-VL.

Numbers (as tests/oracle/gen_rope.py defines them):
  exact   inv_freq = RN64(base^(-2j/d)), angle = RN64(pos * inv_freq), c/s = RN32 / RN64 of the
          exact cos/sin of that double angle (mpmath, 256 bits, rounded directly).
  hf_f32  inv_freq = RN32(1 / RN32(RN32(base)^RN32(RN32(2j)/RN32(d)))) (powf correctly rounded),
          angle = RN32(RN32(pos) * inv_freq), c/s = RN32(cos/sin(angle)).
  rotate  y = RN64(x_a*c - x_b*s), RN64(x_a*s + x_b*c) exactly from the RN32 exact-mode c, s
          and float32 x; scale = RN64(|x_a c| + |x_b s|) (the tests' tolerance conditioning).
"""

import os
import random
import sys
from fractions import Fraction

import mpmath
import numpy as np
from mpmath import mp

DATA = os.path.join("tests", "data")
mp.prec = 256


def rn(x, bits):
    """Round an mpf to `bits` significand bits (nearest even), returned as a Python float."""
    with mp.workprec(bits):
        y = +x
    return float(y)  # exact: y has <= 53 bits


def rn32_float(v):
    return float(np.float32(v))


def hexf(v):
    return float(v).hex()


# --------------------------------------------------------------------------------------------
# position ids (get_rope_index)
# --------------------------------------------------------------------------------------------


def rope_index(items, merge, tokens_per_second):
    """items: ('text', n) | ('image', t, h, w) | ('video', t, h, w, second_per_grid)."""
    parts = []
    for it in items:
        st = int(max(p.max() for p in parts)) + 1 if parts else 0
        if it[0] == "text":
            n = it[1]
            parts.append(np.broadcast_to(np.arange(n).reshape(1, -1), (3, n)) + st)
            continue
        t, h, w = it[1], it[2] // merge, it[3] // merge
        if tokens_per_second > 0:
            spg = 0.0 if it[0] == "image" else it[4]
            rng = np.broadcast_to(np.arange(t).reshape(-1, 1), (t, h * w))
            tt = (rng.astype(np.float32) * np.float32(spg) * np.float32(tokens_per_second))
            t_index = tt.astype(np.int64).flatten()
        else:
            t_index = np.broadcast_to(np.arange(t).reshape(-1, 1), (t, h * w)).flatten()
        h_index = np.broadcast_to(np.arange(h).reshape(1, -1, 1), (t, h, w)).flatten()
        w_index = np.broadcast_to(np.arange(w).reshape(1, 1, -1), (t, h, w)).flatten()
        parts.append(np.stack([t_index, h_index, w_index]) + st)
    pos = np.concatenate(parts, axis=1)
    return pos.T.astype(np.int64), int(pos.max()) + 1


LAYOUTS = {
    # name: (items, merge, tokens_per_second)
    "qwen2vl": ([("text", 3), ("image", 1, 4, 6), ("text", 2), ("video", 3, 4, 4, 1.0),
                 ("text", 3)], 2, 0.0),
    "qwen25vl": ([("text", 3), ("image", 1, 4, 6), ("text", 2), ("video", 3, 4, 4, 1.0),
                  ("video", 4, 2, 4, 0.25), ("text", 3)], 2, 2.0),
    "qwen3vl": ([("text", 2), ("video", 1, 4, 4, 1.0), ("text", 1), ("video", 1, 4, 4, 1.0),
                 ("image", 1, 6, 4), ("text", 2)], 2, 0.0),
    "leading_image": ([("image", 1, 2, 2), ("image", 2, 4, 2), ("text", 1)], 2, 0.0),
}


# --------------------------------------------------------------------------------------------
# frequencies and coefficients
# --------------------------------------------------------------------------------------------


def inv_freq_exact(base, d, j):
    return rn(mpmath.power(mpmath.mpf(base), mpmath.mpf(-2 * j) / d), 53)


def inv_freq_hf(base, d, j):
    e = np.float32(np.float32(2 * j) / np.float32(d))
    b = np.float32(base)
    p = rn(mpmath.power(mpmath.mpf(float(b)), mpmath.mpf(float(e))), 24)  # powf, correctly rounded
    return float(np.float32(np.float32(1.0) / np.float32(p)))


def coef(base, d, j, pos):
    """(c32, s32, c64, s64, chf, shf) of frequency j of a rope over d channels at pos."""
    a = rn(mpmath.mpf(pos) * mpmath.mpf(inv_freq_exact(base, d, j)), 53)
    ca, sa = mpmath.cos(mpmath.mpf(a)), mpmath.sin(mpmath.mpf(a))
    ah = float(np.float32(np.float32(pos) * np.float32(inv_freq_hf(base, d, j))))
    ch, sh = mpmath.cos(mpmath.mpf(ah)), mpmath.sin(mpmath.mpf(ah))
    return rn(ca, 24), rn(sa, 24), rn(ca, 53), rn(sa, 53), rn(ch, 24), rn(sh, 24)


def pair_axes(pairs, section, mode):
    if mode == "sectioned":
        # apply_multimodal_rotary_pos_emb: columns of the head_dim cos, chunks of section*2
        chunks = list(section) * 2
        col_axis = []
        for i, n in enumerate(chunks):
            col_axis += [i % 3] * n
        assert len(col_axis) == 2 * pairs
        assert col_axis[:pairs] == col_axis[pairs:]  # both halves of rotate_half agree
        return col_axis[:pairs]
    axis = [0] * pairs  # apply_interleaved_mrope: t everywhere, then the h and w slices
    for dim, offset in ((1, 1), (2, 2)):
        for k in range(offset, section[dim] * 3, 3):
            axis[k] = dim
    return axis


VARIANTS = {
    # name: (head_dim, base, section, mode, layout used for its tokens)
    "qwen2vl_sectioned": (128, 1000000.0, (16, 24, 24), "sectioned", "qwen25vl"),
    "qwen3vl_interleaved": (128, 5000000.0, (24, 20, 20), "interleaved", "qwen3vl"),
}


def vision_patches(t, h, w, m):
    hpos = np.broadcast_to(np.arange(h).reshape(-1, 1), (h, w))
    hpos = hpos.reshape(h // m, m, w // m, m).transpose(0, 2, 1, 3).flatten()
    wpos = np.broadcast_to(np.arange(w).reshape(1, -1), (h, w))
    wpos = wpos.reshape(h // m, m, w // m, m).transpose(0, 2, 1, 3).flatten()
    return np.tile(np.stack([hpos, wpos], axis=-1), (t, 1))


def window_index(t, h, w, m, ws):
    gh, gw = h // m, w // m
    index = np.arange(t * gh * gw).reshape(t, gh, gw)
    pad_h = ws - gh % ws
    pad_w = ws - gw % ws
    nh, nw = (gh + pad_h) // ws, (gw + pad_w) // ws
    padded = np.pad(index, ((0, 0), (0, pad_h), (0, pad_w)), constant_values=-100)
    padded = padded.reshape(t, nh, ws, nw, ws).transpose(0, 1, 3, 2, 4).reshape(t, nh * nw, ws, ws)
    seqlens = (padded != -100).sum(axis=(2, 3)).reshape(-1)
    flat = padded.reshape(-1)
    idx = flat[flat != -100]
    cu = np.concatenate([[0], np.cumsum(seqlens) * m * m])
    # the ViT forward then takes torch.unique_consecutive(cu_window_seqlens): the all-padding
    # windows (pad = ws - g % ws adds a whole window when g % ws == 0) leave no entry
    keep = np.concatenate([[True], cu[1:] != cu[:-1]])
    return idx, cu[keep]


def main():
    if not os.path.isdir(DATA):
        sys.exit("run from the repository root")
    hdr = ("# generated by tests/oracle/gen_mrope.py (do not edit; regenerate with "
           "/usr/bin/python3 tests/oracle/gen_mrope.py)\n"
           f"# python {sys.version.split()[0]}, mpmath {mpmath.__version__}, numpy {np.__version__}\n")

    # ---- positions
    lines = [hdr, "# columns: layout merge tokens_per_second token t h w   (one row per token)\n",
             "# and: next layout value   (the position of the first decode token)\n",
             "# items per layout: " + "; ".join(f"{k}={v[0]}" for k, v in LAYOUTS.items()) + "\n"]
    positions = {}
    for name, (items, merge, tps) in LAYOUTS.items():
        pos, nxt = rope_index(items, merge, tps)
        positions[name] = (pos, nxt)
        for i, p in enumerate(pos):
            lines.append(f"pos {name} {merge} {tps:g} {i} {p[0]} {p[1]} {p[2]}\n")
        lines.append(f"next {name} {nxt}\n")
    open(os.path.join(DATA, "mrope_positions.txt"), "w").write("".join(lines))

    # ---- cos/sin per pair, and rotated vectors
    rnd = random.Random(17)
    cs = [hdr, "# columns: variant token t h w pair axis c32 s32 c64 s64 chf shf\n",
          "#   tokens: the variant's layout (mrope_positions.txt) then two decode tokens at next, "
          "next+1\n"]
    rot = [hdr, "# columns: variant layout token t h w x[0..128) y[0..128) scale[0..128)\n",
           "#   layout half_split: pair k = (k, k+64); interleaved: (2k, 2k+1); exact-mode RN32 "
           "coefficients\n"]
    for vname, (hd, base, section, mode, lay) in VARIANTS.items():
        pairs = hd // 2
        axis = pair_axes(pairs, section, mode)
        pos, nxt = positions[lay]
        toks = [tuple(int(v) for v in p) for p in pos] + [(nxt,) * 3, (nxt + 1,) * 3]
        cache = {}
        for ti, p in enumerate(toks):
            for k in range(pairs):
                a = axis[k]
                key = (p[a], k)
                if key not in cache:
                    cache[key] = coef(base, hd, k, p[a])
                v = cache[key]
                cs.append(f"{vname} {ti} {p[0]} {p[1]} {p[2]} {k} {a} " +
                          " ".join(hexf(x) for x in v) + "\n")
        # rotated vectors for a text, an image, a video and a decode token, both layouts
        picks = [0, 4, len(toks) - 9, len(toks) - 1]
        for layout in ("half_split", "interleaved"):
            for ti in picks:
                p = toks[ti]
                x = [rn32_float(rnd.uniform(-4, 4)) for _ in range(hd)]
                y = list(x)
                sc = [0.0] * hd
                for k in range(pairs):
                    c, s = cache[(p[axis[k]], k)][0:2]
                    ia, ib = (k, k + pairs) if layout == "half_split" else (2 * k, 2 * k + 1)
                    fa, fb, fc, fs = (Fraction(x[ia]), Fraction(x[ib]), Fraction(c), Fraction(s))
                    y[ia] = float(fa * fc - fb * fs)  # Fraction -> float rounds to nearest
                    y[ib] = float(fa * fs + fb * fc)
                    sc[ia] = float(abs(fa * fc) + abs(fb * fs))
                    sc[ib] = float(abs(fa * fs) + abs(fb * fc))
                rot.append(f"{vname} {layout} {ti} {p[0]} {p[1]} {p[2]} " +
                           " ".join(hexf(v) for v in x + y + sc) + "\n")

    # ---- vision 2-D: head_dim 80, theta 10000, grid (1, 8, 12), merge 2, window 2 blocks
    hd, theta, grid, merge, ws = 80, 10000.0, (1, 8, 12), 2, 2
    q = hd // 4
    patches = vision_patches(*grid, merge)
    idx, cu = window_index(*grid, merge, ws)
    vis = [hdr, f"# vision 2-D RoPE: head_dim {hd}, theta {theta:g}, grid t h w = {grid}, "
           f"merge {merge}, window {ws} blocks\n",
           "# patch i row col            (rot_pos_emb order)\n",
           "# window i block             (get_window_index)\n",
           "# cu i value                 (cu_window_seqlens)\n",
           "# cs patch pair axis c32 s32 c64 s64 chf shf  (pair k<q: row, freq k; else col, freq k-q;"
           " frequencies of a rope over head_dim/2 channels)\n"]
    for i, (r, c) in enumerate(patches):
        vis.append(f"patch {i} {r} {c}\n")
    for i, b in enumerate(idx):
        vis.append(f"window {i} {b}\n")
    for i, v in enumerate(cu):
        vis.append(f"cu {i} {v}\n")
    vcache = {}
    for i, (r, c) in enumerate(patches):
        for k in range(2 * q):
            a, j, p = (0, k, int(r)) if k < q else (1, k - q, int(c))
            if (p, j) not in vcache:
                vcache[(p, j)] = coef(theta, hd // 2, j, p)
            vis.append(f"cs {i} {k} {a} " + " ".join(hexf(x) for x in vcache[(p, j)]) + "\n")

    open(os.path.join(DATA, "mrope_cos_sin.txt"), "w").write("".join(cs))
    open(os.path.join(DATA, "mrope_rotate.txt"), "w").write("".join(rot))
    open(os.path.join(DATA, "mrope_vision.txt"), "w").write("".join(vis))


if __name__ == "__main__":
    main()
