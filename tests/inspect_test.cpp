// posenc tests — posenc-inspect (tools/inspect.hpp), run in-process; tools/CMakeLists.txt also
// runs the built binary (inspect_cli_* tests: exit status and stderr shape). Built only when
// posenc::hf_config (nlohmann_json) is available (tests/CMakeLists.txt).
// SPDX-License-Identifier: Apache-2.0
#include "../tools/inspect.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <posenc/hf_config.hpp>

namespace {

struct result {
  int status = 0;
  std::string out, err;
};

result run(std::vector<std::string> args) {
  args.insert(args.begin(), "posenc-inspect");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  result r;
  r.status = posenc_inspect::run(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string config(const std::string& name) {
  return std::string(POSENC_TEST_DATA_DIR) + "/configs/" + name;
}

/// One line on stderr, prefixed, nothing on stdout, non-zero status.
void expect_one_line_error(const result& r, int status, const std::string& mention) {
  EXPECT_EQ(r.status, status);
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not exactly one line: " << r.err;
  EXPECT_EQ(r.err.rfind("posenc-inspect: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
}

TEST(Inspect, DefaultIsLlama31Table) {
  const result r = run({});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.err.empty());
  EXPECT_NE(r.out.find("llama3"), std::string::npos);
  EXPECT_NE(r.out.find("embedded Llama-3.1-8B"), std::string::npos);
  EXPECT_NE(r.out.find("attention:   factor 1 "), std::string::npos);
  EXPECT_NE(r.out.find("\n   63  "), std::string::npos);  // 64 pairs
  EXPECT_EQ(r.out.find("\n   64  "), std::string::npos);
}

// --json is exactly one object whose inv_freq are the library's values, bit for bit, for every
// model config (17 significant digits round-trip), at the default length.
TEST(Inspect, JsonMatchesTheLibraryForEveryConfig) {
  for (const char* name :
       {"llama-2-7b.json", "vicuna-7b-v1.5-16k.json", "codellama-7b.json", "llama-3.1-8b.json",
        "qwen2.5-7b-instruct-yarn.json", "deepseek-v3.json", "phi-3-mini-128k-instruct.json",
        "gpt-oss-20b.json", "gpt-neox-20b.json", "llama-2-7b-dynamic-ntk.json"}) {
    const result r = run({config(name), "--json"});
    ASSERT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_TRUE(r.err.empty());
    const nlohmann::json j = nlohmann::json::parse(r.out);  // throws on trailing content
    ASSERT_TRUE(j.is_object()) << name;
    std::ifstream in(config(name));
    std::stringstream ss;
    ss << in.rdbuf();
    const posenc::rope rope = posenc::rope_from_hf_config(ss.str());
    ASSERT_TRUE(j.at("rotary_dim").is_number_integer());
    EXPECT_EQ(j.at("rotary_dim").get<std::size_t>(), rope.rotary_dim()) << name;
    ASSERT_EQ(j.at("inv_freq").size(), rope.pairs()) << name;
    for (std::size_t k = 0; k < rope.pairs(); ++k)
      EXPECT_EQ(j.at("inv_freq")[k].get<double>(), rope.inv_freq(k)) << name << " k=" << k;
    EXPECT_EQ(j.at("attention_factor").get<double>(), rope.attention_factor()) << name;
    EXPECT_EQ(j.at("seq_len").get<std::size_t>(),
              posenc::parse_hf_config(ss.str()).reference_length())
        << name;
  }
}

TEST(Inspect, JsonNumbersHave17SignificantDigits) {
  const result r = run({"--json"});
  ASSERT_EQ(r.status, 0);
  const std::size_t at = r.out.find("\"inv_freq\": [");
  ASSERT_NE(at, std::string::npos);
  const std::string second = r.out.substr(at + 13, r.out.find(',', at + 13) - at - 13);
  const std::string pair1 = r.out.substr(at + 13 + second.size() + 2, 19);
  EXPECT_EQ(pair1.substr(0, 19), "0.81461723385654472");  // θ_1 = 500000^(-1/64), %.17g
}

TEST(Inspect, EmbeddedConfigIsLlama31) {
  nlohmann::json a = nlohmann::json::parse(run({"--json"}).out);
  nlohmann::json b = nlohmann::json::parse(run({config("llama-3.1-8b.json"), "--json"}).out);
  a.erase("config");
  b.erase("config");
  EXPECT_EQ(a, b);
}

TEST(Inspect, SeqLenServedAndPrecisionOptions) {
  const std::string phi = config("phi-3-mini-128k-instruct.json");
  const nlohmann::json s = nlohmann::json::parse(run({phi, "--json"}).out);
  const nlohmann::json l = nlohmann::json::parse(run({phi, "--json", "--seq-len", "4097"}).out);
  const nlohmann::json v =
      nlohmann::json::parse(run({phi, "--json", "--seq-len", "131072", "--served"}).out);
  EXPECT_EQ(s.at("seq_len"), 4096);
  EXPECT_NE(s.at("inv_freq"), l.at("inv_freq"));  // short vs long factors
  EXPECT_EQ(l.at("inv_freq"), v.at("inv_freq"));
  EXPECT_EQ(v.at("length_mode"), "served");
  const nlohmann::json f =
      nlohmann::json::parse(run({config("llama-3.1-8b.json"), "--json", "--hf-f32"}).out);
  EXPECT_EQ(f.at("precision"), "hf_f32");
  for (const auto& x : f.at("inv_freq")) {
    const double d = x.get<double>();
    EXPECT_EQ(static_cast<double>(static_cast<float>(d)), d);
  }
  const nlohmann::json g =
      nlohmann::json::parse(run({config("gpt-oss-20b.json"), "--json", "--llama-cpp-yarn"}).out);
  EXPECT_EQ(g.at("scaling"), "yarn_llama_cpp");
}

TEST(Inspect, SvgHasBothCurves) {
  const std::string path = ::testing::TempDir() + "posenc_inspect_test.svg";
  const result r = run({config("gpt-oss-20b.json"), "--svg", path});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string svg = ss.str();
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  std::size_t polylines = 0, circles = 0;
  for (std::size_t p = svg.find("<polyline"); p != std::string::npos;
       p = svg.find("<polyline", p + 1))
    ++polylines;
  for (std::size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1))
    ++circles;
  EXPECT_EQ(polylines, 2u);
  EXPECT_EQ(circles, 2u * 32u);  // 32 pairs, unscaled and scaled
  EXPECT_NE(svg.find("unscaled"), std::string::npos);
  EXPECT_NE(svg.find("reference length 4096"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Inspect, BadInputIsOneLineOnStderrAndNonZeroExit) {
  expect_one_line_error(run({config("no-such-model.json")}), 1, "cannot open");
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream(dir + "bad.json") << "{\"hidden_size\": 4096,\n  \"x\": [1, 2\n";
    std::ofstream(dir + "unknown.json")
        << R"({"head_dim": 64, "rope_scaling": {"rope_type": "foo"}})";
    std::ofstream(dir + "nohead.json") << R"({"rope_theta": 10000})";
  }
  expect_one_line_error(run({dir + "bad.json"}), 1, "not valid JSON");
  expect_one_line_error(run({dir + "unknown.json", "--json"}), 1, "rope_scaling.rope_type");
  expect_one_line_error(run({dir + "nohead.json"}), 1, "head_dim");
  expect_one_line_error(run({"--seq-len", "0"}), 2, "--seq-len");
  expect_one_line_error(run({"--seq-len", "abc"}), 2, "--seq-len");
  expect_one_line_error(run({"--seq-len"}), 2, "--seq-len");
  expect_one_line_error(run({"--frobnicate"}), 2, "--frobnicate");
  expect_one_line_error(run({"a.json", "b.json"}), 2, "more than one");
  expect_one_line_error(run({"--svg", "/nonexistent-dir/x.svg"}), 1, "cannot write");
  std::remove((dir + "bad.json").c_str());
  std::remove((dir + "unknown.json").c_str());
  std::remove((dir + "nohead.json").c_str());
}

// --json carries hf_rope_spec's attention shape, lengths and multipliers, and the policy's
// parameters, as the library computes them (same doubles, %.17g round-trips).
TEST(Inspect, JsonCarriesLengthsMultipliersAndScalingParameters) {
  for (const char* name : {"deepseek-v3.json", "qwen2.5-7b-instruct-yarn.json", "llama-3.1-8b.json",
                           "gemma-3-4b-it.json", "mistral-7b-v0.1.json"}) {
    const nlohmann::json j = nlohmann::json::parse(run({config(name), "--json"}).out);
    const posenc::hf_rope_spec s = posenc::load_hf_config(config(name));
    EXPECT_EQ(j.at("num_attention_heads").get<std::size_t>(), s.num_attention_heads) << name;
    EXPECT_EQ(j.at("num_key_value_heads").get<std::size_t>(), s.num_key_value_heads) << name;
    EXPECT_EQ(j.at("attention_head_dim").get<std::size_t>(), s.attention_head_dim) << name;
    EXPECT_EQ(j.at("sliding_window").get<std::size_t>(), s.sliding_window) << name;
    EXPECT_EQ(j.at("served_max_position").get<std::size_t>(), s.served_max_position) << name;
    EXPECT_EQ(j.at("max_position_embeddings").get<std::size_t>(), s.max_position_embeddings);
    EXPECT_EQ(j.at("softmax_scale").get<double>(), s.softmax_scale()) << name;
    EXPECT_EQ(j.at("softmax_scale_multiplier").get<double>(), s.softmax_scale_multiplier());
    EXPECT_TRUE(j.at("scaling_parameters").is_object()) << name;
  }
  const nlohmann::json ds = nlohmann::json::parse(run({config("deepseek-v3.json"), "--json"}).out);
  const nlohmann::json& y = ds.at("scaling_parameters");
  EXPECT_EQ(y.at("factor"), 40.0);
  EXPECT_EQ(y.at("mscale_all_dim"), 1.0);
  EXPECT_TRUE(y.at("attention_factor").is_null());
  const auto rg =
      std::get<posenc::yarn_scaling>(posenc::load_hf_config(config("deepseek-v3.json")).scaling)
          .correction_range(posenc::rope_dims{64, 64, 10000.0});
  EXPECT_EQ(y.at("correction_range"), nlohmann::json::array({rg.low, rg.high}));
  EXPECT_GT(ds.at("softmax_scale_multiplier").get<double>(), 1.87);  // (0.1 ln 40 + 1)^2
  const nlohmann::json l = nlohmann::json::parse(run({"--json"}).out).at("scaling_parameters");
  EXPECT_EQ(l.at("high_freq_wavelength"), 2048.0);  // 8192 / 4
  EXPECT_EQ(l.at("low_freq_wavelength"), 8192.0);   // 8192 / 1
}

std::string svg_of(const std::vector<std::string>& args) {
  const std::string path = ::testing::TempDir() + "posenc_inspect_marks.svg";
  std::vector<std::string> a = args;
  a.push_back("--svg");
  a.push_back(path);
  EXPECT_EQ(run(a).status, 0);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path.c_str());
  return ss.str();
}

TEST(Inspect, SvgMarksServedLengthThresholdsAndCorrectionRange) {
  const std::string q = svg_of({config("qwen2.5-7b-instruct-yarn.json")});
  EXPECT_NE(q.find("served length 131072"), std::string::npos);
  EXPECT_NE(q.find("reference length 32768"), std::string::npos);
  EXPECT_NE(q.find("yarn correction range [23, 40]"), std::string::npos);  // floor / ceil
  EXPECT_NE(q.find("fill-opacity"), std::string::npos);                    // the shaded band
  const std::string l = svg_of({});
  EXPECT_NE(l.find("llama3 high-frequency threshold 2048"), std::string::npos);
  EXPECT_NE(l.find("llama3 low-frequency threshold 8192"), std::string::npos);
  EXPECT_NE(l.find("served length 131072"), std::string::npos);
  EXPECT_EQ(l.find("correction range"), std::string::npos);
  // no served mark when it equals the reference length (Llama-2: 4096 both)
  EXPECT_EQ(svg_of({config("llama-2-7b.json")}).find("served length"), std::string::npos);
}

TEST(Inspect, Help) {
  const result r = run({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("usage: posenc-inspect"), std::string::npos);
}

}  // namespace
