// posenc tests — posenc/hf_config.hpp: rope functors from Hugging Face config.json files
// (tests/data/configs/, written from the models' public config.json values; see
// tests/data/README.md for the two synthetic ones).
// SPDX-License-Identifier: Apache-2.0
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <posenc/hf_config.hpp>

#include "support/scaling_policies.hpp"

namespace {

using posenc::hf_length_mode;
using posenc::hf_rope_options;
using posenc::hf_rope_spec;
using posenc::parse_hf_config;
using posenc_test::expect_invalid;
using posenc_test::expect_same_tables;

std::string read_config(const std::string& name) {
  const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/configs/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

hf_rope_spec load(const std::string& name, const hf_rope_options& o = {}) {
  return parse_hf_config(read_config(name), o);
}

posenc::rope_config cfg(std::size_t hd, std::size_t r, double base,
                        posenc::rope_layout l = posenc::rope_layout::half_split) {
  posenc::rope_config c{hd, r, base};
  c.layout = l;
  return c;
}

TEST(HfConfig, Llama2Default) {
  const hf_rope_spec s = load("llama-2-7b.json");
  EXPECT_EQ(s.rope_type, "default");
  EXPECT_EQ(s.config.head_dim, 128u);
  EXPECT_EQ(s.config.rotary_dim, 128u);
  EXPECT_EQ(s.config.base, 10000.0);  // no rope_theta: HF's default
  EXPECT_EQ(s.config.layout, posenc::rope_layout::half_split);
  EXPECT_EQ(s.reference_length(), 4096u);
  expect_same_tables(s.make_rope(), posenc::rope(cfg(128, 128, 1e4)), "llama-2");
}

TEST(HfConfig, VicunaLinear) {
  const hf_rope_spec s = load("vicuna-7b-v1.5-16k.json");  // legacy "type": "linear"
  EXPECT_EQ(s.rope_type, "linear");
  expect_same_tables(s.make_rope(), posenc::rope(cfg(128, 128, 1e4), posenc::linear_scaling{4.0}),
                     "vicuna");
}

TEST(HfConfig, CodeLlamaBase) {
  const hf_rope_spec s = load("codellama-7b.json");
  EXPECT_EQ(s.rope_type, "default");
  EXPECT_EQ(s.config.base, 1e6);
  EXPECT_EQ(s.max_position_embeddings, 16384u);
}

TEST(HfConfig, Llama31) {
  const hf_rope_spec s = load("llama-3.1-8b.json");
  EXPECT_EQ(s.rope_type, "llama3");
  EXPECT_EQ(s.config.base, 500000.0);
  EXPECT_EQ(s.original_max_position, 8192u);
  EXPECT_EQ(s.reference_length(), 8192u);
  expect_same_tables(s.make_rope(), posenc::rope(cfg(128, 128, 5e5), posenc::llama3_scaling{}),
                     "llama-3.1");
  EXPECT_EQ(s.make_rope().attention_factor(), 1.0);
}

TEST(HfConfig, Qwen25Yarn) {
  const hf_rope_spec s = load("qwen2.5-7b-instruct-yarn.json");
  EXPECT_EQ(s.rope_type, "yarn");
  EXPECT_EQ(s.config.head_dim, 128u);  // 3584 / 28
  EXPECT_EQ(s.config.base, 1e6);
  const auto& y = std::get<posenc::yarn_scaling>(s.scaling);
  EXPECT_EQ(y.factor, 4.0);  // explicit factor used (HF #38224 fixed)
  EXPECT_EQ(y.original_max_position, 32768u);
  EXPECT_TRUE(y.truncate);
  EXPECT_NEAR(s.make_rope().attention_factor(), 1.1386294361, 1e-10);
  posenc::yarn_scaling ref;
  ref.factor = 4.0;
  ref.original_max_position = 32768;
  expect_same_tables(s.make_rope(), posenc::rope(cfg(128, 128, 1e6), ref), "qwen2.5");
}

TEST(HfConfig, DeepSeekV3) {
  const hf_rope_spec s = load("deepseek-v3.json");
  EXPECT_EQ(s.rope_type, "yarn");
  EXPECT_EQ(s.config.head_dim, 64u);  // qk_rope_head_dim
  EXPECT_EQ(s.config.rotary_dim, 64u);
  EXPECT_EQ(s.config.layout, posenc::rope_layout::interleaved);  // HF rope_interleave default
  const auto& y = std::get<posenc::yarn_scaling>(s.scaling);
  EXPECT_EQ(y.factor, 40.0);
  EXPECT_EQ(s.make_rope().attention_factor(), 1.0);  // mscale == mscale_all_dim
  EXPECT_NEAR(y.softmax_scale_multiplier(), 1.3688879454 * 1.3688879454, 1e-9);
  // llama.cpp's rules give the same magnitude here (mscale_all_dim = 1)
  hf_rope_options o;
  o.yarn = posenc::yarn_variant::llama_cpp;
  EXPECT_EQ(load("deepseek-v3.json", o).make_rope().attention_factor(), 1.0);
  EXPECT_EQ(load("deepseek-v3.json", o).make_rope().scaling_name(), "yarn_llama_cpp");
  // an explicit layout wins
  o.layout = posenc::rope_layout::half_split;
  EXPECT_EQ(load("deepseek-v3.json", o).config.layout, posenc::rope_layout::half_split);
}

TEST(HfConfig, Phi3LongRope) {
  const hf_rope_spec s = load("phi-3-mini-128k-instruct.json");
  EXPECT_EQ(s.rope_type, "longrope");
  EXPECT_EQ(s.config.head_dim, 96u);
  EXPECT_EQ(s.original_max_position, 4096u);  // the top-level key (Phi-3)
  const auto& p = std::get<posenc::longrope_scaling>(s.scaling);
  EXPECT_EQ(p.short_factor.size(), 48u);
  EXPECT_EQ(p.factor, 32.0);  // 131072 / 4096
  EXPECT_NEAR(s.make_rope().attention_factor(), 1.1902380714, 1e-10);
  EXPECT_FALSE(p.uses_long());  // default length = original: short factors
  hf_rope_options o;
  o.seq_len = 4096;
  const hf_rope_spec at = load("phi-3-mini-128k-instruct.json", o);
  EXPECT_FALSE(std::get<posenc::longrope_scaling>(at.scaling).uses_long());
  o.seq_len = 4097;
  const hf_rope_spec l = load("phi-3-mini-128k-instruct.json", o);
  EXPECT_TRUE(std::get<posenc::longrope_scaling>(l.scaling).uses_long());
  EXPECT_EQ(l.make_rope().inv_freq(47),
            posenc::rope(cfg(96, 96, 1e4)).inv_freq(47) / p.long_factor[47]);
  // vLLM / llama.cpp: chosen by the served maximum
  o.seq_len = 131072;
  o.length_mode = hf_length_mode::served;
  const hf_rope_spec served = load("phi-3-mini-128k-instruct.json", o);
  const auto& sv = std::get<posenc::longrope_scaling>(served.scaling);
  EXPECT_EQ(sv.served_length, 131072u);
  EXPECT_EQ(sv.current_length, 0u);
  EXPECT_TRUE(sv.uses_long());
}

TEST(HfConfig, GptOssYarnWithoutTruncation) {
  const hf_rope_spec s = load("gpt-oss-20b.json");
  EXPECT_EQ(s.rope_type, "yarn");
  EXPECT_EQ(s.config.head_dim, 64u);
  EXPECT_EQ(s.config.base, 150000.0);
  const auto& y = std::get<posenc::yarn_scaling>(s.scaling);
  EXPECT_FALSE(y.truncate);
  const auto r = y.correction_range(posenc::rope_dims{64, 64, 150000.0});
  EXPECT_NEAR(r.low, 8.0928, 5e-5);
  EXPECT_NEAR(r.high, 17.3980, 5e-5);
  EXPECT_NEAR(s.make_rope().attention_factor(), 1.3465735903, 1e-10);
}

TEST(HfConfig, GptNeoxPartialRotary) {
  const hf_rope_spec s = load("gpt-neox-20b.json");
  EXPECT_EQ(s.config.head_dim, 96u);    // 6144 / 64
  EXPECT_EQ(s.config.rotary_dim, 24u);  // int(96 * 0.25), rotary_pct
  EXPECT_EQ(s.config.base, 10000.0);    // rotary_emb_base
  EXPECT_EQ(s.partial_rotary_factor, 0.25);
  expect_same_tables(s.make_rope(), posenc::rope(cfg(96, 24, 1e4)), "neox");
}

TEST(HfConfig, DynamicNtkFollowsTheLength) {
  const hf_rope_spec s = load("llama-2-7b-dynamic-ntk.json");
  EXPECT_EQ(s.rope_type, "dynamic");
  EXPECT_EQ(s.reference_length(), 4096u);  // max_position_embeddings (HF's L0)
  expect_same_tables(s.make_rope(), posenc::rope(cfg(128, 128, 1e4)), "dynamic at L0");
  const hf_rope_spec longer = s.with_length(8192);
  const auto& d = std::get<posenc::dynamic_ntk_scaling>(longer.scaling);
  EXPECT_EQ(d.current_length, 8192u);
  EXPECT_EQ(d.alpha(), 3.0);  // 2·8192/4096 − 1
  expect_same_tables(
      longer.make_rope(),
      posenc::rope(cfg(128, 128, 1e4), posenc::dynamic_ntk_scaling{2.0, 4096, 8192, 0}),
      "dynamic at 8192");
  const hf_rope_spec served = s.with_length(8192, hf_length_mode::served);
  const auto& v = std::get<posenc::dynamic_ntk_scaling>(served.scaling);
  EXPECT_EQ(v.served_length, 8192u);
}

TEST(HfConfig, TransformersV5RopeParameters) {
  const hf_rope_spec s = parse_hf_config(R"({
    "hidden_size": 2048, "num_attention_heads": 16, "max_position_embeddings": 32768,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 2.0,
                        "original_max_position_embeddings": 16384, "partial_rotary_factor": 0.5}})");
  EXPECT_EQ(s.rope_type, "yarn");
  EXPECT_EQ(s.config.base, 1e6);
  EXPECT_EQ(s.config.rotary_dim, 64u);
  EXPECT_EQ(std::get<posenc::yarn_scaling>(s.scaling).original_max_position, 16384u);
  // top-level partial_rotary_factor overwrites the dict's (standardize_rope_params)
  const hf_rope_spec t = parse_hf_config(R"({"head_dim": 128, "partial_rotary_factor": 0.25,
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000, "partial_rotary_factor": 0.5}})");
  EXPECT_EQ(t.config.rotary_dim, 32u);
}

