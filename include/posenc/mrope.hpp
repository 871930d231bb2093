// posenc — multi-axis RoPE: M-RoPE (Qwen2-VL / Qwen2.5-VL sections, Qwen3-VL interleaved,
// GLM-4.1V), llama.cpp / ggml's MROPE, IMROPE and VISION with their four axes, 2-D vision RoPE
// (Qwen2/2.5/3-VL and GLM-4.1V ViTs), the 3-D position ids of a text/image/video prompt, the
// patch positions of a vision grid, and Llama-4's NoPE-layer query temperature.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_MROPE_HPP
#define POSENC_MROPE_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "posenc/config.hpp"
#include "posenc/detail/aligned.hpp"
#include "posenc/detail/apply_interface.hpp"
#include "posenc/detail/error.hpp"
#include "posenc/detail/fp_barrier.hpp"
#include "posenc/detail/rope_apply.hpp"
#include "posenc/rope.hpp"
#include "posenc/storage.hpp"
#include "posenc/types.hpp"
#include "posenc/view.hpp"

/// Keeps mrope_cache's gather of positions beyond the table out of line, so the token fetches
/// inlined into the rotation loops stay small.
#if defined(__GNUC__) || defined(__clang__)
#define POSENC_MROPE_NOINLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#define POSENC_MROPE_NOINLINE __declspec(noinline)
#else
#define POSENC_MROPE_NOINLINE
#endif

namespace posenc {

/**
 * How the rotary pairs of a head are assigned to the position axes (t, h, w) of M-RoPE.
 *
 * Both take `section` = {s_t, s_h, s_w} pair counts with s_t + s_h + s_w = rotary_dim / 2.
 *  - sectioned (Qwen2-VL, Qwen2.5-VL): contiguous ranges, pair k < s_t → t, k < s_t + s_h → h,
 *    else w. HF transformers `apply_multimodal_rotary_pos_emb` (modeling_qwen2_vl.py) splits
 *    the head_dim cos/sin into `mrope_section * 2` chunks and takes chunk i from axis i % 3,
 *    i.e. the same ranges in both halves of the rotate_half layout; vLLM `MRotaryEmbedding`
 *    splits the rotary_dim/2 cos/sin by `mrope_section`; ggml GGML_ROPE_TYPE_MROPE assigns
 *    sector = pair mod (s_t+s_h+s_w) the same way. All three agree.
 *  - interleaved (Qwen3-VL, `mrope_interleaved`): pair k → h if k % 3 == 1 and k < 3·s_h,
 *    → w if k % 3 == 2 and k < 3·s_w, else t (HF `Qwen3VLTextRotaryEmbedding.
 *    apply_interleaved_mrope`, which starts from the t frequencies and overwrites the slices
 *    [1 : 3·s_h : 3] and [2 : 3·s_w : 3]; vLLM `apply_interleaved_rope` does the same).
 *    For {24, 20, 20}: t h w t h w … (60 pairs) then t t t t. ggml GGML_ROPE_TYPE_IMROPE
 *    (ggml_mrope_cache_init) differs on the tail: it gives t only to k % 3 == 0 and
 *    k < 3·s_t and sends the other leftover pairs (61 and 62 for {24, 20, 20}) to its fourth
 *    position axis; posenc follows the model's reference code (HF): those pairs take t.
 */
enum class mrope_mode { sectioned, interleaved };

/// Which position axis each of `pairs` rotary pairs takes (0 = t, 1 = h, 2 = w); validates
/// the section (throws std::invalid_argument naming the field).
inline std::vector<std::uint8_t> mrope_pair_axes(std::size_t pairs,
                                                 const std::array<std::size_t, 3>& section,
                                                 mrope_mode mode) {
  constexpr const char* who = "posenc::mrope";
  const std::size_t sum = section[0] + section[1] + section[2];
  if (sum != pairs)
    detail::invalid(who, "mrope_section (sum)", sum, "must equal rotary_dim / 2 (the pair count)");
  std::vector<std::uint8_t> axis(pairs, 0);
  if (mode == mrope_mode::sectioned) {
    for (std::size_t k = 0; k < pairs; ++k)
      axis[k] = k < section[0] ? 0 : (k < section[0] + section[1] ? 1 : 2);
  } else if (mode == mrope_mode::interleaved) {
    for (std::size_t k = 0; k < pairs; ++k) {
      if (k % 3 == 1 && k < 3 * section[1]) axis[k] = 1;
      if (k % 3 == 2 && k < 3 * section[2]) axis[k] = 2;
    }
    std::size_t count[3] = {0, 0, 0};
    for (std::uint8_t a : axis) ++count[a];
    for (int a = 0; a < 3; ++a)
      if (count[a] != section[static_cast<std::size_t>(a)])
        detail::invalid(who, "mrope_section (interleaved)", section[static_cast<std::size_t>(a)],
                        "cannot be interleaved t,h,w: the h and w sections must fit in "
                        "every third pair (as in Qwen3-VL's {24, 20, 20})");
  } else {
    detail::invalid(who, "mode", static_cast<int>(mode), "is not an mrope_mode");
  }
  return axis;
}

/**
 * Per-token positions of a multi-axis RoPE: axis a of token t is axis[a][t · stride]. Build it
 * with make_mrope_positions from a [tokens × axes] array (stride = axes) or from one array per
 * axis (HF's `position_ids` of shape (3, batch, seq), ggml's 4 · n_tokens `pos` tensor: stride
 * 1). Values ≥ 0. Axis 3 is read only by the four-axis (ggml) mropes.
 */
template <class P>
struct mrope_positions {
  static_assert(std::is_integral<P>::value, "posenc: positions are integers (int32 or int64)");
  const P* axis[4] = {nullptr, nullptr, nullptr, nullptr};
  std::size_t stride = 1;
  P at(std::size_t t, std::size_t a) const noexcept { return axis[a][t * stride]; }
};
/// From a row-major [tokens × axes] array (axes = 3 for M-RoPE, 2 for vision 2-D RoPE, 4 for
/// ggml's four position axes t, h, w, e).
template <class P>
mrope_positions<P> make_mrope_positions(const P* rows, std::size_t axes = 3) noexcept {
  POSENC_ASSERT(axes >= 2 && axes <= 4, "posenc::make_mrope_positions: axes is 2, 3 or 4");
  mrope_positions<P> m;
  m.axis[0] = rows;
  m.axis[1] = rows + 1;
  m.axis[2] = axes >= 3 ? rows + 2 : rows + 1;
  m.axis[3] = axes == 4 ? rows + 3 : rows;
  m.stride = axes;
  return m;
}
/// From one array per axis (w may be null for two axes; e, the fourth, defaults to t).
template <class P>
mrope_positions<P> make_mrope_positions(const P* t, const P* h, const P* w,
                                        const P* e = nullptr) noexcept {
  mrope_positions<P> m;
  m.axis[0] = t;
  m.axis[1] = h;
  m.axis[2] = w != nullptr ? w : h;
  m.axis[3] = e != nullptr ? e : t;
  m.stride = 1;
  return m;
}
/// From ggml's position tensor of a ggml_rope_multi call: 4 · n_tokens int32, axis-major
/// (t of every token, then h, then w, then e; llama.cpp `llm_graph_input_pos`).
template <class P>
mrope_positions<P> make_mrope_positions_ggml(const P* pos, std::size_t n_tokens) noexcept {
  return make_mrope_positions(pos, pos + n_tokens, pos + 2 * n_tokens, pos + 3 * n_tokens);
}

/**
 * llama.cpp / ggml's multi-axis rope modes (`ggml_rope_multi(ctx, a, b, c, n_dims,
 * sections[4], mode, ...)`, ggml-cpu ops.cpp `ggml_mrope_cache_init` and `rotate_pairs`):
 * positions are four axes (t, h, w, e) and sections four pair counts; with
 * S = s_t + s_h + s_w + s_e, pair k has sector σ = k mod S and takes
 *  - mrope  (GGML_ROPE_TYPE_MROPE, Qwen2-VL / Qwen2.5-VL): t if σ < s_t, h if σ < s_t + s_h,
 *    w if σ < s_t + s_h + s_w, else e; frequency k; NEOX pairs (k, k + n_dims/2) over the
 *    first n_dims channels, the rest passed through.
 *  - imrope (GGML_ROPE_TYPE_IMROPE, Qwen3-VL): h if σ mod 3 = 1 and σ < 3·s_h, w if
 *    σ mod 3 = 2 and σ < 3·s_w, t if σ mod 3 = 0 and σ < 3·s_t, else e; frequency k; NEOX.
 *  - vision (GGML_ROPE_TYPE_VISION, Qwen2-VL / Qwen2.5-VL ViT in clip.cpp): the mrope ranges,
 *    but the frequency restarts at each section (`indep_sects`): frequency σ − (start of its
 *    section); n_dims = head_dim / 2 (ggml asserts it) and the pairs are (k, k + n_dims) over
 *    the whole head (`rotate_pairs(ne0, n_dims, ...)`), frequencies θ_j = base^(−2j/n_dims).
 * Where this differs from the models' HF code:
 *  - imrope: HF Qwen3-VL gives every leftover pair t (for {24, 20, 20}: pairs 60..63); ggml
 *    gives t only to σ mod 3 = 0 and the rest (61, 62) to e — and llama.cpp sets e = 0 for
 *    text tokens (`llm_graph_input_pos`: "4th dim is 0") and image tokens
 *    (mtmd `set_position_mrope_2d`), so those pairs do not rotate there.
 *  - mrope: with s_e = 0 and S = rotary_dim / 2 (every converted Qwen2-VL) ggml equals HF;
 *    S < rotary_dim / 2 repeats the pattern (HF has no such case).
 *  - numerics: ggml forms θ by a float32 recurrence θ_{k+1} = θ_k · RN32(base^(−2/n_dims));
 *    posenc uses its rope's precision mode (exact, or HF's float32 inv_freq), so angles differ
 *    by the recurrence's rounding (≲ (k + 2)·2⁻²⁴ relative), not by assignment.
 */
enum class ggml_rope_mode { mrope, imrope, vision };

/// ggml's pair → (axis, frequency index) for `pairs` pairs of a head of `channels` channels (see
/// ggml_rope_mode): a transcription of `ggml_mrope_cache_init`, whose four running angles
/// all advance by one frequency step per pair and, in vision mode, restart at the first
/// sector of their section. Throws std::invalid_argument for sections whose t + h + w is 0 or
/// whose sum exceeds `channels` (ggml's asserts).
inline void ggml_mrope_pair_map(std::size_t pairs, std::size_t channels,
                                const std::array<std::size_t, 4>& sections, ggml_rope_mode mode,
                                std::vector<std::uint8_t>& axis, std::vector<std::uint32_t>& freq) {
  constexpr const char* who = "posenc::mrope::ggml";
  if (mode != ggml_rope_mode::mrope && mode != ggml_rope_mode::imrope &&
      mode != ggml_rope_mode::vision)
    detail::invalid(who, "mode", static_cast<int>(mode), "is not a ggml_rope_mode");
  const std::size_t s0 = sections[0], s1 = sections[1], s2 = sections[2];
  const std::size_t S = s0 + s1 + s2 + sections[3];
  if (s0 + s1 + s2 == 0)
    detail::invalid(who, "sections (t + h + w)", s0 + s1 + s2, "must be > 0 (ggml asserts it)");
  if (S > channels)
    detail::invalid(who, "sections (sum)", S, "must be at most the head's channel count (ggml)");
  axis.assign(pairs, 0);
  freq.assign(pairs, 0);
  std::size_t f[4] = {0, 0, 0, 0};  // frequency index of each running angle
  const bool vision = mode == ggml_rope_mode::vision;
  for (std::size_t k = 0; k < pairs; ++k) {
    const std::size_t sec = k % S;
    if (vision) {  // indep_sects: restart the angle of the section that begins here
      if (sec == 0) {
        f[0] = 0;
      } else if (sec == s0) {
        f[1] = 0;
      } else if (sec == s0 + s1) {
        f[2] = 0;
      } else if (sec == s0 + s1 + s2) {
        f[3] = 0;
      }
    }
    std::uint8_t a = 0;
    if (mode == ggml_rope_mode::imrope) {
      if (sec % 3 == 1 && sec < 3 * s1) {
        a = 1;
      } else if (sec % 3 == 2 && sec < 3 * s2) {
        a = 2;
      } else if (sec % 3 == 0 && sec < 3 * s0) {
        a = 0;
      } else {
        a = 3;
      }
    } else {
      a = sec < s0 ? 0 : (sec < s0 + s1 ? 1 : (sec < s0 + s1 + s2 ? 2 : 3));
    }
    axis[k] = a;
    freq[k] = static_cast<std::uint32_t>(f[a]);
    for (std::size_t& x : f) ++x;
  }
}

namespace kernels {

template <class C>
C select_axis_scalar(const C* const* r, C sel, std::size_t i) noexcept {
  return sel == C(0) ? r[0][i] : (sel == C(1) ? r[1][i] : r[2][i]);
}
/// Scalar reference of select_axis: out[i] = r[sel[i]][i] (sel holds 0, 1 or 2 as C values).
template <class C>
void select_axis_ref(const C* const* r, const C* sel, C* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = select_axis_scalar(r, sel[i], i);
}
template <class C>
void select_axis(scalar_arch, const C* const* r, const C* sel, C* out, std::size_t n) noexcept {
  select_axis_ref(r, sel, out, n);
}
#if POSENC_HAS_XSIMD
/// Gathers one coefficient row of a multi-axis RoPE from the rows of its axes: two compares
/// and two blends per register (the pair→axis map is fixed, so it is a lane select, not a
/// gather).
template <class Arch, class C>
POSENC_FORCE_INLINE void select_axis(Arch, const C* const* r, const C* sel, C* out,
                                     std::size_t n) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t L = B::size;
  const B one(C(1)), two(C(2));
  const C* const r0 = r[0];
  const C* const r1 = r[1];
  const C* const r2 = r[2];
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const B sv = B::load_unaligned(sel + i);
    const B a = B::load_unaligned(r0 + i);
    const B b = B::load_unaligned(r1 + i);
    const B c = B::load_unaligned(r2 + i);
    xsimd::select(sv == one, b, xsimd::select(sv == two, c, a)).store_unaligned(out + i);
  }
  if (i < n) {
    const C* rt[3] = {r0 + i, r1 + i, r2 + i};
    select_axis_ref(rt, sel + i, out + i, n - i);
  }
}
#endif

