// posenc — build a rope (and its scaling policy) from a Hugging Face transformers config.json.
// Depends on nlohmann/json (CMake target posenc::hf_config); the core headers do not.
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_HF_CONFIG_HPP
#define POSENC_HF_CONFIG_HPP

#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "posenc/detail/error.hpp"
#include "posenc/frequency.hpp"
#include "posenc/mrope.hpp"
#include "posenc/rope.hpp"
#include "posenc/scaling.hpp"
#include "posenc/types.hpp"

namespace posenc {

/// Which length drives the length-dependent scalings (dynamic NTK, LongRoPE).
enum class hf_length_mode {
  current,  ///< HF transformers: the length being processed (max position + 1), per forward
  served    ///< vLLM (and llama.cpp for LongRoPE): the served maximum, fixed once
};

/// Options of the config reader. Every field has the HF transformers behaviour as default.
struct hf_rope_options {
  /// Sequence length for dynamic NTK and LongRoPE; 0 = the config's reference length
  /// (hf_rope_spec::reference_length(): HF's state before any long input).
  std::size_t seq_len = 0;
  hf_length_mode length_mode = hf_length_mode::current;
  /// Pair layout; default: interleaved if the config says "rope_interleave": true or its
  /// model_type is one whose HF code rotates interleaved pairs (deepseek_v2, deepseek_v3, gptj,
  /// codegen, cohere, cohere2), else half_split (HF's rotate_half).
  std::optional<rope_layout> layout = std::nullopt;
  rope_precision precision = rope_precision::exact;
  bool fold_attention_factor = true;
  /// For v5 per-layer-type rope_parameters ({"full_attention": {...}, "sliding_attention":
  /// {...}}): which entry to use. Required when the entries differ.
  std::string layer_type;
  /// YaRN rules: HF (default) or llama.cpp's (always truncates, ignores mscale).
  yarn_variant yarn = yarn_variant::hf;
};

/// Every scaling an HF config can ask for.
using hf_scaling = std::variant<no_scaling, linear_scaling, ntk_scaling, dynamic_ntk_scaling,
                                yarn_scaling, llama3_scaling, longrope_scaling>;

/**
 * The RoPE parameters read from a config.json, ready to build the functor, and the attention
 * shape an engine needs from the same file.
 *
 * Keys read (HF transformers v4 and v5: `modeling_rope_utils.py`, `ROPE_INIT_FUNCTIONS` and
 * `rope_config_validation` / `standardize_rope_params`, and the models' configuration classes):
 *   head_dim: qk_rope_head_dim (DeepSeek-V2/V3 MLA: the rotary part of a head), else head_dim
 *     (null ignored), else hidden_size (n_embd) / num_attention_heads (n_head), integer division.
 *   rotary_dim: int(head_dim · partial_rotary_factor) (truncated, as HF), where
 *     partial_rotary_factor is the top-level key (which overwrites the scaling dict's, as HF's
 *     standardize_rope_params does), else the dict's, else rotary_pct (GPT-NeoX), else 1; without
 *     any of those, the top-level rotary_dim (GPT-J, CodeGen) when present.
 *   base: the scaling dict's rope_theta (v5), else rope_theta, else rotary_emb_base (GPT-NeoX),
 *     else 10000.
 *   scaling dict: rope_scaling (v4) if non-empty (HF lets it win), else rope_parameters (v5),
 *     possibly per layer type (see hf_rope_options::layer_type). rope_type = "rope_type", else
 *     legacy "type", else "default". Aliases: "su" → longrope; "yarn" with short_factor and
 *     long_factor → longrope (Phi-3's early configs, as HF's Phi3Config maps them); "dynamic"
 *     with "alpha" → static NTK (vLLM's DynamicNTKAlphaRotaryEmbedding, Hunyuan); "mrope"
 *     (Qwen2-VL) → default.
 *   original_max_position_embeddings (yarn, longrope, llama3): the top-level key (Phi-3) wins
 *     over the dict's, else max_position_embeddings (HF's standardisation).
 *   yarn (`_compute_yarn_parameters`): factor (missing or null → max_position_embeddings /
 *     original), attention_factor, mscale, mscale_all_dim (null = unset), beta_fast / beta_slow
 *     (missing, null or 0 → 32 / 1, Python's `or`), truncate (default true). longrope
 *     (`_compute_longrope_parameters`): short_factor, long_factor, factor (missing →
 *     max_position_embeddings / original), attention_factor. llama3
 *     (`_compute_llama3_parameters`): factor, low_freq_factor, high_freq_factor. dynamic
 *     (`_compute_dynamic_ntk_parameters`): factor, with L0 = max_position_embeddings (HF's
 *     reference, not original_max_position_embeddings). linear: factor.
 *   attention shape (HF `LlamaConfig`, `Qwen2Config`, `Gemma2Config` / `Gemma3TextConfig`,
 *     `MistralConfig`, `DeepseekV3Config`; read from text_config like the rest):
 *     num_attention_heads (n_head); num_key_value_heads (absent → num_attention_heads, HF's
 *     default: multi-head attention); attention_head_dim = qk_nope_head_dim + qk_rope_head_dim
 *     (DeepSeek MLA: `DeepseekV3Attention.qk_head_dim`), else the rope's head_dim;
 *     num_hidden_layers; sliding_window (null, or `use_sliding_window: false` as in Qwen2 → 0);
 *     layer_types: the key, else `sliding_window_pattern` p (Gemma-3's older configs: layer i
 *     slides iff (i + 1) % p != 0), else model_type gemma2 (`Gemma2Config`: even layers slide),
 *     else Qwen2's rule with use_sliding_window (`Qwen2Config`: layer i slides iff
 *     i >= max_window_layers), else empty (every layer alike: sliding iff sliding_window != 0,
 *     as Mistral); query_pre_attn_scalar (Gemma-2/3: the softmax scale is its -1/2 power).
 * Errors: std::invalid_argument("posenc::hf_config: <key path> ...") for invalid JSON, an
 *   unknown rope_type (the message lists the supported ones), and missing or malformed keys;
 *   parameters the scaling policy rejects are reported with the key path of the scaling dict
 *   prefixed. No other exception type escapes for any input text (nlohmann's own, e.g. a
 *   number out of double range like 1e400, become std::invalid_argument), and a message quotes
 *   at most ~60 characters of a value.
 * Limits (hostile or corrupt files; real configs are far inside them): nesting depth ≤
 *   hf_max_depth (64); head_dim / qk_rope_head_dim / rotary_dim ≤ 65536 (rope_max_head_dim);
 *   hidden_size / n_embd ≤ 2^24; num_attention_heads / n_head / num_key_value_heads ≤ 65536;
 *   num_hidden_layers ≤ 65536; lengths (max_position_embeddings, n_positions,
 *   original_max_position_embeddings, sliding_window) ≤ 2^32. So reading and building the rope
 *   cost time linear in the text, with a small constant.
 *
 * Example:
 *     const posenc::hf_rope_spec spec = posenc::load_hf_config("Llama-3.1-8B/config.json");
 *     const posenc::rope rope = spec.make_rope();   // llama3 scaling, base 500000
 *     // spec.num_key_value_heads == 8, spec.served_max_position == 131072
 */
struct hf_rope_spec {
  std::string rope_type = "default";  ///< default, linear, ntk, dynamic, yarn, longrope, llama3
  std::string model_type;             ///< the config's model_type ("" if absent)
  rope_config config;                 ///< head_dim, rotary_dim, base, layout, precision, fold
  double partial_rotary_factor = 1.0;
  std::size_t max_position_embeddings = 0;  ///< 0 if the config has none
  std::size_t original_max_position = 0;    ///< the scaling's reference length (0 if none)
  hf_scaling scaling;

