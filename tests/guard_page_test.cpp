// posenc tests — guard pages (issue 16): every view ends exactly at, or starts exactly after,
// an inaccessible (PROT_NONE) page, and strided views have guard pages in the gaps between
// their rows. Any read or write outside the named elements faults (the test crashes); the
// values must equal the same call on an ordinary buffer. Grid: head / embedding sizes with
// every vector tail, every compiled architecture (tests/support/arch_types.hpp), every storage
// type (float, double, bfloat16, float16). Runs in every CI configuration, sanitizers included.
// POSIX only (mmap / mprotect).
// SPDX-License-Identifier: Apache-2.0
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <posenc/alibi.hpp>
#include <posenc/rope.hpp>
#include <posenc/rope_cache.hpp>
#include <posenc/sinusoidal.hpp>
#include <posenc/storage.hpp>

#include "support/arch_types.hpp"
#include "support/formats.hpp"

namespace {

using posenc_test::from_double;
using posenc_test::same_bits;

using posenc::bfloat16_t;
using posenc::float16_t;

const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));

/// `n` data pages, each followed by a guard page, plus one guard page in front:
/// [G][D][G][D][G]... Freed with munmap.
class guarded_pages {
 public:
  explicit guarded_pages(std::size_t n) : n_(n), len_((2 * n + 1) * kPage) {
    void* p = ::mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<unsigned char*>(p);
    for (std::size_t g = 0; g <= n; ++g)
      if (::mprotect(base_ + 2 * g * kPage, kPage, PROT_NONE) != 0)
        throw std::runtime_error("mprotect failed");
  }
  ~guarded_pages() { ::munmap(base_, len_); }
  guarded_pages(const guarded_pages&) = delete;
  guarded_pages& operator=(const guarded_pages&) = delete;
  /// First byte of data page i (right after a guard page).
  unsigned char* page(std::size_t i) const { return base_ + (2 * i + 1) * kPage; }
  std::size_t pages() const { return n_; }

 private:
  std::size_t n_, len_;
  unsigned char* base_;
};

/// One contiguous data region of `bytes` with guard pages on both sides; at_end / at_start
/// place an array of n T so it ends at the trailing guard / starts after the leading one.
class guarded_region {
 public:
  explicit guarded_region(std::size_t bytes)
      : pages_((bytes + kPage - 1) / kPage), len_(pages_ * kPage), map_(alloc(pages_)) {}
  ~guarded_region() { ::munmap(map_, len_ + 2 * kPage); }
  guarded_region(const guarded_region&) = delete;
  guarded_region& operator=(const guarded_region&) = delete;
  template <class T>
  T* at_end(std::size_t n) const {
    return reinterpret_cast<T*>(map_ + kPage + len_ - n * sizeof(T));
  }
  template <class T>
  T* at_start() const {
    return reinterpret_cast<T*>(map_ + kPage);
  }

 private:
  static unsigned char* alloc(std::size_t pages) {
    const std::size_t len = (pages + 2) * kPage;
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    auto* b = static_cast<unsigned char*>(p);
    if (::mprotect(b, kPage, PROT_NONE) != 0 ||
        ::mprotect(b + (pages + 1) * kPage, kPage, PROT_NONE) != 0)
      throw std::runtime_error("mprotect failed");
    return b;
  }
  std::size_t pages_, len_;
  unsigned char* map_;
};

template <class T>
void fill_values(T* x, std::size_t n, double seed) {
  for (std::size_t i = 0; i < n; ++i)
    x[i] = from_double<T>(std::sin(seed + 0.731 * static_cast<double>(i)));
}

/// Head sizes: every vector tail of 16-bit, float and double lanes on every width, partial
/// rotary (rotary_dim < head_dim) and an odd-pair count.
const std::size_t kDims[] = {2, 6, 14, 30, 34, 64, 66, 130};

template <class Arch>
class GuardPage : public ::testing::Test {};
TYPED_TEST_SUITE(GuardPage, posenc_test::arch_types, posenc_test::arch_names);

