// posenc tests — tools/inspect_alibi.hpp (`posenc-inspect alibi`): the JSON object and its
// slopes against the oracle data, the table output, and bad arguments (one line on stderr,
// exit status 2, nothing on stdout).
// SPDX-License-Identifier: Apache-2.0
#include "../tools/inspect_alibi.hpp"

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/bias_data.hpp"
#include "support/tolerance.hpp"

namespace {

struct result {
  int status;
  std::string out, err;
};

result run(std::vector<std::string> args) {
  args.insert(args.begin(), "alibi");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(&a[0]);
  std::ostringstream out, err;
  const int st = posenc_inspect_alibi(static_cast<int>(argv.size()), argv.data(), out, err);
  return {st, out.str(), err.str()};
}

/// The numbers of the "slopes" array of a one-line JSON object (a minimal, strict reader:
/// the array must be present, bracketed and contain only comma-separated numbers).
std::vector<double> json_slopes(const std::string& s) {
  const std::string key = "\"slopes\": [";
  const auto b = s.find(key);
  if (b == std::string::npos) return {};
  const auto e = s.find(']', b);
  std::vector<double> v;
  std::string body = s.substr(b + key.size(), e - b - key.size());
  std::istringstream is(body);
  for (std::string tok; std::getline(is, tok, ',');) {
    char* end = nullptr;
    v.push_back(std::strtod(tok.c_str(), &end));
    while (*end == ' ') ++end;
    if (*end != '\0') return {};
  }
  return v;
}

void expect_one_json_object(const std::string& s) {
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.front(), '{');
  EXPECT_EQ(s.substr(s.size() - 2), "}\n");
  EXPECT_EQ(s.find('\n'), s.size() - 1) << "exactly one line";
}

TEST(InspectAlibi, JsonSlopesMatchTheOracle) {
  const auto rows = posenc_test::load_alibi_slopes();
  for (int H : {1, 6, 12, 40, 64}) {
    for (double B : {8.0, 16.0}) {
      std::ostringstream bs;
      bs << B;
      const result r = run({"--heads", std::to_string(H), "--max-bias", bs.str(), "--json"});
      ASSERT_EQ(r.status, 0) << r.err;
      EXPECT_TRUE(r.err.empty());
      expect_one_json_object(r.out);
      EXPECT_NE(r.out.find("\"heads\": " + std::to_string(H)), std::string::npos);
      EXPECT_NE(r.out.find("\"slopes_policy\": \"alibi\""), std::string::npos);
      const auto v = json_slopes(r.out);
      ASSERT_EQ(v.size(), static_cast<std::size_t>(H)) << r.out;
      std::size_t matched = 0;
      for (const auto& row : rows) {
        if (row.heads != H || row.max_bias != B) continue;
        // %.17g round-trips a double, so the printed slope is the library's; ≤ 1 ulp of RN64.
        EXPECT_LE(posenc_test::ulp_distance(v[static_cast<std::size_t>(row.head)], row.slope_f64),
                  1);
        ++matched;
      }
      EXPECT_EQ(matched, static_cast<std::size_t>(H));
    }
  }
}

TEST(InspectAlibi, NtkVariantsMatchTheOracle) {
  const auto rows = posenc_test::load_ntk_slopes();
  for (const char* variant : {"code", "formula"}) {
    const result r =
        run({"--heads", "40", "--ntk-factor", "4", "--ntk-variant", variant, "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    expect_one_json_object(r.out);
    EXPECT_NE(r.out.find(std::string("\"ntk_variant\": \"") + variant + "\""), std::string::npos);
    const auto v = json_slopes(r.out);
    ASSERT_EQ(v.size(), 40u);
    std::size_t matched = 0;
    for (const auto& row : rows) {
      if (row.variant != variant || row.heads != 40 || row.factor != 4.0 || row.max_bias != 8.0)
        continue;
      EXPECT_LE(posenc_test::ulp_distance(v[static_cast<std::size_t>(row.head)], row.slope_f64), 1);
      ++matched;
    }
    EXPECT_EQ(matched, 40u);
  }
  // The default variant is the code one.
  EXPECT_EQ(
      json_slopes(run({"--heads", "12", "--ntk-factor", "2", "--json"}).out),
      json_slopes(
          run({"--heads", "12", "--ntk-factor", "2", "--ntk-variant", "code", "--json"}).out));
}

TEST(InspectAlibi, TableAndHelp) {
  const result r = run({"--heads", "4"});
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("0.0625"), std::string::npos) << r.out;  // 2^-4 = slope of head 3
  const result h = run({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("usage"), std::string::npos);
}

TEST(InspectAlibi, BadArgumentsGiveOneLineOnStderrAndStatus2) {
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"--json"},
      {"--heads"},
      {"--heads", "0"},
      {"--heads", "abc"},
      {"--heads", "12x"},
      {"--heads", "8", "--max-bias", "-1"},
      {"--heads", "8", "--max-bias", "nan"},
      {"--heads", "8", "--ntk-factor", "0"},
      {"--heads", "8", "--ntk-variant", "paper"},
      {"--heads", "8", "--frobnicate"},
      {"--heads", "1", "--max-bias", "500"},  // slope 2^-500 vanishes in float: rejected
  };
  for (const auto& args : bad) {
    const result r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.status, 2) << joined;
    EXPECT_TRUE(r.out.empty()) << joined << ": " << r.out;
    ASSERT_FALSE(r.err.empty()) << joined;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << joined << ": " << r.err;
    EXPECT_EQ(r.err.rfind("posenc-inspect alibi: ", 0), 0u) << r.err;
  }
}

TEST(InspectAlibi, StdoutEntryPoint) {
  std::string a0 = "alibi", a1 = "--heads", a2 = "2", a3 = "--json";
  char* argv[] = {&a0[0], &a1[0], &a2[0], &a3[0]};
  testing::internal::CaptureStdout();
  const int st = posenc_inspect_alibi(4, argv);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(st, 0);
  expect_one_json_object(out);
  EXPECT_EQ(json_slopes(out), (std::vector<double>{0.0625, 0.00390625}));
}

}  // namespace