  // --- attention shape (0 / empty when the config does not say) -----------------------------
  std::size_t num_attention_heads = 0;  ///< query heads
  std::size_t num_key_value_heads = 0;  ///< key/value heads (GQA); absent → num_attention_heads
  std::size_t attention_head_dim = 0;   ///< q·k head size (MLA: nope + rope part)
  std::size_t num_hidden_layers = 0;
  std::size_t sliding_window = 0;        ///< tokens a sliding layer sees; 0 = no sliding window
  std::vector<std::string> layer_types;  ///< per layer ("sliding_attention", ...), or empty
  std::optional<double> query_pre_attn_scalar = std::nullopt;  ///< Gemma-2/3

  /**
   * The context length the scaling is made for, as vLLM derives it
   * (vllm/config.py `_get_and_verify_max_len`): yarn: original_max_position_embeddings ·
   * factor; linear and dynamic: max_position_embeddings · factor; other types (llama3,
   * longrope, default, ntk) and Gemma-3 (whose max_position_embeddings is already scaled):
   * max_position_embeddings; 0 without any length (or a product above 2^48, which no model
   * serves). The product is truncated to an integer, as vLLM's int(). HF transformers does not derive one: it uses
   * max_position_embeddings (which for Qwen2.5 with YaRN added by hand stays 32768 while the
   * model serves 131072 = 32768 · 4); both are kept (max_position_embeddings above).
   */
  std::size_t served_max_position = 0;

  /// The length HF uses before any long input: L0 of dynamic NTK (max_position_embeddings),
  /// the original length of yarn / longrope / llama3, else max_position_embeddings.
  std::size_t reference_length() const noexcept {
    return original_max_position != 0 ? original_max_position : max_position_embeddings;
  }

  /// The multiplier of the attention's softmax scale (applied to q·k beside 1/sqrt(d), not by
  /// the rope): DeepSeek-V2/V3's get_mscale(factor, mscale_all_dim)² with YaRN
  /// (HF `DeepseekV3Attention.__init__`: `self.scaling * mscale * mscale`), else 1. YaRN's
  /// attention factor on cos and sin is separate: make_rope().attention_factor().
  double softmax_scale_multiplier() const noexcept {
    const auto* y = std::get_if<yarn_scaling>(&scaling);
    return y ? y->softmax_scale_multiplier() : 1.0;
  }

  /// The softmax scale of the attention logits: softmax_scale_multiplier() / sqrt(d) with d =
  /// query_pre_attn_scalar (Gemma-2/3) or attention_head_dim; 0 when neither is known.
  double softmax_scale() const noexcept {
    const double d =
        query_pre_attn_scalar ? *query_pre_attn_scalar : static_cast<double>(attention_head_dim);
    if (!(d > 0.0)) return 0.0;
    return static_cast<double>(static_cast<long double>(softmax_scale_multiplier()) /
                               std::sqrt(static_cast<long double>(d)));
  }

  /// Whether layer i uses the sliding window (from layer_types, else sliding_window != 0).
  bool is_sliding_layer(std::size_t i) const noexcept {
    if (i < layer_types.size()) return layer_types[i] == "sliding_attention";
    return sliding_window != 0;
  }

  /// The same spec with the length of dynamic NTK / LongRoPE set (0: reference_length()).
  hf_rope_spec with_length(std::size_t seq_len,
                           hf_length_mode mode = hf_length_mode::current) const {
    hf_rope_spec s = *this;
    const std::size_t L = seq_len != 0 ? seq_len : reference_length();
    auto set = [&](auto& p) {
      p.current_length = mode == hf_length_mode::current ? L : 0;
      p.served_length = mode == hf_length_mode::served ? L : 0;
    };
    if (auto* d = std::get_if<dynamic_ntk_scaling>(&s.scaling)) set(*d);
    if (auto* l = std::get_if<longrope_scaling>(&s.scaling)) set(*l);
    return s;
  }

  /// The rope functor (throws std::invalid_argument like rope's constructor).
  rope make_rope() const {
    return std::visit([&](const auto& p) { return rope(config, p); }, scaling);
  }

  /// The same configuration without scaling (for comparisons).
  rope make_unscaled_rope() const {
    rope_config c = config;
    return rope(c);
  }

  /// The scaling policy's name ("none", "linear", "yarn", ...).
  const char* scaling_name() const noexcept {
    return std::visit([](const auto& p) { return p.name(); }, scaling);
  }
};

/// The rope types the config reader accepts (HF `ROPE_INIT_FUNCTIONS` keys) and its aliases,
/// as listed in the error for any other.
inline constexpr const char* hf_supported_rope_types =
    "default, linear, dynamic, yarn, longrope, llama3 (aliases: su = longrope, mrope = default; "
    "dynamic with alpha = ntk)";

/// Deepest nesting of arrays / objects the config reader accepts (HF configs use 3 or 4).
inline constexpr int hf_max_depth = 64;

namespace detail {

using hf_json = nlohmann::json;

[[noreturn]] inline void hf_fail(const std::string& path, const std::string& what) {
  throw std::invalid_argument("posenc::hf_config: " + path + " " + what);
}

/// Appends a JSON excerpt of v to out, stopping once out holds `budget` characters or at
/// nesting depth 4 ("..."): bounded time and stack for any value (a whole dump() of a value
/// nested 100 000 deep overflows the stack).
inline void hf_excerpt(const hf_json& v, std::string& out, std::size_t budget, int depth) {
  if (out.size() >= budget) return;
  if (v.is_array() || v.is_object()) {
    const bool arr = v.is_array();
    if (depth >= 4) {
      out += arr ? "[...]" : "{...}";
      return;
    }
    out += arr ? '[' : '{';
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() >= budget) return;
      if (!first) out += ',';
      first = false;
      if (!arr) {
        out += hf_json(it.key()).dump();
        out += ':';
      }
      hf_excerpt(it.value(), out, budget, depth + 1);
    }
    out += arr ? ']' : '}';
  } else if (v.is_string()) {
    const std::string& str = v.get_ref<const std::string&>();
    out += hf_json(str.substr(0, budget)).dump();  // at most `budget` source characters
  } else {
    out += v.dump();
  }
}