template <class Arch, class T>
void rope_grid() {
  using C = posenc::coef_t<T>;
  const std::int64_t pos[3] = {5, 4097, 123456};
  for (std::size_t D : kDims) {
    for (std::size_t rot : {D, D > 2 ? D - 2 : D}) {
      for (posenc::rope_layout layout :
           {posenc::rope_layout::half_split, posenc::rope_layout::interleaved}) {
        posenc::rope_config cfg;
        cfg.head_dim = D;
        cfg.rotary_dim = rot;
        cfg.layout = layout;
        const posenc::rope r(cfg);
        const posenc::rope_cache<C> cache(r, 4096, Arch{});  // pos 4097 and 123456 miss it
        const std::size_t T_ = 3, H = 3, n = T_ * H * D;
        std::vector<T> ref(n), ref2(n);
        fill_values(ref.data(), n, 0.5);
        fill_values(ref2.data(), n, 1.5);
        r.apply<Arch>(posenc::make_head_view(ref.data(), T_, H, D),
                      posenc::make_head_view(ref2.data(), T_, H, D), pos);

        // (1) q ends at a guard page, k starts right after one.
        guarded_region gq(n * sizeof(T)), gk(n * sizeof(T));
        T* q = gq.at_end<T>(n);
        T* k = gk.at_start<T>();
        fill_values(q, n, 0.5);
        fill_values(k, n, 1.5);
        r.apply<Arch>(posenc::make_head_view(q, T_, H, D), posenc::make_head_view(k, T_, H, D),
                      pos);
        ASSERT_TRUE(same_bits(q, ref.data(), n)) << "D " << D << " rot " << rot;
        ASSERT_TRUE(same_bits(k, ref2.data(), n)) << "D " << D << " rot " << rot;
        // The cache (table rows and on-the-fly rows) and the inverse at the same edges.
        fill_values(q, n, 0.5);
        cache.template apply<Arch>(posenc::make_head_view(q, T_, H, D), pos);
        ASSERT_TRUE(same_bits(q, ref.data(), n)) << "cache D " << D << " rot " << rot;
        cache.template apply_inverse<Arch>(posenc::make_head_view(q, T_, H, D), pos);
        r.apply_inverse<Arch>(posenc::make_head_view(ref.data(), T_, H, D), pos);
        ASSERT_TRUE(same_bits(q, ref.data(), n)) << "inverse D " << D << " rot " << rot;

        // (2) Strided: every (token, head) row alone at the end of its own page, a guard page
        // after it (head_stride = 2 pages, token_stride = H · 2 pages).
        if (D * sizeof(T) <= kPage) {
          guarded_pages gp(T_ * H);
          const std::ptrdiff_t hs = static_cast<std::ptrdiff_t>(2 * kPage / sizeof(T));
          T* first = reinterpret_cast<T*>(gp.page(0) + kPage - D * sizeof(T));
          const auto v =
              posenc::make_head_view(first, T_, H, D, hs * static_cast<std::ptrdiff_t>(H), hs);
          std::vector<T> contiguous(n);
          fill_values(contiguous.data(), n, 2.5);
          for (std::size_t t = 0; t < T_; ++t)
            for (std::size_t h = 0; h < H; ++h)
              std::memcpy(v.row(t, h), contiguous.data() + (t * H + h) * D, D * sizeof(T));
          r.apply<Arch>(v, pos);
          cache.template apply<Arch>(posenc::make_head_view(contiguous.data(), T_, H, D), pos);
          std::vector<T> back(n);
          for (std::size_t t = 0; t < T_; ++t)
            for (std::size_t h = 0; h < H; ++h)
              std::memcpy(back.data() + (t * H + h) * D, v.row(t, h), D * sizeof(T));
          ASSERT_TRUE(same_bits(back.data(), contiguous.data(), n)) << "strided D " << D;
        }
      }
    }
  }
}

TYPED_TEST(GuardPage, RopeAndCache) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  rope_grid<TypeParam, float>();
  rope_grid<TypeParam, double>();
  rope_grid<TypeParam, bfloat16_t>();
  rope_grid<TypeParam, float16_t>();
}

