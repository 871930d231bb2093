#!/usr/bin/env python3
"""Generate tests/data/mrope_ggml.txt, mrope_glm4v.txt and mrope_qwen3vl_vision.txt.

Run from the repository root:

    /usr/bin/python3 tests/oracle/gen_mrope_models.py

Deterministic (fixed seed). Needs numpy and mpmath; shares the number definitions of
tests/oracle/gen_mrope.py (exact-mode coefficients: RN32 / RN64 of the exact cos/sin of the
double angle RN64(pos * RN64(base^(-2j/d)))). Written from the upstream code, never from include/:

  ggml     ggml/src/ggml-cpu/ops.cpp (llama.cpp): ggml_mrope_cache_init -- four running angles
           theta_{t,h,w,e} = p_{t,h,w,e}, all multiplied by theta_scale = powf(base, -2.0f/n_dims)
           after every pair; sector = pair % (s_t+s_h+s_w+s_e); IMROPE (is_imrope): h if
           sector%3==1 && sector<3*s_h, w if sector%3==2 && sector<3*s_w, t if sector%3==0 &&
           sector<3*s_t, else e; MROPE/VISION: contiguous ranges t, h, w, then e; VISION
           (indep_sects) restarts the angle of a section at its first sector. rotate_pairs:
           MROPE/IMROPE (n_dims, n_dims/2): pair k = (k, k + n_dims/2), channels >= n_dims copied;
           VISION (ne0, n_dims): pair k = (k, k + n_dims) over the whole head, n_dims = ne0/2.
           Positions as llama.cpp fills them: text tokens (p, p, p, 0) (llm_graph_input_pos),
           image tokens (p0, p0 + y, p0 + x, 0) (mtmd set_position_mrope_2d), an image taking
           max(nx, ny) positions; plus cases with e != 0 and sections that repeat.
           Each pair also gets ggml's float32 recurrence values (theta in float32, cos/sin
           correctly rounded to float32) for the tests' bounded comparison.
  glm4v    transformers models/glm4v/modeling_glm4v.py: Glm4vTextRotaryEmbedding (inv_freq over
           rotary_dim = head_dim * partial_rotary_factor; emb = cat(freqs, freqs)),
           apply_multimodal_rotary_pos_emb (cos split by mrope_section * 2, chunk i from axis
           i % 3, then cos[..., :rotary_dim/2].repeat_interleave(2) and rotate_half_llm: pairs
           (2j, 2j+1), channels >= rotary_dim passed through); Glm4vModel.get_rope_index
           (token-type groups: image, video frame groups inside video start/end, text).
  qwen3vl  transformers models/qwen3_vl/modeling_qwen3_vl.py: Qwen3VLVisionModel.rot_pos_emb
           (block_rows * m + intra_row, block_cols * m + intra_col, repeated per frame) and
           fast_pos_embed_interpolate (torch.linspace(0, N-1, h) in float32 -- torch's CPU
           kernel: step = (end-start)/(steps-1), i < steps/2: start + step*i, else
           end - step*(steps-1-i); floor = int(), ceil = min(floor+1, N-1); the four corner
           indices and float32 bilinear weights; then the (t, h/m, m, w/m, m) permutation to
           merge order).
"""

import itertools
import os
import random
import sys
from fractions import Fraction

import mpmath
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_mrope import DATA, coef, hexf, rn, rn32_float  # noqa: E402

f32 = np.float32


# --------------------------------------------------------------------------------------------
# ggml
# --------------------------------------------------------------------------------------------


