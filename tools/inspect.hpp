// posenc-inspect — what a model's RoPE scaling does to each frequency pair (implementation,
// header-only so that tests/inspect_test.cpp can run it in-process; main() is in
// posenc_inspect.cpp).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_TOOLS_INSPECT_HPP
#define POSENC_TOOLS_INSPECT_HPP

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <posenc/frequency.hpp>
#include <posenc/hf_config.hpp>
#include <posenc/rope.hpp>

namespace posenc_inspect {

/// Llama-3.1-8B's public config.json (rope-relevant and surrounding keys), used without a file.
inline const char* embedded_config() {
  return R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
    "rope_type": "llama3"
  },
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.0.dev0",
  "use_cache": true,
  "vocab_size": 128256
})";
}

inline const char* usage() {
  return "usage: posenc-inspect [CONFIG.json] [--seq-len N] [--served] [--json] [--svg FILE]\n"
         "                      [--hf-f32] [--llama-cpp-yarn] [--layer-type NAME]\n"
         "       posenc-inspect alibi ...   (ALiBi slopes, when built in)\n"
         "\n"
         "Shows what a Hugging Face config.json's RoPE scaling does to every frequency pair:\n"
         "inv_freq before and after scaling, wavelength in tokens, their ratio, and the\n"
         "attention factor. Without CONFIG.json: Llama-3.1-8B's config.\n"
         "\n"
         "  --seq-len N       length for dynamic NTK / LongRoPE (default: the config's original\n"
         "                    max position, i.e. HF's state before any long input)\n"
         "  --served          the length is the served maximum (vLLM) instead of the current\n"
         "                    sequence length (HF)\n"
         "  --json            print exactly one JSON object (rotary_dim, inv_freq after scaling\n"
         "                    with 17 significant digits, attention_factor, heads, KV heads,\n"
         "                    served_max_position, softmax_scale and its multiplier,\n"
         "                    scaling_parameters, ...)\n"
         "  --svg FILE        write a plot of the wavelength per pair, unscaled vs scaled (log),\n"
         "                    marking the reference and served lengths, Llama-3's wavelength\n"
         "                    thresholds and YaRN's correction range\n"
         "  --hf-f32          frequencies in HF's float32 arithmetic instead of exact double\n"
         "  --llama-cpp-yarn  YaRN with llama.cpp's rules (always truncates, ignores mscale)\n"
         "  --layer-type NAME which entry of per-layer-type rope_parameters (transformers v5)\n";
}

struct options {
  std::string config_path;  ///< empty: the embedded config
  std::size_t seq_len = 0;
  bool served = false;
  bool json = false;
  std::string svg;
  bool hf_f32 = false;
  bool llama_cpp_yarn = false;
  std::string layer_type;
  bool help = false;
};

/// Thrown for command-line mistakes (exit status 2).
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline options parse_args(int argc, const char* const* argv) {
  options o;
  auto value = [&](int& i, const char* flag) -> std::string {
    if (i + 1 >= argc) throw usage_error(std::string(flag) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--seq-len") {
      const std::string v = value(i, "--seq-len");
      errno = 0;
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0' || errno == ERANGE || n == 0)
        throw usage_error("--seq-len needs a positive integer, got '" + v + "'");
      o.seq_len = static_cast<std::size_t>(n);
    } else if (a == "--served") {
      o.served = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--svg") {
      o.svg = value(i, "--svg");
    } else if (a == "--hf-f32") {
      o.hf_f32 = true;
    } else if (a == "--llama-cpp-yarn") {
      o.llama_cpp_yarn = true;
    } else if (a == "--layer-type") {
      o.layer_type = value(i, "--layer-type");
    } else if (a == "alibi") {
      throw usage_error("the alibi subcommand is not built into this posenc-inspect");
    } else if (a.size() > 1 && a[0] == '-') {
      throw usage_error("unknown option '" + a + "'");
    } else if (o.config_path.empty()) {
      o.config_path = a;
    } else {
      throw usage_error("more than one config file given ('" + o.config_path + "', '" + a + "')");
    }
  }
  return o;
}