/// Four-row form (ggml's e axis): out[i] = r[sel[i]][i], sel in {0, 1, 2, 3}.
template <class C>
void select_axis4_ref(const C* const* r, const C* sel, C* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    out[i] = sel[i] == C(3) ? r[3][i] : select_axis_scalar(r, sel[i], i);
}
template <class C>
void select_axis4(scalar_arch, const C* const* r, const C* sel, C* out, std::size_t n) noexcept {
  select_axis4_ref(r, sel, out, n);
}
#if POSENC_HAS_XSIMD
template <class Arch, class C>
POSENC_FORCE_INLINE void select_axis4(Arch, const C* const* r, const C* sel, C* out,
                                      std::size_t n) noexcept {
  using B = xsimd::batch<C, Arch>;
  constexpr std::size_t L = B::size;
  const B one(C(1)), two(C(2)), three(C(3));
  const C* const r0 = r[0];
  const C* const r1 = r[1];
  const C* const r2 = r[2];
  const C* const r3 = r[3];
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const B sv = B::load_unaligned(sel + i);
    const B a = B::load_unaligned(r0 + i);
    const B b = B::load_unaligned(r1 + i);
    const B c = B::load_unaligned(r2 + i);
    const B d = B::load_unaligned(r3 + i);
    xsimd::select(sv == three, d, xsimd::select(sv == one, b, xsimd::select(sv == two, c, a)))
        .store_unaligned(out + i);
  }
  if (i < n) {
    const C* rt[4] = {r0 + i, r1 + i, r2 + i, r3 + i};
    select_axis4_ref(rt, sel + i, out + i, n - i);
  }
}
#endif