/// A value as quoted in error messages: at most 60 characters.
inline std::string hf_show(const hf_json& v) {
  std::string s;
  hf_excerpt(v, s, 61, 0);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

/// Deepest array/object nesting of v (iterative: no recursion on hostile input), stopping at
/// limit + 1.
inline int hf_depth(const hf_json& v, int limit) {
  std::vector<std::pair<const hf_json*, int>> stack{{&v, 0}};
  int deepest = 0;
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    const int d = depth + 1;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (auto it = node->begin(); it != node->end(); ++it)
      if (it->is_structured()) stack.emplace_back(&*it, d);
  }
  return deepest;
}

inline std::string hf_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

/// A present, non-null value, or nullptr.
inline const hf_json* hf_find(const hf_json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

inline std::optional<double> hf_number(const hf_json& obj, const char* key,
                                       const std::string& parent) {
  const hf_json* v = hf_find(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) hf_fail(hf_path(parent, key), "= " + hf_show(*v) + " must be a number");
  const double d = v->get<double>();
  if (!detail::is_finite_bits(d))
    hf_fail(hf_path(parent, key), "= " + hf_show(*v) + " must be finite");
  return d;
}

inline double hf_required_number(const hf_json& obj, const char* key, const std::string& parent,
                                 const std::string& why) {
  const std::optional<double> v = hf_number(obj, key, parent);
  if (!v) hf_fail(hf_path(parent, key), "is missing (" + why + ")");
  return *v;
}

/// Upper bounds of the counts read from a config (see hf_rope_spec, "Limits").
inline constexpr double hf_max_dim = 65536.0;          // head_dim, rotary_dim
inline constexpr double hf_max_hidden = 16777216.0;    // hidden_size: 2^24
inline constexpr double hf_max_heads = 65536.0;        // num_attention_heads
inline constexpr double hf_max_length = 4294967296.0;  // lengths in tokens: 2^32

/// A positive integer ≤ max (JSON integer, or a float with an integral value, as Python
/// accepts).
inline std::optional<std::size_t> hf_count(const hf_json& obj, const char* key,
                                           const std::string& parent, double max = 9.0e15) {
  const hf_json* v = hf_find(obj, key);
  if (!v) return std::nullopt;
  const std::string p = hf_path(parent, key);
  if (!v->is_number()) hf_fail(p, "= " + hf_show(*v) + " must be a positive integer");
  const double d = v->get<double>();
  if (!(d >= 1.0) || std::floor(d) != d)
    hf_fail(p, "= " + hf_show(*v) + " must be a positive integer");
  if (!(d <= max))
    hf_fail(p, "= " + hf_show(*v) + " is larger than any model has (at most " +
                   std::to_string(static_cast<unsigned long long>(max)) + ")");
  return static_cast<std::size_t>(d);
}

inline std::vector<double> hf_number_list(const hf_json& obj, const char* key,
                                          const std::string& parent, const std::string& why) {
  const hf_json* v = hf_find(obj, key);
  const std::string p = hf_path(parent, key);
  if (!v) hf_fail(p, "is missing (" + why + ")");
  if (!v->is_array()) hf_fail(p, "= " + hf_show(*v) + " must be a list of numbers");
  std::vector<double> out;
  out.reserve(v->size());
  for (std::size_t i = 0; i < v->size(); ++i) {
    const hf_json& e = (*v)[i];
    if (!e.is_number() || !detail::is_finite_bits(e.get<double>()))
      hf_fail(p + "[" + std::to_string(i) + "]", "= " + hf_show(e) + " must be a number");
    out.push_back(e.get<double>());
  }
  return out;
}

inline std::string hf_string(const hf_json& obj, const char* key, const std::string& parent) {
  const hf_json* v = hf_find(obj, key);
  if (!v) return std::string();
  if (!v->is_string()) hf_fail(hf_path(parent, key), "= " + hf_show(*v) + " must be a string");
  return v->get<std::string>();
}

/// The scaling dict (or an empty object) and its key path.
inline std::pair<hf_json, std::string> hf_scaling_dict(const hf_json& cfg,
                                                       const hf_rope_options& opt) {
  const hf_json* scaling = hf_find(cfg, "rope_scaling");
  std::string path = "rope_scaling";
  if (scaling && scaling->is_object() && scaling->empty()) scaling = nullptr;
  if (!scaling) {
    scaling = hf_find(cfg, "rope_parameters");
    path = "rope_parameters";
  }
  if (!scaling) return {hf_json::object(), std::string("rope_scaling")};
  if (!scaling->is_object()) hf_fail(path, "= " + hf_show(*scaling) + " must be an object or null");
  // v5 per-layer-type parameters: every key a layer type, every value an object.
  const hf_json* layer_types = hf_find(cfg, "layer_types");
  if (layer_types && layer_types->is_array() && !scaling->empty()) {
    std::set<std::string> types;
    for (const hf_json& t : *layer_types)
      if (t.is_string()) types.insert(t.get<std::string>());
    bool nested = true;
    for (auto it = scaling->begin(); it != scaling->end(); ++it)
      nested = nested && types.count(it.key()) && it.value().is_object();
    if (nested) {
      std::string key = opt.layer_type;
      if (key.empty()) {
        const hf_json& first = scaling->begin().value();
        for (auto it = scaling->begin(); it != scaling->end(); ++it)
          if (it.value() != first) {
            std::string keys;
            for (auto k = scaling->begin(); k != scaling->end(); ++k)
              keys += (keys.empty() ? "" : ", ") + k.key();
            hf_fail(path, "has per-layer-type parameters (" + keys +
                              "): choose one with hf_rope_options::layer_type");
          }
        key = scaling->begin().key();
      }
      const auto it = scaling->find(key);
      if (it == scaling->end()) hf_fail(path + "." + key, "is missing (layer_type requested)");
      return {it.value(), path + "." + key};
    }
  }
  if (!opt.layer_type.empty())
    hf_fail(path, "has no per-layer-type parameters (layer_type \"" + opt.layer_type + "\" given)");
  return {*scaling, path};
}

/// Multimodal configs (Qwen2.5-VL in recent transformers, Qwen3-VL, Llama-4, Gemma-3) keep the
/// language model's keys in "text_config": it is read when the top level has none of
/// rope_scaling, rope_parameters, rope_theta.
inline const hf_json* hf_text_config(const hf_json& cfg) {
  const hf_json* tc = hf_find(cfg, "text_config");
  if (!tc || !tc->is_object()) return nullptr;
  for (const char* k : {"rope_scaling", "rope_parameters", "rope_theta"})
    if (hf_find(cfg, k)) return nullptr;
  return tc;
}

inline bool hf_interleaved_model(const std::string& model_type) {
  // glm4v*: GLM-4.1V / GLM-4.5V (HF modeling_glm4v `apply_multimodal_rotary_pos_emb`:
  // repeat_interleave(2) of the cos/sin and rotate_half_llm over pairs (2j, 2j+1))
  for (const char* m :
       {"deepseek_v2", "deepseek_v3", "gptj", "codegen", "cohere", "cohere2", "llama4",
        "llama4_text", "glm4v", "glm4v_text", "glm4v_moe", "glm4v_moe_text"})
    if (model_type == m) return true;
  return false;
}

/// Runs the policy's own validation now, with the dict's key path in the message.
template <class P>
void hf_validate(const P& p, const rope_dims& d, const std::string& path) {
  try {
    p.validate(d);
  } catch (const std::invalid_argument& e) {
    hf_fail(path + ":", e.what());
  }
}

// --- geometry: head_dim, rotary_dim, base, layout, lengths ------------------------------------

/// The rotated head size: qk_rope_head_dim, head_dim, or hidden_size / num_attention_heads.
inline std::size_t hf_head_dim(const hf_json& cfg) {
  if (auto v = hf_count(cfg, "qk_rope_head_dim", "", hf_max_dim)) return *v;
  if (auto h = hf_count(cfg, "head_dim", "", hf_max_dim)) return *h;
  std::optional<std::size_t> hidden = hf_count(cfg, "hidden_size", "", hf_max_hidden);
  if (!hidden) hidden = hf_count(cfg, "n_embd", "", hf_max_hidden);
  std::optional<std::size_t> heads = hf_count(cfg, "num_attention_heads", "", hf_max_heads);
  if (!heads) heads = hf_count(cfg, "n_head", "", hf_max_heads);
  if (!hidden) hf_fail("head_dim", "is missing (and no hidden_size / num_attention_heads)");
  if (!heads) hf_fail("num_attention_heads", "is missing (needed for head_dim)");
  const std::size_t head_dim = *hidden / *heads;
  if (head_dim == 0) hf_fail("hidden_size", "is smaller than num_attention_heads");
  if (head_dim > static_cast<std::size_t>(hf_max_dim))
    hf_fail("hidden_size", "/ num_attention_heads = " + std::to_string(head_dim) +
                               " is larger than any model's head_dim (at most 65536)");
  return head_dim;
}

/// partial_rotary_factor (top level, scaling dict, rotary_pct) → s.partial_rotary_factor, and
/// the rotary_dim it gives (or GPT-J's rotary_dim key).
inline std::size_t hf_rotary_dim(const hf_json& cfg, const hf_json& dict, const std::string& dpath,
                                 std::size_t head_dim, hf_rope_spec& s) {
  std::optional<double> prf = hf_number(cfg, "partial_rotary_factor", "");
  if (!prf) prf = hf_number(dict, "partial_rotary_factor", dpath);
  if (!prf) prf = hf_number(cfg, "rotary_pct", "");
  s.partial_rotary_factor = prf ? *prf : 1.0;
  if (!(s.partial_rotary_factor > 0.0) || !(s.partial_rotary_factor <= 1.0))
    hf_fail("partial_rotary_factor",
            "= " + std::to_string(s.partial_rotary_factor) + " must be in (0, 1]");
  const std::size_t rotary_dim =
      static_cast<std::size_t>(static_cast<double>(head_dim) * s.partial_rotary_factor);
  if (rotary_dim == 0)  // 0 would mean "head_dim" to rope: full rotary instead of none
    hf_fail("partial_rotary_factor", "= " + hf_show(hf_json(s.partial_rotary_factor)) +
                                         " gives rotary_dim = int(" + std::to_string(head_dim) +
                                         " * factor) = 0: no channel would rotate");
  if (auto rd = hf_count(cfg, "rotary_dim", "", hf_max_dim))
    if (!prf) return *rd;  // GPT-J / CodeGen; a partial_rotary_factor wins
  return rotary_dim;
}

inline rope_layout hf_layout(const hf_json& cfg, const hf_rope_options& opt,
                             const std::string& model_type) {
  if (opt.layout) return *opt.layout;
  bool interleave = hf_interleaved_model(model_type);
  if (const hf_json* il = hf_find(cfg, "rope_interleave")) {
    if (!il->is_boolean())
      hf_fail("rope_interleave", "= " + hf_show(*il) + " must be true or false");
    interleave = il->get<bool>();
  }
  return interleave ? rope_layout::interleaved : rope_layout::half_split;
}

/// head_dim, rotary_dim, base, layout, precision and max_position_embeddings into s, checked
/// by rope's own constructor (odd rotary_dim, base <= 1) with key names.
inline void hf_read_geometry(const hf_json& cfg, const hf_json& dict, const std::string& dpath,
                             const hf_rope_options& opt, hf_rope_spec& s) {
  const std::size_t head_dim = hf_head_dim(cfg);
  s.config.head_dim = head_dim;
  s.config.rotary_dim = hf_rotary_dim(cfg, dict, dpath, head_dim, s);
  std::optional<double> theta = hf_number(dict, "rope_theta", dpath);
  if (!theta) theta = hf_number(cfg, "rope_theta", "");
  if (!theta) theta = hf_number(cfg, "rotary_emb_base", "");
  s.config.base = theta ? *theta : 10000.0;
  s.config.precision = opt.precision;
  s.config.fold_attention_factor = opt.fold_attention_factor;
  s.config.layout = hf_layout(cfg, opt, s.model_type);
  if (auto mp = hf_count(cfg, "max_position_embeddings", "", hf_max_length)) {
    s.max_position_embeddings = *mp;
  } else if (auto np = hf_count(cfg, "n_positions", "", hf_max_length)) {
    s.max_position_embeddings = *np;
  }
  try {
    (void)rope(s.config);
  } catch (const std::invalid_argument& e) {
    hf_fail("config:", e.what());
  }
}

// --- attention shape ---------------------------------------------------------------------------

/// "use_sliding_window" (Qwen2): absent → true.
inline bool hf_uses_sliding_window(const hf_json& cfg, const std::string& base) {
  const hf_json* u = hf_find(cfg, "use_sliding_window");
  if (!u) return true;
  if (!u->is_boolean())
    hf_fail(base + "use_sliding_window", "= " + hf_show(*u) + " must be true or false");
  return u->get<bool>();
}

/**
 * The type of each of n layers (n = 0: num_hidden_layers unknown, only an explicit list is
 * read, of any length): the layer_types key, else sliding_window_pattern, else Gemma-2's
 * alternation, else Qwen2's max_window_layers rule (see hf_rope_spec); empty when none applies.
 */
inline std::vector<std::string> hf_layer_types(const hf_json& cfg, const std::string& parent,
                                               std::size_t n) {
  const std::string base = parent.empty() ? parent : parent + ".";
  std::vector<std::string> types;
  if (const hf_json* lt = hf_find(cfg, "layer_types")) {
    if (!lt->is_array() || (n != 0 && lt->size() != n))
      hf_fail(base + "layer_types", "must be an array of num_hidden_layers strings");
    for (const hf_json& t : *lt) {
      if (!t.is_string()) hf_fail(base + "layer_types", "must hold strings");
      types.push_back(t.get<std::string>());
    }
    return types;
  }
  if (n == 0) return types;
  auto by_rule = [&](auto slides) {
    for (std::size_t i = 0; i < n; ++i)
      types.push_back(slides(i) ? "sliding_attention" : "full_attention");
  };
  if (auto p = hf_count(cfg, "sliding_window_pattern", parent)) {
    by_rule([&](std::size_t i) { return (i + 1) % *p != 0; });
  } else if (hf_string(cfg, "model_type", parent) == "gemma2") {
    by_rule([](std::size_t i) { return (i + 1) % 2 != 0; });
  } else if (auto m = hf_count(cfg, "max_window_layers", parent, 65536.0)) {
    if (hf_find(cfg, "sliding_window") && hf_uses_sliding_window(cfg, base) &&
        hf_find(cfg, "use_sliding_window"))
      by_rule([&](std::size_t i) { return i >= *m; });
  }
  return types;
}

/// Heads, KV heads, the q·k head size, layers, sliding window and layer types into s.
inline void hf_read_attention(const hf_json& cfg, hf_rope_spec& s) {
  std::optional<std::size_t> heads = hf_count(cfg, "num_attention_heads", "", hf_max_heads);
  if (!heads) heads = hf_count(cfg, "n_head", "", hf_max_heads);
  s.num_attention_heads = heads.value_or(0);
  s.num_key_value_heads =
      hf_count(cfg, "num_key_value_heads", "", hf_max_heads).value_or(s.num_attention_heads);
  s.attention_head_dim = s.config.head_dim;
  if (hf_find(cfg, "qk_rope_head_dim"))  // MLA: q·k over the nope and the rope parts
    if (auto nope = hf_count(cfg, "qk_nope_head_dim", "", hf_max_dim))
      s.attention_head_dim = *nope + s.config.head_dim;
  s.num_hidden_layers = hf_count(cfg, "num_hidden_layers", "", 65536.0).value_or(0);
  if (hf_uses_sliding_window(cfg, ""))
    s.sliding_window = hf_count(cfg, "sliding_window", "", hf_max_length).value_or(0);
  s.layer_types = hf_layer_types(cfg, "", s.num_hidden_layers);
  if (auto q = hf_number(cfg, "query_pre_attn_scalar", "")) {
    if (!(*q > 0.0)) hf_fail("query_pre_attn_scalar", "= " + hf_show(*q) + " must be > 0");
    s.query_pre_attn_scalar = q;
  }
}

// --- scaling ----------------------------------------------------------------------------------

/// What every scaling reader needs: the config, its scaling dict, and the spec being built.
struct hf_scaling_reader {
  const hf_json& cfg;
  const hf_json& dict;
  const std::string& dpath;
  const hf_rope_options& opt;
  hf_rope_spec& s;
  std::string need;  ///< "required by rope_type \"...\""
  rope_dims dims;

  /// original_max_position_embeddings: top level (Phi-3), the dict's, else
  /// max_position_embeddings; stored in s.original_max_position.
  std::size_t original() const {
    if (auto v = hf_count(cfg, "original_max_position_embeddings", "", hf_max_length))
      return s.original_max_position = *v;
    if (auto v = hf_count(dict, "original_max_position_embeddings", dpath, hf_max_length))
      return s.original_max_position = *v;
    if (s.max_position_embeddings) return s.original_max_position = s.max_position_embeddings;
    hf_fail(hf_path(dpath, "original_max_position_embeddings"),
            "is missing (and no max_position_embeddings)");
  }
  /// factor, or max_position_embeddings / original (yarn and longrope without one).
  double factor_or_implicit(const char* why) const {
    if (const std::optional<double> f = hf_number(dict, "factor", dpath)) return *f;
    if (!s.max_position_embeddings)
      hf_fail(hf_path(dpath, "factor"),
              std::string("is missing (and no max_position_embeddings to infer it, ") + why + ")");
    return static_cast<double>(s.max_position_embeddings) /
           static_cast<double>(s.original_max_position);
  }
  double required(const char* key) const { return hf_required_number(dict, key, dpath, need); }
  template <class P>
  void set(const char* type, const P& p) const {
    hf_validate(p, dims, dpath);
    s.rope_type = type;
    s.scaling = p;
  }
};

inline void hf_read_dynamic(const hf_scaling_reader& r) {
  if (hf_find(r.dict, "alpha")) return r.set("ntk", ntk_scaling{r.required("alpha")});
  dynamic_ntk_scaling p;
  p.factor = r.required("factor");
  if (!r.s.max_position_embeddings)
    hf_fail("max_position_embeddings", "is missing (" + r.need + ": the reference length)");
  p.original_max_position = r.s.original_max_position = r.s.max_position_embeddings;
  r.set("dynamic", p);
}

/// yarn: HF `_compute_yarn_parameters` (beta 0 / null → default, as Python's `or`).
inline void hf_read_yarn(const hf_scaling_reader& r) {
  yarn_scaling p;
  p.original_max_position = r.original();
  p.factor = r.factor_or_implicit("rope_type yarn");
  p.explicit_attention_factor = hf_number(r.dict, "attention_factor", r.dpath);
  p.mscale = hf_number(r.dict, "mscale", r.dpath);
  p.mscale_all_dim = hf_number(r.dict, "mscale_all_dim", r.dpath);
  const std::optional<double> bf = hf_number(r.dict, "beta_fast", r.dpath);
  const std::optional<double> bs = hf_number(r.dict, "beta_slow", r.dpath);
  p.beta_fast = (bf && *bf != 0.0) ? *bf : 32.0;
  p.beta_slow = (bs && *bs != 0.0) ? *bs : 1.0;
  if (const hf_json* t = hf_find(r.dict, "truncate")) {
    if (!t->is_boolean())
      hf_fail(hf_path(r.dpath, "truncate"), "= " + hf_show(*t) + " must be true or false");
    p.truncate = t->get<bool>();
  }
  p.variant = r.opt.yarn;
  r.set("yarn", p);
}

inline void hf_read_longrope(const hf_scaling_reader& r) {
  longrope_scaling p;
  p.original_max_position = r.original();
  p.short_factor = hf_number_list(r.dict, "short_factor", r.dpath, r.need);
  p.long_factor = hf_number_list(r.dict, "long_factor", r.dpath, r.need);
  p.factor = r.factor_or_implicit("rope_type longrope");
  p.explicit_attention_factor = hf_number(r.dict, "attention_factor", r.dpath);
  r.set("longrope", p);
}

inline void hf_read_llama3(const hf_scaling_reader& r) {
  llama3_scaling p;
  p.original_max_position = r.original();
  p.factor = r.required("factor");
  p.low_freq_factor = r.required("low_freq_factor");
  p.high_freq_factor = r.required("high_freq_factor");
  r.set("llama3", p);
}

/// The rope type (after the aliases) and the key it came from.
inline std::pair<std::string, std::string> hf_rope_type(const hf_json& dict,
                                                        const std::string& dpath) {
  std::string type = hf_string(dict, "rope_type", dpath);
  std::string key = "rope_type";
  if (type.empty()) {
    type = hf_string(dict, "type", dpath);
    key = "type";
  }
  if (type.empty()) type = "default";
  const bool has_lists = hf_find(dict, "short_factor") && hf_find(dict, "long_factor");
  if (type == "su" || (type == "yarn" && has_lists)) type = "longrope";
  return {type, key};
}

inline void hf_read_scaling(const hf_json& cfg, const hf_json& dict, const std::string& dpath,
                            const hf_rope_options& opt, hf_rope_spec& s) {
  const auto [type, type_key] = hf_rope_type(dict, dpath);
  const hf_scaling_reader r{cfg,
                            dict,
                            dpath,
                            opt,
                            s,
                            "required by rope_type \"" + type + "\"",
                            rope_dims{s.config.head_dim, s.config.rotary_dim, s.config.base}};
  if (type == "default" || type == "mrope") {  // "mrope": Qwen2-VL's name for default + sections
    s.rope_type = "default";
    s.scaling = no_scaling{};
  } else if (type == "linear") {
    r.set("linear", linear_scaling{r.required("factor")});
  } else if (type == "dynamic") {
    hf_read_dynamic(r);
  } else if (type == "yarn") {
    hf_read_yarn(r);
  } else if (type == "longrope") {
    hf_read_longrope(r);
  } else if (type == "llama3") {
    hf_read_llama3(r);
  } else {
    hf_fail(
        hf_path(dpath, type_key),
        "= \"" + type + "\" is not supported; supported rope types: " + hf_supported_rope_types);
  }
}

/// vLLM's derived maximum length (see hf_rope_spec::served_max_position).
inline std::size_t hf_served_length(const hf_rope_spec& s) {
  auto times = [](std::size_t L, double f) {
    const double v = std::floor(static_cast<double>(L) * f);
    return v < hf_max_length * 65536.0 ? static_cast<std::size_t>(v) : std::size_t{0};
  };
  if (s.model_type.find("gemma3") != std::string::npos) return s.max_position_embeddings;
  if (const auto* y = std::get_if<yarn_scaling>(&s.scaling))
    return times(y->original_max_position, y->factor);
  if (const auto* l = std::get_if<linear_scaling>(&s.scaling))
    return times(s.max_position_embeddings, l->factor);
  if (const auto* d = std::get_if<dynamic_ntk_scaling>(&s.scaling))
    return times(s.max_position_embeddings, d->factor);
  return s.max_position_embeddings;
}

inline hf_rope_spec hf_read_spec(const hf_json& cfg, const hf_rope_options& opt) {
  if (!cfg.is_object()) hf_fail("config", "must be a JSON object");
  if (const hf_json* tc = hf_text_config(cfg)) return hf_read_spec(*tc, opt);
  hf_rope_spec s;
  s.model_type = hf_string(cfg, "model_type", "");
  const std::pair<hf_json, std::string> sd = hf_scaling_dict(cfg, opt);
  hf_read_geometry(cfg, sd.first, sd.second, opt, s);
  hf_read_attention(cfg, s);
  hf_read_scaling(cfg, sd.first, sd.second, opt, s);
  s.served_max_position = hf_served_length(s);
  return s.with_length(opt.seq_len, opt.length_mode);
}

/// Parses config.json text, stopping at once beyond hf_max_depth (nlohmann's parser itself is
/// iterative; copying, comparing and dumping a deep value are not).
inline hf_json hf_parse(std::string_view json_text) {
  struct too_deep {};
  try {
    return hf_json::parse(json_text.begin(), json_text.end(),
                          [](int depth, hf_json::parse_event_t, hf_json&) {
                            if (depth > hf_max_depth) throw too_deep{};
                            return true;
                          });
  } catch (const too_deep&) {
    hf_fail("config", "is nested deeper than " + std::to_string(hf_max_depth) + " levels");
  } catch (const hf_json::exception& e) {  // parse_error, out_of_range (1e400), ...
    hf_fail("config", std::string("is not valid JSON: ") + e.what());
  }
}

}  // namespace detail

