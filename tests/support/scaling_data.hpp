// posenc tests — loaders for the RoPE-scaling reference data (tests/data/scaling_*.txt)
// SPDX-License-Identifier: Apache-2.0
//
// Written by tests/oracle/gen_scaling.py (see tests/data/README.md, "RoPE scalings"): one
// scaling case per line with its parameters, the attention factor and every scaled inverse
// frequency in two modes; scaling_rotate.txt holds head vectors rotated under some of them.
// Same conventions as data.hpp (hex floats, '# records: N' checked, failures throw naming the
// file and line). 'nan' marks an unset optional parameter.
//
// Depends only on the standard library and data.hpp (independent of include/posenc).

#ifndef POSENC_TESTS_SUPPORT_SCALING_DATA_HPP
#define POSENC_TESTS_SUPPORT_SCALING_DATA_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "support/data.hpp"

namespace posenc_test {

/// One case of scaling_<name>.txt.
struct scaling_case {
  std::string file;
  std::size_t line = 0;
  int id = 0;
  int head_dim = 0;
  int rotary_dim = 0;
  double base = 0;
  std::vector<double> params;              ///< the scalar parameters (schema per file)
  std::vector<std::vector<double>> lists;  ///< per-pair lists (r/2 each)
  std::vector<double> extra;               ///< yarn: exact-mode [low, high]
  double af_exact = 0;                     ///< RN64(exact attention factor)
  double af_f32 = 0;                       ///< RN32(HF's double attention factor)
  std::vector<double> inv_exact;           ///< RN64(exact scaled inverse frequency)
  std::vector<double> inv_f32;             ///< HF float32 emulation (float values)
  std::vector<int> hard;  ///< pairs whose float32 pow input is a hard case (1 ulp allowed)

  std::size_t pairs() const { return static_cast<std::size_t>(rotary_dim / 2); }
  bool is_hard(std::size_t k) const {
    for (int h : hard)
      if (static_cast<std::size_t>(h) == k) return true;
    return false;
  }
  /// "file:line (id N)" for failure messages.
  std::string where() const {
    return file + ":" + std::to_string(line) + " (id " + std::to_string(id) + ")";
  }
};

/// Loads scaling_<name>.txt; nparams scalar parameters, nlists per-pair lists, nextra extras.
inline std::vector<scaling_case> load_scaling(const std::string& name, std::size_t nparams,
                                              std::size_t nlists, std::size_t nextra) {
  const std::string fname = "scaling_" + name + ".txt";
  const detail::data_file f = detail::read_data_file(fname.c_str());
  std::vector<scaling_case> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    scaling_case& c = out[r];
    if (f.records[r].size() < 4) f.expect_fields(r, 4);
    c.file = fname;
    c.line = f.lines[r];
    c.id = static_cast<int>(f.integer(r, 0));
    c.head_dim = static_cast<int>(f.integer(r, 1));
    c.rotary_dim = static_cast<int>(f.integer(r, 2));
    c.base = f.num(r, 3);
    if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim)
      detail::data_error(f.path, f.lines[r], "bad head_dim/rotary_dim");
    const std::size_t n = c.pairs();
    const std::size_t fixed = 4 + nparams + nlists * n + nextra + 2 + 2 * n + 1;
    if (f.records[r].size() < fixed) f.expect_fields(r, fixed);
    std::size_t i = 4;
    for (std::size_t p = 0; p < nparams; ++p) c.params.push_back(f.num(r, i++));
    for (std::size_t l = 0; l < nlists; ++l) {
      c.lists.emplace_back();
      for (std::size_t k = 0; k < n; ++k) c.lists.back().push_back(f.num(r, i++));
    }
    for (std::size_t e = 0; e < nextra; ++e) c.extra.push_back(f.num(r, i++));
    c.af_exact = f.num(r, i++);
    c.af_f32 = f.num(r, i++);
    for (std::size_t k = 0; k < n; ++k) c.inv_exact.push_back(f.num(r, i++));
    for (std::size_t k = 0; k < n; ++k) c.inv_f32.push_back(f.num(r, i++));
    const std::int64_t nh = f.integer(r, i++);
    if (nh < 0 || static_cast<std::size_t>(nh) > n)
      detail::data_error(f.path, f.lines[r], "bad hard-case count");
    f.expect_fields(r, fixed + static_cast<std::size_t>(nh));
    for (std::int64_t h = 0; h < nh; ++h) c.hard.push_back(static_cast<int>(f.integer(r, i++)));
  }
  return out;
}

/// One row of scaling_rotate.txt.
struct scaling_rotate_row {
  std::size_t line = 0;
  std::string scaling;  ///< which scaling_<scaling>.txt
  int id = 0;           ///< case id in that file
  std::string mode;     ///< "exact" or "hf_f32"
  std::string layout;   ///< "half_split" or "interleaved"
  std::string storage;  ///< "f32", "f64", "bf16", "f16"
  int head_dim = 0;
  int rotary_dim = 0;
  std::int64_t pos = 0;
  std::vector<double> x, y, scale, dscale;
};

inline std::vector<scaling_rotate_row> load_scaling_rotate() {
  const detail::data_file f = detail::read_data_file("scaling_rotate.txt");
  std::vector<scaling_rotate_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (f.records[r].size() < 8) f.expect_fields(r, 8);
    scaling_rotate_row& o = out[r];
    o.line = f.lines[r];
    o.scaling = f.records[r][0];
    o.id = static_cast<int>(f.integer(r, 1));
    o.mode = f.records[r][2];
    o.layout = f.records[r][3];
    o.storage = f.records[r][4];
    if (o.mode != "exact" && o.mode != "hf_f32") detail::data_error(f.path, o.line, "bad mode");
    if (o.layout != "half_split" && o.layout != "interleaved")
      detail::data_error(f.path, o.line, "bad layout");
    if (o.storage != "f32" && o.storage != "f64" && o.storage != "bf16" && o.storage != "f16")
      detail::data_error(f.path, o.line, "bad storage");
    o.head_dim = static_cast<int>(f.integer(r, 5));
    o.rotary_dim = static_cast<int>(f.integer(r, 6));
    o.pos = f.integer(r, 7);
    if (o.head_dim <= 0 || o.rotary_dim <= 0 || o.rotary_dim > o.head_dim || o.rotary_dim % 2)
      detail::data_error(f.path, o.line, "bad head_dim/rotary_dim");
    const std::size_t d = static_cast<std::size_t>(o.head_dim);
    f.expect_fields(r, 8 + 4 * d);
    std::vector<double>* cols[4] = {&o.x, &o.y, &o.scale, &o.dscale};
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t i = 0; i < d; ++i) cols[c]->push_back(f.num(r, 8 + c * d + i));
  }
  return out;
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_SCALING_DATA_HPP