TEST(HfConfig, PerLayerTypeParameters) {
  const std::string text =
      R"({"head_dim": 256, "layer_types": ["sliding_attention", "full_attention"],
    "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
                        "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}})";
  expect_invalid([&] { parse_hf_config(text); }, "layer_type");
  hf_rope_options o;
  o.layer_type = "full_attention";
  const hf_rope_spec f = parse_hf_config(text, o);
  EXPECT_EQ(f.rope_type, "linear");
  EXPECT_EQ(f.config.base, 1e6);
  o.layer_type = "sliding_attention";
  EXPECT_EQ(parse_hf_config(text, o).rope_type, "default");
  o.layer_type = "chunked";
  expect_invalid([&] { parse_hf_config(text, o); }, "rope_parameters.chunked");
}

TEST(HfConfig, AliasesAndPythonDefaults) {
  std::string factors = "[";
  for (int i = 0; i < 32; ++i) factors += (i ? ",1.5" : "1.5");
  factors += "]";
  for (const char* t : {"su", "yarn", "longrope"}) {
    const hf_rope_spec s = parse_hf_config(
        std::string(R"({"head_dim": 64, "max_position_embeddings": 131072,
          "original_max_position_embeddings": 4096, "rope_scaling": {"type": ")") +
        t + R"(", "short_factor": )" + factors + R"(, "long_factor": )" + factors + "}}");
    EXPECT_EQ(s.rope_type, "longrope") << t;
  }
  // dynamic + alpha (Hunyuan, vLLM) is static NTK
  const hf_rope_spec a = parse_hf_config(
      R"({"head_dim": 128, "rope_scaling": {"type": "dynamic", "alpha": 1000.0, "factor": 1.0}})");
  EXPECT_EQ(a.rope_type, "ntk");
  EXPECT_EQ(std::get<posenc::ntk_scaling>(a.scaling).alpha, 1000.0);
  // YaRN: beta 0 / null → 32 / 1, mscale alone ignored, factor missing → max / original
  const hf_rope_spec y = parse_hf_config(R"({"head_dim": 64, "max_position_embeddings": 16384,
      "rope_scaling": {"rope_type": "yarn", "beta_fast": 0, "beta_slow": null, "mscale": 0.707,
                       "original_max_position_embeddings": 4096}})");
  const auto& ys = std::get<posenc::yarn_scaling>(y.scaling);
  EXPECT_EQ(ys.factor, 4.0);
  EXPECT_EQ(ys.beta_fast, 32.0);
  EXPECT_EQ(ys.beta_slow, 1.0);
  EXPECT_EQ(y.make_rope().attention_factor(), posenc::yarn_get_mscale(4.0));
  // GPT-J style: explicit rotary_dim, interleaved by model_type
  const hf_rope_spec j = parse_hf_config(
      R"({"model_type": "gptj", "n_embd": 4096, "n_head": 16, "rotary_dim": 64, "n_positions": 2048})");
  EXPECT_EQ(j.config.head_dim, 256u);
  EXPECT_EQ(j.config.rotary_dim, 64u);
  EXPECT_EQ(j.config.layout, posenc::rope_layout::interleaved);
  EXPECT_EQ(j.max_position_embeddings, 2048u);
}