/// Largest config file load_hf_config reads: 16 MiB (real config.json files are a few KB; some
/// carry label maps of a few hundred KB). Reading stops there, so /dev/zero fails fast.
inline constexpr std::size_t hf_max_config_bytes = std::size_t{16} << 20;

/**
 * The text of a config file, at most max_bytes.
 * Throws std::runtime_error naming the path when it cannot be opened or read, or is larger
 * (I/O failures, not configuration errors: they are not std::invalid_argument).
 */
inline std::string read_hf_config_file(const std::string& path,
                                       std::size_t max_bytes = hf_max_config_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[65536];
  while (in) {
    in.read(buf, sizeof buf);
    const std::size_t got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > max_bytes)
      throw std::runtime_error("'" + path + "' is larger than " + std::to_string(max_bytes >> 20) +
                               " MiB: not a config.json");
    text.append(buf, got);
  }
  if (in.bad()) throw std::runtime_error("cannot read '" + path + "'");
  return text;
}

/// Reads the RoPE parameters of an already parsed config.json object (see hf_rope_spec).
/// Throws std::invalid_argument (only) for anything it cannot use, including a value nested
/// deeper than hf_max_depth.
inline hf_rope_spec hf_rope_spec_from_json(const nlohmann::json& cfg,
                                           const hf_rope_options& opt = {}) {
  using detail::hf_fail;
  if (!cfg.is_object()) hf_fail("config", "must be a JSON object");
  if (detail::hf_depth(cfg, hf_max_depth) > hf_max_depth)
    hf_fail("config", "is nested deeper than " + std::to_string(hf_max_depth) + " levels");
  try {
    return detail::hf_read_spec(cfg, opt);
  } catch (const nlohmann::json::exception& e) {  // defensive: no nlohmann type escapes
    hf_fail("config", std::string("could not be read: ") + e.what());
  }
}

