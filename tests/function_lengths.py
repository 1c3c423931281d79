#!/usr/bin/env python3
"""Lists functions longer than a limit in the C++ and TypeScript sources (issue 12: "no function over
~60 lines except flat tables"), and files longer than a file limit.

usage: tests/function_lengths.py [--max-lines 60] [--max-file-lines 500] [--check] [paths...]

A function is a body opened at namespace or class scope (C++) or at module or class scope
(TypeScript) by a statement holding a parameter list; nested lambdas and closures count towards the
function that holds them. Comments and string literals are ignored. The scan is a brace matcher,
not a parser: good enough for code formatted by clang-format and tsc, as this repository's is.
With --check, exits 1 when something is over its limit and not listed in ALLOWED (flat tables).
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Flat tables (one entry per line, no logic), allowed over the limit: "path:function".
ALLOWED = {
    "lib/policy/policy.cpp:describe",  # One case per PolicyRefusal code and its sentence.
}

CPP = (".cpp", ".h", ".cc", ".c")
TS = (".ts", ".mts")
SKIP_PARTS = ("node_modules", "/gen/", "web/dist", "build")
CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|else|do|try|return)\b")
TYPE_KEYWORD = re.compile(r"\b(class|struct|union|enum|namespace|interface)\b")


def strip(text: str, ts: bool) -> str:
    """Blanks comments and string/char/template literals, keeping newlines."""
    out, i, n = [], 0, len(text)
    quotes = "\"'`" if ts else "\"'"
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in quotes and not (c == "'" and not ts and i > 0 and text[i - 1].isalnum()):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        elif not ts and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + (m.group(1) if m else "") + '"', i)
            end = n if end < 0 else end + len(m.group(1) if m else "") + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path: Path):
    """Yields (name, first line, line count) of each top-level function body in `path`."""
    ts = path.suffix in TS
    text = strip(path.read_text(errors="replace"), ts)
    stack = []  # (kind, start line, name)
    statement, line = "", 1
    for c in text:
        if c == "\n":
            line += 1
        if c == "{":
            kind = open_kind(statement, stack, ts)
            stack.append((kind, line, name_of(statement)))
            statement = ""
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    yield name, start, line - start + 1
            statement = ""
        elif c == ";":
            statement = ""
        else:
            statement += c
    return


def open_kind(statement: str, stack, ts: bool) -> str:
    if any(k == "function" for k, _, _ in stack):
        return "inner"
    s = " ".join(statement.split())
    if not s:
        return "block"
    if TYPE_KEYWORD.search(s.split("(")[0]) or s.startswith("extern"):
        return "scope"
    if s.endswith("=") or s.endswith("= ") or CONTROL.match(s):
        return "block"
    if "(" in s:
        return "function"
    return "block"


def name_of(statement: str) -> str:
    head = " ".join(statement.split()).split("(")[0].strip()
    words = re.findall(r"[~\w:.$<>]+", head)
    return words[-1] if words else "?"


def sources(paths):
    if paths:
        files = [Path(p) for p in paths]
    else:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True,
                                text=True, check=True).stdout.split()
        files = [ROOT / p for p in listed]
    for f in files:
        rel = str(f.relative_to(ROOT)) if not paths else str(f)
        # Paths named on the command line are scanned as given, wherever they are.
        skipped = not paths and any(s in "/" + rel for s in SKIP_PARTS)
        if f.suffix in CPP + TS and not skipped and f.exists():
            yield f, rel


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-lines", type=int, default=60)
    parser.add_argument("--max-file-lines", type=int, default=500)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    over = 0
    for path, rel in sources(args.paths):
        lines = path.read_text(errors="replace").count("\n")
        if lines > args.max_file_lines:
            print(f"{rel}: file has {lines} lines")
            over += 1
        for name, start, count in functions(path):
            if count > args.max_lines and f"{rel}:{name}" not in ALLOWED:
                print(f"{rel}:{start}: {name} has {count} lines")
                over += 1
    print(f"{over} over the limits", file=sys.stderr)
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
