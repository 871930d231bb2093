// posenc tests — hostile and careless config.json text for the HF config reader and
// posenc-inspect (issue 16): every row must throw std::invalid_argument (never an nlohmann
// exception, never a crash) whose message names the key, quotes at most a bounded excerpt, and
// comes back in bounded time. The core constructors have their table in bad_input_test.cpp.
// SPDX-License-Identifier: Apache-2.0
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <posenc/hf_config.hpp>

#include "../tools/inspect.hpp"

namespace {

struct hf_case {
  const char* name;
  std::string text;   // config.json
  const char* field;  // must appear in what()
};

std::string nested(std::size_t depth, const std::string& leaf = "1") {
  return std::string(depth, '[') + leaf + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

std::string with_scaling(const std::string& dict, const std::string& extra = "") {
  return "{\"head_dim\": 64, \"max_position_embeddings\": 131072" + extra +
         ", \"rope_scaling\": " + dict + "}";
}

std::vector<hf_case> cases() {
  std::vector<hf_case> v;
  auto add = [&](const char* name, std::string text, const char* field) {
    v.push_back(hf_case{name, std::move(text), field});
  };
  // --- text and structure ---------------------------------------------------------------------
  add("empty", "", "not valid JSON");
  add("truncated", "{\"head_dim\": 64,", "not valid JSON");
  add("not_object", "[64]", "must be a JSON object");
  add("number_1e400", "{\"head_dim\": 64, \"rope_theta\": 1e400}", "not valid JSON");
  add("number_neg_1e400", "{\"head_dim\": 64, \"rope_theta\": -1e400}", "not valid JSON");
  add("deep_100000_in_head_dim", "{\"head_dim\": " + nested(100000) + "}", "nested deeper");
  add("deep_20000_in_rope_theta", "{\"head_dim\": 64, \"rope_theta\": " + nested(20000) + "}",
      "nested deeper");
  add("deep_objects_30000", "{\"head_dim\": 64, \"x\": " + nested_objects(30000) + "}",
      "nested deeper");
  add("deep_65", "{\"head_dim\": " + nested(65) + "}", "nested deeper");
  add("deep_value_in_scaling",
      with_scaling("{\"rope_type\": \"linear\", \"factor\": " + nested(50000) + "}"),
      "nested deeper");
  // --- geometry --------------------------------------------------------------------------------
  add("head_dim_61310724", "{\"head_dim\": 61310724}", "head_dim");
  add("head_dim_1e7", "{\"head_dim\": 10000000}", "head_dim");
  add("head_dim_9e15", "{\"head_dim\": 9000000000000000}", "head_dim");
  add("head_dim_0", "{\"head_dim\": 0}", "head_dim");
  add("head_dim_negative", "{\"head_dim\": -64}", "head_dim");
  add("head_dim_fraction", "{\"head_dim\": 64.5}", "head_dim");
  add("head_dim_string", "{\"head_dim\": \"64\"}", "head_dim");
  add("head_dim_nested_short", "{\"head_dim\": [[[[[[[[64]]]]]]]]}", "head_dim");
  add("head_dim_odd", "{\"head_dim\": 63}", "rotary_dim");
  add("qk_rope_head_dim_huge", "{\"qk_rope_head_dim\": 1e9}", "qk_rope_head_dim");
  add("hidden_size_huge", "{\"hidden_size\": 1e12, \"num_attention_heads\": 1}", "hidden_size");
  add("hidden_over_heads_huge", "{\"hidden_size\": 16000000, \"num_attention_heads\": 2}",
      "hidden_size");
  add("heads_huge", "{\"hidden_size\": 4096, \"num_attention_heads\": 1e6}", "num_attention_heads");
  add("heads_missing", "{\"hidden_size\": 4096}", "num_attention_heads");
  add("hidden_missing", "{\"num_attention_heads\": 32}", "head_dim");
  add("hidden_lt_heads", "{\"hidden_size\": 16, \"num_attention_heads\": 32}", "hidden_size");
  add("prf_0_01_rounds_to_0", "{\"head_dim\": 64, \"partial_rotary_factor\": 0.01}",
      "partial_rotary_factor");
  add("prf_0", "{\"head_dim\": 64, \"partial_rotary_factor\": 0}", "partial_rotary_factor");
  add("prf_2", "{\"head_dim\": 64, \"partial_rotary_factor\": 2}", "partial_rotary_factor");
  add("prf_string", "{\"head_dim\": 64, \"partial_rotary_factor\": \"x\"}",
      "partial_rotary_factor");
  add("rotary_pct_tiny", "{\"head_dim\": 64, \"rotary_pct\": 1e-300}", "partial_rotary_factor");
  add("rotary_dim_huge", "{\"head_dim\": 64, \"rotary_dim\": 1e8}", "rotary_dim");
  add("rotary_dim_gt_head", "{\"head_dim\": 64, \"rotary_dim\": 128}", "rotary_dim");
  add("rope_theta_1", "{\"head_dim\": 64, \"rope_theta\": 1}", "base");
  add("rope_theta_1e300", "{\"head_dim\": 64, \"rope_theta\": 1e300}", "base");
  add("rope_theta_string", "{\"head_dim\": 64, \"rope_theta\": \"1e4\"}", "rope_theta");
  add("max_position_1e16", "{\"head_dim\": 64, \"max_position_embeddings\": 1e16}",
      "max_position_embeddings");
  add("n_positions_huge", "{\"head_dim\": 64, \"n_positions\": 1e13}", "n_positions");
  add("rope_interleave_string", "{\"head_dim\": 64, \"rope_interleave\": \"yes\"}",
      "rope_interleave");
  add("model_type_number", "{\"head_dim\": 64, \"model_type\": 5}", "model_type");
  // --- scaling dict ----------------------------------------------------------------------------
  add("scaling_list", with_scaling("[1, 2]"), "rope_scaling");
  add("scaling_unknown_type", with_scaling("{\"rope_type\": \"foo\"}"), "rope_type");
  add("scaling_type_number", with_scaling("{\"rope_type\": 3}"), "rope_type");
  add("linear_missing_factor", with_scaling("{\"rope_type\": \"linear\"}"), "factor");
  add("linear_factor_half", with_scaling("{\"rope_type\": \"linear\", \"factor\": 0.5}"), "factor");
  add("linear_factor_1e300", with_scaling("{\"rope_type\": \"linear\", \"factor\": 1e300}"),
      "factor");
  add("dynamic_alpha_1e300", with_scaling("{\"type\": \"dynamic\", \"alpha\": 1e300}"), "alpha");
  add("dynamic_no_max_position",
      "{\"head_dim\": 64, \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2}}",
      "max_position_embeddings");
  add("yarn_attention_factor_1e300",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 4, \"attention_factor\": 1e300, "
                   "\"original_max_position_embeddings\": 4096}"),
      "attention_factor");
  add("yarn_attention_factor_1e40",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 4, \"attention_factor\": 1e40, "
                   "\"original_max_position_embeddings\": 4096}"),
      "attention_factor");
  add("yarn_factor_half",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 0.5, "
                   "\"original_max_position_embeddings\": 4096}"),
      "factor");
  add("yarn_beta_order",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 4, \"beta_fast\": 0.5, "
                   "\"beta_slow\": 2, \"original_max_position_embeddings\": 4096}"),
      "beta_fast");
  add("yarn_truncate_string",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 4, \"truncate\": \"no\"}"), "truncate");
  add("yarn_original_huge",
      with_scaling("{\"rope_type\": \"yarn\", \"factor\": 4, "
                   "\"original_max_position_embeddings\": 1e15}"),
      "original_max_position_embeddings");
  add("longrope_missing_long", with_scaling("{\"rope_type\": \"longrope\", \"short_factor\": [1]}"),
      "long_factor");
  add("longrope_short_size",
      with_scaling("{\"rope_type\": \"longrope\", \"short_factor\": [1, 1], \"long_factor\": [1, "
                   "1], \"original_max_position_embeddings\": 4096}"),
      "short_factor");
  add("longrope_element_string",
      with_scaling("{\"rope_type\": \"longrope\", \"short_factor\": [1, \"x\"], "
                   "\"long_factor\": [1]}"),
      "short_factor[1]");
  add("longrope_original_1",
      "{\"head_dim\": 4, \"max_position_embeddings\": 4, \"rope_scaling\": {\"rope_type\": "
      "\"longrope\", \"short_factor\": [1, 1], \"long_factor\": [1, 1], "
      "\"original_max_position_embeddings\": 1}}",
      "original_max_position");
  add("longrope_factor_tiny_divisor",
      "{\"head_dim\": 4, \"max_position_embeddings\": 8192, \"rope_scaling\": {\"rope_type\": "
      "\"longrope\", \"short_factor\": [1e-300, 1], \"long_factor\": [1, 1], "
      "\"original_max_position_embeddings\": 4096}}",
      "short_factor[0]");
  add("llama3_missing_low",
      with_scaling("{\"rope_type\": \"llama3\", \"factor\": 8, \"high_freq_factor\": 4}"),
      "low_freq_factor");
  add("llama3_factor_1e300",
      with_scaling("{\"rope_type\": \"llama3\", \"factor\": 1e300, \"low_freq_factor\": 1, "
                   "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 4096}"),
      "factor");
  add("layer_types_mismatch",
      "{\"head_dim\": 64, \"layer_types\": [\"full_attention\", \"sliding_attention\"], "
      "\"rope_parameters\": {\"full_attention\": {\"rope_theta\": 1e6}, \"sliding_attention\": "
      "{\"rope_theta\": 1e4}}}",
      "layer_type");
  return v;
}

