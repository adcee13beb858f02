#!/usr/bin/env python3
"""Independent tiktoken-style byte-level BPE encoder for the LLaMA-3 vocabulary.

    bpe_reference.py TIKTOKEN --text-file F [--bos] [--parse-special]   F's whole text: [1, 2, 3]
    bpe_reference.py TIKTOKEN --lines F [--bos] [--parse-special]       one id list per line of F

Reads the tiktoken rank file directly (one "base64(token bytes) rank" per line; id = rank), never a
GGUF, and uses neither tern's code nor its merges list: it is the reference tern's `tokenize` is
checked against. Needs the `regex` module (Debian: python3-regex) for \\p{L} / \\p{N}.

Algorithm (tiktoken's, for cl100k-style rank files):
  1. Split the text with the original LLaMA-3 pattern PATTERN (below), left to right.
  2. For each piece, take its UTF-8 bytes. If they are a token, emit it whole.
  3. Otherwise start from single bytes and repeatedly join the adjacent pair whose concatenation
     is a token of the lowest rank (leftmost on ties) until no adjacent pair is a token; emit the
     parts.
  4. With bos, prepend <|begin_of_text|> = number of base tokens (128000).
Special tokens in the text are ordinary text ("<|eot_id|>" is 7 tokens) unless --parse-special:
then their exact texts become the special ids (tiktoken's allowed_special="all").

--lines splits the file on "\\n" only, so a "\\r" before it stays part of the line's text; the
text after a final "\\n" counts as a line only if it is not empty.
"""

from __future__ import annotations

import argparse
import base64
import sys

try:
    import regex
except ImportError:  # pragma: no cover
    regex = None

PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
           r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# Names of the 256 specials after the base tokens (LLaMA-3.1 naming; ids 128011.. are
# <|reserved_special_token_3|>..<|reserved_special_token_247|>).
_NAMED_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
                   "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]


class Encoder:
    """Token bytes <-> ids from a tiktoken rank file, and the LLaMA-3 encoding."""

    def __init__(self, tiktoken_path: str) -> None:
        if regex is None:
            raise ImportError("the 'regex' module is required (Debian package python3-regex)")
        self.rank_of: dict[bytes, int] = {}
        with open(tiktoken_path, "rb") as f:
            for line in f:
                if line.strip():
                    b64, rank = line.split()
                    self.rank_of[base64.b64decode(b64)] = int(rank)
        self.bytes_of: dict[int, bytes] = {r: t for t, r in self.rank_of.items()}
        self.n_base = len(self.rank_of)
        self.bos_id = self.n_base
        self._split = regex.compile(PATTERN)
        self.special_ids = {special_name(k): self.n_base + k for k in range(256)}
        self.special_pattern = regex.compile("|".join(
            regex.escape(name) for name in sorted(self.special_ids, key=len, reverse=True)))

    def pieces(self, text: str) -> list[str]:
        return self._split.findall(text)

    def _merge(self, piece: bytes) -> list[int]:
        rank_of = self.rank_of
        whole = rank_of.get(piece)
        if whole is not None:
            return [whole]
        parts = [piece[i:i + 1] for i in range(len(piece))]
        while len(parts) > 1:
            best, best_i = None, -1
            for i in range(len(parts) - 1):
                r = rank_of.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best_i < 0:
                break
            parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
        return [rank_of[p] for p in parts]  # every single byte is a token

    def encode_ordinary(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in self.pieces(text):
            ids.extend(self._merge(piece.encode("utf-8")))
        return ids

    def encode(self, text: str, bos: bool = False, parse_special: bool = False) -> list[int]:
        """The ids of text; parse_special turns the exact text of a special token (for example
        "<|eot_id|>") into that token, and the text between specials is encoded separately."""
        ids = [self.bos_id] if bos else []
        if not parse_special:
            return ids + self.encode_ordinary(text)
        start = 0
        for m in self.special_pattern.finditer(text):
            ids += self.encode_ordinary(text[start:m.start()])
            ids.append(self.special_ids[m.group(0)])
            start = m.end()
        return ids + self.encode_ordinary(text[start:])

    def token_text(self, token_id: int) -> str:
        """A readable form of one token: repr of its bytes, or a special token's name."""
        if token_id in self.bytes_of:
            b = self.bytes_of[token_id]
            try:
                return repr(b.decode("utf-8"))
            except UnicodeDecodeError:
                return repr(b)
        k = token_id - self.n_base
        return special_name(k) if 0 <= k < 256 else f"<invalid id {token_id}>"


def special_name(k: int) -> str:
    """The text of special token k (id = number of base tokens + k), LLaMA-3.1 naming."""
    if k < len(_NAMED_SPECIALS):
        return _NAMED_SPECIALS[k]
    return f"<|reserved_special_token_{k - len(_NAMED_SPECIALS) + 3}|>"


def read_lines(path: str) -> list[str]:
    """The lines of a UTF-8 file split on "\\n" only (see the module docstring)."""
    with open(path, "rb") as f:
        data = f.read().decode("utf-8")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def format_ids(ids: list[int]) -> str:
    return "[" + ", ".join(str(i) for i in ids) + "]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="tiktoken-style LLaMA-3 BPE reference encoder")
    ap.add_argument("tiktoken", help="tiktoken rank file")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--text-file", help="encode the whole file as one text")
    src.add_argument("--lines", help="encode every line of the file separately")
    ap.add_argument("--bos", action="store_true", help="prepend <|begin_of_text|>")
    ap.add_argument("--parse-special", action="store_true",
                    help="turn special-token texts such as <|eot_id|> into their ids")
    args = ap.parse_args(argv)
    if regex is None:
        print("bpe_reference: the 'regex' module is missing (apt-get install python3-regex)",
              file=sys.stderr)
        return 77
    enc = Encoder(args.tiktoken)
    if args.text_file is not None:
        with open(args.text_file, "rb") as f:
            text = f.read().decode("utf-8")
        print(format_ids(enc.encode(text, bos=args.bos, parse_special=args.parse_special)))
    else:
        for line in read_lines(args.lines):
            print(format_ids(enc.encode(line, bos=args.bos, parse_special=args.parse_special)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