/// ggml's four-axis gather of one chunk of n pairs: rows r[a] hold cos at r[a][i] and sin at
/// r[a][half + i]; for i < n,
///     oc[i] = r[sel[i]][i],  os[i] = r[sel[i]][half + i]
/// (select_axis4 over the cos and over the sin half), where sel[i] is 3 (the e axis) only for
/// e_lo <= i < e_hi (none if e_lo >= e_hi). Same = true: rows 0, 1 and 2 are one row
/// (t = h = w: a text token with e apart).
template <bool Same, class C>
void select_pairs_e_ref(const C* const* r, std::size_t half, const C* sel, C* oc, C* os,
                        std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t a = sel[i] == C(3) ? 3 : (Same ? 0 : static_cast<std::size_t>(sel[i]));
    oc[i] = r[a][i];
    os[i] = r[a][half + i];
  }
}
template <bool Same, class C>
void select_pairs_e(scalar_arch, const C* const* r, std::size_t half, const C* sel, C* oc, C* os,
                    std::size_t n, std::size_t, std::size_t) noexcept {
  select_pairs_e_ref<Same>(r, half, sel, oc, os, n);
}
#if POSENC_HAS_XSIMD
namespace detail {
// One register of select_pairs_e at i: the t/h/w select (Same: the t row), and with E the e row
// blended where sel is 3.
template <bool Same, bool E, class Arch, class C>
POSENC_FORCE_INLINE void select_pairs_reg(const C* const* r, std::size_t half, const C* sel, C* oc,
                                          C* os, std::size_t i) noexcept {
  using B = xsimd::batch<C, Arch>;
  B c = B::load_unaligned(r[0] + i);
  B s = B::load_unaligned(r[0] + half + i);
  if constexpr (!Same || E) {
    const B sv = B::load_unaligned(sel + i);
    if constexpr (!Same) {
      const auto m1 = sv == B(C(1));
      const auto m2 = sv == B(C(2));
      c = xsimd::select(m1, B::load_unaligned(r[1] + i),
                        xsimd::select(m2, B::load_unaligned(r[2] + i), c));
      s = xsimd::select(m1, B::load_unaligned(r[1] + half + i),
                        xsimd::select(m2, B::load_unaligned(r[2] + half + i), s));
    }
    if constexpr (E) {
      const auto m3 = sv == B(C(3));
      c = xsimd::select(m3, B::load_unaligned(r[3] + i), c);
      s = xsimd::select(m3, B::load_unaligned(r[3] + half + i), s);
    }
  }
  c.store_unaligned(oc + i);
  s.store_unaligned(os + i);
}
}  // namespace detail

/// Vector form: one selector register (its compares) serves the cos and the sin register of
/// its pairs, and the e row is read and blended only in the registers that cover [e_lo, e_hi)
/// — the other registers are the three-row select (Same: a copy of the t row). Three loops of
/// fixed trip counts, no branch per register.
template <bool Same, class Arch, class C>
POSENC_FORCE_INLINE void select_pairs_e(Arch, const C* const* r, std::size_t half, const C* sel,
                                        C* oc, C* os, std::size_t n, std::size_t e_lo,
                                        std::size_t e_hi) noexcept {
  constexpr std::size_t L = xsimd::batch<C, Arch>::size;
  const std::size_t body = n - n % L;
  std::size_t lo = body, hi = body;  // the registers that hold e pairs: [lo, hi)
  if (e_lo < e_hi) {
    lo = std::min(e_lo - e_lo % L, body);
    hi = std::min((e_hi + L - 1) / L * L, body);
  }
  std::size_t i = 0;
  for (; i < lo; i += L) detail::select_pairs_reg<Same, false, Arch>(r, half, sel, oc, os, i);
  for (; i < hi; i += L) detail::select_pairs_reg<Same, true, Arch>(r, half, sel, oc, os, i);
  for (; i < body; i += L) detail::select_pairs_reg<Same, false, Arch>(r, half, sel, oc, os, i);
  if (i < n) {
    const C* rt[4] = {r[0] + i, r[1] + i, r[2] + i, r[3] + i};
    select_pairs_e_ref<Same>(rt, half, sel + i, oc + i, os + i, n - i);
  }
}
#endif

}  // namespace kernels

/**
 * Multi-axis rotary position embedding: each rotary pair k takes its angle from one position
 * axis a(k) of the token and one frequency θ_f(k) of a 1-D rope (its base, scaling, precision
 * mode and attention factor):
 *     pair k of a token at positions (p_0, p_1, p_2) turns by p_{a(k)} · θ_{f(k)}.
 *
 * - M-RoPE (Qwen2-VL, Qwen2.5-VL, Qwen3-VL; Wang et al. 2024, arXiv 2409.12191):
 *   mrope(rope, section, mode); f(k) = k, a(k) from mrope_pair_axes. With p_0 = p_1 = p_2
 *   (text tokens) every pair turns by p·θ_k: exactly 1-D RoPE, bit for bit.
 * - 2-D vision RoPE (Qwen2-VL / Qwen2.5-VL ViT, HF `VisionRotaryEmbedding(head_dim // 2)`
 *   + `rot_pos_emb`; ggml GGML_ROPE_TYPE_VISION, whose sections {d/4, d/4} restart the
 *   frequency index at the second section): mrope::vision_2d(head_dim, theta). The
 *   frequencies are those of a rope over head_dim/2 channels, θ_j = theta^(−2j/(head_dim/2)),
 *   j < head_dim/4; pair k < head_dim/4 turns by row·θ_k, pair k ≥ head_dim/4 by
 *   col·θ_{k − head_dim/4}, half-split over the whole head (HF concatenates the row and
 *   column angles and then `cat(emb, emb)` for rotate_half). Qwen3-VL's and GLM-4.1V's ViTs
 *   use the same rotary embedding and patch order.
 * - GLM-4.1V / GLM-4.5V text (HF modeling_glm4v): mrope(rope with rotary_dim = head_dim/2 and
 *   layout interleaved, {8, 12, 12}, sectioned).
 * - llama.cpp / ggml's four-axis modes: mrope::ggml (ggml_rope_mode).
 *
 * The rotation runs through the same kernels, views, storage types and layouts as rope: the
 * coefficient row of a token is gathered per pair from its axes, then every head of q and k
 * is rotated by it. Positions: mrope_positions (make_mrope_positions).
 */
namespace detail {
template <class P>
using mrope_positions_ref = const mrope_positions<P>&;
}  // namespace detail

class mrope : public detail::apply_interface<mrope, detail::mrope_positions_ref> {
  friend class detail::apply_interface<mrope, detail::mrope_positions_ref>;

 public:
  /// M-RoPE over `base` (any rope: scaling, precision, layout, partial rotary).
  mrope(const rope& base, const std::array<std::size_t, 3>& section, mrope_mode mode)
      : freq_(base),
        head_dim_(base.head_dim()),
        pairs_(base.pairs()),
        layout_(base.layout()),
        axes_(3),
        section_(section),
        mode_(mode) {
    axis_ = mrope_pair_axes(pairs_, section, mode);
    freq_index_.resize(pairs_);
    for (std::size_t k = 0; k < pairs_; ++k) freq_index_[k] = static_cast<std::uint32_t>(k);
    finish();
  }

  /// 2-D vision RoPE of the Qwen2-VL / Qwen2.5-VL ViT: head_dim channels, half-split, rows
  /// then columns (see the class comment). `precision` hf_f32 reproduces HF's float32 angles.
  static mrope vision_2d(std::size_t head_dim, double theta = 10000.0,
                         rope_precision precision = rope_precision::exact) {
    if (head_dim == 0 || head_dim % 4 != 0)
      detail::invalid("posenc::mrope::vision_2d", "head_dim", head_dim,
                      "must be a positive multiple of 4");
    rope_config fc;
    fc.head_dim = head_dim / 2;
    fc.base = theta;
    fc.precision = precision;
    return mrope(rope(fc), head_dim);
  }

  /**
   * The rope of llama.cpp / ggml's `ggml_rope_multi(..., n_dims, sections, mode, ...)`, four
   * position axes (t, h, w, e; see ggml_rope_mode for the pair rules and where they differ
   * from HF). `freq` carries n_dims (its rotary_dim), the base and any scaling:
   *  - mrope / imrope: the head is freq.head_dim() channels (ggml's ne0), pairs
   *    (k, k + n_dims/2) over the first n_dims (freq's layout must be half_split, ggml's NEOX).
   *  - vision: freq is a full rope over n_dims channels (rotary_dim == head_dim) and the head
   *    is 2·n_dims channels (ggml asserts n_dims == ne0/2), pairs (k, k + n_dims).
   * Positions: four axes (make_mrope_positions_ggml, or rows of 4).
   */
  static mrope ggml(const rope& freq, const std::array<std::size_t, 4>& sections,
                    ggml_rope_mode mode) {
    constexpr const char* who = "posenc::mrope::ggml";
    if (freq.layout() != rope_layout::half_split)
      detail::invalid(who, "layout", static_cast<int>(freq.layout()),
                      "must be half_split (ggml's multi-axis modes rotate NEOX pairs)");
    const bool vision = mode == ggml_rope_mode::vision;
    if (vision && freq.rotary_dim() != freq.head_dim())
      detail::invalid(who, "rotary_dim", freq.rotary_dim(),
                      "must equal head_dim for vision (n_dims; the head is 2·n_dims)");
    const std::size_t head = vision ? 2 * freq.rotary_dim() : freq.head_dim();
    const std::size_t pairs = vision ? head / 2 : freq.pairs();
    std::vector<std::uint8_t> axis;
    std::vector<std::uint32_t> fi;
    ggml_mrope_pair_map(pairs, head, sections, mode, axis, fi);
    for (std::size_t k = 0; k < pairs; ++k)
      if (fi[k] >= freq.pairs())
        detail::invalid(who, "sections (vision)", fi[k] + 1,
                        "exceeds the n_dims/2 frequencies of the rope");
    mrope m(freq, head, pairs, 4, std::move(axis), std::move(fi));
    m.section_ = {{sections[0], sections[1], sections[2]}};
    m.ggml_sections_ = sections;
    m.ggml_mode_ = mode;
    m.is_ggml_ = true;
    return m;
  }