/// Parses config.json text and reads its RoPE parameters (see hf_rope_spec).
inline hf_rope_spec parse_hf_config(std::string_view json_text, const hf_rope_options& opt = {}) {
  return hf_rope_spec_from_json(detail::hf_parse(json_text), opt);
}

/**
 * Reads a config.json file (see hf_rope_spec).
 * Errors: std::runtime_error("cannot open '<path>': ...") when the file cannot be opened or
 * read or is larger than hf_max_config_bytes; std::invalid_argument("posenc::hf_config:
 * <path>: <key path> ...") for its contents, as parse_hf_config's with the path inserted.
 *
 * Example:
 *     const posenc::hf_rope_spec spec = posenc::load_hf_config("Qwen2.5-7B/config.json");
 */
inline hf_rope_spec load_hf_config(const std::string& path, const hf_rope_options& opt = {}) {
  const std::string text = read_hf_config_file(path);
  try {
    return parse_hf_config(text, opt);
  } catch (const std::invalid_argument& e) {
    const std::string prefix = "posenc::hf_config: ";
    const std::string what = e.what();
    const std::string rest =
        what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what;
    throw std::invalid_argument(prefix + path + ": " + rest);
  }
}

/// The rope functor of a config.json text.
///
/// Example:
///     posenc::rope rope = posenc::rope_from_hf_config(text);   // then rope.apply(q, k, pos)
inline rope rope_from_hf_config(std::string_view json_text, const hf_rope_options& opt = {}) {
  return parse_hf_config(json_text, opt).make_rope();
}
// ---------------------------------------------------------------------------------------------
// Multi-axis RoPE (M-RoPE, vision 2-D), Llama-4 NoPE layers, per-layer-type bases
// ---------------------------------------------------------------------------------------------