/// Largest config file read (posenc::hf_max_config_bytes: 16 MiB), so /dev/zero fails fast.
constexpr std::size_t max_config_bytes = posenc::hf_max_config_bytes;

inline std::string read_file(const std::string& path, std::size_t max_bytes = max_config_bytes) {
  return posenc::read_hf_config_file(path, max_bytes);
}

/// %.17g (17 significant digits: every double round-trips), valid JSON for finite values.
inline std::string g17(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
inline std::string gfmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

inline std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      o += b;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

inline std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&')
      o += "&amp;";
    else if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

/// Everything the three outputs show.
struct report {
  std::string source;  ///< config path or "embedded Llama-3.1-8B config"
  posenc::hf_rope_spec spec;
  std::size_t seq_len = 0;
  bool served = false;
  std::vector<double> before, after;  ///< inv_freq unscaled / scaled (in the chosen precision)
  double attention_factor = 1.0;
  std::string notes;       ///< scaling-specific summary line
  std::string explain;     ///< optional longer explanation (table only)
  std::string mrope;       ///< M-RoPE summary ("" for 1-D RoPE)
  std::vector<char> axis;  ///< M-RoPE: the position axis of each pair ('t', 'h', 'w'), else empty
};

/// M-RoPE (Qwen2-VL / Qwen2.5-VL sections, Qwen3-VL interleaved): the axis of each pair.
inline void add_mrope(report& r, const std::string& text, const posenc::hf_rope_options& ho) {
  const posenc::hf_mrope_spec ms = posenc::parse_hf_mrope_config(text, ho);
  if (ms.has_mrope) {
    const posenc::mrope m = ms.make_mrope();
    for (std::size_t k = 0; k < m.pairs(); ++k) r.axis.push_back("thw"[m.axis(k)]);
    std::ostringstream mm;
    mm << (ms.mode == posenc::mrope_mode::interleaved ? "interleaved" : "sectioned") << " ["
       << ms.section[0] << ", " << ms.section[1] << ", " << ms.section[2] << "] pairs for t, h, w";
    if (ms.vision_head_dim)
      mm << "; vision 2-D RoPE head_dim " << ms.vision_head_dim << ", merge "
         << ms.spatial_merge_size;
    r.mrope = mm.str();
  }
}

/// The scaling-specific summary line (and explanation) of the table and the SVG.
inline void scaling_notes(report& r, const posenc::rope_dims& d, bool served) {
  std::ostringstream n;
  if (const auto* y = std::get_if<posenc::yarn_scaling>(&r.spec.scaling)) {
    const auto rg = y->correction_range(d);
    n << "yarn: factor " << y->factor << ", original " << y->original_max_position
      << ", correction range [" << gfmt("%.6g", rg.low) << ", " << gfmt("%.6g", rg.high) << "]"
      << (y->truncate ? "" : ", truncate=false");
    r.explain =
        "pairs k <= low keep their frequency, k >= high are divided by the factor, "
        "linear ramp between";
    if (y->softmax_scale_multiplier() != 1.0)
      n << "; DeepSeek softmax multiplier " << gfmt("%.10g", y->softmax_scale_multiplier());
  } else if (const auto* l = std::get_if<posenc::llama3_scaling>(&r.spec.scaling)) {
    const double L = static_cast<double>(l->original_max_position);
    n << "llama3: factor " << l->factor << "; wavelength < " << L / l->high_freq_factor
      << " kept, > " << L / l->low_freq_factor << " divided by " << l->factor
      << ", smooth blend between";
  } else if (const auto* dn = std::get_if<posenc::dynamic_ntk_scaling>(&r.spec.scaling)) {
    n << "dynamic NTK: factor " << dn->factor << ", L0 " << dn->original_max_position << ", length "
      << dn->effective_length() << (served ? " (served, vLLM)" : " (current, HF)") << ", alpha "
      << gfmt("%.10g", dn->alpha()) << ", base' " << gfmt("%.10g", dn->scaled_base(d));
  } else if (const auto* lr = std::get_if<posenc::longrope_scaling>(&r.spec.scaling)) {
    n << "longrope: " << (lr->uses_long() ? "long" : "short") << " factors (length " << r.seq_len
      << (served ? ", served" : ", current") << " vs original " << lr->original_max_position
      << "), factor " << lr->factor;
  } else if (const auto* lin = std::get_if<posenc::linear_scaling>(&r.spec.scaling)) {
    n << "linear: every frequency divided by " << lin->factor;
  } else if (const auto* nt = std::get_if<posenc::ntk_scaling>(&r.spec.scaling)) {
    n << "ntk: alpha " << nt->alpha << ", base' " << gfmt("%.10g", nt->scaled_base(d));
  } else {
    n << "no scaling";
  }
  r.notes = n.str();
}

inline report build_report(const options& o) {
  report r;
  const std::string text = o.config_path.empty() ? embedded_config() : read_file(o.config_path);
  r.source = o.config_path.empty() ? "embedded Llama-3.1-8B config" : o.config_path;
  posenc::hf_rope_options ho;
  ho.seq_len = o.seq_len;
  ho.length_mode = o.served ? posenc::hf_length_mode::served : posenc::hf_length_mode::current;
  ho.precision = o.hf_f32 ? posenc::rope_precision::hf_f32 : posenc::rope_precision::exact;
  ho.yarn = o.llama_cpp_yarn ? posenc::yarn_variant::llama_cpp : posenc::yarn_variant::hf;
  ho.layer_type = o.layer_type;
  r.spec = posenc::parse_hf_config(text, ho);
  r.seq_len = o.seq_len ? o.seq_len : r.spec.reference_length();
  add_mrope(r, text, ho);
  r.served = o.served;
  const posenc::rope scaled = r.spec.make_rope();
  const posenc::rope plain = r.spec.make_unscaled_rope();
  for (std::size_t k = 0; k < scaled.pairs(); ++k) {
    r.before.push_back(o.hf_f32 ? static_cast<double>(plain.inv_freq_f32(k)) : plain.inv_freq(k));
    r.after.push_back(o.hf_f32 ? static_cast<double>(scaled.inv_freq_f32(k)) : scaled.inv_freq(k));
  }
  r.attention_factor = scaled.attention_factor();
  scaling_notes(r, scaled.dims(), o.served);
  return r;
}

inline const char* layout_name(posenc::rope_layout l) {
  return l == posenc::rope_layout::interleaved ? "interleaved" : "half_split";
}

inline void print_table(const report& r, std::ostream& out) {
  const posenc::rope_config& c = r.spec.config;
  out << "config:      " << r.source
      << (r.spec.model_type.empty() ? std::string() : " (model_type " + r.spec.model_type + ")")
      << "\n";
  out << "rope:        " << r.spec.rope_type << " (policy " << r.spec.scaling_name()
      << "), head_dim " << c.head_dim << ", rotary_dim " << c.rotary_dim << ", base "
      << gfmt("%.10g", c.base) << ", layout " << layout_name(c.layout) << ", "
      << (c.precision == posenc::rope_precision::hf_f32 ? "hf_f32" : "exact") << "\n";
  out << "seq_len:     " << r.seq_len << (r.served ? " (served maximum)" : " (current length)")
      << ", reference length " << r.spec.reference_length() << "\n";
  out << "scaling:     " << r.notes << "\n";
  out << "lengths:     max_position_embeddings " << r.spec.max_position_embeddings << ", served "
      << r.spec.served_max_position << " (vLLM's derived maximum)\n";
  if (r.spec.num_attention_heads)
    out << "heads:       " << r.spec.num_attention_heads << " query, " << r.spec.num_key_value_heads
        << " KV, q.k head_dim " << r.spec.attention_head_dim
        << (r.spec.sliding_window ? ", sliding window " + std::to_string(r.spec.sliding_window)
                                  : std::string())
        << ", softmax scale " << gfmt("%.10g", r.spec.softmax_scale()) << " (multiplier "
        << gfmt("%.10g", r.spec.softmax_scale_multiplier()) << ")\n";
  if (!r.mrope.empty()) out << "mrope:       " << r.mrope << " (axis column)\n";
  if (!r.explain.empty()) out << "             " << r.explain << "\n";
  out << "attention:   factor " << gfmt("%.10g", r.attention_factor)
      << (c.fold_attention_factor ? " multiplies cos and sin" : " (not folded)")
      << "; q.k logits scale by " << gfmt("%.10g", r.attention_factor * r.attention_factor)
      << "\n\n";
  char line[160];
  std::snprintf(line, sizeof line, "%5s  %-22s  %-22s  %-16s  %-16s  %s%s\n", "pair",
                "inv_freq unscaled", "inv_freq scaled", "wavelength", "wavelength", "ratio",
                r.axis.empty() ? "" : "      axis");
  out << line;
  std::snprintf(line, sizeof line, "%5s  %-22s  %-22s  %-16s  %-16s  %s\n", "", "", "",
                "unscaled (tok)", "scaled (tok)", "(stretch)");
  out << line;
  for (std::size_t k = 0; k < r.after.size(); ++k) {
    std::snprintf(line, sizeof line, "%5zu  %-22.15e  %-22.15e  %-16.6g  %-16.6g  %-10.6g", k,
                  r.before[k], r.after[k], posenc::wavelength(r.before[k]),
                  posenc::wavelength(r.after[k]), r.before[k] / r.after[k]);
    out << (r.axis.empty()
                ? std::string(line).substr(0, std::string(line).find_last_not_of(' ') + 1)
                : std::string(line) + "  " + r.axis[k])
        << "\n";
  }
}

/// "key": value pairs of a JSON object, in order.
struct json_fields {
  std::string s;
  json_fields& num(const char* k, double v) { return raw(k, g17(v)); }
  json_fields& count(const char* k, std::size_t v) { return raw(k, std::to_string(v)); }
  json_fields& boolean(const char* k, bool v) { return raw(k, v ? "true" : "false"); }
  json_fields& opt(const char* k, const std::optional<double>& v) {
    return raw(k, v ? g17(*v) : "null");
  }
  json_fields& raw(const char* k, const std::string& v) {
    s += (s.empty() ? "\"" : ", \"") + std::string(k) + "\": " + v;
    return *this;
  }
  std::string object() const { return "{" + s + "}"; }
};

/// The scaling policy's parameters as one JSON object (the marks of the SVG among them).
inline std::string scaling_json(const report& r) {
  const posenc::rope_dims d = r.spec.make_rope().dims();
  json_fields f;
  if (const auto* y = std::get_if<posenc::yarn_scaling>(&r.spec.scaling)) {
    const auto rg = y->correction_range(d);
    f.num("factor", y->factor).count("original_max_position", y->original_max_position);
    f.num("beta_fast", y->beta_fast)
        .num("beta_slow", y->beta_slow)
        .boolean("truncate", y->truncate);
    f.opt("attention_factor", y->explicit_attention_factor).opt("mscale", y->mscale);
    f.opt("mscale_all_dim", y->mscale_all_dim);
    f.raw("correction_range", "[" + g17(rg.low) + ", " + g17(rg.high) + "]");
  } else if (const auto* l = std::get_if<posenc::llama3_scaling>(&r.spec.scaling)) {
    const double L = static_cast<double>(l->original_max_position);
    f.num("factor", l->factor).num("low_freq_factor", l->low_freq_factor);
    f.num("high_freq_factor", l->high_freq_factor)
        .count("original_max_position", l->original_max_position);
    f.num("high_freq_wavelength", L / l->high_freq_factor);
    f.num("low_freq_wavelength", L / l->low_freq_factor);
  } else if (const auto* dn = std::get_if<posenc::dynamic_ntk_scaling>(&r.spec.scaling)) {
    f.num("factor", dn->factor).count("original_max_position", dn->original_max_position);
    f.count("length", dn->effective_length()).num("alpha", dn->alpha());
    f.num("scaled_base", dn->scaled_base(d));
  } else if (const auto* lr = std::get_if<posenc::longrope_scaling>(&r.spec.scaling)) {
    f.num("factor", lr->factor).count("original_max_position", lr->original_max_position);
    f.opt("attention_factor", lr->explicit_attention_factor).boolean("uses_long", lr->uses_long());
  } else if (const auto* lin = std::get_if<posenc::linear_scaling>(&r.spec.scaling)) {
    f.num("factor", lin->factor);
  } else if (const auto* nt = std::get_if<posenc::ntk_scaling>(&r.spec.scaling)) {
    f.num("alpha", nt->alpha).num("scaled_base", nt->scaled_base(d));
  }
  return f.object();
}

/// Attention shape, lengths and multipliers of the config (hf_rope_spec's fields).
inline std::string attention_json(const report& r) {
  const posenc::hf_rope_spec& s = r.spec;
  json_fields f;
  f.count("num_attention_heads", s.num_attention_heads);
  f.count("num_key_value_heads", s.num_key_value_heads);
  f.count("attention_head_dim", s.attention_head_dim);
  f.count("num_hidden_layers", s.num_hidden_layers).count("sliding_window", s.sliding_window);
  f.count("max_position_embeddings", s.max_position_embeddings);
  f.count("reference_length", s.reference_length());
  f.count("served_max_position", s.served_max_position);
  f.num("softmax_scale_multiplier", s.softmax_scale_multiplier());
  f.num("softmax_scale", s.softmax_scale());
  return f.s;
}

inline void print_json(const report& r, std::ostream& out) {
  const posenc::rope_config& c = r.spec.config;
  auto list = [](const std::vector<double>& v, bool wavelength) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) s += ", ";
      s += g17(wavelength ? posenc::wavelength(v[i]) : v[i]);
    }
    return s + "]";
  };
  out << "{\"config\": " << json_string(r.source)
      << ", \"model_type\": " << json_string(r.spec.model_type)
      << ", \"rope_type\": " << json_string(r.spec.rope_type)
      << ", \"scaling\": " << json_string(r.spec.scaling_name()) << ", \"head_dim\": " << c.head_dim
      << ", \"rotary_dim\": " << c.rotary_dim << ", \"base\": " << g17(c.base)
      << ", \"layout\": " << json_string(layout_name(c.layout)) << ", \"precision\": "
      << json_string(c.precision == posenc::rope_precision::hf_f32 ? "hf_f32" : "exact")
      << ", \"seq_len\": " << r.seq_len
      << ", \"length_mode\": " << json_string(r.served ? "served" : "current")
      << ", \"attention_factor\": " << g17(r.attention_factor) << ", " << attention_json(r)
      << ", \"scaling_parameters\": " << scaling_json(r)
      << ", \"inv_freq\": " << list(r.after, false)
      << ", \"inv_freq_unscaled\": " << list(r.before, false)
      << ", \"wavelength\": " << list(r.after, true);
  if (!r.axis.empty()) {
    out << ", \"mrope\": " << json_string(r.mrope) << ", \"axis\": [";
    for (std::size_t k = 0; k < r.axis.size(); ++k) out << (k ? ", \"" : "\"") << r.axis[k] << '"';
    out << "]";
  }
  out << "}\n";
}