  std::size_t head_dim() const noexcept { return head_dim_; }
  std::size_t rotary_dim() const noexcept { return 2 * pairs_; }
  std::size_t pairs() const noexcept { return pairs_; }
  rope_layout layout() const noexcept { return layout_; }
  /// 3 for M-RoPE, 2 for vision 2-D RoPE, 4 for the ggml modes (t, h, w, e).
  std::size_t axes() const noexcept { return axes_; }
  bool is_vision_2d() const noexcept { return axes_ == 2; }
  /// Built by mrope::ggml: its mode and four sections.
  bool is_ggml() const noexcept { return is_ggml_; }
  ggml_rope_mode ggml_mode() const noexcept { return ggml_mode_; }
  const std::array<std::size_t, 4>& ggml_sections() const noexcept { return ggml_sections_; }
  /// Whether some pair takes its angle from axis a.
  bool uses_axis(std::size_t a) const noexcept { return ((used_ >> a) & 1u) != 0; }
  /// The M-RoPE section (zeros for vision 2-D) and mode.
  const std::array<std::size_t, 3>& section() const noexcept { return section_; }
  mrope_mode mode() const noexcept { return mode_; }
  /// Axis of pair k (0 = t, 1 = h, 2 = w, 3 = e; vision: 0 = row, 1 = column).
  std::size_t axis(std::size_t pair) const noexcept { return axis_[pair]; }
  /// Index of pair k's frequency in frequencies() (k for M-RoPE).
  std::size_t frequency_index(std::size_t pair) const noexcept { return freq_index_[pair]; }
  /// The 1-D rope whose frequencies, precision and magnitude the pairs use.
  const rope& frequencies() const noexcept { return freq_; }

  /// Scalar definition of pair k's coefficients for a token at positions pos[0..axes()):
  /// frequencies().cos_sin(pos[axis(k)], frequency_index(k)).
  template <class C = float, class P>
  [[nodiscard]] std::pair<C, C> cos_sin(const P* pos, std::size_t pair) const noexcept {
    return freq_.cos_sin<C>(pos[axis_[pair]], freq_index_[pair]);
  }

  /// Coefficients of all pairs of one token (positions pos[0..axes())) into c[0..pairs()),
  /// s[0..pairs()); same values as cos_sin.
  template <class Arch = default_arch, class C, class P>
  void coefficients(const P* pos, C* c, C* s) const noexcept {
    P gathered[detail::rope_chunk];
    for (std::size_t k0 = 0; k0 < pairs_; k0 += detail::rope_chunk) {
      const std::size_t n = std::min(detail::rope_chunk, pairs_ - k0);
      for (std::size_t i = 0; i < n; ++i) gathered[i] = pos[axis_[k0 + i]];
      freq_.coefficients_gathered<Arch>(gathered, freq_index_.data() + k0, n, c + k0, s + k0);
    }
  }

  // apply / apply_inverse (q and k, or one tensor): detail::apply_interface, over run below.

  /// Chunk fetch for token positions pos[0..axes()): pairs [k0, k0 + n) into cb/sb.
  template <class Arch, class C, class P>
  void fetch(const P* pos, std::size_t k0, std::size_t n, C* cb, C* sb) const noexcept {
    P gathered[detail::rope_chunk];
    for (std::size_t i = 0; i < n; ++i) gathered[i] = pos[axis_[k0 + i]];
    freq_.coefficients_gathered<Arch>(gathered, freq_index_.data() + k0, n, cb, sb);
  }

  /// The pair → axis map as values of C (0, 1, 2, 3), the selector of kernels::select_axis, for
  /// a whole table row: pairs()·2 entries (the cos half, then the same for the sin half).
  template <class C>
  const C* selector() const noexcept {
    if constexpr (std::is_same<C, float>::value) {
      return sel_f_.data();
    } else {
      return sel_d_.data();
    }
  }

 private:
  // Vision 2-D: pairs = head_dim/2, frequency rope over head_dim/2 channels (head_dim/4 pairs).
  mrope(const rope& freq, std::size_t head_dim)
      : freq_(freq),
        head_dim_(head_dim),
        pairs_(head_dim / 2),
        layout_(rope_layout::half_split),
        axes_(2),
        section_{{0, 0, 0}},
        mode_(mrope_mode::sectioned) {
    const std::size_t q = pairs_ / 2;
    axis_.resize(pairs_);
    freq_index_.resize(pairs_);
    for (std::size_t k = 0; k < pairs_; ++k) {
      axis_[k] = k < q ? 0 : 1;
      freq_index_[k] = static_cast<std::uint32_t>(k < q ? k : k - q);
    }
    finish();
  }

  // General form (mrope::ggml): head channels, pairs, axes, the pair → axis and frequency maps.
  mrope(const rope& freq, std::size_t head_dim, std::size_t pairs, std::size_t axes,
        std::vector<std::uint8_t> axis, std::vector<std::uint32_t> freq_index)
      : freq_(freq),
        head_dim_(head_dim),
        pairs_(pairs),
        layout_(rope_layout::half_split),
        axes_(axes),
        section_{{0, 0, 0}},
        mode_(mrope_mode::sectioned),
        axis_(std::move(axis)),
        freq_index_(std::move(freq_index)) {
    finish();
  }

  void finish() {
    used_ = 0;
    for (std::uint8_t a : axis_) used_ |= static_cast<unsigned>(1u << a);
    sel_f_.resize(2 * pairs_);
    sel_d_.resize(2 * pairs_);
    for (std::size_t k = 0; k < 2 * pairs_; ++k) {
      sel_f_[k] = static_cast<float>(axis_[k % pairs_]);
      sel_d_[k] = static_cast<double>(axis_[k % pairs_]);
    }
  }

  template <class Arch, bool Inverse, class T, class P>
  void run(const head_view<T>* views, std::size_t nviews, const mrope_positions<P>& pos,
           token_range range) const noexcept {
    using C = coef_t<T>;
    auto fetch_fn = [this, &pos](std::size_t t, std::size_t k0, std::size_t n, C* cb, C* sb,
                                 const C*& c, const C*& s) {
      const P p[4] = {pos.at(t, 0), pos.at(t, 1), pos.at(t, 2),
                      axes_ == 4 ? pos.at(t, 3) : pos.at(t, 0)};
      POSENC_ASSERT(p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0,
                    "posenc: positions must be >= 0");
      this->fetch<Arch>(p, k0, n, cb, sb);
      c = cb;
      s = sb;
    };
    detail::rope_apply<Arch, Inverse>(fetch_fn, layout_, head_dim_, pairs_, views, nviews,
                                      detail::token_keys{}, range);
  }

  rope freq_;
  std::size_t head_dim_;
  std::size_t pairs_;
  rope_layout layout_;
  std::size_t axes_;
  std::array<std::size_t, 3> section_;
  mrope_mode mode_;
  std::vector<std::uint8_t> axis_;
  std::vector<std::uint32_t> freq_index_;
  unsigned used_ = 0;  // bit a: some pair uses axis a
  bool is_ggml_ = false;
  ggml_rope_mode ggml_mode_ = ggml_rope_mode::mrope;
  std::array<std::size_t, 4> ggml_sections_{{0, 0, 0, 0}};
  detail::aligned_vector<float> sel_f_;
  detail::aligned_vector<double> sel_d_;
};

/**
 * Cos/sin table of an mrope for positions [0, capacity()): row p holds, for every pair k, the
 * coefficients at position p of pair k's frequency (cos of pairs 0..pairs()−1, then sin), so
 * a token whose axes are equal (every text token) reads its row in place, as rope_cache does,
 * and any other token gets its row gathered from the rows of its axes (kernels::select_axis:
 * a lane select, 2·pairs values per token). Positions ≥ capacity() are computed on the fly
 * (same values). Same apply API as mrope.
 *
 * ggml MROPE / IMROPE with pairs on the e axis (IMROPE {24, 20, 20, 0}: pairs 61, 62) keep a
 * second table of the rows (p, p, p, 0), the positions llama.cpp gives a text token, so that
 * those read their row in place too and image tokens (t, h, w, 0) select from three rows; the
 * table then takes twice the memory (bytes()). Tokens with e ≠ 0 gather from the first table.
 */
template <class C = float>
class mrope_cache : public detail::apply_interface<mrope_cache<C>, detail::mrope_positions_ref> {
  static_assert(std::is_same<C, float>::value || std::is_same<C, double>::value,
                "posenc::mrope_cache: C is float or double");
  friend class detail::apply_interface<mrope_cache<C>, detail::mrope_positions_ref>;

