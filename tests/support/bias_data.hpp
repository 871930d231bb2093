// posenc tests — loaders for the attention-bias reference data (tests/data/bias_*.txt).
// SPDX-License-Identifier: Apache-2.0
//
// The files are written by tests/oracle/gen_bias.py; tests/data/README.md defines every
// column. Same format and failure policy as support/data.hpp (whose file reader this uses):
// hex floats, '#' comments, a checked "# records: N" header, and a std::runtime_error naming
// the path and line for anything missing or malformed. "-inf" is a valid value (masked logit).
//
// Depends only on the standard library and support/data.hpp (independent of include/posenc).
#ifndef POSENC_TESTS_SUPPORT_BIAS_DATA_HPP
#define POSENC_TESTS_SUPPORT_BIAS_DATA_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "support/data.hpp"

namespace posenc_test {

/// bias_alibi_slopes.txt: one row per (max_bias, heads, head).
struct alibi_slope_row {
  double max_bias = 0;
  int heads = 0;
  int head = 0;          ///< 0-based
  double slope_f64 = 0;  ///< RN64(2^x)
  double slope_f32 = 0;  ///< RN32(2^x)
};

/// bias_ntk_alibi_slopes.txt: one row per (variant, heads, factor, max_bias, head).
struct ntk_slope_row {
  std::string variant;  ///< "code", "formula" or "interp"
  int heads = 0;
  double factor = 0;
  double max_bias = 0;
  int head = 0;
  double slope_f64 = 0;
};

/// bias_sinusoidal.txt: one row per (convention, base, dim, pos, channel).
struct ape_row {
  std::string convention;  ///< "paper", "t2t" or "marian"
  double base = 0;
  int dim = 0;
  std::int64_t pos = 0;
  int channel = 0;
  double omega = 0;      ///< RN64(base^-e) of the channel's frequency (0 for a pad channel)
  double angle = 0;      ///< RN64(pos * omega)
  double value_f32 = 0;  ///< RN32(sin/cos(angle))
  double value_f64 = 0;  ///< RN64(sin/cos(angle))
  double ideal = 0;      ///< RN64(sin/cos(pos * exact frequency))
};

/// bias_alibi_blocks.txt: one bias block per row.
struct alibi_block_row {
  std::string mode;  ///< "causal" or "symmetric"
  std::string form;  ///< "relative" or "key_offset"
  int heads = 0;
  int head = 0;
  double max_bias = 0;
  double bias_scale = 0;
  std::int64_t key_origin = 0;
  std::int64_t q_first = 0;
  std::int64_t k_first = 0;
  int rows = 0;
  int cols = 0;
  std::vector<double> v_f32;  ///< rows*cols, row-major, float values
  std::vector<double> v_f64;
};

/// bias_attention.txt: one prefill case per row.
struct attention_case {
  std::string name;
  int tokens = 0, heads = 0, kv_heads = 0, dim = 0;
  bool rope = false;
  std::string alibi;  ///< "none", "std" or "ntk"
  bool ape = false;
  bool causal = true;
  std::int64_t k_first = 0;
  std::vector<double> q, k, v;          ///< [t][h][d] (float32 values)
  std::vector<double> out, vdev, vabs;  ///< [t][h][d]
  std::vector<double> smax;             ///< [t][h]
};

inline std::vector<alibi_slope_row> load_alibi_slopes() {
  const detail::data_file f = detail::read_data_file("bias_alibi_slopes.txt");
  std::vector<alibi_slope_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    f.expect_fields(r, 5);
    out[r].max_bias = f.num(r, 0);
    out[r].heads = static_cast<int>(f.integer(r, 1));
    out[r].head = static_cast<int>(f.integer(r, 2));
    out[r].slope_f64 = f.num(r, 3);
    out[r].slope_f32 = f.num(r, 4);
    if (out[r].heads <= 0 || out[r].head < 0 || out[r].head >= out[r].heads)
      detail::data_error(f.path, f.lines[r], "bad heads/head");
  }
  return out;
}

inline std::vector<ntk_slope_row> load_ntk_slopes() {
  const detail::data_file f = detail::read_data_file("bias_ntk_alibi_slopes.txt");
  std::vector<ntk_slope_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    f.expect_fields(r, 6);
    out[r].variant = f.records[r][0];
    if (out[r].variant != "code" && out[r].variant != "formula" && out[r].variant != "interp")
      detail::data_error(f.path, f.lines[r], "bad variant");
    out[r].heads = static_cast<int>(f.integer(r, 1));
    out[r].factor = f.num(r, 2);
    out[r].max_bias = f.num(r, 3);
    out[r].head = static_cast<int>(f.integer(r, 4));
    out[r].slope_f64 = f.num(r, 5);
  }
  return out;
}

