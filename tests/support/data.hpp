// posenc tests — loaders for the committed reference data in tests/data/
// SPDX-License-Identifier: Apache-2.0
//
// The files are written by tests/oracle/gen_rope.py (see tests/data/README.md for every
// column's definition). Format: one record per line, whitespace separated, '#' starts a
// comment line; floating values are C99 hex floats (exact), parsed with std::strtod.
// (strtod honours LC_NUMERIC: tests must not switch to a locale with a ',' radix.)
//
// The directory comes from POSENC_TEST_DATA_DIR, a string literal defined by the build.
// A missing, unreadable, truncated or malformed file throws std::runtime_error naming the
// path and line: data-driven tests must fail loudly, never skip.
//
// Depends only on the standard library (independent of include/posenc).

#ifndef POSENC_TESTS_SUPPORT_DATA_HPP
#define POSENC_TESTS_SUPPORT_DATA_HPP

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef POSENC_TEST_DATA_DIR
#error "POSENC_TEST_DATA_DIR must be defined by the build (path of tests/data as a string literal)"
#endif

namespace posenc_test {

/// rope_inv_freq.txt: one row per (base, rotary_dim, k).
struct inv_freq_row {
  double base = 0;            ///< RoPE base (theta)
  int rotary_dim = 0;         ///< d, number of rotated channels
  int k = 0;                  ///< pair index, 0 <= k < d/2
  double inv_freq_exact = 0;  ///< RN64(base^(-2k/d))
  double inv_freq_hf = 0;  ///< HF float32: RN32(1 / powf(RN32(base), RN32(2k)/RN32(d))), as double
};

/// rope_cos_sin.txt: one row per (base, rotary_dim, k, pos).
struct cos_sin_row {
  double base = 0;
  int rotary_dim = 0;
  int k = 0;
  std::int64_t pos = 0;
  double angle_exact = 0;  ///< RN64(pos * inv_freq_exact)
  double cos_f32 = 0;      ///< RN32(cos(angle_exact)) (a float value held in a double)
  double sin_f32 = 0;      ///< RN32(sin(angle_exact))
  double cos_f64 = 0;      ///< RN64(cos(angle_exact))
  double sin_f64 = 0;      ///< RN64(sin(angle_exact))
  double angle_hf = 0;     ///< RN32(RN32(pos) * inv_freq_hf)
  double cos_hf = 0;       ///< RN32(cos(angle_hf))
  double sin_hf = 0;       ///< RN32(sin(angle_hf))
};

/// rope_rotate.txt: one rotated head vector per row.
struct rotate_row {
  std::string layout;   ///< "half_split" or "interleaved"
  std::string storage;  ///< "f32", "f64", "bf16" or "f16"
  int head_dim = 0;
  int rotary_dim = 0;
  double base = 0;
  std::int64_t pos = 0;
  std::vector<double> x;  ///< input, each value exactly representable in `storage`
  std::vector<double> y;  ///< exact rotation with RN32 (RN64 for f64) cos/sin, rounded to double
  std::vector<double> scale;  ///< |x_a*c| + |x_b*s| per output element; 0 for pass-through channels
};

namespace detail {

inline std::string data_path(const char* name) {
  return std::string(POSENC_TEST_DATA_DIR) + "/" + name;
}

[[noreturn]] inline void data_error(const std::string& path, std::size_t line,
                                    const std::string& what) {
  throw std::runtime_error("posenc test data: " + path +
                           (line ? ":" + std::to_string(line) : std::string()) + ": " + what);
}

/// Tokenised data records of one file, with a source line number per record.
struct data_file {
  std::string path;
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> lines;

