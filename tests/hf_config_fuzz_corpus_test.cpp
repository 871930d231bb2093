// posenc tests — replays the fuzz seed corpus and every regression input (fuzz/corpus/<target>,
// fuzz/regressions/<target>) through the fuzz targets' invariants (fuzz/targets.hpp) in every CI
// configuration, so a crash found once by libFuzzer (fuzz/run.sh) stays fixed under g++, clang,
// the sanitizers and the scalar build alike. A violated invariant aborts (the test fails).
// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../fuzz/targets.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(POSENC_TEST_DATA_DIR) / ".." / ".." / "fuzz";

std::vector<std::string> inputs(const fs::path& dir) {
  std::vector<std::string> out;
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

const std::uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

TEST(FuzzCorpus, HfConfigSeedsAndRegressions) {
  const std::vector<std::string> seeds = inputs(kFuzzDir / "corpus" / "hf_config");
  const std::vector<std::string> regs = inputs(kFuzzDir / "regressions" / "hf_config");
  EXPECT_GE(seeds.size(), 10u);
  EXPECT_GE(regs.size(), 9u);
  for (const std::string& s : seeds) posenc_fuzz::hf_config_one(bytes(s), s.size());
  for (const std::string& s : regs) {
    posenc_fuzz::hf_config_one(bytes(s), s.size());
    // Every regression input is a config the reader must reject (it was accepted, crashed or
    // hung before): std::invalid_argument, nothing else.
    EXPECT_THROW((void)posenc::rope_from_hf_config(s), std::invalid_argument) << s.substr(0, 80);
  }
  // The seeds are real configs: the reader accepts every one of them (the v5 per-layer-type
  // seed once told which layer type).
  posenc::hf_rope_options full;
  full.layer_type = "full_attention";
  for (const std::string& s : seeds) {
    const bool is_v5 = s.find("\"rope_parameters\"") != std::string::npos;
    EXPECT_NO_THROW((void)posenc::rope_from_hf_config(s, is_v5 ? full : posenc::hf_rope_options{}))
        << s;
  }
}

TEST(FuzzCorpus, InspectSeedsAndRegressions) {
  const std::vector<std::string> seeds = inputs(kFuzzDir / "corpus" / "inspect");
  const std::vector<std::string> regs = inputs(kFuzzDir / "regressions" / "inspect");
  EXPECT_GE(seeds.size(), 10u);
  EXPECT_GE(regs.size(), 9u);
  for (const std::string& s : seeds) posenc_fuzz::inspect_one(bytes(s), s.size());
  for (const std::string& s : regs) posenc_fuzz::inspect_one(bytes(s), s.size());
}

}  // namespace