 public:
  template <class Arch = default_arch>
  mrope_cache(const mrope& m, std::size_t max_positions, Arch arch = Arch{}) : m_(m) {
    if (has_text_) {  // the selector of three-axis selects over text_ rows: e pairs read t
      const C* sel = m_.selector<C>();
      sel3_.assign(sel, sel + 2 * m_.pairs());
      for (C& a : sel3_)
        if (a == C(3)) a = C(0);
    }
    reserve(max_positions, arch);
  }

  /// Grows the table to positions [0, max_positions); allocates; never shrinks.
  template <class Arch = default_arch>
  void reserve(std::size_t max_positions, Arch = Arch{}) {
    if (max_positions <= capacity_) return;
    const std::size_t w = 2 * m_.pairs();
    table_.resize(max_positions * w);
    std::vector<std::int64_t> same(m_.axes(), 0);
    for (std::size_t p = capacity_; p < max_positions; ++p) {
      std::fill(same.begin(), same.end(), static_cast<std::int64_t>(p));
      C* row = table_.data() + p * w;
      m_.coefficients<Arch>(same.data(), row, row + m_.pairs());
    }
    if (has_text_) {  // row (p, p, p, 0): row p with its e pairs from row 0 (every axis at 0)
      text_.resize(max_positions * w);
      const std::size_t half = m_.pairs();
      for (std::size_t p = capacity_; p < max_positions; ++p) {
        C* row = text_.data() + p * w;
        std::copy(table_.data() + p * w, table_.data() + (p + 1) * w, row);
        for (std::size_t k = e_.lo; k < e_.hi; ++k) {
          if (m_.axis(k) != 3) continue;
          row[k] = table_[k];
          row[half + k] = table_[half + k];
        }
      }
    }
    capacity_ = max_positions;
  }

  std::size_t capacity() const noexcept { return capacity_; }
  const mrope& functor() const noexcept { return m_; }
  std::size_t bytes() const noexcept { return (table_.size() + text_.size()) * sizeof(C); }
  /// cos of pairs 0..pairs()−1 with every axis at position pos (pos < capacity()).
  const C* cos_row(std::size_t pos) const noexcept {
    POSENC_ASSERT(pos < capacity_, "posenc::mrope_cache: position beyond capacity");
    return table_.data() + pos * 2 * m_.pairs();
  }
  const C* sin_row(std::size_t pos) const noexcept { return cos_row(pos) + m_.pairs(); }

  // apply / apply_inverse (q and k, or one tensor): detail::apply_interface, over run below.

 private:
  template <class Arch, bool Inverse, class T, class P>
  void run(const head_view<T>* views, std::size_t nviews, const mrope_positions<P>& pos,
           token_range range) const noexcept {
    static_assert(std::is_same<coef_t<T>, C>::value,
                  "posenc::mrope_cache: use mrope_cache<float> for float/16-bit storage and "
                  "mrope_cache<double> for double storage");
    if (four_) {  // ggml's four axes: a loop of their own, so the three-axis fetch stays tight
      // axis a reads the positions of axis (alias_ >> 2a) & 3: itself when some pair takes it,
      // else the first used axis (so that llama.cpp's e = 0 keeps no text token from its row
      // in place when no pair takes e)
      mrope_positions<P> aliased = pos;
      for (unsigned a = 0; a < 4; ++a) aliased.axis[a] = pos.axis[(alias_ >> (2 * a)) & 3u];
      const four_fetch<Arch, P> fetch4{
          this, aliased,
          four_view{rows_view{table_.data(), m_.selector<C>(), capacity_, m_.pairs()}, e_,
                    has_text_ ? text_.data() : nullptr, sel3_.data()}};
      detail::rope_apply<Arch, Inverse>(fetch4, m_.layout(), m_.head_dim(), m_.pairs(), views,
                                        nviews, detail::token_keys{}, range);
      return;
    }
    const bool two = m_.axes() == 2;
    // held by value in the fetch: a token's row pointers are one load from the closure away
    const rows_view rv{table_.data(), m_.selector<C>(), capacity_, m_.pairs()};
    auto fetch_fn = [this, pos, rv, two](std::size_t t, std::size_t k0, std::size_t n, C* cb, C* sb,
                                         const C*& c, const C*& s) {
      const P p[3] = {pos.at(t, 0), pos.at(t, 1), two ? pos.at(t, 1) : pos.at(t, 2)};
      POSENC_ASSERT(p[0] >= 0 && p[1] >= 0 && p[2] >= 0, "posenc: positions must be >= 0");
      if (!fetch_three<Arch>(rv, p, k0, n, cb, sb, c, s))
        gather_beyond<Arch>(p, k0, n, cb, sb, c, s);
    };
    detail::rope_apply<Arch, Inverse>(fetch_fn, m_.layout(), m_.head_dim(), m_.pairs(), views,
                                      nviews, detail::token_keys{}, range);
  }

  // The table, the pair→axis selector, capacity() and pairs().
  struct rows_view {
    const C* table;
    const C* sel;
    std::size_t cap;
    std::size_t half;
  };

  // The pairs that take ggml's e axis lie in [lo, hi) (none: lo == hi == 0).
  struct e_range {
    std::size_t lo = 0, hi = 0;
  };
  static e_range e_range_of(const mrope& m) noexcept {
    e_range e;
    bool any = false;
    for (std::size_t k = 0; k < m.pairs(); ++k) {
      if (m.axis(k) != 3) continue;
      if (!any) e.lo = k;
      e.hi = k + 1;
      any = true;
    }
    return e;
  }

  // A token of three axes whose positions are all in the table (else returns false and does
  // nothing): a text token (equal axes) reads its row in place; any other token gets its rows
  // gathered from the rows of its axes by the pair→axis selector (kernels::select_axis, into
  // cb/sb: rope_apply's rope_chunk values each). Forced inline with
  // the select: the decode step's cost (bench/mrope_bench.cpp) is this path.
  template <class Arch, class P>
  static POSENC_FORCE_INLINE bool fetch_three(const rows_view& rv, const P (&p)[3], std::size_t k0,
                                              std::size_t n, C* cb, C* sb, const C*& c,
                                              const C*& s) noexcept {
    const std::size_t half = rv.half;
    const std::size_t u0 = static_cast<std::size_t>(p[0]), u1 = static_cast<std::size_t>(p[1]),
                      u2 = static_cast<std::size_t>(p[2]);
    if (u0 >= rv.cap || u1 >= rv.cap || u2 >= rv.cap) return false;
    const C* table = rv.table + k0;
    const C* rc[3] = {table + 2 * half * u0, table + 2 * half * u1, table + 2 * half * u2};
    if (u1 == u0 && u2 == u0) {  // text token: its row, in place
      c = rc[0];
      s = c + half;
      return true;
    }
    const bool whole = n == half && 2 * half <= detail::rope_chunk;
    select_rows<Arch>(rc, rv.sel, k0, n, half, whole, cb, sb, c, s);
    return true;
  }

  // c, s = the gather of pairs [k0, k0 + n) from rows r (A = 3 or 4; cos at r[a], sin at
  // r[a] + half), out[i] = r[sel[k0 + i]][i], into cb/sb (rope_chunk values each). A whole
  // row of one chunk (k0 == 0, n == half == pairs(), 2n <= rope_chunk) is gathered in one
  // pass into cb: the rows are [cos | sin] and the selector is too.
  template <class Arch, std::size_t A>
  static POSENC_FORCE_INLINE void select_rows(const C* const (&r)[A], const C* sel, std::size_t k0,
                                              std::size_t n, std::size_t half, bool whole, C* cb,
                                              C* sb, const C*& c, const C*& s) noexcept {
    const auto pass = [](const C* const(&rows)[A], const C* sv, C* out, std::size_t m) {
      if constexpr (A == 3) {
        kernels::select_axis(Arch{}, rows, sv, out, m);
      } else {
        kernels::select_axis4(Arch{}, rows, sv, out, m);
      }
    };
    c = cb;
    if (whole) {
      pass(r, sel, cb, 2 * n);
      s = cb + n;
      return;
    }
    const C* rs[A];
    for (std::size_t a = 0; a < A; ++a) rs[a] = r[a] + half;
    pass(r, sel + k0, cb, n);
    pass(rs, sel + k0, sb, n);
    s = sb;
  }

