#!/usr/bin/env python3
"""Lists the functions in C++ headers whose body is longer than a limit (default 60 lines).

Usage: scripts/function_lengths.py [--max N] [PATH ...]   (default PATH: include/)

A function is a brace block whose head (the text since the previous ';', '{' or '}') ends in
a parameter list, optionally followed by qualifiers (const, noexcept, override, a trailing
return type or a constructor's initialiser list), and is not a control statement (if, for,
while, switch, catch) or a lambda inside another function: a lambda counts in the function
that holds it. Comments, string and character literals are blanked before the scan; the
preprocessor lines are skipped. The length is the number of lines from the line of the head's
name to the closing brace, both included. Exit status 1 when a function is over the limit.
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"\b(if|for|while|switch|catch|do|else|return)\s*$")
# What may stand between a parameter list's ')' and the body's '{'.
TAIL = re.compile(
    r"\)\s*(const\s*)?(volatile\s*)?(&{1,2}\s*)?(noexcept(\s*\([^()]*(\([^()]*\))*[^()]*\))?\s*)?"
    r"(override\s*|final\s*)*(->\s*[^{;]+)?\s*$"
)


def blank(text):
    """Comments, strings, chars and preprocessor lines replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            j = i
            while j < n and (text[j] != "\n" or text[j - 1] == "\\"):
                j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (j + 1 - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def head_is_function(head):
    head = head.strip()
    if not head or "(" not in head:
        return False
    # Constructor initialiser list: a ':' (not '::') after the parameter list.
    m = re.search(r"\)\s*(noexcept\s*)?:(?!:)", head)
    if m:
        head = head[: m.start() + 1]
    if not TAIL.search(head):
        return False
    # The identifier before the parameter list's '(' must not be a control keyword or a lambda.
    depth = 0
    k = len(head) - 1
    while k >= 0:
        if head[k] == ")":
            depth += 1
        elif head[k] == "(":
            depth -= 1
            if depth == 0:
                break
        k -= 1
    before = head[:k].rstrip()
    if not before or CONTROL.search(before) or before.endswith("]") or before.endswith(">"):
        # '>' : a template-id followed by '(' is a call, not a declaration, except operator>
        return before.endswith("operator>") if before else False
    if before.endswith("=") or before.endswith(","):
        return False
    return re.search(r"[A-Za-z_0-9~]$|operator\S+$", before) is not None


def functions(path):
    text = blank(path.read_text(encoding="utf-8"))
    stack = []  # (is_function, start_line, name)
    seg_start = 0
    line = 1
    line_at = [0]
    for i, c in enumerate(text):
        if c == "\n":
            line_at.append(i + 1)
    import bisect

    def line_of(pos):
        return bisect.bisect_right(line_at, pos)

    in_function = 0
    for i, c in enumerate(text):
        if c == "{":
            head = text[seg_start:i]
            is_fn = in_function == 0 and head_is_function(head)
            if is_fn:
                stripped = head.strip()
                m = re.search(r"([A-Za-z_~][A-Za-z_0-9]*|operator\S+)\s*\(", stripped)
                name = m.group(1) if m else "?"
                start = line_of(seg_start + len(head) - len(head.lstrip()))
                stack.append((True, start, name))
                in_function += 1
            else:
                stack.append((False, 0, ""))
            seg_start = i + 1
        elif c == "}":
            if stack:
                is_fn, start, name = stack.pop()
                if is_fn:
                    in_function -= 1
                    yield name, start, line_of(i)
            seg_start = i + 1
        elif c == ";":
            seg_start = i + 1
        elif c == ":" and in_function == 0:
            # 'public:' / 'private:' labels end a head.
            if re.search(r"\b(public|private|protected)\s*$", text[seg_start:i]):
                seg_start = i + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("paths", nargs="*", default=["include"])
    args = ap.parse_args()
    files = []
    for p in args.paths:
        p = pathlib.Path(p)
        files += sorted(p.rglob("*.hpp")) + sorted(p.rglob("*.h")) if p.is_dir() else [p]
    over = []
    for f in files:
        for name, a, b in functions(f):
            if b - a + 1 > args.max:
                over.append((b - a + 1, f"{f}:{a}-{b}", name))
    for n, where, name in sorted(over, reverse=True):
        print(f"{n:5d}  {where}  {name}")
    print(f"{len(over)} function(s) over {args.max} lines in {len(files)} file(s)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