def ggml_map(pairs, sections, mode):
    """(axis, freq) per pair: ggml_mrope_cache_init's selection, with exponents counted."""
    s0, s1, s2, s3 = sections
    S = s0 + s1 + s2 + s3
    f = [0, 0, 0, 0]
    out = []
    for k in range(pairs):
        sector = k % S
        if mode == "vision":
            if sector == 0:
                f[0] = 0
            elif sector == s0:
                f[1] = 0
            elif sector == s0 + s1:
                f[2] = 0
            elif sector == s0 + s1 + s2:
                f[3] = 0
        if mode == "imrope":
            if sector % 3 == 1 and sector < 3 * s1:
                a = 1
            elif sector % 3 == 2 and sector < 3 * s2:
                a = 2
            elif sector % 3 == 0 and sector < 3 * s0:
                a = 0
            else:
                a = 3
        else:
            if sector < s0:
                a = 0
            elif sector < s0 + s1:
                a = 1
            elif sector < s0 + s1 + s2:
                a = 2
            else:
                a = 3
        out.append((a, f[a]))
        f = [x + 1 for x in f]
    return out


def powf(b, e):
    return rn(mpmath.power(mpmath.mpf(float(b)), mpmath.mpf(float(e))), 24)


def ggml_f32(base, n_dims, p, fidx):
    """ggml's float32 angle: float(p) times theta_scale, fidx times; cos/sin rounded to float32."""
    scale = f32(powf(f32(base), f32(f32(-2.0) / f32(n_dims))))
    th = f32(p)
    for _ in range(fidx):
        th = f32(th * scale)
    return rn(mpmath.cos(mpmath.mpf(float(th))), 24), rn(mpmath.sin(mpmath.mpf(float(th))), 24)


def llama_positions(chunks):
    """chunks: ('text', n) | ('image', nx, ny) -> list of (t, h, w, e) as llama.cpp fills them."""
    pos, p = [], 0
    for c in chunks:
        if c[0] == "text":
            for i in range(c[1]):
                pos.append((p + i, p + i, p + i, 0))
            p += c[1]
        else:
            nx, ny = c[1], c[2]
            for y in range(ny):
                for x in range(nx):
                    pos.append((p, p + y, p + x, 0))
            p += max(nx, ny)
    return pos


GGML_CASES = {
    # name: (head_dim ne0, n_dims, base, sections, mode, positions)
    "qwen2vl_mrope": (128, 128, 1000000.0, (16, 24, 24, 0), "mrope",
                      llama_positions([("text", 3), ("image", 3, 2), ("text", 2)])),
    "qwen3vl_imrope": (128, 128, 5000000.0, (24, 20, 20, 0), "imrope",
                       llama_positions([("text", 3), ("image", 3, 2), ("text", 2)])),
    # partial rotary (64 of 128), sections repeating (S = 16 < 32 pairs), a used e axis
    "repeat_mrope": (128, 64, 10000.0, (6, 5, 3, 2), "mrope",
                     [(0, 0, 0, 0), (5, 9, 2, 7), (40, 41, 44, 3), (300, 301, 299, 1000)]),
    "repeat_imrope": (128, 64, 10000.0, (4, 4, 4, 4), "imrope",
                      [(0, 0, 0, 0), (5, 9, 2, 7), (40, 41, 44, 3), (300, 301, 299, 1000)]),
    # clip.cpp Qwen2-VL ViT: sections d/4 x 4, positions (row, col, row, col) in merge order
    "qwen2vl_vision": (80, 40, 10000.0, (20, 20, 20, 20), "vision",
                       [(r, c, r, c) for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 4),
                                                    (3, 5), (7, 11)]]),
    # uneven sections, every one restarting its frequencies, distinct e
    "uneven_vision": (80, 40, 10000.0, (8, 12, 10, 10), "vision",
                      [(0, 0, 0, 0), (3, 5, 7, 9), (12, 1, 30, 2)]),
}