/**
 * The multi-axis RoPE parameters of a vision-language config.json (Qwen2-VL, Qwen2.5-VL,
 * Qwen3-VL, GLM-4.1V / GLM-4.5V), read beside the 1-D spec:
 *   rope_scaling (or rope_parameters, in text_config when the top level has none)
 *     "mrope_section": [s_t, s_h, s_w] (pairs per axis; HF `apply_multimodal_rotary_pos_emb`),
 *     "mrope_interleaved": true → mrope_mode::interleaved (Qwen3-VL), else sectioned; the
 *     rope type is "mrope" (Qwen2-VL's legacy name, = default frequencies) or "default".
 *   vision_config: head_dim = (embed_dim or hidden_size) / num_heads, spatial_merge_size
 *     (default 2), window_size (Qwen2.5-VL, default 0 = none), patch_size (default 14),
 *     tokens_per_second (Qwen2.5-VL; 0 when absent: Qwen2-VL's temporal rule).
 */
struct hf_mrope_spec {
  hf_rope_spec text;       ///< the 1-D parameters (frequencies, scaling)
  bool has_mrope = false;  ///< the config has an mrope_section
  std::array<std::size_t, 3> section{{0, 0, 0}};
  mrope_mode mode = mrope_mode::sectioned;
  std::size_t vision_head_dim = 0;  ///< 0 without a vision_config
  std::size_t spatial_merge_size = 2;
  std::size_t window_size = 0;
  std::size_t patch_size = 14;
  double tokens_per_second = 0.0;