template <class Arch, class T>
void sinusoidal_grid() {
  const std::int64_t pos[3] = {0, 77, 5000};
  for (std::size_t D : {1u, 3u, 7u, 16u, 33u, 64u, 130u}) {
    for (const posenc::sinusoidal_config& cfg :
         {posenc::sinusoidal_paper(D), posenc::sinusoidal_t2t(D), posenc::sinusoidal_fairseq(D)}) {
      const posenc::sinusoidal_embedding pe(cfg);
      const posenc::sinusoidal_table<T> table(pe, 100, Arch{});
      const std::size_t T_ = 3, n = T_ * D;
      std::vector<T> ref(n), ref_add(n);
      pe.fill<Arch>(posenc::make_embed_view(ref.data(), T_, D), pos);
      fill_values(ref_add.data(), n, 0.25);
      pe.add_to<Arch>(posenc::make_embed_view(ref_add.data(), T_, D), pos);

      guarded_region g(n * sizeof(T));
      for (T* x : {g.at_end<T>(n), g.at_start<T>()}) {
        pe.fill<Arch>(posenc::make_embed_view(x, T_, D), pos);
        ASSERT_TRUE(same_bits(x, ref.data(), n)) << "fill D " << D;
        table.template fill<Arch>(posenc::make_embed_view(x, T_, D), pos);
        ASSERT_TRUE(same_bits(x, ref.data(), n)) << "table fill D " << D;
        fill_values(x, n, 0.25);
        pe.add_to<Arch>(posenc::make_embed_view(x, T_, D), pos);
        ASSERT_TRUE(same_bits(x, ref_add.data(), n)) << "add_to D " << D;
        fill_values(x, n, 0.25);
        table.template add_to<Arch>(posenc::make_embed_view(x, T_, D), pos);
        ASSERT_TRUE(same_bits(x, ref_add.data(), n)) << "table add_to D " << D;
      }
      // Strided rows, each ending at a guard page.
      if (D * sizeof(T) <= kPage) {
        guarded_pages gp(T_);
        T* first = reinterpret_cast<T*>(gp.page(0) + kPage - D * sizeof(T));
        const auto v = posenc::make_embed_view(first, T_, D,
                                               static_cast<std::ptrdiff_t>(2 * kPage / sizeof(T)));
        table.template fill<Arch>(v, pos);
        for (std::size_t t = 0; t < T_; ++t)
          ASSERT_TRUE(same_bits(v.row(t), ref.data() + t * D, D)) << "strided D " << D;
      }
    }
  }
}

TYPED_TEST(GuardPage, Sinusoidal) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  sinusoidal_grid<TypeParam, float>();
  sinusoidal_grid<TypeParam, double>();
  sinusoidal_grid<TypeParam, bfloat16_t>();
  sinusoidal_grid<TypeParam, float16_t>();
}

template <class Arch, class T>
void alibi_grid() {
  posenc::alibi_config cfg;
  cfg.num_heads = 4;
  const posenc::alibi_bias a(cfg);
  for (std::size_t n : {1u, 5u, 17u, 33u, 100u, 257u}) {
    std::vector<T> ref(n);
    fill_values(ref.data(), n, 0.1);
    a.add_to_row<Arch>(3, static_cast<std::int64_t>(n) - 1, 0, ref.data(), n);
    guarded_region g(n * sizeof(T));
    for (T* x : {g.at_end<T>(n), g.at_start<T>()}) {
      fill_values(x, n, 0.1);
      a.add_to_row<Arch>(3, static_cast<std::int64_t>(n) - 1, 0, x, n);
      ASSERT_TRUE(same_bits(x, ref.data(), n)) << "row n " << n;
    }
    // A [3 × n] tile whose rows each end at a guard page (row_stride = 2 pages).
    if (n * sizeof(T) <= kPage) {
      const std::size_t rows = 3;
      std::vector<T> tile(rows * n);
      fill_values(tile.data(), rows * n, 0.2);
      guarded_pages gp(rows);
      T* first = reinterpret_cast<T*>(gp.page(0) + kPage - n * sizeof(T));
      const auto v = posenc::make_logits_view(first, rows, n,
                                              static_cast<std::ptrdiff_t>(2 * kPage / sizeof(T)));
      for (std::size_t r = 0; r < rows; ++r)
        std::memcpy(v.row(r), tile.data() + r * n, n * sizeof(T));
      a.add_to<Arch>(v, 1, static_cast<std::int64_t>(n), 0);
      a.add_to<Arch>(posenc::make_logits_view(tile.data(), rows, n), 1,
                     static_cast<std::int64_t>(n), 0);
      for (std::size_t r = 0; r < rows; ++r)
        ASSERT_TRUE(same_bits(v.row(r), tile.data() + r * n, n)) << "tile n " << n;
    }
  }
}

TYPED_TEST(GuardPage, Alibi) {
  POSENC_ASSERT_ARCH_RUNS(TypeParam);
  alibi_grid<TypeParam, float>();
  alibi_grid<TypeParam, double>();
  alibi_grid<TypeParam, bfloat16_t>();
  alibi_grid<TypeParam, float16_t>();
}

}  // namespace