TEST(HfConfig, OptionsReachTheRope) {
  hf_rope_options o;
  o.precision = posenc::rope_precision::hf_f32;
  o.fold_attention_factor = false;
  const posenc::rope r =
      posenc::rope_from_hf_config(read_config("qwen2.5-7b-instruct-yarn.json"), o);
  EXPECT_EQ(r.precision(), posenc::rope_precision::hf_f32);
  EXPECT_EQ(r.magnitude(), 1.0);
  EXPECT_GT(r.attention_factor(), 1.1);
}

TEST(HfConfig, ErrorsNameTheKey) {
  auto bad = [](const std::string& text, const std::string& key, const std::string& value = "") {
    expect_invalid([&] { parse_hf_config(text); }, key, value);
  };
  bad(R"({"head_dim": 128,)", "not valid JSON");
  bad(R"([1, 2])", "config");
  bad(R"({"num_attention_heads": 32})", "head_dim");
  bad(R"({"hidden_size": 4096})", "num_attention_heads");
  bad(R"({"head_dim": "128"})", "head_dim", "\"128\"");
  bad(R"({"head_dim": 127})", "rotary_dim", "127");
  bad(R"({"head_dim": 128, "rope_theta": "1e4"})", "rope_theta", "\"1e4\"");
  bad(R"({"head_dim": 128, "partial_rotary_factor": 1.5})", "partial_rotary_factor", "1.5");
  bad(R"({"head_dim": 128, "rope_scaling": "linear"})", "rope_scaling", "\"linear\"");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "foo"}})", "rope_scaling.type", "foo");
  bad(R"({"head_dim": 128, "rope_scaling": {"rope_type": "xpos"}})", "rope_scaling.rope_type",
      "xpos");  // "mrope" is known (issue 17)
  bad(R"({"head_dim": 128, "rope_scaling": {"type": 3}})", "rope_scaling.type", "3");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "linear"}})", "rope_scaling.factor", "missing");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "linear", "factor": "4"}})",
      "rope_scaling.factor", "\"4\"");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "linear", "factor": true}})",
      "rope_scaling.factor", "true");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "linear", "factor": 0.5}})", "factor", "0.5");
  bad(R"({"head_dim": 128, "rope_scaling": {"type": "dynamic", "factor": 2.0}})",
      "max_position_embeddings", "missing");
  bad(R"({"head_dim": 128, "max_position_embeddings": 8192, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "high_freq_factor": 4.0}})",
      "rope_scaling.low_freq_factor", "missing");
  bad(R"({"head_dim": 128, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1, "high_freq_factor": 4}})",
      "original_max_position_embeddings", "missing");
  bad(R"({"head_dim": 128, "max_position_embeddings": 8192, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "truncate": "no"}})",
      "rope_scaling.truncate", "\"no\"");
  bad(R"({"head_dim": 128, "max_position_embeddings": 8192, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 1, "beta_slow": 2}})",
      "beta_fast", "1");
  bad(R"({"head_dim": 128, "max_position_embeddings": 8192, "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 0}})",
      "original_max_position_embeddings", "0");
  bad(R"({"head_dim": 8, "max_position_embeddings": 8192, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, 1], "long_factor": [1, 1, 1, 1]}})",
      "short_factor.size()", "3");
  bad(R"({"head_dim": 8, "max_position_embeddings": 8192, "rope_scaling": {"type": "longrope", "short_factor": [1, 1, "x", 1], "long_factor": [1, 1, 1, 1]}})",
      "rope_scaling.short_factor[2]", "\"x\"");
  bad(R"({"head_dim": 8, "max_position_embeddings": 8192, "rope_scaling": {"type": "longrope", "short_factor": 1, "long_factor": [1, 1, 1, 1]}})",
      "rope_scaling.short_factor", "1");
  bad(R"({"head_dim": 8, "max_position_embeddings": 8192, "rope_scaling": {"type": "longrope", "long_factor": [1, 1, 1, 1]}})",
      "rope_scaling.short_factor", "missing");
  bad(R"({"head_dim": 128, "rope_interleave": "yes"})", "rope_interleave", "\"yes\"");
  bad(R"({"head_dim": 128, "max_position_embeddings": 0})", "max_position_embeddings", "0");
}

}  // namespace
