#!/usr/bin/env python3
"""Write a vocabulary-only GGUF v3 file (no tensors) from a LLaMA-3 tiktoken rank file.

    tiktoken_to_gguf.py IN.tiktoken OUT.gguf [--pre llama3|none] [--arch NAME] [--name NAME]
                        [--merges all-splits|canonical]

Input: one "base64(token bytes) rank" per line, ranks 0..N-1 (LLaMA-3: N = 128000). Output: the
tokenizer keys of a LLaMA-3 / BitNet-b1.58-2B-4T GGUF (tokenizer.ggml.model = "gpt2"):

    tokens      N base tokens in GPT-2 byte-to-unicode form (id = rank), then the 256 LLaMA-3
                special tokens at ids N..N+255 (SPECIAL_TOKENS below)
    token_type  i32: 1 normal, 3 control (the specials)
    scores      f32 zeros
    merges      "left right" strings in rank order, GPT-2-mapped (see --merges)
    bos 128000, eos 128001, eot 128009, add_bos_token true
    pre         "llama-bpe", or no key at all with --pre none (as in the official 2B-4T file)

Merges (--merges):
  all-splits  (default) every split of a token into two parts that are both tokens, grouped by
              the token's rank and ordered within a group by (rank left, rank right). This is how
              Hugging Face's TikTokenConverter writes LLaMA-3's tokenizer.json, and it reproduces
              the official merge count (280,147 for LLaMA-3 / BitNet-b1.58-2B-4T). A merges-based
              BPE with this list merges exactly the pairs tiktoken merges (any adjacent pair whose
              concatenation is a token, lowest token rank first).
  canonical   for every multi-byte token of rank r, byte-level BPE on its bytes using only ranks
              < r; when that ends in exactly two parts they are the merge of rank r. Tokens that
              end in more parts are reported on stderr and get no merge (678 of LLaMA-3's). This
              list is NOT equivalent to tiktoken: BPE does not form tokens in increasing rank
              order (joining two parts can expose a pair whose token has a lower rank), and those
              late pairs are often not a token's canonical split. Example: " nghi\u1ec7a" is
              [" nghi\u1ec7", "a"] in tiktoken but 3 tokens with the canonical list; about 1 in
              2000 pieces made of a token plus one letter differ like this. Kept for comparison.

The GGUF writer is this file's own (little-endian; string = u64 length + bytes; array = u32
element type + u64 count + elements) and does not use gguf-py.
"""

from __future__ import annotations

import argparse
import base64
import struct
import sys
import time

# GGUF metadata value types.
VT_U32, VT_I32, VT_F32, VT_BOOL, VT_STRING, VT_ARRAY = 4, 5, 6, 7, 8, 9

# The 256 LLaMA-3 special tokens, ids 128000..128255 (for a base vocabulary of 128000).
# Assumption: LLaMA-3.1's naming (Meta's llama3.1 tokenizer.py / tokenizer_config.json). LLaMA-3.0
# (and BitNet-b1.58-2B-4T, which took its tokenizer) named 128004, 128005, 128008 and 128010
# <|reserved_special_token_2..5|> and numbered the rest from 6 up to 250; the ids that matter --
# begin_of_text 128000, end_of_text 128001, start/end_header 128006/7, eot_id 128009 -- are the
# same in both, and all specials are control tokens either way.
_NAMED_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|reserved_special_token_2|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
]
NUM_SPECIALS = 256
SPECIAL_TOKENS = _NAMED_SPECIALS + [
    f"<|reserved_special_token_{i}|>" for i in range(3, 3 + NUM_SPECIALS - len(_NAMED_SPECIALS))
]
assert len(SPECIAL_TOKENS) == NUM_SPECIALS
assert SPECIAL_TOKENS[-1] == "<|reserved_special_token_247|>"

TOKEN_TYPE_NORMAL, TOKEN_TYPE_CONTROL = 1, 3