/// A horizontal line at wavelength w tokens, or a vertical band over pairs [k0, k1], with a
/// label: the marks of render_svg (see svg_marks).
struct svg_mark {
  enum kind_t { wavelength, pair_band } kind = wavelength;
  double a = 0.0, b = 0.0;  ///< wavelength: a; band: pairs a..b
  const char* color = "#d62728";
  std::string label;
  bool right = false;  ///< label at the right end (Llama-3's thresholds: clear of the lengths)
};

/// Served length, reference length, Llama-3's wavelength thresholds, YaRN's correction range.
inline std::vector<svg_mark> svg_marks(const report& r) {
  std::vector<svg_mark> m;
  const std::size_t ref = r.spec.reference_length(), served = r.spec.served_max_position;
  if (ref > 0)
    m.push_back({svg_mark::wavelength, static_cast<double>(ref), 0.0, "#d62728",
                 "reference length " + std::to_string(ref)});
  if (served > 0 && served != ref)
    m.push_back({svg_mark::wavelength, static_cast<double>(served), 0.0, "#9467bd",
                 "served length " + std::to_string(served)});
  if (const auto* l = std::get_if<posenc::llama3_scaling>(&r.spec.scaling)) {
    const double L = static_cast<double>(l->original_max_position);
    m.push_back({svg_mark::wavelength, L / l->high_freq_factor, 0.0, "#ff7f0e",
                 "llama3 high-frequency threshold " + gfmt("%.6g", L / l->high_freq_factor), true});
    m.push_back({svg_mark::wavelength, L / l->low_freq_factor, 0.0, "#ff7f0e",
                 "llama3 low-frequency threshold " + gfmt("%.6g", L / l->low_freq_factor), true});
  }
  if (const auto* y = std::get_if<posenc::yarn_scaling>(&r.spec.scaling)) {
    const auto rg = y->correction_range(r.spec.make_rope().dims());
    const double top = static_cast<double>(r.after.size() - 1);
    m.push_back(
        {svg_mark::pair_band, std::min(rg.low, top), std::min(rg.high, top), "#2ca02c",
         "yarn correction range [" + gfmt("%.6g", rg.low) + ", " + gfmt("%.6g", rg.high) + "]"});
  }
  return m;
}