  /// The M-RoPE functor (throws std::invalid_argument when the config has no mrope_section).
  mrope make_mrope() const {
    if (!has_mrope) detail::hf_fail("rope_scaling.mrope_section", "is missing");
    return mrope(text.make_rope(), section, mode);
  }
  /// The ViT's 2-D RoPE (theta 10000 as HF's VisionRotaryEmbedding).
  mrope make_vision_rope(rope_precision precision = rope_precision::exact) const {
    if (vision_head_dim == 0) detail::hf_fail("vision_config", "is missing");
    return mrope::vision_2d(vision_head_dim, 10000.0, precision);
  }
  /// The options of mrope_position_ids for this model.
  mrope_index_options index_options() const {
    mrope_index_options o;
    o.spatial_merge_size = spatial_merge_size;
    o.tokens_per_second = tokens_per_second;
    return o;
  }
};

inline hf_mrope_spec hf_mrope_spec_from_json(const nlohmann::json& cfg,
                                             const hf_rope_options& opt = {}) {
  using detail::hf_count;
  hf_mrope_spec m;
  m.text = hf_rope_spec_from_json(cfg, opt);
  // GLM-4.1V / 4.5V rotate interleaved pairs (see hf_interleaved_model); a text_config without
  // its own model_type is recognised by the top level's, unless the caller or
  // rope_interleave chose the layout.
  const nlohmann::json* tc = cfg.is_object() ? detail::hf_text_config(cfg) : nullptr;
  if (tc && !opt.layout && m.text.model_type.empty() &&
      detail::hf_interleaved_model(detail::hf_string(cfg, "model_type", "")) &&
      !detail::hf_find(*tc, "rope_interleave")) {
    m.text.config.layout = rope_layout::interleaved;
  }
  const nlohmann::json& text = tc ? *tc : cfg;
  const std::string base = tc ? "text_config." : "";
  const std::pair<nlohmann::json, std::string> sd = detail::hf_scaling_dict(text, opt);
  const std::string dpath = base + sd.second;
  if (const detail::hf_json* sec = detail::hf_find(sd.first, "mrope_section")) {
    const std::vector<double> v = detail::hf_number_list(sd.first, "mrope_section", dpath, "");
    if (v.size() != 3)
      detail::hf_fail(detail::hf_path(dpath, "mrope_section"),
                      "= " + detail::hf_show(*sec) + " must have 3 entries (t, h, w)");
    for (std::size_t a = 0; a < 3; ++a) {
      if (!(v[a] >= 0.0) || v[a] != std::floor(v[a]))
        detail::hf_fail(detail::hf_path(dpath, "mrope_section"),
                        "= " + detail::hf_show(*sec) + " must hold non-negative integers");
      m.section[a] = static_cast<std::size_t>(v[a]);
    }
    m.has_mrope = true;
  }
  if (const detail::hf_json* il = detail::hf_find(sd.first, "mrope_interleaved")) {
    if (!il->is_boolean())
      detail::hf_fail(detail::hf_path(dpath, "mrope_interleaved"),
                      "= " + detail::hf_show(*il) + " must be true or false");
    m.mode = il->get<bool>() ? mrope_mode::interleaved : mrope_mode::sectioned;
  }
  if (m.has_mrope) {
    try {  // the section must fit the pairs (mrope's own check), reported with its key path
      (void)mrope_pair_axes(m.text.config.rotary_dim / 2, m.section, m.mode);
    } catch (const std::invalid_argument& e) {
      detail::hf_fail(dpath + ":", e.what());
    }
  }
  if (const detail::hf_json* vc = detail::hf_find(cfg, "vision_config")) {
    if (vc->is_object()) {
      std::optional<std::size_t> dim = hf_count(*vc, "embed_dim", "vision_config");
      if (!dim) dim = hf_count(*vc, "hidden_size", "vision_config");
      std::optional<std::size_t> heads = hf_count(*vc, "num_heads", "vision_config");
      if (dim && heads && *heads != 0) m.vision_head_dim = *dim / *heads;
      if (auto v = hf_count(*vc, "spatial_merge_size", "vision_config")) m.spatial_merge_size = *v;
      if (auto v = hf_count(*vc, "window_size", "vision_config")) m.window_size = *v;
      if (auto v = hf_count(*vc, "patch_size", "vision_config")) m.patch_size = *v;
      if (auto v = detail::hf_number(*vc, "tokens_per_second", "vision_config"))
        m.tokens_per_second = *v;
    }
  }
  return m;
}