class HfBadInput : public ::testing::TestWithParam<hf_case> {};

TEST_P(HfBadInput, ThrowsInvalidArgumentNamingTheKey) {
  const hf_case& c = GetParam();
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  bool right_type = false;
  try {
    (void)posenc::rope_from_hf_config(c.text);
  } catch (const std::invalid_argument& e) {
    what = e.what();
    right_type = true;
  } catch (const std::exception& e) {
    what = std::string("(other exception) ") + e.what();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(what.empty()) << c.name << ": nothing thrown";
  EXPECT_TRUE(right_type) << c.name << ": wrong exception type: " << what;
  EXPECT_NE(what.find(c.field), std::string::npos)
      << c.name << ": message does not name '" << c.field << "': " << what;
  EXPECT_EQ(what.rfind("posenc::hf_config: ", 0), 0u) << what;
  // A bounded excerpt: the longest fixed text plus a 60-character quote and nlohmann's
  // parse-error text stays far below this.
  EXPECT_LT(what.size(), 600u) << c.name << ": unbounded message: " << what.substr(0, 200);
  // Linear-time reading: generous for a shared, sanitized machine (the 61310724 head_dim took
  // 55 s before the bound).
  EXPECT_LT(secs, 5.0) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Table, HfBadInput, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<hf_case>& i) {
                           std::string n = i.param.name;  // gtest names: [A-Za-z0-9_]
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// The same limit on an already parsed nlohmann value handed to hf_rope_spec_from_json (copying
// or comparing it would recurse as deep as it is nested).
TEST(HfBadInputParsed, DeepValueRejectedBeforeUse) {
  nlohmann::json deep = 1;
  for (int i = 0; i < 100000; ++i) {
    nlohmann::json a = nlohmann::json::array();
    a.push_back(std::move(deep));
    deep = std::move(a);
  }
  nlohmann::json cfg = {{"head_dim", 64}};
  cfg["rope_scaling"] = std::move(deep);
  try {
    (void)posenc::hf_rope_spec_from_json(cfg);
    ADD_FAILURE() << "accepted a value nested 100000 deep";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 64"), std::string::npos) << e.what();
  }
}

// The quote in a message is bounded even when the value is long (not nested).
TEST(HfBadInputParsed, LongValueQuotedAsBoundedExcerpt) {
  const std::string long_string(1 << 20, 'x');
  try {
    (void)posenc::rope_from_hf_config("{\"head_dim\": \"" + long_string + "\"}");
    ADD_FAILURE() << "accepted a string head_dim";
  } catch (const std::invalid_argument& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("head_dim = \"xxxx"), std::string::npos) << w.substr(0, 200);
    EXPECT_LT(w.size(), 200u);
  }
  std::string wide = "[";
  for (int i = 0; i < 100000; ++i) wide += (i ? ",1" : "1");
  wide += "]";
  try {
    (void)posenc::rope_from_hf_config("{\"head_dim\": " + wide + "}");
    ADD_FAILURE() << "accepted a list head_dim";
  } catch (const std::invalid_argument& e) {
    EXPECT_LT(std::string(e.what()).size(), 200u);
  }
}

// Limits accept what real models have: the largest head_dim and lengths in the limits.
TEST(HfBadInputParsed, LimitsAcceptRealisticExtremes) {
  EXPECT_EQ(posenc::rope_from_hf_config("{\"head_dim\": 65536}").head_dim(), 65536u);
  EXPECT_EQ(posenc::parse_hf_config("{\"head_dim\": 128, \"max_position_embeddings\": "
                                    "4294967296}")
                .max_position_embeddings,
            4294967296u);
  // Nesting up to the limit is parsed (the unused key is ignored).
  EXPECT_EQ(posenc::rope_from_hf_config("{\"head_dim\": 64, \"x\": " + nested(60) + "}").head_dim(),
            64u);
}

// posenc-inspect: a deep file and an endless one fail with status 1 and one line.
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

int inspect(const std::string& path, std::string& err) {
  std::vector<std::string> args = {"posenc-inspect", path};
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, e;
  const int rc = posenc_inspect::run(static_cast<int>(argv.size()), argv.data(), out, e);
  err = e.str();
  return rc;
}

TEST(HfBadInputInspect, DeepFileFailsCleanly) {
  std::string err;
  // 60 KB of nesting: crashed posenc-inspect (stack overflow in dump) before the depth bound.
  EXPECT_EQ(inspect(write_temp("posenc_deep.json", "{\"head_dim\": " + nested(30000) + "}"), err),
            1);
  EXPECT_NE(err.find("nested deeper"), std::string::npos) << err.substr(0, 200);
  EXPECT_EQ(err.find('\n'), err.size() - 1) << "one line";
}

TEST(HfBadInputInspect, EndlessFileIsCapped) {
  std::string err;
  EXPECT_EQ(inspect("/dev/zero", err), 1);
  EXPECT_NE(err.find("larger than 16 MiB"), std::string::npos) << err;
  EXPECT_EQ(inspect(write_temp("posenc_big.json", std::string((16u << 20) + 1, ' ')), err), 1);
  EXPECT_NE(err.find("larger than 16 MiB"), std::string::npos) << err;
}

}  // namespace