/// Plot geometry: pair index → x, wavelength (log) → y.
struct svg_frame {
  double W = 900, H = 540, ml = 90, mr = 30, mt = 60, mb = 70;
  std::size_t n = 1;
  int d0 = 0, d1 = 1;  ///< decades spanned
  double pw() const { return W - ml - mr; }
  double ph() const { return H - mt - mb; }
  double X(double k) const { return ml + (n > 1 ? k / static_cast<double>(n - 1) : 0.5) * pw(); }
  double Y(double w) const { return mt + ph() * (1.0 - (std::log10(w) - d0) / (d1 - d0)); }
};

inline void svg_line(std::ostream& s, double x1, double y1, double x2, double y2,
                     const std::string& style) {
  s << "<line x1=\"" << x1 << "\" y1=\"" << y1 << "\" x2=\"" << x2 << "\" y2=\"" << y2 << "\" "
    << style << "/>\n";
}

inline void svg_title(std::ostream& s, const report& r, const svg_frame& f) {
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << f.W << "\" height=\"" << f.H
    << "\" viewBox=\"0 0 " << f.W << ' ' << f.H << "\" font-family=\"sans-serif\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const std::string title =
      "RoPE wavelength per pair: " +
      (r.spec.model_type.empty() ? std::string("model") : r.spec.model_type) + ", " +
      r.spec.rope_type + " (rotary_dim " + std::to_string(r.spec.config.rotary_dim) + ", base " +
      gfmt("%.6g", r.spec.config.base) + ", seq_len " + std::to_string(r.seq_len) + ")";
  s << "<text x=\"" << f.W / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
    << xml_escape(title) << "</text>\n";
  s << "<text x=\"" << f.W / 2
    << "\" y=\"46\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555\">"
    << xml_escape("attention factor " + gfmt("%.6g", r.attention_factor) + "; " +
                  r.notes.substr(0, 120))
    << "</text>\n";
}