  // The tokens of fetch_three and fetch_four with some axis at or beyond capacity(): the rows
  // of those axes computed on the fly (the same values as the table's), then selected as there;
  // a text token computes its one row.
  template <class Arch, class P, std::size_t A>
  POSENC_MROPE_NOINLINE void gather_beyond(const P (&p)[A], std::size_t k0, std::size_t n, C* cb,
                                           C* sb, const C*& c, const C*& s) const noexcept {
    bool same = true;
    for (std::size_t a = 1; a < A; ++a) same = same && p[a] == p[0];
    if (same) {
      const P q[4] = {p[0], p[0], p[0], p[0]};
      m_.fetch<Arch>(q, k0, n, cb, sb);
      c = cb;
      s = sb;
      return;
    }
    // Rows of the axes, each [cos | sin] of the chunk (sin at + n, so that select_rows reads
    // them as it reads the table's rows of one chunk).
    alignas(64) C oc[A][2 * detail::rope_chunk];
    const C* rc[A];
    for (std::size_t a = 0; a < A; ++a) {
      const std::size_t u = static_cast<std::size_t>(p[a]);
      if (u < capacity_) {
        rc[a] = nullptr;
      } else {  // beyond the table: this axis's chunk on the fly (same values)
        const P q[4] = {p[a], p[a], p[a], p[a]};
        m_.fetch<Arch>(q, k0, n, oc[a], oc[a] + n);
        rc[a] = oc[a];
      }
    }
    // table rows: copied as [cos | sin] of the chunk too (the rare path; one layout for all)
    for (std::size_t a = 0; a < A; ++a) {
      if (rc[a] != nullptr) continue;
      const C* row = table_.data() + static_cast<std::size_t>(p[a]) * 2 * m_.pairs() + k0;
      std::copy(row, row + n, oc[a]);
      std::copy(row + m_.pairs(), row + m_.pairs() + n, oc[a] + n);
      rc[a] = oc[a];
    }
    if constexpr (A == 4) {
      select_four<Arch, false>(rc, m_.selector<C>(), e_, k0, n, n, false, cb, sb, c, s);
    } else {
      select_rows<Arch>(rc, m_.selector<C>(), k0, n, n, false, cb, sb, c, s);
    }
  }

  // The gather of ggml's four rows r (cos at r[a], sin at r[a] + half) for pairs [k0, k0 + n)
  // into cb/sb (whole: one chunk, cos and sin into cb): kernels::select_pairs_e, the t/h/w
  // select (Same: t = h = w, a copy of the t row) with the e row blended into the registers
  // that hold e pairs.
  template <class Arch, bool Same>
  static POSENC_FORCE_INLINE void select_four(const C* const (&r)[4], const C* sel, e_range e,
                                              std::size_t k0, std::size_t n, std::size_t half,
                                              bool whole, C* cb, C* sb, const C*& c,
                                              const C*& s) noexcept {
    C* const ss = whole ? cb + n : sb;
    // the e pairs of the chunk, relative to k0
    const std::size_t lo = e.lo > k0 ? e.lo - k0 : 0;
    const std::size_t hi = e.hi > k0 ? std::min(e.hi - k0, n) : 0;
    kernels::select_pairs_e<Same>(Arch{}, r, half, sel + k0, cb, ss, n, lo, hi);
    c = cb;
    s = ss;
  }

  // The state of fetch_four, held by value in run's four-axis fetch (as rows_view).
  struct four_view {
    rows_view rv;
    e_range e;
    const C* text;  // text_ (rows (p, p, p, 0)), or nullptr when no pair takes e
    const C* sel3;  // the selector with e pairs reading t (for text_ rows)
  };

  // run's fetch for ggml's four axes (t, h, w, e) of token t (positions aliased as in run):
  // fetch_four, or gather_beyond for a position beyond the table. A functor, not a lambda, so
  // that it is forced inline into the rotation loop like the three-axis fetch.
  template <class Arch, class P>
  struct four_fetch {
    const mrope_cache* self;
    mrope_positions<P> pos;
    four_view fv;
    POSENC_FORCE_INLINE void operator()(std::size_t t, std::size_t k0, std::size_t n, C* cb, C* sb,
                                        const C*& c, const C*& s) const noexcept {
      const P p[4] = {pos.at(t, 0), pos.at(t, 1), pos.at(t, 2), pos.at(t, 3)};
      POSENC_ASSERT(p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0,
                    "posenc: positions must be >= 0");
      if (!fetch_four<Arch>(fv, p, k0, n, cb, sb, c, s))
        self->template gather_beyond<Arch>(p, k0, n, cb, sb, c, s);
    }
  };

  // A token of four axes whose positions are all in the table (else returns false and does
  // nothing): all equal, its row in place; else select_four (t = h = w with e apart, as
  // llama.cpp's text tokens with e = 0: the t row with the e row blended into the registers
  // that hold e pairs).
  template <class Arch, class P>
  static POSENC_FORCE_INLINE bool fetch_four(const four_view& fv, const P (&p)[4], std::size_t k0,
                                             std::size_t n, C* cb, C* sb, const C*& c,
                                             const C*& s) noexcept {
    const std::size_t half = fv.rv.half;
    std::size_t u[4];
    for (std::size_t a = 0; a < 4; ++a) u[a] = static_cast<std::size_t>(p[a]);
    if (std::max(std::max(u[0], u[1]), std::max(u[2], u[3])) >= fv.rv.cap) return false;
    const C* table = fv.rv.table + k0;
    const C* rc[4] = {table + 2 * half * u[0], table + 2 * half * u[1], table + 2 * half * u[2],
                      table + 2 * half * u[3]};
    const bool whole = n == half && 2 * half <= detail::rope_chunk;
    if (fv.text != nullptr && u[3] == 0) {  // llama.cpp's e = 0: the rows (p, p, p, 0)
      const C* tt = fv.text + k0;
      const C* rt[3] = {tt + 2 * half * u[0], tt + 2 * half * u[1], tt + 2 * half * u[2]};
      if (u[1] == u[0] && u[2] == u[0]) {  // a text token: its row, in place
        c = rt[0];
        s = c + half;
        return true;
      }
      // an image token: the t/h/w select, e pairs from the t row (every text_ row has e = 0)
      const C* const r4[4] = {rt[0], rt[1], rt[2], rt[0]};
      select_four<Arch, false>(r4, fv.sel3, e_range{}, k0, n, half, whole, cb, sb, c, s);
      return true;
    }
    if (u[1] == u[0] && u[2] == u[0]) {
      if (u[3] == u[0]) {  // its row, in place
        c = rc[0];
        s = c + half;
        return true;
      }
      // t = h = w, e apart (llama.cpp's text tokens, e = 0): the t row, its e pairs from e
      const C* const rt[4] = {rc[0], rc[0], rc[0], rc[3]};
      select_four<Arch, true>(rt, fv.rv.sel, fv.e, k0, n, half, whole, cb, sb, c, s);
      return true;
    }
    select_four<Arch, false>(rc, fv.rv.sel, fv.e, k0, n, half, whole, cb, sb, c, s);
    return true;
  }

  static unsigned alias_of(const mrope& m) noexcept {
    unsigned first = 0;
    while (first < 3 && !m.uses_axis(first)) ++first;
    unsigned alias = 0;
    for (unsigned a = 0; a < 4; ++a) alias |= (m.uses_axis(a) ? a : first) << (2 * a);
    return alias;
  }

  mrope m_;
  bool four_ = m_.axes() == 4;
  unsigned alias_ = alias_of(m_);
  e_range e_ = e_range_of(m_);  // the e pairs of the four-axis gather (select_four)
  // MROPE / IMROPE with some pair on e: a second table text_ whose row p is the row of
  // (p, p, p, 0), llama.cpp's text token (llama.cpp sets e = 0 for text and image tokens),
  // read in place; sel3_ the selector for its image tokens (t, h, w, 0), three-row selects
  // (every text_ row holds e = 0). Not for VISION (clip.cpp's e is a patch coordinate).
  bool has_text_ = four_ && e_.lo < e_.hi && m_.ggml_mode() != ggml_rope_mode::vision;
  detail::aligned_vector<C> table_;
  detail::aligned_vector<C> text_;
  detail::aligned_vector<C> sel3_;
  std::size_t capacity_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Position ids of a multimodal prompt (HF `get_rope_index`)
// ---------------------------------------------------------------------------------------------

/// One run of a multimodal prompt: text tokens, or the tokens of one image / video.
struct mrope_item {
  enum class kind { text, image, video };
  kind type = kind::text;
  std::size_t tokens = 0;  ///< text: number of tokens
  /// image / video: the grid in ViT patches (HF `image_grid_thw` / `video_grid_thw`); the
  /// language model sees t · (h / merge) · (w / merge) tokens.
  std::size_t t = 0, h = 0, w = 0;
  /// video, Qwen2.5-VL: seconds between two temporal patches (HF `second_per_grid_ts`).
  double seconds_per_grid = 1.0;

