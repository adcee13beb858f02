"""Corpus preparation and the sentencepiece tokenizer for tern's default story model.

The corpus (TinyStories, CDLA-Sharing-1.0, see ../shared/corpus/SOURCES.md) is read from outside
the repository; everything derived from it at training time (the cleaned splits, the tokenizer's
.model, token id arrays) goes to a work directory under build/, never into git.

Cleaning (clean_text): the lower-cased file carries the usual TinyStories mojibake -- UTF-8
punctuation decoded as cp1252 and re-encoded ("\u00e2\u20ac\u2122" for an apostrophe, etc.;
about 2,700 occurrences). These are mapped back to plain ASCII quotes, apostrophes, dashes and
"...", and the few typographic quotes to '"', so that the tokenizer does not spend pieces on them
and the model never prints them. Nothing else is changed (the text stays lower-case).

Stories: in tinystories-5000-lower.txt a story ends with a single newline and paragraphs inside
a story are separated by a blank line, so splitting on a newline that is neither preceded nor
followed by another newline gives the stories (5,545 pieces, a few of them empty or very short
because some stories in the source have single line breaks of their own; that is harmless).
The held-out split is the last `valid_fraction` of the stories.
"""

from __future__ import annotations

import os
import re
import subprocess

# Mojibake -> ASCII, longest first. "\u00e2\u20ac" followed by a lost byte (0x9d, the closing
# double quote, is undefined in cp1252 and was dropped) is a closing double quote.
_MOJIBAKE = [
    ("\u00e2\u20ac\u0153", '"'),    # left double quote
    ("\u00e2\u20ac\u2122", "'"),    # right single quote / apostrophe
    ("\u00e2\u20ac\u02dc", "'"),    # left single quote
    ("\u00e2\u20ac\u201c", "-"),    # en dash
    ("\u00e2\u20ac\u201d", "-"),    # em dash
    ("\u00e2\u20ac\u00a6", "..."),  # ellipsis
    ("\u00e2\u20ac", '"'),          # right double quote (third byte lost)
    ("\u201c", '"'), ("\u201d", '"'), ("\u2018", "'"), ("\u2019", "'"),
]


def clean_text(text: str) -> str:
    for bad, good in _MOJIBAKE:
        text = text.replace(bad, good)
    return text


def split_stories(text: str) -> list[str]:
    """Stories = the pieces between single newlines (blank lines separate paragraphs)."""
    parts = re.split(r"(?<!\n)\n(?!\n)", text)
    return [p.strip("\n") for p in parts if p.strip()]


def prepare_splits(corpus: str, work: str, valid_fraction: float) -> dict:
    """Writes work/train.txt and work/valid.txt (stories joined by a newline, as in the corpus)
    and returns {'train': [stories], 'valid': [stories]}."""
    with open(corpus, encoding="utf-8") as f:
        stories = split_stories(clean_text(f.read()))
    n_valid = max(1, round(len(stories) * valid_fraction))
    splits = {"train": stories[:-n_valid], "valid": stories[-n_valid:]}
    os.makedirs(work, exist_ok=True)
    for name, items in splits.items():
        with open(os.path.join(work, f"{name}.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(items) + "\n")
    return splits


def spm_train_args(input_path: str, model_prefix: str, vocab_size: int) -> list[str]:
    """LLaMA's sentencepiece settings: BPE, byte fallback, identity normaliser, dummy prefix,
    extra whitespace kept, digits split; unk 0, bos 1, eos 2, no pad."""
    return [
        f"--input={input_path}",
        f"--model_prefix={model_prefix}",
        f"--vocab_size={vocab_size}",
        "--model_type=bpe",
        "--character_coverage=1.0",
        "--byte_fallback=true",
        "--split_digits=true",
        "--allow_whitespace_only_pieces=true",
        "--normalization_rule_name=identity",
        "--remove_extra_whitespaces=false",
        "--add_dummy_prefix=true",
        "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1",
        "--input_sentence_size=0",          # use every line of the training split
        "--num_threads=2",
        "--minloglevel=1",
    ]


def train_tokenizer(train_txt: str, model_prefix: str, vocab_size: int) -> str:
    """Trains the sentencepiece model on the training split; returns the .model path.
    Uses the python3-sentencepiece module, or the spm_train CLI when the module is missing."""
    args = spm_train_args(train_txt, model_prefix, vocab_size)
    try:
        import sentencepiece as spm
        spm.SentencePieceTrainer.train(" ".join(args))
    except ImportError:
        subprocess.run(["spm_train", *args], check=True)
    return model_prefix + ".model"