/// Decade grid (2x, 5x minor lines), pair ticks, frame and axis labels.
inline void svg_axes(std::ostream& s, const svg_frame& f) {
  const double ml = f.ml, mt = f.mt, pw = f.pw(), ph = f.ph();
  for (int d = f.d0; d <= f.d1; ++d) {
    const double y = f.Y(std::pow(10.0, d));
    svg_line(s, ml, y, ml + pw, y, "stroke=\"#ccc\"");
    s << "<text x=\"" << ml - 8 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\" font-size=\"12\">"
      << "1e" << d << "</text>\n";
    for (double m : {2.0, 5.0})
      if (d < f.d1) {
        const double ym = f.Y(m * std::pow(10.0, d));
        svg_line(s, ml, ym, ml + pw, ym, "stroke=\"#eee\"");
      }
  }
  const std::size_t step = f.n > 16 ? (f.n + 7) / 8 : 1;
  for (std::size_t k = 0; k < f.n; k += step) {
    const double x = f.X(static_cast<double>(k));
    s << "<text x=\"" << x << "\" y=\"" << mt + ph + 18
      << "\" text-anchor=\"middle\" font-size=\"12\">" << k << "</text>\n";
    svg_line(s, x, mt + ph, x, mt + ph + 5, "stroke=\"black\"");
  }
  s << "<rect x=\"" << ml << "\" y=\"" << mt << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  s << "<text x=\"" << ml + pw / 2 << "\" y=\"" << f.H - 22
    << "\" text-anchor=\"middle\" font-size=\"13\">pair index k</text>\n";
  s << "<text transform=\"translate(22," << mt + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">wavelength 2&#960;/&#952;_k "
       "(tokens, log scale)</text>\n";
}