  static mrope_item text(std::size_t n) {
    mrope_item it;
    it.type = kind::text;
    it.tokens = n;
    return it;
  }
  static mrope_item image(std::size_t grid_t, std::size_t grid_h, std::size_t grid_w) {
    mrope_item it;
    it.type = kind::image;
    it.t = grid_t;
    it.h = grid_h;
    it.w = grid_w;
    return it;
  }
  static mrope_item video(std::size_t grid_t, std::size_t grid_h, std::size_t grid_w,
                          double seconds_per_grid = 1.0) {
    mrope_item it = image(grid_t, grid_h, grid_w);
    it.type = kind::video;
    it.seconds_per_grid = seconds_per_grid;
    return it;
  }
};

/// The model-specific rules of mrope_position_ids.
struct mrope_index_options {
  std::size_t spatial_merge_size = 2;  ///< vision_config.spatial_merge_size
  /// 0: Qwen2-VL (and Qwen3-VL): the temporal index of a vision token is its temporal patch
  /// index. > 0: Qwen2.5-VL's vision_config.tokens_per_second: a video's temporal index is
  /// floor(i · seconds_per_grid · tokens_per_second) (float32 product, as HF), an image's 0.
  double tokens_per_second = 0.0;
};

/**
 * The 3-D position ids (t, h, w) of a prompt laid out as `items`, appended to `out` as
 * [tokens × 3] int64; returns the position of the next token (for decode).
 *
 * Rules (HF transformers `Qwen2VLModel.get_rope_index`, `Qwen2_5_VLModel.get_rope_index`):
 *  1. s = 0 at the start; after every item, s = 1 + the largest position (on any axis) so far.
 *  2. A text run of n tokens gets (s + i, s + i, s + i), i < n.
 *  3. A vision item with grid (t, h, w) and merge m gets t·(h/m)·(w/m) tokens in the order
 *     frame, row, column, at (s + T(f), s + r, s + c) with T(f) = f (Qwen2-VL), or with
 *     tokens_per_second > 0 (Qwen2.5-VL) T(f) = ⌊f · seconds_per_grid · tokens_per_second⌋
 *     for a video and 0 for an image.
 *  4. Decode: the next token (and every one after it) gets the returned value on all three
 *     axes, then +1 per token (HF's rope_deltas = that value − prompt length).
 * Qwen3-VL lays a video out as one item per frame (grid t = 1) separated by its timestamp
 * text (HF Qwen3-VL splits `video_grid_thw` per frame); pass it that way.
 * GLM-4.1V / GLM-4.5V (HF `Glm4vModel.get_rope_index`): the same rules with
 * tokens_per_second = 0; an image is one item; each temporal patch of a video is a run of
 * image tokens between its timestamp text, which the reference gives temporal index 0 at its
 * own start (`video_frame_num` restarts at 1 after text): pass mrope_item::video(1, h, w) per
 * frame with the text runs between, as for Qwen3-VL. (Two frames with no text between are not
 * a layout the GLM processor emits; the reference does not handle them either.)
 * Throws std::invalid_argument for a grid not divisible by the merge size or an empty grid.
 */
inline std::int64_t mrope_position_ids(const std::vector<mrope_item>& items,
                                       const mrope_index_options& opt,
                                       std::vector<std::int64_t>& out) {
  constexpr const char* who = "posenc::mrope_position_ids";
  const std::size_t m = opt.spatial_merge_size;
  if (m == 0) detail::invalid(who, "spatial_merge_size", m, "must be > 0");
  if (!(opt.tokens_per_second >= 0.0) || !detail::is_finite_bits(opt.tokens_per_second))
    detail::invalid(who, "tokens_per_second", opt.tokens_per_second, "must be finite and >= 0");
  std::int64_t next = 0;  // 1 + largest position so far
  for (const mrope_item& it : items) {
    const std::int64_t s = next;
    if (it.type == mrope_item::kind::text) {
      for (std::size_t i = 0; i < it.tokens; ++i) {
        const std::int64_t p = s + static_cast<std::int64_t>(i);
        out.insert(out.end(), {p, p, p});
      }
      if (it.tokens > 0) next = s + static_cast<std::int64_t>(it.tokens);
      continue;
    }
    if (it.t == 0 || it.h == 0 || it.w == 0)
      detail::invalid(who, "grid (t*h*w)", it.t * it.h * it.w, "must be > 0");
    if (it.h % m != 0) detail::invalid(who, "grid h", it.h, "must be divisible by the merge size");
    if (it.w % m != 0) detail::invalid(who, "grid w", it.w, "must be divisible by the merge size");
    if (!(it.seconds_per_grid >= 0.0) || !detail::is_finite_bits(it.seconds_per_grid))
      detail::invalid(who, "seconds_per_grid", it.seconds_per_grid, "must be finite and >= 0");
    const std::size_t gh = it.h / m, gw = it.w / m;
    std::int64_t largest = s;
    for (std::size_t f = 0; f < it.t; ++f) {
      std::int64_t tf = static_cast<std::int64_t>(f);
      if (opt.tokens_per_second > 0.0) {
        if (it.type == mrope_item::kind::image) {
          tf = 0;
        } else {  // HF: (range * second_per_grid_t * tokens_per_second).long(), in float32
          const float prod = static_cast<float>(f) * static_cast<float>(it.seconds_per_grid) *
                             static_cast<float>(opt.tokens_per_second);
          tf = static_cast<std::int64_t>(prod);
        }
      }
      for (std::size_t r = 0; r < gh; ++r)
        for (std::size_t c = 0; c < gw; ++c) {
          const std::int64_t pt = s + tf, ph = s + static_cast<std::int64_t>(r),
                             pw = s + static_cast<std::int64_t>(c);
          out.insert(out.end(), {pt, ph, pw});
          largest = std::max({largest, pt, ph, pw});
        }
    }
    next = largest + 1;
  }
  return next;
}

// ---------------------------------------------------------------------------------------------
// Patch positions of the vision encoder (2-D RoPE)
// ---------------------------------------------------------------------------------------------

/**
 * (row, column) of every patch of a t × h × w grid in the order the Qwen2-VL / Qwen2.5-VL ViT
 * holds them (HF `rot_pos_emb`): frame by frame; within a frame, merge blocks of m × m
 * patches row-major over the blocks, each block row-major. Appended to `out` as [patches × 2].
 * m = 1 gives plain row-major order. Qwen3-VL (`Qwen3VLVisionModel.rot_pos_emb`, built from
 * block and intra-block indices) and GLM-4.1V (`Glm4vVisionModel.rot_pos_emb`) give the same
 * order, and both rotate it with the same 2-D RoPE (mrope::vision_2d, theta 10000); neither
 * uses window attention (Qwen3-VL's and GLM's attention runs per frame: cu_seqlens of h·w).
 */
inline void vision_patch_positions(std::size_t t, std::size_t h, std::size_t w, std::size_t m,
                                   std::vector<std::int32_t>& out) {
  constexpr const char* who = "posenc::vision_patch_positions";
  if (m == 0) detail::invalid(who, "spatial_merge_size", m, "must be > 0");
  if (h % m != 0) detail::invalid(who, "h", h, "must be divisible by the merge size");
  if (w % m != 0) detail::invalid(who, "w", w, "must be divisible by the merge size");
  for (std::size_t f = 0; f < t; ++f)
    for (std::size_t br = 0; br < h / m; ++br)
      for (std::size_t bc = 0; bc < w / m; ++bc)
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < m; ++j) {
            out.push_back(static_cast<std::int32_t>(br * m + i));
            out.push_back(static_cast<std::int32_t>(bc * m + j));
          }
}

/**
 * Qwen3-VL's learned ViT position embedding, bilinearly resized to the grid (HF
 * `Qwen3VLVisionModel.fast_pos_embed_interpolate`). This is not rotary: it selects rows of the
 * num_grid_per_side² × hidden `pos_embed` table whose weighted sum is added to the patch
 * embeddings; the ViT's rotary part is mrope::vision_2d over vision_patch_positions (same order
 * and frequencies as Qwen2-VL: HF `rot_pos_emb`, `Qwen3VLVisionRotaryEmbedding(head_dim / 2)`).
 * For every patch of a t × h × w grid in merge order (as vision_patch_positions), appends the
 * 4 table rows (floor/ceil corners: (r0, c0), (r0, c1), (r1, c0), (r1, c1)) to `index` and
 * their float32 bilinear weights to `weight`, computed as HF does: r = torch.linspace(0, N − 1,
 * h) in float32 (torch's CPU rule: step = (end − start)/(h − 1); i < h/2: start + step·i, else
 * end − step·(h − 1 − i)), r0 = ⌊r⌋, r1 = min(r0 + 1, N − 1), weights (1 − dr)(1 − dc),
 * (1 − dr)dc, dr(1 − dc), dr·dc in float32 (HF then rounds them to the table's dtype).
 */
