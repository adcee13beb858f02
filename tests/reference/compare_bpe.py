#!/usr/bin/env python3
"""Compare `tern tokenize` with the independent tiktoken-style reference on the LLaMA-3 vocabulary.

    compare_bpe.py --tern BIN --tiktoken FILE --corpus FILE [--corpus FILE ...]
                   [--sample FILE N] [--multiline DIR] [--cache-dir DIR] [--jobs N]
                   [--merges all-splits|canonical] [--pre llama3|none] [--max-show 8]
                   [--expect-mismatch]

Steps:
  1. Build a vocab-only GGUF from the tiktoken file with tools/vocab/tiktoken_to_gguf.py (into a
     temporary directory, or reused from --cache-dir when the tiktoken file, the converter and the
     options are unchanged).
  2. Every line of every --corpus file (split on "\\n" only, so a "\\r" stays in its line), plus N
     non-empty lines spread evenly over each --sample file (a missing sample file is noted and
     skipped): `tern tokenize -m VOCAB -f LINE_FILE --ids` (BOS added by the vocab's
     add_bos_token) against bpe_reference.Encoder.encode(line, bos=True).
  3. Whole files, with --no-bos: every --corpus file as one text, and every *.txt under
     --multiline (default: bpe_multiline/ beside this script; blank lines, CRLF, indentation).
  4. A few short lines through `-p TEXT` instead of `-f`.
The id lists must be equal. Each mismatch prints the text, both id lists and the tokens they
decode to, up to --max-show of them.

The reference reads the tiktoken file directly; it shares no code with tern or with the GGUF
converter (the converter's merges are derived independently of the reference's encoder).

--merges and --pre are passed to the converter. --expect-mismatch inverts the verdict (exit 0
iff some mismatch is found): with --merges canonical, a tern that applies the GGUF's merges list
must disagree with tiktoken (see tiktoken_to_gguf.py), which shows the comparison is sensitive.

Exit status: 0 all equal, 1 mismatch or error, 77 (ctest skip) when the `regex` module
(Debian: python3-regex) is missing or the tiktoken file does not exist.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bpe_reference  # noqa: E402

CONVERTER = os.path.join(HERE, "..", "..", "tools", "vocab", "tiktoken_to_gguf.py")
SKIP = 77


def build_vocab(args: argparse.Namespace, work_dir: str) -> str:
    """Path of the vocab GGUF, built now or taken from the cache."""
    h = hashlib.sha256()
    for path in (args.tiktoken, CONVERTER):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(f"{args.merges} {args.pre}".encode())
    name = f"llama3-vocab-{args.merges}-{args.pre}-{h.hexdigest()[:16]}.gguf"
    if args.cache_dir:
        cached = os.path.join(args.cache_dir, name)
        if os.path.exists(cached):
            print(f"vocab: {cached} (cached)")
            return cached
    out = os.path.join(work_dir, name)
    cmd = [sys.executable, CONVERTER, args.tiktoken, out, "--merges", args.merges, "--pre", args.pre,
           "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"converter failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    if args.cache_dir:
        os.makedirs(args.cache_dir, exist_ok=True)
        cached = os.path.join(args.cache_dir, name)
        tmp = cached + f".tmp{os.getpid()}"
        shutil.copyfile(out, tmp)
        os.replace(tmp, cached)  # atomic: concurrent runs never see a partial file
        out = cached
    print(f"vocab: {out} (built)")
    return out


def parse_ids(stdout: str) -> list[int] | None:
    """The id list `[1, 2, 3]` on tern's stdout (the last line that looks like one)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            body = line[1:-1].strip()
            try:
                return [int(x) for x in body.split(",")] if body else []
            except ValueError:
                return None
    return None


class Tern:
    def __init__(self, binary: str, vocab: str) -> None:
        self.binary, self.vocab = binary, vocab

    def tokenize(self, source: list[str], bos: bool) -> tuple[list[int] | None, str]:
        """(ids or None, error text). source: ["-f", path] or ["-p", text]."""
        cmd = [self.binary, "tokenize", "-m", self.vocab, *source, "--ids"]
        if not bos:
            cmd.append("--no-bos")
        r = subprocess.run(cmd, capture_output=True)
        stdout = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            return None, f"exit {r.returncode}: {r.stderr.decode('utf-8', 'replace').strip()[:500]}"
        ids = parse_ids(stdout)
        if ids is None:
            return None, f"no id list on stdout: {stdout.strip()[:300]!r}"
        return ids, ""


class Case:
    """One text to compare: where it came from, the text, BOS or not, and the outcome."""

    def __init__(self, label: str, text: str, bos: bool, source: list[str]) -> None:
        self.label, self.text, self.bos, self.source = label, text, bos, source
        self.expected: list[int] = []
        self.got: list[int] | None = None
        self.error = ""