inline void svg_draw_marks(std::ostream& s, const std::vector<svg_mark>& marks,
                           const svg_frame& f) {
  double label_y = f.mt + f.ph() - 8;  // band labels stack up from the bottom
  for (const svg_mark& m : marks) {
    const std::string color = std::string("stroke=\"") + m.color + "\"";
    if (m.kind == svg_mark::wavelength) {
      const double y = f.Y(m.a);
      svg_line(s, f.ml, y, f.ml + f.pw(), y, color + " stroke-dasharray=\"6,4\"");
      s << "<text x=\"" << (m.right ? f.ml + f.pw() - 6 : f.ml + 6) << "\" y=\"" << y - 5
        << (m.right ? "\" text-anchor=\"end" : "") << "\" font-size=\"12\" fill=\"" << m.color
        << "\">" << xml_escape(m.label) << "</text>\n";
      continue;
    }
    const double x0 = f.X(m.a), x1 = f.X(m.b);
    s << "<rect x=\"" << x0 << "\" y=\"" << f.mt << "\" width=\"" << std::max(x1 - x0, 1.0)
      << "\" height=\"" << f.ph() << "\" fill=\"" << m.color << "\" fill-opacity=\"0.12\"/>\n";
    for (double x : {x0, x1}) svg_line(s, x, f.mt, x, f.mt + f.ph(), color);
    s << "<text x=\"" << x0 + 4 << "\" y=\"" << label_y << "\" font-size=\"12\" fill=\"" << m.color
      << "\">" << xml_escape(m.label) << "</text>\n";
    label_y -= 16;
  }
}

