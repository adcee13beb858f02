#!/usr/bin/env python3
"""Compare `tern tokenize` with the independent tiktoken-style reference on the LLaMA-3 vocabulary.

    compare_bpe.py --tern BIN --tiktoken FILE --corpus FILE [--corpus FILE ...]
                   [--sample FILE N] [--multiline DIR] [--cache-dir DIR] [--jobs N] [--per-line]
                   [--merges all-splits|canonical] [--pre llama3|none] [--max-show 8]
                   [--expect-mismatch]

Steps:
  1. Build a vocab-only GGUF from the tiktoken file with tools/vocab/tiktoken_to_gguf.py (into a
     temporary directory, or reused from --cache-dir when the tiktoken file, the converter and the
     options are unchanged).
  2. Lines: every line of every --corpus file (split on "\\n" only, so a "\\r" stays in its line),
     plus N non-empty lines spread evenly over each --sample file (a missing sample file is noted
     and skipped). Each line's ids, BOS first, must equal bpe_reference's encode(line, bos=True).
  3. Whole files, without BOS (--no-bos): every --corpus file as one text, and every *.txt under
     --multiline (default: bpe_multiline/ beside this script: blank lines, CRLF, indentation).
  4. A few texts through `-p TEXT`, a few with special-token texts and --parse-special, and a
     line with a NUL byte.
Every comparison is exact. Each mismatch prints the text, both id lists and the tokens they
decode to (up to --max-show of them).

tern interface: `TERN tokenize -m VOCAB -f FILE --ids [--no-bos] [--parse-special]` (or `-p TEXT`)
prints one line `[id, id, ...]`. tern loads the 128k vocabulary on every call (~0.5 s), so lines
are batched: a batch is one file "<|begin_of_text|>line1<|begin_of_text|>line2..." tokenised with
--parse-special --no-bos, whose ids are split at each 128000 -- which gives exactly every line's
ids with BOS, since a special token ends a pre-tokenizer piece and BPE never produces 128000.
Lines that contain a special token's text run alone, and so does every line of a batch that
disagrees (to tell a line's own error from a batching one), or of a batch tern cannot run or
split. --per-line runs every line alone.

The reference reads the tiktoken file directly; it shares no code with tern or with the GGUF
converter. --merges and --pre are passed to the converter. --expect-mismatch inverts the verdict
(exit 0 iff some mismatch is found): with --merges canonical, a tern that applies the GGUF's
merges list must disagree with tiktoken on this corpus (see tiktoken_to_gguf.py).

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
BOS_TEXT = "<|begin_of_text|>"
MAX_RERUNS = 40  # lines re-run alone after a batch disagreed (each costs one tern start)

# Texts given with -p (argv): short, no NUL.
PROMPT_TEXTS = ["Hello world", "I'M here, they'll go: 1234567 3.14159!", "  two  spaces  ",
                "Привет, мир! 你好 👍🏽"]
# Texts tokenised with --parse-special (no BOS added; the texts bring their own).
SPECIAL_TEXTS = [
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|begin_of_text|>System: You are a helpful assistant.<|eot_id|>User: Hi<|eot_id|>Assistant: ",
    "a<|eot_id|>b <|eot_id|> c  <|eot_id|>  d\n<|eot_id|>\n",
    "<|reserved_special_token_247|><|python_tag|><|eom_id|><|not_a_token|><|eot_id",
    "plain text with no special token",
]
# Written to files (-f): bytes the corpus file should not hold (git would call it binary).
FILE_TEXTS = ["NUL\x00inside and\x00 after a space", "\x00"]


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
    cmd = [sys.executable, CONVERTER, args.tiktoken, out,
           "--merges", args.merges, "--pre", args.pre, "--quiet"]
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
        self.calls = 0

    def tokenize(self, source: list[str], bos: bool, parse_special: bool = False
                 ) -> tuple[list[int] | None, str]:
        """(ids or None, error text). source: ["-f", path] or ["-p", text]."""
        cmd = [self.binary, "tokenize", "-m", self.vocab, *source, "--ids"]
        if not bos:
            cmd.append("--no-bos")
        if parse_special:
            cmd.append("--parse-special")
        self.calls += 1
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            return None, f"could not run {self.binary}: {e}"
        stdout = r.stdout.decode("utf-8", "replace")
        if r.returncode != 0:
            return None, f"exit {r.returncode}: {r.stderr.decode('utf-8', 'replace').strip()[:500]}"
        ids = parse_ids(stdout)
        if ids is None:
            return None, f"no id list on stdout: {stdout.strip()[:300]!r}"
        return ids, ""


class Case:
    """One text to compare and its outcome. got is None when tern failed (see error); note says
    how tern was run when that matters."""

    def __init__(self, label: str, text: str, *, bos: bool, parse_special: bool = False,
                 source: list[str] | None = None) -> None:
        self.label, self.text, self.bos, self.parse_special = label, text, bos, parse_special
        self.source = source  # None: a corpus line (batched or written to a file when run)
        self.expected: list[int] = []
        self.got: list[int] | None = None
        self.error = ""
        self.note = ""

    def ok(self) -> bool:
        return self.got == self.expected and not self.note


def sample_lines(path: str, n: int) -> list[tuple[int, str]]:
    lines = [(i + 1, s) for i, s in enumerate(bpe_reference.read_lines(path)) if s.strip()]
    if n >= len(lines):
        return lines
    return [lines[(k * len(lines)) // n] for k in range(n)]


def show(enc: bpe_reference.Encoder, case: Case) -> None:
    flags = f"bos={case.bos}" + (", parse_special" if case.parse_special else "")
    print(f"MISMATCH {case.label} ({flags})")
    print(f"  text:     {case.text[:300]!r}{' ...' if len(case.text) > 300 else ''}")
    if case.note:
        print(f"  note:     {case.note}")
    if case.got is None:
        print(f"  tern:     error: {case.error}")
        print(f"  expected: {case.expected}")
        return
    if case.got == case.expected:
        return
    first = next((i for i, (a, b) in enumerate(zip(case.got, case.expected)) if a != b),
                 min(len(case.got), len(case.expected)))
    print(f"  tern:     {case.got}")
    print(f"  expected: {case.expected}")
    lo = max(0, first - 3)
    print(f"  first difference at index {first}; tokens from index {lo}:")
    print("    tern:     " + " ".join(enc.token_text(i) for i in case.got[lo:lo + 12]))
    print("    expected: " + " ".join(enc.token_text(i) for i in case.expected[lo:lo + 12]))


def run_lines(tern: Tern, enc: bpe_reference.Encoder, lines: list[Case], work: str,
              jobs: int, per_line: bool) -> None:
    """Fill in got for the corpus lines: batched where possible (see the module docstring)."""
    counter = iter(range(10**9))

    def alone(case: Case) -> None:
        path = os.path.join(work, f"line{next(counter)}.txt")
        with open(path, "wb") as f:
            f.write(case.text.encode("utf-8"))
        case.got, case.error = tern.tokenize(["-f", path], bos=True)

    batchable = [] if per_line else [c for c in lines if enc.special_pattern.search(c.text) is None]
    in_batch = {id(c) for c in batchable}
    singles = [c for c in lines if id(c) not in in_batch]
    n_batches = min(len(batchable), max(1, jobs))
    batches = [batchable[k::n_batches] for k in range(n_batches)]
    wrong_in_batch: list[Case] = []

    def run_batch(batch: list[Case]) -> None:
        path = os.path.join(work, f"batch{next(counter)}.txt")
        with open(path, "wb") as f:
            f.write("".join(BOS_TEXT + c.text for c in batch).encode("utf-8"))
        got, error = tern.tokenize(["-f", path], bos=False, parse_special=True)
        starts = [i for i, t in enumerate(got or []) if t == enc.bos_id]
        if got is None or len(starts) != len(batch) or (starts and starts[0] != 0):
            # Not this comparison's subject (the --parse-special cases test that): run them alone.
            what = error or f"{len(starts)} BOS ids for {len(batch)} lines"
            print(f"note: a batch of {len(batch)} lines failed ({what}); running them one by one")
            singles.extend(batch)
            return
        for c, a, b in zip(batch, starts, starts[1:] + [len(got)]):
            c.got = got[a:b]
            if c.got != c.expected:
                wrong_in_batch.append(c)

    def rerun(case: Case) -> None:
        """A line a batch got wrong, alone: is the error the line's own, or the batching's?"""
        batch_got = case.got
        alone(case)
        if case.got == case.expected:
            case.note = (f"right alone, but wrong inside a batch (after {BOS_TEXT} with "
                         f"--parse-special): {batch_got}")
        elif case.got != batch_got:
            case.note = f"inside a batch: {batch_got}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(run_batch, batches))
        list(pool.map(alone, singles))
        for case in wrong_in_batch[MAX_RERUNS:]:
            case.note = "as tokenised inside a batch (not re-run alone)"
        list(pool.map(rerun, wrong_in_batch[:MAX_RERUNS]))


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
    ap.add_argument("--per-line", action="store_true", help="one tern run per line (slow)")
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

        lines: list[Case] = []
        for path in args.corpus:
            for i, line in enumerate(bpe_reference.read_lines(path)):
                lines.append(Case(f"{os.path.basename(path)}:{i + 1}", line, bos=True))
        for path, n in args.sample:
            if not os.path.isfile(path):
                print(f"note: sample file {path} does not exist; not used")
                continue
            for line_no, line in sample_lines(path, int(n)):
                lines.append(Case(f"{os.path.basename(path)}:{line_no}", line, bos=True))

        others: list[Case] = []
        whole = list(args.corpus)
        if args.multiline and os.path.isdir(args.multiline):
            whole += sorted(os.path.join(args.multiline, f) for f in os.listdir(args.multiline)
                            if f.endswith(".txt"))
        for path in whole:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            others.append(Case(f"{os.path.basename(path)} (whole file)", text, bos=False,
                               source=["-f", path]))
        for text in PROMPT_TEXTS:
            others.append(Case("-p", text, bos=True, source=["-p", text]))
        for k, text in enumerate(SPECIAL_TEXTS + FILE_TEXTS):
            path = os.path.join(work, f"extra{k}.txt")
            with open(path, "wb") as f:
                f.write(text.encode("utf-8"))
            special = k < len(SPECIAL_TEXTS)
            others.append(Case("--parse-special" if special else "NUL", text, bos=not special,
                               parse_special=special, source=["-f", path]))

        for case in lines + others:
            case.expected = enc.encode(case.text, bos=case.bos, parse_special=case.parse_special)
        t_ref = time.time() - t0 - t_vocab

        run_lines(tern, enc, lines, work, args.jobs, args.per_line)

        def run_other(case: Case) -> None:
            case.got, case.error = tern.tokenize(case.source, case.bos, case.parse_special)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(run_other, others))
        t_tern = time.time() - t0 - t_vocab - t_ref

    cases = lines + others
    bad = [c for c in cases if not c.ok()]
    for case in bad[:args.max_show]:
        show(enc, case)
    if len(bad) > args.max_show:
        print(f"... and {len(bad) - args.max_show} more mismatches:")
        print("  " + ", ".join(c.label for c in bad[args.max_show:args.max_show + 60]))
    n_tokens = sum(len(c.expected) for c in cases)
    print(f"compare_bpe: {len(cases)} texts ({len(lines)} lines, {len(whole)} whole files, "
          f"{len(others) - len(whole)} others), {n_tokens} reference tokens, {len(bad)} mismatches; "
          f"merges {args.merges}, pre {args.pre}; {tern.calls} tern runs; "
          f"vocab {t_vocab:.1f} s, reference {t_ref:.1f} s, tern {t_tern:.1f} s")
    if args.expect_mismatch:
        print("expected a mismatch: " + ("found (pass)" if bad else "none found (FAIL)"))
        return 0 if bad else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
