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

import collections
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


# ---- truecasing ------------------------------------------------------------------------------
# tinystories-head.txt is the original-case text of the first 942,640 characters (22%) of
# tinystories-5000-lower.txt. With --case true the model is trained on cased text: that prefix
# exactly, and the rest recased by rules whose word statistics come from the prefix:
#  - a word takes the form it has most often in the prefix when not at a sentence start
#    (lily -> Lily, i -> I, tv -> TV), unknown words stay lower-case;
#  - within a story, the word after "named" (and after "called" / "name was" / "name is" when the
#    prefix does not know it as a lower-case word) and an unknown word that starts two or more
#    sentences are names and capitalised throughout the story;
#  - sentence starts are capitalised: the start of a line, after . ! ? and spaces, after an
#    opening quote; after a closing quote (e.g. '"Yes!" she said') only if that word was mostly
#    capitalised in that position in the prefix.
# Measured by learning from the first half of the prefix's stories and recasing the second half:
# 99.58% of 112,112 words get exactly their original case; most of the rest are ambiguous in the
# source itself (mom / Mom, mommy / Mommy).
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_AFTER_CLOSING_QUOTE = re.compile(r'[.!?]+["\']\s+["\']?([a-zA-Z])')
_NAME_CUE = re.compile(r"\b(named|called|name was|name is)\s+([a-z]+)")
_NOT_NAMES = {"a", "an", "the", "it", "him", "her", "them", "me", "you", "us", "out", "to", "for",
              "and", "his", "my", "their", "its", "this", "that", "back", "up", "over", "after"}


def _sentence_starts(text: str) -> tuple[set, set]:
    """(indices of words that start a sentence, of words right after a closing quote)."""
    s = set()
    for m in re.finditer(r'(?:^|\n)[ "\']*([a-zA-Z])', text):
        s.add(m.start(1))
    for m in re.finditer(r'[.!?]+\s+["\']?([a-zA-Z])', text):
        s.add(m.start(1))
    for m in re.finditer(r'(?:^|[\s(])"([a-zA-Z])', text):
        s.add(m.start(1))
    q = {m.start(1) for m in _AFTER_CLOSING_QUOTE.finditer(text)} - s
    return s, q


class Truecaser:
    def __init__(self, cased: str):
        s, q = _sentence_starts(cased)
        stats = collections.defaultdict(collections.Counter)
        after_q = collections.defaultdict(collections.Counter)
        for m in _WORD.finditer(cased):
            w = m.group()
            if m.start() in s:
                continue
            if m.start() in q:
                after_q[w.lower()][w[0].isupper()] += 1
            else:
                stats[w.lower()][w] += 1
        self.table = {}
        for w, c in stats.items():
            form, n = c.most_common(1)[0]
            if n / sum(c.values()) > 0.5:
                self.table[w] = form
        self.lower_common = {w for w, c in stats.items() if c[w] >= 3 and c[w] / sum(c.values()) > 0.5}
        self.after_quote = {w: c[True] >= c[False] for w, c in after_q.items()}

    def story(self, lower: str) -> str:
        names = {}
        for m in _NAME_CUE.finditer(lower):
            cue, w = m.group(1), m.group(2)
            if w in _NOT_NAMES:
                continue
            if cue == "named" or (w not in self.lower_common and w not in self.table):
                names[w] = w.capitalize()
        s, q = _sentence_starts(lower)
        at_start = collections.Counter(m.group() for m in _WORD.finditer(lower) if m.start() in s)
        for w, n in at_start.items():
            if n >= 2 and "'" not in w and w not in self.table and w not in names:
                names[w] = w.capitalize()
        out = list(lower)
        for m in _WORD.finditer(lower):
            w = m.group()
            base, _, suffix = w.partition("'")
            f = names.get(w) or self.table.get(w)
            if f is None and suffix and (base in names or self.table.get(base, base)[0].isupper()):
                f = (names.get(base) or self.table.get(base)) + "'" + suffix
            f = f or w
            if m.start() in s or (m.start() in q and self.after_quote.get(w, True)):
                f = f[0].upper() + f[1:]
            out[m.start():m.end()] = f
        return "".join(out)


def truecase(lower: str, cased_prefix: str) -> str:
    """lower: the cleaned lower-case corpus; cased_prefix: the cleaned original-case text of its
    beginning. Returns the prefix as is followed by the rest recased story by story."""
    if not lower.startswith(cased_prefix.lower()):
        raise ValueError("the cased text is not a prefix of the lower-case corpus")
    tc = Truecaser(cased_prefix)
    rest = re.split(r"((?<!\n)\n(?!\n))", lower[len(cased_prefix):])
    return cased_prefix + "".join(tc.story(p) if i % 2 == 0 else p for i, p in enumerate(rest))


def split_stories(text: str) -> list[str]:
    """Stories = the pieces between single newlines (blank lines separate paragraphs)."""
    parts = re.split(r"(?<!\n)\n(?!\n)", text)
    return [p.strip("\n") for p in parts if p.strip()]


def prepare_splits(corpus: str, work: str, valid_fraction: float, cased_prefix: str | None = None) -> dict:
    """Writes work/train.txt and work/valid.txt (stories joined by a newline, as in the corpus)
    and returns {'train': [stories], 'valid': [stories]}. With cased_prefix (a file holding the
    original-case beginning of the lower-case corpus) the text is truecased first."""
    with open(corpus, encoding="utf-8") as f:
        text = clean_text(f.read())
    if cased_prefix:
        with open(cased_prefix, encoding="utf-8") as f:
            text = truecase(text, clean_text(f.read()))
    stories = split_stories(text)
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