inline void svg_curve(std::ostream& s, const std::vector<double>& w, const svg_frame& f,
                      const char* color, const char* dash) {
  s << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\"" << dash
    << " points=\"";
  for (std::size_t k = 0; k < w.size(); ++k)
    s << f.X(static_cast<double>(k)) << ',' << f.Y(w[k]) << (k + 1 < w.size() ? " " : "");
  s << "\"/>\n";
  for (std::size_t k = 0; k < w.size(); ++k)
    s << "<circle cx=\"" << f.X(static_cast<double>(k)) << "\" cy=\"" << f.Y(w[k])
      << "\" r=\"2.5\" fill=\"" << color << "\"/>\n";
}

inline void svg_legend(std::ostream& s, const report& r, const svg_frame& f) {
  const double lx = f.ml + 16, ly = f.mt + 18;
  s << "<rect x=\"" << lx - 8 << "\" y=\"" << ly - 14
    << "\" width=\"190\" height=\"44\" fill=\"white\" stroke=\"#999\"/>\n";
  svg_line(s, lx, ly - 4, lx + 30, ly - 4,
           "stroke=\"#7f7f7f\" stroke-width=\"2\" stroke-dasharray=\"5,3\"");
  s << "<text x=\"" << lx + 38 << "\" y=\"" << ly << "\" font-size=\"12\">unscaled</text>\n";
  svg_line(s, lx, ly + 16, lx + 30, ly + 16, "stroke=\"#1f77b4\" stroke-width=\"2\"");
  s << "<text x=\"" << lx + 38 << "\" y=\"" << ly + 20 << "\" font-size=\"12\">scaled ("
    << xml_escape(r.spec.scaling_name()) << ")</text>\n";
}