inline hf_mrope_spec parse_hf_mrope_config(std::string_view json_text,
                                           const hf_rope_options& opt = {}) {
  return hf_mrope_spec_from_json(detail::hf_parse(json_text), opt);
}

/**
 * Per-layer RoPE of a config.json: for layer i, whether it rotates at all and with which base
 * and rope type.
 *  - Llama-4 (`no_rope_layers`: 1 = RoPE, 0 = NoPE; absent → HF's default
 *    (i + 1) % no_rope_layer_interval != 0, interval 4), with `attn_temperature_tuning`,
 *    `floor_scale` (8192), `attn_scale` (0.1) for the NoPE layers' queries
 *    (llama4_attn_temperature).
 *  - Gemma-3 (v4 keys): `rope_local_base_freq` is the base of the sliding-window layers, with
 *    no scaling (HF Gemma3 `rotary_emb_local`); the others use rope_theta and rope_scaling.
 *    The sliding layers come from `layer_types` ("sliding_attention"), else from
 *    `sliding_window_pattern` p: layer i slides iff (i + 1) % p != 0.
 *  - v5 per-layer-type `rope_parameters` are read per layer type by hf_rope_options::layer_type.
 */
struct hf_layer_rope {
  bool uses_rope = true;
  std::string layer_type;  ///< from layer_types, or "sliding_attention"/"full_attention", or ""
  hf_rope_spec spec;       ///< meaningful when uses_rope
};
struct hf_layers_spec {
  std::vector<hf_layer_rope> layers;
  bool attn_temperature_tuning = false;
  double floor_scale = 8192.0;
  double attn_scale = 0.1;
};

namespace detail {

/// Llama-4's RoPE layers: no_rope_layers (1 = RoPE, 0 = NoPE), else HF's default interval rule
/// when the config is Llama-4's (no_rope_layer_interval or attn_temperature_tuning present).
inline std::vector<bool> hf_rope_layers(const hf_json& cfg, const std::string& base,
                                        std::size_t n) {
  std::vector<bool> rope_layers(n, true);
  if (const hf_json* nr = hf_find(cfg, "no_rope_layers")) {
    if (!nr->is_array() || nr->size() < n)
      hf_fail(base + "no_rope_layers", "must be an array with an entry per layer");
    for (std::size_t i = 0; i < n; ++i) {
      if (!(*nr)[i].is_number_integer()) hf_fail(base + "no_rope_layers", "must hold 0 or 1");
      rope_layers[i] = (*nr)[i].get<long long>() != 0;
    }
  } else if (hf_find(cfg, "no_rope_layer_interval") || hf_find(cfg, "attn_temperature_tuning")) {
    std::size_t interval = 4;
    if (auto v = hf_count(cfg, "no_rope_layer_interval", "")) interval = *v;
    rope_layers = llama4_rope_layers(n, interval);
  }
  return rope_layers;
}

/// The spec of a RoPE layer of the given type: Gemma-3's sliding layers take the local base
/// without scaling (HF Gemma3 `rotary_emb_local`); v5 nested rope_parameters their type's entry.
inline hf_rope_spec hf_layer_spec(const hf_json& cfg, const hf_rope_options& opt,
                                  const std::string& type, const std::optional<double>& local) {
  if (local && type == "sliding_attention") {
    hf_rope_spec s = hf_rope_spec_from_json(cfg, opt);  // geometry, then the local base
    s.config.base = *local;
    s.rope_type = "default";
    s.scaling = no_scaling{};
    s.original_max_position = 0;
    return s;
  }
  hf_rope_options o = opt;
  if (o.layer_type.empty() && !type.empty()) {
    const hf_json* sd = hf_find(cfg, "rope_parameters");
    if (sd && sd->is_object() && sd->contains(type) && (*sd)[type].is_object()) o.layer_type = type;
  }
  return hf_rope_spec_from_json(cfg, o);
}

}  // namespace detail

inline hf_layers_spec hf_layers_spec_from_json(const nlohmann::json& top,
                                               const hf_rope_options& opt = {}) {
  using detail::hf_count;
  using detail::hf_fail;
  if (!top.is_object()) hf_fail("config", "must be a JSON object");
  const nlohmann::json* tc = detail::hf_text_config(top);
  const nlohmann::json& cfg = tc ? *tc : top;
  const std::string base = tc ? "text_config." : "";
  hf_layers_spec out;
  const std::optional<std::size_t> n = hf_count(cfg, "num_hidden_layers", "", 65536.0);
  if (!n) hf_fail(base + "num_hidden_layers", "is missing");
  // layer types
  std::vector<std::string> types = detail::hf_layer_types(cfg, tc ? "text_config" : "", *n);
  types.resize(*n);
  const std::vector<bool> rope_layers = detail::hf_rope_layers(cfg, base, *n);
  if (const detail::hf_json* t = detail::hf_find(cfg, "attn_temperature_tuning")) {
    if (t->is_boolean())
      out.attn_temperature_tuning = t->get<bool>();
    else if (t->is_number())
      out.attn_temperature_tuning = t->get<double>() != 0.0;
    else
      hf_fail(base + "attn_temperature_tuning", "must be a boolean or a number");
  }
  if (auto v = detail::hf_number(cfg, "floor_scale", "")) out.floor_scale = *v;
  if (auto v = detail::hf_number(cfg, "attn_scale", "")) out.attn_scale = *v;
  // bases
  const std::optional<double> local = detail::hf_number(cfg, "rope_local_base_freq", "");
  for (std::size_t i = 0; i < *n; ++i) {
    hf_layer_rope L;
    L.uses_rope = rope_layers[i];
    L.layer_type = types[i];
    if (L.uses_rope) L.spec = detail::hf_layer_spec(cfg, opt, types[i], local);
    out.layers.push_back(std::move(L));
  }
  return out;
}

inline hf_layers_spec parse_hf_layers_config(std::string_view json_text,
                                             const hf_rope_options& opt = {}) {
  return hf_layers_spec_from_json(detail::hf_parse(json_text), opt);
}

}  // namespace posenc

#endif  // POSENC_HF_CONFIG_HPP
