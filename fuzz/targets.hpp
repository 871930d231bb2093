// posenc fuzz targets (issue 16): the HF config reader and posenc-inspect on arbitrary bytes.
// Shared by the libFuzzer entry points (fuzz/*_fuzz.cpp, clang + ASan + UBSan, fuzz/run.sh) and
// by tests/hf_config_fuzz_corpus_test.cpp, which replays the seed corpus and every regression
// input in every CI configuration. A target returns normally for any input; a violated
// invariant calls std::abort() (libFuzzer reports it, and so does the replay test).
//
// Invariants:
//   hf_config  parse_hf_config + make_rope either succeed or throw std::invalid_argument (no
//              other exception, no crash, no stack overflow, no timeout); a rope that is built
//              has head_dim ≤ 65536 and gives finite coefficients with |cos|, |sin| ≤ magnitude
//              (float and double) at positions 0 … INT64_MAX, and apply keeps a float head finite.
//   inspect    posenc_inspect::run returns 0 or 1 (never throws, never crashes); with --json and
//              status 0 the output is one valid JSON object (no inf / nan tokens).
// SPDX-License-Identifier: Apache-2.0
#ifndef POSENC_FUZZ_TARGETS_HPP
#define POSENC_FUZZ_TARGETS_HPP

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <posenc/hf_config.hpp>
#include <posenc/rope.hpp>

#include "../tools/inspect.hpp"

namespace posenc_fuzz {

[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "posenc fuzz invariant violated: %s\n", what);
  std::abort();
}

inline void check_rope(const posenc::rope& r) {
  if (r.head_dim() == 0 || r.head_dim() > posenc::rope_max_head_dim) violated("head_dim range");
  const double m = r.magnitude();
  if (!std::isfinite(m) || !(m > 0.0) || !std::isfinite(static_cast<float>(m)))
    violated("magnitude not finite in float");
  const std::int64_t positions[] = {
      0, 1, 4095, 2147483647, std::int64_t{1} << 53, std::numeric_limits<std::int64_t>::max()};
  const std::size_t pairs = r.pairs();
  std::vector<float> cf(pairs), sf(pairs);
  std::vector<double> cd(pairs), sd(pairs);
  const float mf = static_cast<float>(m) * (1.0f + 1e-6f);
  for (std::int64_t p : positions) {
    r.coefficients(p, 0, pairs, cf.data(), sf.data());
    r.coefficients(p, 0, pairs, cd.data(), sd.data());
    for (std::size_t k = 0; k < pairs; ++k) {
      if (!std::isfinite(cf[k]) || !std::isfinite(sf[k]) || std::fabs(cf[k]) > mf ||
          std::fabs(sf[k]) > mf)
        violated("float coefficient not finite or above the magnitude");
      if (!std::isfinite(cd[k]) || !std::isfinite(sd[k]) || std::fabs(cd[k]) > m * (1 + 1e-6) ||
          std::fabs(sd[k]) > m * (1 + 1e-6))
        violated("double coefficient not finite or above the magnitude");
    }
  }
  std::vector<float> head(r.head_dim(), 0.5f);
  r.apply_one(head.data(), std::numeric_limits<std::int64_t>::max());
  for (float v : head)
    if (!std::isfinite(v)) violated("apply gave a non-finite value");
}

/// The HF config reader on `size` bytes of config.json text, with a few reader options.
inline void hf_config_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int variant = 0; variant < 3; ++variant) {
    posenc::hf_rope_options o;
    if (variant == 1) {
      o.precision = posenc::rope_precision::hf_f32;
      o.seq_len = 131072;
      o.yarn = posenc::yarn_variant::llama_cpp;
    } else if (variant == 2) {
      o.length_mode = posenc::hf_length_mode::served;
      o.seq_len = 1000000;
      o.layer_type = "full_attention";
    }
    try {
      const posenc::hf_rope_spec spec = posenc::parse_hf_config(text, o);
      check_rope(spec.make_rope());
      (void)spec.make_unscaled_rope();
    } catch (const std::invalid_argument&) {
      // the one documented failure
    }
  }
}

/// posenc-inspect on a config file made of data[1..], with flags from data[0] (bit 0 --json,
/// 1 --hf-f32, 2 --served, 3 --llama-cpp-yarn, 4 --seq-len 200000, 5 --layer-type
/// full_attention, 6 --svg FILE).
inline void inspect_one(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const unsigned flags = data[0];
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    return std::string(t && *t ? t : "/tmp");
  }();
  const std::string path = dir + "/posenc_inspect_fuzz_" + std::to_string(::getpid()) + ".json";
  const std::string svg = dir + "/posenc_inspect_fuzz_" + std::to_string(::getpid()) + ".svg";
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  std::vector<std::string> args = {"posenc-inspect", path};
  if (flags & 1u) args.push_back("--json");
  if (flags & 2u) args.push_back("--hf-f32");
  if (flags & 4u) args.push_back("--served");
  if (flags & 8u) args.push_back("--llama-cpp-yarn");
  if (flags & 16u) args.insert(args.end(), {"--seq-len", "200000"});
  if (flags & 32u) args.insert(args.end(), {"--layer-type", "full_attention"});
  if (flags & 64u) args.insert(args.end(), {"--svg", svg});
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  const int rc = posenc_inspect::run(static_cast<int>(argv.size()), argv.data(), out, err);
  if (rc != 0 && rc != 1) violated("posenc-inspect exit status not 0 or 1");
  if (rc == 1 && err.str().empty()) violated("posenc-inspect failed without a message");
  if (rc == 0 && (flags & 1u)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(out.str());
    } catch (const nlohmann::json::exception&) {
      violated("posenc-inspect --json printed invalid JSON");
    }
    if (!j.is_object()) violated("posenc-inspect --json printed no object");
  }
  std::remove(path.c_str());
  std::remove(svg.c_str());
}

}  // namespace posenc_fuzz

#endif  // POSENC_FUZZ_TARGETS_HPP