/// SVG: wavelength per pair, unscaled vs scaled, logarithmic y axis, with the marks of
/// svg_marks (served and reference length, Llama-3 thresholds, YaRN correction range).
inline std::string render_svg(const report& r) {
  svg_frame f;
  f.n = r.after.size();
  std::vector<double> wb, wa;
  for (std::size_t k = 0; k < f.n; ++k) {
    wb.push_back(posenc::wavelength(r.before[k]));
    wa.push_back(posenc::wavelength(r.after[k]));
  }
  const std::vector<svg_mark> marks = svg_marks(r);
  double lo =
      std::min(*std::min_element(wb.begin(), wb.end()), *std::min_element(wa.begin(), wa.end()));
  double hi =
      std::max(*std::max_element(wb.begin(), wb.end()), *std::max_element(wa.begin(), wa.end()));
  for (const svg_mark& m : marks)
    if (m.kind == svg_mark::wavelength) {
      lo = std::min(lo, m.a);
      hi = std::max(hi, m.a);
    }
  f.d0 = static_cast<int>(std::floor(std::log10(lo)));
  f.d1 = std::max(static_cast<int>(std::ceil(std::log10(hi))), f.d0 + 1);
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(2);
  svg_title(s, r, f);
  svg_axes(s, f);
  svg_draw_marks(s, marks, f);
  svg_curve(s, wb, f, "#7f7f7f", " stroke-dasharray=\"5,3\"");
  svg_curve(s, wa, f, "#1f77b4", "");
  svg_legend(s, r, f);
  s << "</svg>\n";
  return s.str();
}

/// The whole tool: returns the exit status (0 ok, 1 bad input, 2 bad command line). Errors are
/// one line on `err`, prefixed "posenc-inspect: ".
inline int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  auto one_line = [](std::string m) {
    std::replace(m.begin(), m.end(), '\n', ' ');
    return m;
  };
  try {
    const options o = parse_args(argc, argv);
    if (o.help) {
      out << usage();
      return 0;
    }
    const report r = build_report(o);
    if (!o.svg.empty()) {
      std::ofstream f(o.svg, std::ios::binary);
      if (!f) throw std::runtime_error("cannot write '" + o.svg + "': " + std::strerror(errno));
      f << render_svg(r);
      f.close();
      if (!f) throw std::runtime_error("cannot write '" + o.svg + "'");
    }
    if (o.json) {
      print_json(r, out);
    } else {
      print_table(r, out);
      if (!o.svg.empty()) out << "\nwrote " << o.svg << "\n";
    }
    out.flush();
    return 0;
  } catch (const usage_error& e) {
    err << "posenc-inspect: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const std::exception& e) {
    err << "posenc-inspect: " << one_line(e.what()) << "\n";
    return 1;
  }
}

}  // namespace posenc_inspect

#endif  // POSENC_TOOLS_INSPECT_HPP