inline void qwen3vl_pos_embed_interpolation(std::size_t t, std::size_t h, std::size_t w,
                                            std::size_t m, std::size_t num_grid_per_side,
                                            std::vector<std::int64_t>& index,
                                            std::vector<float>& weight) {
  constexpr const char* who = "posenc::qwen3vl_pos_embed_interpolation";
  if (m == 0) detail::invalid(who, "spatial_merge_size", m, "must be > 0");
  if (num_grid_per_side == 0) detail::invalid(who, "num_grid_per_side", 0, "must be > 0");
  if (h == 0 || h % m != 0) detail::invalid(who, "h", h, "must be a positive multiple of m");
  if (w == 0 || w % m != 0) detail::invalid(who, "w", w, "must be a positive multiple of m");
  const std::size_t n = num_grid_per_side;
  auto linspace = [n](std::size_t steps, std::vector<float>& out) {
    const float start = 0.0f, end = static_cast<float>(n - 1);
    out.resize(steps);
    if (steps == 1) {
      out[0] = start;
      return;
    }
    const float step = (end - start) / static_cast<float>(steps - 1);
    for (std::size_t i = 0; i < steps; ++i) {
      if (i < steps / 2) {
        out[i] = detail::add_rn(start, detail::mul_rn(step, static_cast<float>(i)));
      } else {
        out[i] = detail::sub_rn(end, detail::mul_rn(step, static_cast<float>(steps - 1 - i)));
      }
    }
  };
  std::vector<float> hs, ws;
  linspace(h, hs);
  linspace(w, ws);
  for (std::size_t f = 0; f < t; ++f)
    for (std::size_t br = 0; br < h / m; ++br)
      for (std::size_t bc = 0; bc < w / m; ++bc)
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t j = 0; j < m; ++j) {
            const float hv = hs[br * m + i], wv = ws[bc * m + j];
            const std::size_t h0 = static_cast<std::size_t>(hv), w0 = static_cast<std::size_t>(wv);
            const std::size_t h1 = std::min(h0 + 1, n - 1), w1 = std::min(w0 + 1, n - 1);
            const float dh = detail::sub_rn(hv, static_cast<float>(h0));
            const float dw = detail::sub_rn(wv, static_cast<float>(w0));
            const float eh = detail::sub_rn(1.0f, dh), ew = detail::sub_rn(1.0f, dw);
            index.insert(
                index.end(),
                {static_cast<std::int64_t>(h0 * n + w0), static_cast<std::int64_t>(h0 * n + w1),
                 static_cast<std::int64_t>(h1 * n + w0), static_cast<std::int64_t>(h1 * n + w1)});
            const float w00 = detail::mul_rn(eh, ew), w01 = detail::mul_rn(eh, dw),
                        w10 = detail::mul_rn(dh, ew), w11 = detail::mul_rn(dh, dw);
            weight.insert(weight.end(), {w00, w01, w10, w11});
          }
}

/**
 * Qwen2.5-VL's window order (HF `Qwen2_5_VisionTransformerPretrainedModel.get_window_index`):
 * the merge blocks (units of m × m patches) of a t × h × w grid regrouped into windows of
 * `window` × `window` blocks (window = window_size / merge / patch_size, 112/2/14 = 4):
 * frame by frame, windows row-major (the grid padded up to whole windows), the blocks of a
 * window row-major. Appends the block indices (into the merged row-major order of
 * vision_patch_positions, plus `first_block`) to `index`, and the cumulative window lengths in
 * patches to `cu_seqlens` (which should start with its previous total, e.g. {0}).
 * The patch positions in window order: block index[i]'s m·m entries of vision_patch_positions.
 */
inline void vision_window_index(std::size_t t, std::size_t h, std::size_t w, std::size_t m,
                                std::size_t window, std::int64_t first_block,
                                std::vector<std::int64_t>& index,
                                std::vector<std::int64_t>& cu_seqlens) {
  constexpr const char* who = "posenc::vision_window_index";
  if (m == 0) detail::invalid(who, "spatial_merge_size", m, "must be > 0");
  if (window == 0) detail::invalid(who, "window", window, "must be > 0");
  if (h % m != 0) detail::invalid(who, "h", h, "must be divisible by the merge size");
  if (w % m != 0) detail::invalid(who, "w", w, "must be divisible by the merge size");
  const std::size_t gh = h / m, gw = w / m;
  const std::size_t nwh = (gh + window - 1) / window, nww = (gw + window - 1) / window;
  std::int64_t total = cu_seqlens.empty() ? 0 : cu_seqlens.back();
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  for (std::size_t f = 0; f < t; ++f)
    for (std::size_t wr = 0; wr < nwh; ++wr)
      for (std::size_t wc = 0; wc < nww; ++wc) {
        std::int64_t count = 0;
        for (std::size_t i = 0; i < window; ++i)
          for (std::size_t j = 0; j < window; ++j) {
            const std::size_t r = wr * window + i, c = wc * window + j;
            if (r >= gh || c >= gw) continue;
            index.push_back(first_block + static_cast<std::int64_t>((f * gh + r) * gw + c));
            ++count;
          }
        total += count * static_cast<std::int64_t>(m * m);
        cu_seqlens.push_back(total);
      }
}

// ---------------------------------------------------------------------------------------------
// Llama-4: NoPE layers and attention temperature tuning
// ---------------------------------------------------------------------------------------------

/**
 * Llama-4's layer pattern: whether layer i applies RoPE. HF `Llama4TextConfig.no_rope_layers`
 * (1 = RoPE layer, 0 = NoPE layer); when the config has none, HF derives it as
 * (i + 1) % no_rope_layer_interval != 0 (interval 4: layers 3, 7, 11, … are NoPE).
 */
inline std::vector<bool> llama4_rope_layers(std::size_t num_layers,
                                            std::size_t no_rope_layer_interval = 4) {
  if (no_rope_layer_interval == 0)
    detail::invalid("posenc::llama4_rope_layers", "no_rope_layer_interval", no_rope_layer_interval,
                    "must be > 0");
  std::vector<bool> v(num_layers);
  for (std::size_t i = 0; i < num_layers; ++i) v[i] = (i + 1) % no_rope_layer_interval != 0;
  return v;
}

/**
 * Llama-4 attention temperature tuning (HF `Llama4TextAttention`, applied to the queries of
 * NoPE layers when `attn_temperature_tuning` is set; Meta's reference likewise):
 *     scale(p) = log(floor((p + 1) / floor_scale) + 1) · attn_scale + 1
 * for the token at position p (HF: cache_position, in float32). Defaults floor_scale = 8192,
 * attn_scale = 0.1. Returned in float32 arithmetic like HF (floor, log1p-free log, products).
 */
inline float llama4_attn_temperature(std::int64_t pos, double floor_scale = 8192.0,
                                     double attn_scale = 0.1) noexcept {
  const float fp = static_cast<float>(pos);
  const float fl = std::floor((fp + 1.0f) / static_cast<float>(floor_scale));
  return std::log(fl + 1.0f) * static_cast<float>(attn_scale) + 1.0f;
}

/// Multiplies the queries of a NoPE layer by llama4_attn_temperature(pos[t]) (every head of
/// token t): float, bfloat16_t and float16_t in float arithmetic, one rounding per element
/// (as HF: `(query_states * attn_scales).to(dtype)`); double in double.
template <class T, class P>
void llama4_scale_queries(head_view<T> q, const P* pos, double floor_scale = 8192.0,
                          double attn_scale = 0.1, token_range range = {}) noexcept {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value ||
                    std::is_same<T, bfloat16_t>::value || std::is_same<T, float16_t>::value,
                "posenc::llama4_scale_queries: float, double, bfloat16_t or float16_t");
  const std::size_t last = std::min(range.last, q.tokens);
  for (std::size_t t = range.first; t < last; ++t) {
    const float sc =
        llama4_attn_temperature(static_cast<std::int64_t>(pos[t]), floor_scale, attn_scale);
    for (std::size_t hh = 0; hh < q.heads; ++hh) {
      T* row = q.row(t, hh);
      for (std::size_t d = 0; d < q.dim; ++d) {
        if constexpr (std::is_same<T, float>::value) {
          row[d] *= sc;
        } else if constexpr (std::is_same<T, double>::value) {
          row[d] *= static_cast<double>(sc);
        } else if constexpr (std::is_same<T, bfloat16_t>::value) {
          row[d] = to_bfloat16(to_float(row[d]) * sc);
        } else {
          row[d] = to_float16(to_float(row[d]) * sc);
        }
      }
    }
  }
}

}  // namespace posenc

#endif  // POSENC_MROPE_HPP