  double num(std::size_t r, std::size_t c) const {
    const std::string& s = records[r][c];
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
      data_error(path, lines[r], "bad number '" + s + "'");
    return v;
  }
  std::int64_t integer(std::size_t r, std::size_t c) const {
    const std::string& s = records[r][c];
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE)
      data_error(path, lines[r], "bad integer '" + s + "'");
    return static_cast<std::int64_t>(v);
  }
  void expect_fields(std::size_t r, std::size_t n) const {
    if (records[r].size() != n)
      data_error(
          path, lines[r],
          "expected " + std::to_string(n) + " fields, got " + std::to_string(records[r].size()));
  }
};

/// Reads a data file; checks the "# records: N" header against the records found.
inline data_file read_data_file(const char* name) {
  data_file f;
  f.path = data_path(name);
  std::ifstream in(f.path);
  if (!in) data_error(f.path, 0, "cannot open (missing or unreadable)");
  const std::string tag = "# records:";
  long long declared = -1;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.compare(0, tag.size(), tag) == 0) declared = std::atoll(line.c_str() + tag.size());
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream ss(line);
    std::vector<std::string> tok;
    for (std::string t; ss >> t;) tok.push_back(t);
    f.records.push_back(std::move(tok));
    f.lines.push_back(lineno);
  }
  if (in.bad()) data_error(f.path, lineno, "read error");
  if (f.records.empty()) data_error(f.path, 0, "no records");
  if (declared != static_cast<long long>(f.records.size()))
    data_error(f.path, 0,
               "header declares " + std::to_string(declared) + " records, found " +
                   std::to_string(f.records.size()) + " (truncated or edited file?)");
  return f;
}

}  // namespace detail

/// All rows of rope_inv_freq.txt.
inline std::vector<inv_freq_row> load_inv_freq() {
  const detail::data_file f = detail::read_data_file("rope_inv_freq.txt");
  std::vector<inv_freq_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    f.expect_fields(r, 5);
    inv_freq_row& o = out[r];
    o.base = f.num(r, 0);
    o.rotary_dim = static_cast<int>(f.integer(r, 1));
    o.k = static_cast<int>(f.integer(r, 2));
    o.inv_freq_exact = f.num(r, 3);
    o.inv_freq_hf = f.num(r, 4);
  }
  return out;
}

/// All rows of rope_cos_sin.txt.
inline std::vector<cos_sin_row> load_cos_sin() {
  const detail::data_file f = detail::read_data_file("rope_cos_sin.txt");
  std::vector<cos_sin_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    f.expect_fields(r, 12);
    cos_sin_row& o = out[r];
    o.base = f.num(r, 0);
    o.rotary_dim = static_cast<int>(f.integer(r, 1));
    o.k = static_cast<int>(f.integer(r, 2));
    o.pos = f.integer(r, 3);
    o.angle_exact = f.num(r, 4);
    o.cos_f32 = f.num(r, 5);
    o.sin_f32 = f.num(r, 6);
    o.cos_f64 = f.num(r, 7);
    o.sin_f64 = f.num(r, 8);
    o.angle_hf = f.num(r, 9);
    o.cos_hf = f.num(r, 10);
    o.sin_hf = f.num(r, 11);
  }
  return out;
}

/// All rows of rope_rotate.txt.
inline std::vector<rotate_row> load_rotate() {
  const detail::data_file f = detail::read_data_file("rope_rotate.txt");
  std::vector<rotate_row> out(f.records.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (f.records[r].size() < 6) f.expect_fields(r, 6);
    rotate_row& o = out[r];
    o.layout = f.records[r][0];
    o.storage = f.records[r][1];
    if (o.layout != "half_split" && o.layout != "interleaved")
      detail::data_error(f.path, f.lines[r], "bad layout");
    if (o.storage != "f32" && o.storage != "f64" && o.storage != "bf16" && o.storage != "f16")
      detail::data_error(f.path, f.lines[r], "bad storage");
    o.head_dim = static_cast<int>(f.integer(r, 2));
    o.rotary_dim = static_cast<int>(f.integer(r, 3));
    o.base = f.num(r, 4);
    o.pos = f.integer(r, 5);
    if (o.head_dim <= 0 || o.rotary_dim <= 0 || o.rotary_dim > o.head_dim || o.rotary_dim % 2 != 0)
      detail::data_error(f.path, f.lines[r], "bad head_dim/rotary_dim");
    const std::size_t d = static_cast<std::size_t>(o.head_dim);
    f.expect_fields(r, 6 + 3 * d);
    o.x.resize(d);
    o.y.resize(d);
    o.scale.resize(d);
    for (std::size_t i = 0; i < d; ++i) {
      o.x[i] = f.num(r, 6 + i);
      o.y[i] = f.num(r, 6 + d + i);
      o.scale[i] = f.num(r, 6 + 2 * d + i);
    }
  }
  return out;
}

}  // namespace posenc_test

#endif  // POSENC_TESTS_SUPPORT_DATA_HPP