def gpt2_byte_to_unicode() -> list[str]:
    """GPT-2's byte -> printable character table: bytes 33-126, 161-172 and 174-255 map to the same
    code point; the other 68 bytes map, in increasing byte order, to U+0100, U+0101, ..."""
    table = [""] * 256
    extra = 0
    for b in range(256):
        if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    assert extra == 68
    return table


def load_tiktoken(path: str) -> list[bytes]:
    """Token bytes indexed by rank; the ranks must be exactly 0..N-1 and the tokens distinct."""
    by_rank: dict[int, bytes] = {}
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 2:
                raise ValueError(f"{path}:{line_no}: expected 'base64 rank', found {line[:80]!r}")
            token, rank = base64.b64decode(fields[0], validate=True), int(fields[1])
            if rank in by_rank:
                raise ValueError(f"{path}:{line_no}: rank {rank} appears twice")
            by_rank[rank] = token
    n = len(by_rank)
    if sorted(by_rank) != list(range(n)):
        raise ValueError(f"{path}: ranks are not exactly 0..{n - 1}")
    tokens = [by_rank[r] for r in range(n)]
    if len(set(tokens)) != n:
        raise ValueError(f"{path}: some token bytes appear under two ranks")
    return tokens


def bpe_below(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """Byte-level BPE of `token` using only merges whose result has rank < max_rank: repeatedly
    join the adjacent pair whose concatenation has the lowest rank (leftmost on ties)."""
    parts = [token[i:i + 1] for i in range(len(token))]
    while len(parts) > 1:
        best_rank, best_i = max_rank, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < best_rank:
                best_rank, best_i = r, i
        if best_i < 0:
            break
        parts[best_i:best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


Merge = tuple[bytes, bytes]


def canonical_merges(tokens: list[bytes]) -> tuple[list[Merge], list[tuple[int, list[bytes]]]]:
    """(merges in rank order, [(rank, parts) for multi-byte tokens not ending in two parts])."""
    ranks = {t: r for r, t in enumerate(tokens)}
    merges, failures = [], []
    for rank, token in enumerate(tokens):
        if len(token) < 2:
            continue
        parts = bpe_below(ranks, token, rank)
        if len(parts) == 2:
            merges.append((parts[0], parts[1]))
        else:
            failures.append((rank, parts))
    return merges, failures


def all_split_merges(tokens: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Every (left, right) with left, right and left+right all tokens, ordered by (rank of
    left+right, rank of left, rank of right)."""
    ranks = {t: r for r, t in enumerate(tokens)}
    merges = []
    for token in tokens:
        local = []
        for i in range(1, len(token)):
            left, right = token[:i], token[i:]
            rl, rr = ranks.get(left), ranks.get(right)
            if rl is not None and rr is not None:
                local.append((rl, rr, left, right))
        local.sort()
        merges.extend((left, right) for _, _, left, right in local)
    return merges


class GgufWriter:
    """Minimal GGUF v3 metadata writer: KV pairs only, zero tensors."""

    def __init__(self) -> None:
        self._kvs: list[bytes] = []

    @staticmethod
    def _string(text: str | bytes) -> bytes:
        data = text.encode("utf-8") if isinstance(text, str) else text
        return struct.pack("<Q", len(data)) + data

    def _add(self, key: str, value_type: int, payload: bytes) -> None:
        self._kvs.append(self._string(key) + struct.pack("<I", value_type) + payload)

    def add_string(self, key: str, value: str) -> None:
        self._add(key, VT_STRING, self._string(value))

    def add_u32(self, key: str, value: int) -> None:
        self._add(key, VT_U32, struct.pack("<I", value))

    def add_bool(self, key: str, value: bool) -> None:
        self._add(key, VT_BOOL, struct.pack("<B", 1 if value else 0))

    def add_string_array(self, key: str, values: list[str]) -> None:
        body = b"".join(self._string(v) for v in values)
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_STRING, len(values)) + body)

    def add_i32_array(self, key: str, values: list[int]) -> None:
        body = struct.pack(f"<{len(values)}i", *values)
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_I32, len(values)) + body)

    def add_f32_array(self, key: str, values: list[float]) -> None:
        body = struct.pack(f"<{len(values)}f", *values)
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_F32, len(values)) + body)

    def write(self, path: str) -> int:
        header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(self._kvs))
        data = header + b"".join(self._kvs)
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


def build_gguf(tokens: list[bytes], merges: list[tuple[bytes, bytes]], *, arch: str, name: str,
               pre: str | None) -> GgufWriter:
    b2u = gpt2_byte_to_unicode()

    def mapped(b: bytes) -> str:
        return "".join(b2u[x] for x in b)

    n_base = len(tokens)
    token_strings = [mapped(t) for t in tokens] + SPECIAL_TOKENS
    token_types = [TOKEN_TYPE_NORMAL] * n_base + [TOKEN_TYPE_CONTROL] * NUM_SPECIALS
    special_id = {s: n_base + i for i, s in enumerate(SPECIAL_TOKENS)}

    w = GgufWriter()
    w.add_string("general.architecture", arch)
    w.add_string("general.name", name)
    w.add_string("tokenizer.ggml.model", "gpt2")
    if pre is not None:
        w.add_string("tokenizer.ggml.pre", pre)
    w.add_string_array("tokenizer.ggml.tokens", token_strings)
    w.add_i32_array("tokenizer.ggml.token_type", token_types)
    w.add_f32_array("tokenizer.ggml.scores", [0.0] * len(token_strings))
    w.add_string_array("tokenizer.ggml.merges", [mapped(a) + " " + mapped(b) for a, b in merges])
    w.add_u32("tokenizer.ggml.bos_token_id", special_id["<|begin_of_text|>"])
    w.add_u32("tokenizer.ggml.eos_token_id", special_id["<|end_of_text|>"])
    w.add_u32("tokenizer.ggml.eot_token_id", special_id["<|eot_id|>"])
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="tiktoken rank file (base64 token, rank per line)")
    ap.add_argument("output", help="GGUF file to write")
    ap.add_argument("--pre", choices=["llama3", "none"], default="llama3",
                    help="llama3: tokenizer.ggml.pre = llama-bpe (default); none: omit the key")
    ap.add_argument("--arch", default="bitnet-b1.58",
                    help="general.architecture (default bitnet-b1.58)")
    ap.add_argument("--name", default="llama3-128k vocab", help="general.name")
    ap.add_argument("--merges", choices=["all-splits", "canonical"], default="all-splits",
                    help="how the merges list is derived (see the module docstring)")
    ap.add_argument("--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)

    t0 = time.time()
    tokens = load_tiktoken(args.input)
    if args.merges == "canonical":
        merges, failures = canonical_merges(tokens)
        for rank, parts in failures:
            print(f"tiktoken_to_gguf: token {rank} {tokens[rank]!r} ends in {len(parts)} parts "
                  f"under ranks < {rank}: {parts!r}; no merge written", file=sys.stderr)
        note = f"{len(failures)} tokens without a two-part split"
    else:
        merges = all_split_merges(tokens)
        note = ""
        if not args.quiet:  # the canonical derivation's figures, for comparison
            canonical, failures = canonical_merges(tokens)
            note = (f"canonical derivation: {len(canonical)} merges, {len(failures)} tokens "
                    f"without a two-part split")
    writer = build_gguf(tokens, merges, arch=args.arch, name=args.name,
                        pre=None if args.pre == "none" else "llama-bpe")
    size = writer.write(args.output)
    if not args.quiet:
        print(f"tiktoken_to_gguf: {args.output}: {len(tokens) + NUM_SPECIALS} tokens "
              f"({len(tokens)} base + {NUM_SPECIALS} special), {len(merges)} merges "
              f"({args.merges}; {note}), {size / 2**20:.1f} MiB, {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