inline std::vector<ape_row> load_sinusoidal() {
  const detail::data_file f = detail::read_data_file("bias_sinusoidal.txt");
  std::vector<ape_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    f.expect_fields(r, 10);
    ape_row& o = out[r];
    o.convention = f.records[r][0];
    if (o.convention != "paper" && o.convention != "t2t" && o.convention != "marian")
      detail::data_error(f.path, f.lines[r], "bad convention");
    o.base = f.num(r, 1);
    o.dim = static_cast<int>(f.integer(r, 2));
    o.pos = f.integer(r, 3);
    o.channel = static_cast<int>(f.integer(r, 4));
    o.omega = f.num(r, 5);
    o.angle = f.num(r, 6);
    o.value_f32 = f.num(r, 7);
    o.value_f64 = f.num(r, 8);
    o.ideal = f.num(r, 9);
  }
  return out;
}

inline std::vector<alibi_block_row> load_alibi_blocks() {
  const detail::data_file f = detail::read_data_file("bias_alibi_blocks.txt");
  std::vector<alibi_block_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (f.records[r].size() < 11) f.expect_fields(r, 11);
    alibi_block_row& o = out[r];
    o.mode = f.records[r][0];
    o.form = f.records[r][1];
    o.heads = static_cast<int>(f.integer(r, 2));
    o.head = static_cast<int>(f.integer(r, 3));
    o.max_bias = f.num(r, 4);
    o.bias_scale = f.num(r, 5);
    o.key_origin = f.integer(r, 6);
    o.q_first = f.integer(r, 7);
    o.k_first = f.integer(r, 8);
    o.rows = static_cast<int>(f.integer(r, 9));
    o.cols = static_cast<int>(f.integer(r, 10));
    if (o.rows <= 0 || o.cols <= 0) detail::data_error(f.path, f.lines[r], "bad rows/cols");
    const std::size_t n = static_cast<std::size_t>(o.rows) * static_cast<std::size_t>(o.cols);
    f.expect_fields(r, 11 + 2 * n);
    for (std::size_t i = 0; i < n; ++i) {
      o.v_f32.push_back(f.num(r, 11 + i));
      o.v_f64.push_back(f.num(r, 11 + n + i));
    }
  }
  return out;
}

inline std::vector<attention_case> load_attention_cases() {
  const detail::data_file f = detail::read_data_file("bias_attention.txt");
  std::vector<attention_case> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (f.records[r].size() < 10) f.expect_fields(r, 10);
    attention_case& o = out[r];
    o.name = f.records[r][0];
    o.tokens = static_cast<int>(f.integer(r, 1));
    o.heads = static_cast<int>(f.integer(r, 2));
    o.kv_heads = static_cast<int>(f.integer(r, 3));
    o.dim = static_cast<int>(f.integer(r, 4));
    o.rope = f.integer(r, 5) != 0;
    o.alibi = f.records[r][6];
    o.ape = f.integer(r, 7) != 0;
    o.causal = f.integer(r, 8) != 0;
    o.k_first = f.integer(r, 9);
    if (o.tokens <= 0 || o.heads <= 0 || o.kv_heads <= 0 || o.dim <= 0 || o.heads % o.kv_heads != 0)
      detail::data_error(f.path, f.lines[r], "bad shape");
    const std::size_t T = static_cast<std::size_t>(o.tokens), H = static_cast<std::size_t>(o.heads),
                      G = static_cast<std::size_t>(o.kv_heads), D = static_cast<std::size_t>(o.dim);
    const std::size_t nq = T * H * D, nk = T * G * D;
    f.expect_fields(r, 10 + nq + 2 * nk + 3 * nq + T * H);
    std::size_t c = 10;
    const auto take = [&](std::vector<double>& v, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) v.push_back(f.num(r, c++));
    };
    take(o.q, nq);
    take(o.k, nk);
    take(o.v, nk);
    take(o.out, nq);
    take(o.vdev, nq);
    take(o.vabs, nq);
    take(o.smax, T * H);
  }
  return out;
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_BIAS_DATA_HPP