def gen_ggml(hdr, rnd):
    cs = [hdr, "# cs case token t h w e pair axis freq c32 s32 c64 s64 cggml sggml\n",
          "# case name head_dim n_dims base s_t s_h s_w s_e mode\n",
          "# rot case token x[0..head_dim) y[0..head_dim) scale[0..head_dim)  (exact RN32 coefficients)\n"]
    for name, (ne0, n_dims, base, sec, mode, toks) in GGML_CASES.items():
        cs.append(f"case {name} {ne0} {n_dims} {base:g} {sec[0]} {sec[1]} {sec[2]} {sec[3]} {mode}\n")
        pairs = ne0 // 2 if mode == "vision" else n_dims // 2
        m = ggml_map(pairs, sec, mode)
        cache = {}
        for ti, p in enumerate(toks):
            for k in range(pairs):
                a, fi = m[k]
                key = (p[a], fi)
                if key not in cache:
                    c32, s32, c64, s64, _, _ = coef(base, n_dims, fi, p[a])
                    cache[key] = (c32, s32, c64, s64) + ggml_f32(base, n_dims, p[a], fi)
                cs.append(f"cs {name} {ti} {p[0]} {p[1]} {p[2]} {p[3]} {k} {a} {fi} " +
                          " ".join(hexf(v) for v in cache[key]) + "\n")
        for ti in (0, len(toks) - 1, len(toks) // 2):
            p = toks[ti]
            x = [rn32_float(rnd.uniform(-4, 4)) for _ in range(ne0)]
            y, sc = list(x), [0.0] * ne0
            off = n_dims if mode == "vision" else n_dims // 2
            for k in range(pairs):
                a, fi = m[k]
                c, s = cache[(p[a], fi)][0:2]
                ia, ib = k, k + off
                fa, fb, fc, fs = Fraction(x[ia]), Fraction(x[ib]), Fraction(c), Fraction(s)
                y[ia] = float(fa * fc - fb * fs)
                y[ib] = float(fa * fs + fb * fc)
                sc[ia] = float(abs(fa * fc) + abs(fb * fs))
                sc[ib] = float(abs(fa * fs) + abs(fb * fc))
            cs.append(f"rot {name} {ti} " + " ".join(hexf(v) for v in x + y + sc) + "\n")
    open(os.path.join(DATA, "mrope_ggml.txt"), "w").write("".join(cs))


# --------------------------------------------------------------------------------------------
# GLM-4.1V
# --------------------------------------------------------------------------------------------


def glm_rope_index(token_types, image_grids, video_grids, merge):
    """Glm4vModel.get_rope_index over one sequence given per-token types ('text', 'image',
    'video'), as the reference groups them."""
    groups = []
    for key, grp in itertools.groupby(enumerate(token_types), lambda x: x[1]):
        grp = list(grp)
        groups.append((key, grp[0][0], grp[-1][0] + 1))
    parts = []
    image_index = video_index = video_group_index = 0
    video_frame_num = 1
    for kind, s, e in groups:
        st = int(max(q.max() for q in parts)) + 1 if parts else 0
        if kind == "image":
            t, h, w = image_grids[image_index]
            gt, gh, gw = t, h // merge, w // merge
            ti = np.broadcast_to(np.arange(gt).reshape(-1, 1), (gt, gh * gw)).flatten()
            hi = np.broadcast_to(np.arange(gh).reshape(1, -1, 1), (gt, gh, gw)).flatten()
            wi = np.broadcast_to(np.arange(gw).reshape(1, 1, -1), (gt, gh, gw)).flatten()
            parts.append(np.stack([ti, hi, wi]) + st)
            image_index += 1
            video_frame_num = 1
        elif kind == "video":
            gt, gh, gw = video_frame_num, video_grids[video_index][1] // merge, \
                video_grids[video_index][2] // merge
            for t_idx in range(gt):
                ti = np.full(gh * gw, t_idx)
                hi = np.broadcast_to(np.arange(gh).reshape(1, -1, 1), (1, gh, gw)).flatten()
                wi = np.broadcast_to(np.arange(gw).reshape(1, 1, -1), (1, gh, gw)).flatten()
                parts.append(np.stack([ti, hi, wi]) + st)
            video_group_index += 1
            if video_group_index >= video_grids[video_index][0]:
                video_index += 1
                video_group_index = 0
            video_frame_num += 1
        else:
            n = e - s
            parts.append(np.broadcast_to(np.arange(n).reshape(1, -1), (3, n)) + st)
            video_frame_num = 1
    pos = np.concatenate(parts, axis=1)
    assert pos.shape[1] == len(token_types)
    return pos.T.astype(np.int64), int(pos.max()) + 1


def glm_pair_axes(rotary_dim, section):
    """Axis of each rotated channel pair (2j, 2j+1), built as apply_multimodal_rotary_pos_emb
    builds its cos: columns of cat(freqs, freqs) split by section * 2, chunk i from axis i % 3,
    first half kept, repeat_interleave(2)."""
    col_axis = []
    for i, n in enumerate(list(section) * 2):
        col_axis += [i % 3] * n
    assert len(col_axis) == rotary_dim
    half = col_axis[: rotary_dim // 2]
    full = [a for a in half for _ in range(2)]  # repeat_interleave(2)
    # channel 2j and 2j+1 carry frequency j (the first half of cat(freqs, freqs)) and one axis
    assert all(full[2 * j] == full[2 * j + 1] for j in range(rotary_dim // 2))
    return [full[2 * j] for j in range(rotary_dim // 2)]


def gen_glm(hdr, rnd):
    merge = 2
    # <text x3> <image 4x6 grid: 6 tokens> <text x2> <video 2 frames of 4x4 patches, each frame
    # inside video start/end, separated by its timestamp text> <text x3>
    types = (["text"] * 3 + ["image"] * 6 + ["text"] * 2 + ["text"] +  # video start token
             ["video"] * 4 + ["text"] * 2 + ["video"] * 4 + ["text"] + ["text"] * 3)
    pos, nxt = glm_rope_index(types, [(1, 4, 6)], [(2, 4, 4)], merge)
    head_dim, prf, base, section = 128, 0.5, 10000.0, (8, 12, 12)
    rot_dim = int(head_dim * prf)
    axes = glm_pair_axes(rot_dim, section)
    out = [hdr,
           "# GLM-4.1V: head_dim 128, partial_rotary_factor 0.5 (rotary_dim 64), rope_theta 10000,"
           " mrope_section [8, 12, 12], interleaved pairs (2j, 2j+1)\n",
           "# types: " + " ".join(types) + "\n",
           "# pos token t h w ; next value ; axis pair a ; cs token pair c32 s32 c64 s64 chf shf ;"
           " rot token x[0..128) y[0..128) scale[0..128)\n"]
    for i, p in enumerate(pos):
        out.append(f"pos {i} {p[0]} {p[1]} {p[2]}\n")
    out.append(f"next {nxt}\n")
    for j, a in enumerate(axes):
        out.append(f"axis {j} {a}\n")
    toks = [tuple(int(v) for v in p) for p in pos] + [(nxt,) * 3]
    cache = {}
    for ti, p in enumerate(toks):
        for j in range(rot_dim // 2):
            key = (p[axes[j]], j)
            if key not in cache:
                cache[key] = coef(base, rot_dim, j, p[axes[j]])
            out.append(f"cs {ti} {j} " + " ".join(hexf(v) for v in cache[key]) + "\n")
    for ti in (0, 5, 13, len(toks) - 1):
        p = toks[ti]
        x = [rn32_float(rnd.uniform(-4, 4)) for _ in range(head_dim)]
        y, sc = list(x), [0.0] * head_dim
        for j in range(rot_dim // 2):
            c, s = cache[(p[axes[j]], j)][0:2]
            fa, fb, fc, fs = Fraction(x[2 * j]), Fraction(x[2 * j + 1]), Fraction(c), Fraction(s)
            y[2 * j] = float(fa * fc - fb * fs)  # rotate_half_llm: (-x[2j+1], x[2j])
            y[2 * j + 1] = float(fb * fc + fa * fs)
            sc[2 * j] = float(abs(fa * fc) + abs(fb * fs))
            sc[2 * j + 1] = float(abs(fb * fc) + abs(fa * fs))
        out.append(f"rot {ti} " + " ".join(hexf(v) for v in x + y + sc) + "\n")
    open(os.path.join(DATA, "mrope_glm4v.txt"), "w").write("".join(out))


# --------------------------------------------------------------------------------------------
# Qwen3-VL vision
# --------------------------------------------------------------------------------------------


def qwen3_rot_pos(t, h, w, m):
    mh, mw = h // m, w // m
    br = np.arange(mh)[:, None, None, None]
    bc = np.arange(mw)[None, :, None, None]
    ir = np.arange(m)[None, None, :, None]
    ic = np.arange(m)[None, None, None, :]
    row = np.broadcast_to(br * m + ir, (mh, mw, m, m)).reshape(-1)
    col = np.broadcast_to(bc * m + ic, (mh, mw, m, m)).reshape(-1)
    coords = np.stack([row, col], axis=-1)
    if t > 1:
        coords = np.tile(coords, (t, 1))
    return coords


def torch_linspace_f32(start, end, steps):
    start, end = f32(start), f32(end)
    if steps == 1:
        return [start]
    step = f32(f32(end - start) / f32(steps - 1))
    half = steps // 2
    out = []
    for i in range(steps):
        if i < half:
            out.append(f32(start + f32(step * f32(i))))
        else:
            out.append(f32(end - f32(step * f32(steps - i - 1))))
    return out


def qwen3_interp(t, h, w, m, n):
    hs, ws = torch_linspace_f32(0, n - 1, h), torch_linspace_f32(0, n - 1, w)
    rows = []
    for i in range(h):
        for j in range(w):
            hf, wf = int(hs[i]), int(ws[j])
            hc, wc = min(hf + 1, n - 1), min(wf + 1, n - 1)
            dh, dw = f32(hs[i] - f32(hf)), f32(ws[j] - f32(wf))
            idx = [hf * n + wf, hf * n + wc, hc * n + wf, hc * n + wc]
            wt = [f32(f32(1 - dh) * f32(1 - dw)), f32(f32(1 - dh) * dw),
                  f32(dh * f32(1 - dw)), f32(dh * dw)]
            rows.append((idx, wt))
    # repeat(t), view(t, h/m, m, w/m, m).permute(0, 1, 3, 2, 4)
    order = np.arange(h * w).reshape(h // m, m, w // m, m).transpose(0, 2, 1, 3).reshape(-1)
    return [rows[o] for _ in range(t) for o in order]


def gen_qwen3(hdr):
    out = [hdr, "# Qwen3-VL ViT: patch case i row col (rot_pos_emb); interp case i idx0..3 w0..3 "
           "(fast_pos_embed_interpolate, num_grid_per_side 48)\n"]
    for name, (t, h, w) in {"a": (2, 4, 6), "b": (1, 6, 10)}.items():
        for i, (r, c) in enumerate(qwen3_rot_pos(t, h, w, 2)):
            out.append(f"patch {name} {i} {r} {c}\n")
        for i, (idx, wt) in enumerate(qwen3_interp(t, h, w, 2, 48)):
            out.append(f"interp {name} {i} " + " ".join(str(v) for v in idx) + " " +
                       " ".join(hexf(float(v)) for v in wt) + "\n")
    open(os.path.join(DATA, "mrope_qwen3vl_vision.txt"), "w").write("".join(out))


def main():
    if not os.path.isdir(DATA):
        sys.exit("run from the repository root")
    hdr = ("# generated by tests/oracle/gen_mrope_models.py (do not edit; regenerate with "
           "/usr/bin/python3 tests/oracle/gen_mrope_models.py)\n"
           f"# python {sys.version.split()[0]}, mpmath {mpmath.__version__}, numpy {np.__version__}\n")
    rnd = random.Random(1717)
    gen_ggml(hdr, rnd)
    gen_glm(hdr, rnd)
    gen_qwen3(hdr)


if __name__ == "__main__":
    main()
