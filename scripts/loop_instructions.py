#!/usr/bin/env python3
"""Static instructions per element of posenc's 16-bit RoPE loops, from the disassembly.

Where no hardware counters are available (KVM guests, qemu), the main loop of each rotation
kernel is counted in the compiled code instead: every (architecture, storage, layout) kernel is
wrapped in a flattened extern "C" function, compiled with the compiler and flags given, and the
loop with the most packed SIMD instructions (net of scalar floating-point ones, which make up
the reference tail's loop) is counted and divided by the elements one
iteration rotates (printed by the program itself from the kernel's own constants, so the
figure follows the code).

  python3 scripts/loop_instructions.py                         # x86: g++ -O2 -march=native
  python3 scripts/loop_instructions.py --cxx aarch64-linux-gnu-g++ --flags=-O2 \\
      --run "qemu-aarch64 -L /usr/aarch64-linux-gnu"            # AArch64 (neon64)

Counts instructions, not time: a register conversion and a multiply count alike.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

X86_ARCHS = ["posenc::avx512bf16", "xsimd::avx512bw", "posenc::avx2f16c", "xsimd::fma3<xsimd::avx2>",
             "xsimd::sse2"]
ARM_ARCHS = ["xsimd::neon64"]
TYPES = ["posenc::bfloat16_t", "posenc::float16_t"]  # the 16-bit loops (their conversions)

PROLOGUE = r"""
#include <cstdio>
#include <cstddef>
#include "posenc/kernels/rotate.hpp"
using namespace posenc;
template <class Arch, class T>
constexpr int elems_per_iter(bool half) {
  constexpr int N = static_cast<int>(xsimd::batch<float, Arch>::size);
  if constexpr (kernels::natural16<Arch, T>()) {
    return half ? 2 * N : N;
  } else {
    return half ? 4 * N : 2 * N;  // split16: two registers per half / per stream
  }
}
"""


def wrappers(archs):
    src, rows = [], []
    for a in archs:
        guard = ""
        if a == "posenc::avx512bf16":
            guard = "POSENC_WITH_AVX512BF16"
        elif a == "posenc::avx2f16c":
            guard = "POSENC_WITH_AVX2F16C"
        for t in TYPES:
            for half in (True, False):
                name = "k_%d" % len(rows)
                rows.append((name, a, t, "half-split" if half else "interleaved"))
                body = (
                    "kernels::rotate_half_split<false>(%s{}, x, x + n, cf, n);" % a
                    if half else "kernels::rotate_interleaved<false>(%s{}, x, cf, n);" % a)
                fn = ('extern "C" __attribute__((noinline, flatten)) void %s(%s* x, '
                      'const kernels::coef_block<float>& cf, std::size_t n) { %s }\n'
                      'static const int %s_epi = elems_per_iter<%s, %s>(%s);\n'
                      % (name, t, body, name, a, t, "true" if half else "false"))
                if guard:
                    fn = "#if %s\n%s#else\nstatic const int %s_epi = 0;\n#endif\n" % (guard, fn, name)
                src.append(fn)
    main = ["int main() {"]
    for name, _, _, _ in rows:
        main.append('  std::printf("%s %%d\\n", %s_epi);' % (name, name))
    main.append("  return 0;\n}")
    return PROLOGUE + "".join(src) + "\n".join(main) + "\n", rows


def loops(lines):
    """(instructions, vector instructions) of each backward-jump loop in a function body."""
    addr = [int(l.split(":")[0], 16) for l in lines]
    out = []
    for i, l in enumerate(lines):
        m = re.search(r"\s(?:j[a-z]+|b(?:\.[a-z]+)?|cbn?z|tbn?z)\s+(?:[wx][0-9]+,\s*)?(?:#\S+,\s*)?"
                      r"([0-9a-f]+)\s", l + " ")
        if not m:
            continue
        t = int(m.group(1), 16)
        if t in addr and addr[0] <= t <= addr[i]:
            body = lines[addr.index(t):i + 1]
            out.append((len(body), sum(map(packed, body)) - sum(map(scalar, body))))
    return out


def mnemonic(line):
    ins = line.split("\t")[-1].split()  # objdump --no-show-raw-insn: "addr:\tmnemonic operands"
    return ins[0] if ins else ""


def packed(line):
    """A SIMD instruction on whole registers (x86 ps/pd/packed-integer, AArch64 v-lanes)."""
    if re.search(r"%[yz]mm|\bv[0-9]+\.", line):
        return True
    m = mnemonic(line)
    return "%xmm" in line and bool(re.match(
        r"^v?(?:[a-z0-9]*p[sd]|p(?!extr|insr)[a-z0-9]+|movdq[au]|cvt(?:dq2ps|ps2dq|ph2ps|ps2ph))$", m))


def scalar(line):
    """A scalar floating-point instruction (the reference tail's loop is made of these)."""
    m = mnemonic(line)
    return bool(re.search(r"(?:^v?[a-z0-9]+s[sd]$)", m)) or bool(
        re.search(r"\bf[a-z]+\s+[hsd][0-9]+,", line))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--flags", default="-O2 -march=native")
    ap.add_argument("--objdump", default=None)
    ap.add_argument("--run", default="", help="runner prefix (e.g. qemu) for the program")
    args = ap.parse_args()
    arm = "aarch64" in args.cxx
    objdump = args.objdump or ("aarch64-linux-gnu-objdump" if arm else "objdump")
    src, rows = wrappers(ARM_ARCHS if arm else X86_ARCHS)
    with tempfile.TemporaryDirectory() as d:
        cpp, exe = os.path.join(d, "k.cpp"), os.path.join(d, "k")
        open(cpp, "w").write(src)
        cmd = [args.cxx, "-std=c++17", "-I", os.path.join(ROOT, "include"), *shlex.split(args.flags),
               cpp, "-o", exe]
        subprocess.run(cmd, check=True)
        epi = dict(l.split() for l in subprocess.run(
            shlex.split(args.run) + [exe], check=True, capture_output=True, text=True).stdout.splitlines())
        dis = subprocess.run([objdump, "-d", "--no-show-raw-insn", exe], check=True,
                             capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for l in dis.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:", l)
        if m:
            cur = m.group(1)
            funcs[cur] = []
        elif cur and re.match(r"^\s+[0-9a-f]+:", l):
            funcs[cur].append(l)
    print("compiler: %s %s" % (args.cxx, args.flags))
    print("%-26s %-20s %-12s %6s %6s %10s" % ("arch", "storage", "layout", "insns", "elems",
                                             "insn/elem"))
    for name, a, t, layout in rows:
        e = int(epi.get(name, "0"))
        if e == 0 or name not in funcs:
            continue
        ls = loops(funcs[name])
        if not ls:
            continue
        n, _ = max(ls, key=lambda x: (x[1], -x[0]))
        print("%-26s %-20s %-12s %6d %6d %10.2f" % (a, t, layout, n, e, n / e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