def sample_lines(path: str, n: int) -> list[tuple[int, str]]:
    lines = [(i + 1, s) for i, s in enumerate(bpe_reference.read_lines(path)) if s.strip()]
    if n >= len(lines):
        return lines
    return [lines[(k * len(lines)) // n] for k in range(n)]


def show(enc: bpe_reference.Encoder, case: Case) -> None:
    print(f"MISMATCH {case.label} (bos={case.bos})")
    print(f"  text:     {case.text[:300]!r}{' ...' if len(case.text) > 300 else ''}")
    if case.got is None:
        print(f"  tern:     error: {case.error}")
        print(f"  expected: {case.expected}")
        return
    first = next((i for i, (a, b) in enumerate(zip(case.got, case.expected)) if a != b),
                 min(len(case.got), len(case.expected)))
    print(f"  tern:     {case.got}")
    print(f"  expected: {case.expected}")
    lo = max(0, first - 3)
    print(f"  first difference at index {first}; tokens from index {lo}:")
    print("    tern:     " + " ".join(enc.token_text(i) for i in case.got[lo:lo + 12]))
    print("    expected: " + " ".join(enc.token_text(i) for i in case.expected[lo:lo + 12]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="tern tokenize vs the tiktoken-style reference")
    ap.add_argument("--tern", required=True, help="tern CLI binary")
    ap.add_argument("--tiktoken", required=True, help="LLaMA-3 tiktoken rank file")
    ap.add_argument("--corpus", action="append", default=[], help="line corpus (repeatable)")
    ap.add_argument("--sample", nargs=2, action="append", default=[], metavar=("FILE", "N"),
                    help="also N non-empty lines spread over FILE (skipped if FILE is missing)")
    ap.add_argument("--multiline", default=os.path.join(HERE, "bpe_multiline"),
                    help="directory of *.txt files compared whole (default: bpe_multiline/)")
    ap.add_argument("--cache-dir", help="keep the built vocab GGUF here and reuse it")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel tern runs")
    ap.add_argument("--merges", choices=["all-splits", "canonical"], default="all-splits")
    ap.add_argument("--pre", choices=["llama3", "none"], default="llama3")
    ap.add_argument("--max-show", type=int, default=8, help="mismatches printed in full")
    ap.add_argument("--expect-mismatch", action="store_true", help="pass iff a mismatch is found")
    args = ap.parse_args(argv)

    if bpe_reference.regex is None:
        print("compare_bpe: the 'regex' module is missing (apt-get install python3-regex); skipping")
        return SKIP
    if not os.path.isfile(args.tiktoken):
        print(f"compare_bpe: {args.tiktoken} does not exist; skipping")
        return SKIP
    if not os.access(args.tern, os.X_OK):
        print(f"compare_bpe: tern binary {args.tern} is not executable")
        return 1

    t0 = time.time()
    enc = bpe_reference.Encoder(args.tiktoken)
    with tempfile.TemporaryDirectory(prefix="compare_bpe.") as work:
        vocab = build_vocab(args, work)
        t_vocab = time.time() - t0
        tern = Tern(args.tern, vocab)

        # Collect the cases; per-line texts go to files of their own (bytes exactly as in the text).
        cases: list[Case] = []

        def add_line(label: str, text: str) -> None:
            path = os.path.join(work, f"line{len(cases)}.txt")
            with open(path, "wb") as f:
                f.write(text.encode("utf-8"))
            cases.append(Case(label, text, True, ["-f", path]))

        n_lines = 0
        for path in args.corpus:
            for i, line in enumerate(bpe_reference.read_lines(path)):
                add_line(f"{os.path.basename(path)}:{i + 1}", line)
                n_lines += 1
        for path, n in args.sample:
            if not os.path.isfile(path):
                print(f"note: sample file {path} does not exist; not used")
                continue
            for line_no, line in sample_lines(path, int(n)):
                add_line(f"{os.path.basename(path)}:{line_no}", line)
                n_lines += 1
        whole = list(args.corpus)
        if args.multiline and os.path.isdir(args.multiline):
            whole += sorted(os.path.join(args.multiline, f) for f in os.listdir(args.multiline)
                            if f.endswith(".txt"))
        for path in whole:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            cases.append(Case(f"{os.path.basename(path)} (whole file)", text, False, ["-f", path]))
        for text in ["Hello world", "I'M here, they'll go: 1234567 3.14159!", "  two  spaces  ",
                     "Привет, мир! 你好 👍🏽"]:
            cases.append(Case("-p", text, True, ["-p", text]))

        for case in cases:
            case.expected = enc.encode(case.text, bos=case.bos)
        t_ref = time.time() - t0 - t_vocab

        def run(case: Case) -> None:
            case.got, case.error = tern.tokenize(case.source, case.bos)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(run, cases))
        t_tern = time.time() - t0 - t_vocab - t_ref

    bad = [c for c in cases if c.got != c.expected]
    for case in bad[:args.max_show]:
        show(enc, case)
    if len(bad) > args.max_show:
        print(f"... and {len(bad) - args.max_show} more mismatches:")
        print("  " + ", ".join(c.label for c in bad[args.max_show:args.max_show + 60]))
    n_tokens = sum(len(c.expected) for c in cases)
    print(f"compare_bpe: {len(cases)} texts ({n_lines} lines, {len(whole)} whole files, "
          f"{len(cases) - n_lines - len(whole)} via -p), {n_tokens} reference tokens, "
          f"{len(bad)} mismatches; merges {args.merges}, pre {args.pre}; "
          f"vocab {t_vocab:.1f} s, reference {t_ref:.1f} s, tern {t_tern:.1f} s")
    if args.expect_mismatch:
        print("expected a mismatch: " + ("found (pass)" if bad else "none found (FAIL)"))
        return 0 if bad else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
