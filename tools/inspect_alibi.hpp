// posenc-inspect alibi — the ALiBi slopes of a head count (standard, max_bias, NTK-ALiBi).
//
//     posenc-inspect alibi --heads H [--max-bias B] [--ntk-factor a] [--ntk-variant code|formula]
//                          [--json]
//
// Prints the slopes m_h (h = 0 … H−1, %.17g): with --json exactly one JSON object on stdout,
//     {"heads": H, "max_bias": B, "slopes_policy": "...", "ntk_factor": a, "ntk_variant": "...",
//      "slopes": [m_0, …, m_{H−1}]}
// (ntk_* only with an NTK option), otherwise a table. A bad argument prints one line on stderr
// and returns 2. Header-only; tools/posenc_inspect.cpp dispatches `posenc-inspect alibi …` here
// with argv[0] == "alibi".
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TOOLS_INSPECT_ALIBI_HPP
#define POSENC_TOOLS_INSPECT_ALIBI_HPP

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include "posenc/alibi.hpp"
#include "posenc/ntk_alibi.hpp"

namespace posenc_inspect_alibi_detail {

struct bad_argument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string num17(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

inline double parse_double(const char* opt, const char* s) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (*s == '\0' || end == s || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    throw bad_argument(std::string(opt) + " expects a finite number, got '" + s + "'");
  return v;
}

inline long long parse_int(const char* opt, const char* s) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (*s == '\0' || end == s || *end != '\0' || errno == ERANGE)
    throw bad_argument(std::string(opt) + " expects an integer, got '" + s + "'");
  return v;
}

inline void usage(std::ostream& out) {
  out << "usage: posenc-inspect alibi --heads H [--max-bias B] [--ntk-factor a]\n"
         "                            [--ntk-variant code|formula] [--json]\n"
         "  ALiBi slopes m_h of H heads (h = 0..H-1): standard (Press et al.; max_bias B,\n"
         "  default 8, as MPT/llama.cpp), or NTK-ALiBi with factor a (variant code: the\n"
         "  keezen/ntk_alibi code, the default; formula: its formula). --json: one JSON object.\n";
}

}  // namespace posenc_inspect_alibi_detail

/// The subcommand with explicit streams (argv[0] is the subcommand name and is ignored).
inline int posenc_inspect_alibi(int argc, char** argv, std::ostream& out, std::ostream& err) {
  namespace d = posenc_inspect_alibi_detail;
  try {
    long long heads = -1;
    double max_bias = 8.0, factor = 1.0;
    bool ntk = false, json = false;
    posenc::ntk_alibi_variant variant = posenc::ntk_alibi_variant::code;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const auto value = [&]() -> const char* {
        if (i + 1 >= argc) throw d::bad_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--heads") {
        heads = d::parse_int("--heads", value());
        if (heads < 1 || heads > (1 << 20))
          throw d::bad_argument("--heads must be in [1, 1048576], got " + std::to_string(heads));
      } else if (a == "--max-bias") {
        max_bias = d::parse_double("--max-bias", value());
        if (max_bias < 0)
          throw d::bad_argument("--max-bias must be >= 0, got " + d::num17(max_bias));
      } else if (a == "--ntk-factor") {
        factor = d::parse_double("--ntk-factor", value());
        if (!(factor > 0))
          throw d::bad_argument("--ntk-factor must be > 0, got " + d::num17(factor));
        ntk = true;
      } else if (a == "--ntk-variant") {
        const std::string v = value();
        if (v == "code") {
          variant = posenc::ntk_alibi_variant::code;
        } else if (v == "formula") {
          variant = posenc::ntk_alibi_variant::formula;
        } else {
          throw d::bad_argument("--ntk-variant must be 'code' or 'formula', got '" + v + "'");
        }
        ntk = true;
      } else if (a == "--json") {
        json = true;
      } else if (a == "--help" || a == "-h") {
        d::usage(out);
        return 0;
      } else {
        throw d::bad_argument("unknown argument '" + a + "' (see posenc-inspect alibi --help)");
      }
    }
    if (heads < 0) throw d::bad_argument("--heads H is required");
    posenc::alibi_config cfg{static_cast<std::size_t>(heads), max_bias};
    const posenc::alibi_bias alibi =
        ntk ? posenc::alibi_bias(cfg, posenc::ntk_alibi_slopes{factor, variant})
            : posenc::alibi_bias(cfg);
    const std::size_t H = alibi.num_heads();
    if (json) {
      std::string s = "{\"heads\": " + std::to_string(H) + ", \"max_bias\": " + d::num17(max_bias) +
                      ", \"slopes_policy\": \"" + alibi.slopes_name() + "\"";
      if (ntk) {
        s += ", \"ntk_factor\": " + d::num17(factor) + ", \"ntk_variant\": \"" +
             (variant == posenc::ntk_alibi_variant::code ? "code" : "formula") + "\"";
      }
      s += ", \"slopes\": [";
      for (std::size_t h = 0; h < H; ++h) s += (h ? ", " : "") + d::num17(alibi.slope(h));
      s += "]}\n";
      out << s;
    } else {
      out << "ALiBi slopes: " << H << " heads, max_bias " << d::num17(max_bias) << ", policy "
          << alibi.slopes_name();
      if (ntk) out << " (factor " << d::num17(factor) << ")";
      out << "\n  head  slope                    log2(slope)\n";
      for (std::size_t h = 0; h < H; ++h) {
        char line[96];
        std::snprintf(line, sizeof line, "  %4zu  %-23.17g  %.6f\n", h, alibi.slope(h),
                      std::log2(alibi.slope(h)));
        out << line;
      }
    }
    return out ? 0 : 1;
  } catch (const d::bad_argument& e) {
    err << "posenc-inspect alibi: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {  // rejected by posenc (e.g. a slope underflows)
    err << "posenc-inspect alibi: " << e.what() << "\n";
    return 2;
  }
}

/// The subcommand on stdout / stderr: `posenc-inspect alibi ...` with argv[0] == "alibi".
inline int posenc_inspect_alibi(int argc, char** argv) {
  return posenc_inspect_alibi(argc, argv, std::cout, std::cerr);
}

#endif  // POSENC_TOOLS_INSPECT_ALIBI_HPP
