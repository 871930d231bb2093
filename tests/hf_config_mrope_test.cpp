// posenc tests — posenc/hf_config.hpp: M-RoPE / vision keys (Qwen2-VL, Qwen2.5-VL, Qwen3-VL,
// GLM-4.1V), Llama-4 NoPE layers and temperature tuning, Gemma-3 per-layer-type bases.
// SPDX-License-Identifier: Apache-2.0
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <posenc/hf_config.hpp>

#include "../tools/inspect.hpp"

namespace {

std::string read_config(const std::string& name) {
  const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/configs/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(HfConfigMrope, Qwen2VL) {
  const std::string text = read_config("qwen2-vl-7b-instruct.json");
  // The 1-D reader accepts "mrope" (was: not a known rope type) as default frequencies.
  const posenc::hf_rope_spec s = posenc::parse_hf_config(text);
  EXPECT_EQ(s.rope_type, "default");
  EXPECT_EQ(s.config.head_dim, 128u);
  EXPECT_EQ(s.config.base, 1000000.0);
  const posenc::hf_mrope_spec m = posenc::parse_hf_mrope_config(text);
  ASSERT_TRUE(m.has_mrope);
  EXPECT_EQ(m.section, (std::array<std::size_t, 3>{16, 24, 24}));
  EXPECT_EQ(m.mode, posenc::mrope_mode::sectioned);
  EXPECT_EQ(m.vision_head_dim, 80u);  // embed_dim 1280 / 16 heads
  EXPECT_EQ(m.tokens_per_second, 0.0);
  const posenc::mrope r = m.make_mrope();
  EXPECT_EQ(r.axis(15), 0u);
  EXPECT_EQ(r.axis(16), 1u);
  EXPECT_EQ(r.axis(40), 2u);
  EXPECT_EQ(m.make_vision_rope().pairs(), 40u);
}

TEST(HfConfigMrope, Qwen25VL) {
  const posenc::hf_mrope_spec m =
      posenc::parse_hf_mrope_config(read_config("qwen2.5-vl-7b-instruct.json"));
  EXPECT_EQ(m.vision_head_dim, 80u);  // hidden_size 1280 / 16
  EXPECT_EQ(m.window_size, 112u);
  EXPECT_EQ(m.tokens_per_second, 2.0);
  EXPECT_EQ(m.index_options().tokens_per_second, 2.0);
  EXPECT_EQ(m.index_options().spatial_merge_size, 2u);
}

TEST(HfConfigMrope, Qwen3VLInterleavedInTextConfig) {
  const std::string text = read_config("qwen3-vl-8b-instruct.json");
  const posenc::hf_rope_spec s = posenc::parse_hf_config(text);  // read from text_config
  EXPECT_EQ(s.config.base, 5000000.0);
  EXPECT_EQ(s.config.head_dim, 128u);
  EXPECT_EQ(s.model_type, "qwen3_vl_text");
  const posenc::hf_mrope_spec m = posenc::parse_hf_mrope_config(text);
  EXPECT_EQ(m.mode, posenc::mrope_mode::interleaved);
  EXPECT_EQ(m.section, (std::array<std::size_t, 3>{24, 20, 20}));
  const posenc::mrope r = m.make_mrope();
  EXPECT_EQ(r.axis(1), 1u);
  EXPECT_EQ(r.axis(2), 2u);
  EXPECT_EQ(r.axis(60), 0u);
}

// GLM-4.1V-9B-Thinking's config.json, abridged to the keys posenc reads (values as published:
// text_config glm4v_text, hidden 4096 / 32 heads, partial_rotary_factor 0.5, rope_theta 10000,
// mrope_section [8, 12, 12]; vision hidden 1536 / 12 heads, merge 2, patch 14).
constexpr const char* glm41v_config = R"({
  "architectures": ["Glm4vForConditionalGeneration"],
  "model_type": "glm4v",
  "text_config": {
    "model_type": "glm4v_text", "hidden_size": 4096, "num_attention_heads": 32,
    "num_key_value_heads": 2, "num_hidden_layers": 40, "max_position_embeddings": 65536,
    "partial_rotary_factor": 0.5, "rope_theta": 10000,
    "rope_scaling": {"rope_type": "default", "mrope_section": [8, 12, 12]}
  },
  "vision_config": {"model_type": "glm4v", "hidden_size": 1536, "num_heads": 12, "depth": 24,
                    "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}
})";

TEST(HfConfigMrope, Glm41VInterleavedPartial) {
  const posenc::hf_rope_spec s = posenc::parse_hf_config(glm41v_config);
  EXPECT_EQ(s.model_type, "glm4v_text");
  EXPECT_EQ(s.config.head_dim, 128u);
  EXPECT_EQ(s.config.rotary_dim, 64u);
  EXPECT_EQ(s.config.base, 10000.0);
  EXPECT_EQ(s.config.layout, posenc::rope_layout::interleaved);  // rotate_half_llm pairs
  const posenc::hf_mrope_spec m = posenc::parse_hf_mrope_config(glm41v_config);
  ASSERT_TRUE(m.has_mrope);
  EXPECT_EQ(m.section, (std::array<std::size_t, 3>{8, 12, 12}));
  EXPECT_EQ(m.mode, posenc::mrope_mode::sectioned);
  EXPECT_EQ(m.vision_head_dim, 128u);  // 1536 / 12
  EXPECT_EQ(m.tokens_per_second, 0.0);
  const posenc::mrope r = m.make_mrope();
  EXPECT_EQ(r.pairs(), 32u);
  EXPECT_EQ(r.layout(), posenc::rope_layout::interleaved);
  EXPECT_EQ(r.axis(7), 0u);
  EXPECT_EQ(r.axis(8), 1u);
  EXPECT_EQ(r.axis(20), 2u);
  EXPECT_EQ(m.make_vision_rope().pairs(), 64u);
  // a text_config without its own model_type: the top level's glm4v decides the layout, and
  // an explicit rope_interleave still wins
  std::string bare = glm41v_config;
  bare.erase(bare.find(R"("model_type": "glm4v_text", )"), 28);
  EXPECT_EQ(posenc::parse_hf_mrope_config(bare).make_mrope().layout(),
            posenc::rope_layout::interleaved);
  std::string forced = bare;
  forced.insert(forced.find(R"("hidden_size": 4096)"), R"("rope_interleave": false, )");
  EXPECT_EQ(posenc::parse_hf_mrope_config(forced).make_mrope().layout(),
            posenc::rope_layout::half_split);
}

TEST(HfConfigMrope, Errors) {
  try {
    posenc::parse_hf_mrope_config(
        R"({"head_dim": 128, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24]}})");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("rope_scaling.mrope_section"), std::string::npos)
        << e.what();
  }
  try {
    posenc::parse_hf_mrope_config(
        R"({"head_dim": 128, "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 16]}})");
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mrope_section (sum) = 56"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(posenc::parse_hf_mrope_config(
                   R"({"head_dim": 128, "rope_scaling": {"rope_type": "default",
                       "mrope_section": [16, 24, 24], "mrope_interleaved": 1}})"),
               std::invalid_argument);
  const auto none = posenc::parse_hf_mrope_config(R"({"head_dim": 64, "rope_theta": 10000})");
  EXPECT_FALSE(none.has_mrope);
  EXPECT_THROW(none.make_mrope(), std::invalid_argument);
}

TEST(HfConfigLayers, Llama4NoPeAndTemperature) {
  const std::string text = read_config("llama-4-scout-17b-16e.json");
  const posenc::hf_rope_spec s = posenc::parse_hf_config(text);
  EXPECT_EQ(s.rope_type, "llama3");
  EXPECT_EQ(s.config.layout, posenc::rope_layout::interleaved);  // HF Llama4: view_as_complex
  const posenc::hf_layers_spec L = posenc::parse_hf_layers_config(text);
  ASSERT_EQ(L.layers.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(L.layers[i].uses_rope, i % 4 != 3) << i;
  EXPECT_TRUE(L.attn_temperature_tuning);
  EXPECT_EQ(L.floor_scale, 8192.0);
  EXPECT_EQ(L.attn_scale, 0.1);
  // without the list: HF's default interval 4
  const posenc::hf_layers_spec d = posenc::parse_hf_layers_config(
      R"({"head_dim": 64, "num_hidden_layers": 6, "attn_temperature_tuning": true})");
  EXPECT_FALSE(d.layers[3].uses_rope);
  EXPECT_TRUE(d.layers[4].uses_rope);
}

TEST(HfConfigLayers, Gemma3LocalBase) {
  const posenc::hf_layers_spec L =
      posenc::parse_hf_layers_config(read_config("gemma-3-4b-it.json"));
  ASSERT_EQ(L.layers.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) {
    const auto& l = L.layers[i];
    ASSERT_TRUE(l.uses_rope);
    if ((i + 1) % 6 != 0) {  // sliding: rope_local_base_freq, no scaling
      EXPECT_EQ(l.layer_type, "sliding_attention") << i;
      EXPECT_EQ(l.spec.config.base, 10000.0) << i;
      EXPECT_EQ(l.spec.rope_type, "default") << i;
    } else {  // global: rope_theta with the linear scaling
      EXPECT_EQ(l.layer_type, "full_attention") << i;
      EXPECT_EQ(l.spec.config.base, 1000000.0) << i;
      EXPECT_EQ(l.spec.rope_type, "linear") << i;
    }
    EXPECT_EQ(l.spec.config.head_dim, 256u);
  }
}

// posenc-inspect shows the axis of each pair of an M-RoPE config (table and JSON).
TEST(HfConfigMrope, InspectShowsPairAxes) {
  const std::string path = std::string(POSENC_TEST_DATA_DIR) + "/configs/qwen3-vl-8b-instruct.json";
  for (bool json : {false, true}) {
    std::vector<std::string> args = {"posenc-inspect", path};
    if (json) args.push_back("--json");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    ASSERT_EQ(posenc_inspect::run(static_cast<int>(argv.size()), argv.data(), out, err), 0)
        << err.str();
    const std::string o = out.str();
    EXPECT_NE(o.find("interleaved [24, 20, 20]"), std::string::npos) << o;
    if (json) {
      EXPECT_NE(o.find("\"axis\": [\"t\", \"h\", \"w\", \"t\""), std::string::npos) << o;
    } else {
      const std::size_t at = o.find("\n    1  ");
      ASSERT_NE(at, std::string::npos) << o;
      const std::size_t eol = o.find('\n', at + 1);
      EXPECT_EQ(o[eol - 1], 'h') << o.substr(at, eol - at);
      const std::size_t at63 = o.find("\n   63  ");
      ASSERT_NE(at63, std::string::npos);
      EXPECT_EQ(o[o.find('\n', at63 + 1) - 1], 't');
    }
  }
}

}  // namespace
