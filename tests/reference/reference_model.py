#!/usr/bin/env python3
"""Independent NumPy reference forward pass for tern's ternary LLM architectures.

Implements llama / bitnet / bitnet-b1.58 (alias bitnet-25) from the architecture description
(pre-norm blocks, RMSNorm, RoPE NORM or NEOX, GQA causal attention with a KV cache, SwiGLU or
ReLU^2 FFN, optional sub-norms, BitLinear with per-token int8 absmax activations), reading the
weights with gguf_reference.py. It shares no code with tern.

Numerics. Where BitLinear's activation quantisation is sensitive (RMSNorm, RoPE, the activation
scale and rounding), the float32 steps are reproduced as specified. Integer dot products are exact
(computed in float64, whose 53-bit mantissa holds every possible sum here). Float matmuls and
attention are computed in float64 and rounded to float32, i.e. closer to exact than any float32
kernel. Tokens are processed one at a time: a batched prompt must give the same result.

Rounding-flip support (for compare_logits.py). A rounding whose input lies within float noise of
the midpoint between its two candidate results may legitimately go the other way in another
implementation: the int8 activation rounding x*s_a near a .5 tie, and the float16 rounding of a
K/V cache value near an f16 midpoint. Session(record_ties=(q_window, kv_window)) records such
near-ties (NearTie, each with a hashable key) and Session(forced_flips={key, ...}) takes the listed
roundings the other way.

CLI:
    reference_model.py MODEL --prompt 1,2,3 [--decode 4,5] [--kv f16|f32] --out FILE.f32
writes float32 little-endian logits, (1 + #decode) rows x n_vocab: after the whole prompt (its
last position), then after each decode token -- the same layout as tern_logits.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import numpy as np

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reference import BITNET_ARCHS, GGUFError, GGUFFile  # noqa: E402

F32 = np.float32
F64 = np.float64

# Deliberate bugs, used only to prove that the comparison is sensitive enough: a mutated reference
# must NOT match tern. Never enabled by default.
MUTATIONS = {
    "rope_style": "use NORM RoPE where NEOX is right and vice versa",
    "rope_pos": "rotate by position p + 1 instead of p",
    "no_sub_norm": "skip attn_sub_norm / ffn_sub_norm (bitnet archs)",
    "gqa_modulo": "map query head h to kv head h % n_head_kv instead of h // (n_head / n_head_kv)",
    "act_swap": "SiLU <-> ReLU^2 in the FFN gate",
    "no_act_quant": "BitLinear without int8 activation quantisation",
    "quant_trunc": "activation quantisation truncates instead of rounding half-even",
    "attn_scale": "scores scaled by 1/head_dim instead of 1/sqrt(head_dim)",
    "kv_no_round": "keep the KV cache in float32 even when f16 is requested",
}


# ---- primitives -------------------------------------------------------------------------------

def rmsnorm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    """x / sqrt(mean(x^2) + eps) * weight: sum of squares in float64, the rest in float32."""
    x = x.astype(F32, copy=False)
    mean = F32(np.sum(x.astype(F64) ** 2) / x.size)
    denom = np.sqrt(mean + F32(eps), dtype=F32)
    return ((x / denom).astype(F32) * weight).astype(F32)


def activation_scale(x: np.ndarray) -> np.float32:
    """s_a = 127 / max(max|x|, 1e-5), in float32."""
    amax = max(F32(np.max(np.abs(x))), F32(1e-5))
    return F32(F32(127) / amax)


def silu(x: np.ndarray) -> np.ndarray:
    x64 = x.astype(F64)
    return (x64 / (1.0 + np.exp(-x64))).astype(F32)


def relu_sqr(x: np.ndarray) -> np.ndarray:
    r = np.maximum(x, F32(0))
    return (r * r).astype(F32)


@dataclass
class QuantizedInput:
    """One token's BitLinear input: int8 values (held as float64) and the scale s_a."""
    q: np.ndarray
    s_a: np.float32


@dataclass
class NearTie:
    """A rounding whose input is within `distance` (relative) of the midpoint of its two results.

    kind "int8": BitLinear input x*s_a near a .5 tie; key ("q", call, element) where call is the
    quantisation call's sequence number in the session. kind "kv": a K/V value near a float16
    rounding midpoint; key ("kv", position, layer, "k"|"v", element)."""
    key: tuple
    kind: str
    position: int    # token position being processed
    label: str       # e.g. "blk.1.ffn_down" or "blk.0.k"
    element: int
    value: float
    distance: float


def f16_flip_other(x: np.ndarray, rounded: np.ndarray) -> np.ndarray:
    """The float16 neighbour of x on the other side from `rounded` (= x rounded to float16)."""
    toward = np.where(rounded.astype(F64) > x.astype(F64), -np.inf, np.inf).astype(np.float16)
    return np.nextafter(rounded, toward)


class Linear:
    """One linear layer y = W x (W: M x K) with tern's semantics for its weight type.

    Ternary weights (I2_S/TQ1_0/TQ2_0) always take the BitLinear path: exact integer sums of trits
    times the int8 input, then / s_a * s_w. Float weights take it too when `bitlinear` (every block
    linear of the bitnet archs): W (q / s_a). Otherwise (llama float layers, a float lm_head) the
    layer is a plain float matmul of the unquantised input.
    """

    def __init__(self, gguf: GGUFFile, name: str, bitlinear: bool):
        self.name = name
        self.ternary = gguf.is_ternary(name + ".weight")
        self.bitlinear = bitlinear or self.ternary
        if self.ternary:
            trits, scale = gguf.ternary(name + ".weight")
            self.trits = trits.astype(F64)               # exact small integers
            self.single = scale.single
            self.blocks = scale.blocks
            self.block = scale.block
            self.rows, self.cols = trits.shape
        else:
            self.weight = gguf.dequantize(name + ".weight").astype(F64)
            self.rows, self.cols = self.weight.shape
        self.out_scale = None
        if name + ".scale" in gguf.tensors:
            self.out_scale = F32(gguf.dequantize(name + ".scale").reshape(-1)[0])

    def __call__(self, x: np.ndarray, xq: QuantizedInput | None) -> np.ndarray:
        assert x.shape == (self.cols,), (self.name, x.shape, self.cols)
        if not self.bitlinear or xq is None:       # xq is None only under "no_act_quant"
            if self.ternary:
                y = self._ternary(x.astype(F64), F32(1))
            else:
                y = (self.weight @ x.astype(F64)).astype(F32)
        elif self.ternary:
            y = self._ternary(xq.q, xq.s_a)
        else:
            xd = (xq.q.astype(F32) / xq.s_a).astype(F32)
            y = (self.weight @ xd.astype(F64)).astype(F32)
        if self.out_scale is not None:
            y = (y * self.out_scale).astype(F32)
        return y

    def _ternary(self, q: np.ndarray, s_a: np.float32) -> np.ndarray:
        if self.single is not None:
            acc = self.trits @ q                         # exact integer sums
            return ((acc.astype(F32) / s_a).astype(F32) * self.single).astype(F32)
        # Per-block scales that differ: sum float32(acc_block) * d_block, then / s_a.
        nb = self.cols // self.block
        acc = np.einsum("mbk,bk->mb", self.trits.reshape(self.rows, nb, self.block),
                        q.reshape(nb, self.block))
        y = np.sum(acc.astype(F32).astype(F64) * self.blocks.astype(F64), axis=1)
        return (y.astype(F32) / s_a).astype(F32)


# ---- the model ------------------------------------------------------------------------------

class ReferenceModel:
    """Architecture description + weights. Call new_session() to evaluate tokens."""

    def __init__(self, path: str, mutations=()):
        self.mutations = frozenset(mutations)
        unknown = self.mutations - set(MUTATIONS)
        if unknown:
            raise ValueError(f"unknown mutation(s) {sorted(unknown)}; known: {sorted(MUTATIONS)}")
        g = GGUFFile(path)
        self.gguf = g
        arch = g.architecture
        if arch not in ("llama",) + BITNET_ARCHS:
            raise GGUFError(f"unsupported architecture {arch!r}")
        self.arch = arch

        def hp(key, default=None):
            value = g.get(f"{arch}.{key}", default)
            if value is None:
                raise GGUFError(f"missing metadata {arch}.{key}")
            return value

        self.n_embd = int(hp("embedding_length"))
        self.n_layer = int(hp("block_count"))
        self.n_ff = int(hp("feed_forward_length"))
        self.n_head = int(hp("attention.head_count"))
        self.n_head_kv = int(hp("attention.head_count_kv", self.n_head))
        self.eps = float(F32(hp("attention.layer_norm_rms_epsilon", 1e-5)))
        self.rope_base = float(hp("rope.freq_base", 10000.0))
        if self.n_embd % self.n_head or self.n_head % self.n_head_kv:
            raise GGUFError("inconsistent head counts")
        self.head_dim = self.n_embd // self.n_head
        self.n_rot = int(hp("rope.dimension_count", self.head_dim))
        if self.n_rot % 2 or self.n_rot > self.head_dim:
            raise GGUFError(f"bad rope.dimension_count {self.n_rot}")

        bitnet = arch in BITNET_ARCHS
        mut = self.mutations
        self.rope_neox = bitnet != ("rope_style" in mut)          # bitnet*: NEOX, llama: NORM
        self.sub_norms = bitnet and "no_sub_norm" not in mut
        relu2 = arch in ("bitnet-b1.58", "bitnet-25")              # bitnet: SiLU, llama: SiLU
        self.act = relu_sqr if relu2 != ("act_swap" in mut) else silu

        self.tok_embd = g.dequantize("token_embd.weight")           # (n_vocab, n_embd) float32
        self.n_vocab, embd_cols = self.tok_embd.shape
        if embd_cols != self.n_embd:
            raise GGUFError("token_embd width != embedding_length")

        def norm(name):
            return g.dequantize(name + ".weight").astype(F32).reshape(-1)

        self.layers = []
        for i in range(self.n_layer):
            p = f"blk.{i}."
            layer = {"attn_norm": norm(p + "attn_norm"), "ffn_norm": norm(p + "ffn_norm")}
            for lin in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"):
                layer[lin] = Linear(g, p + lin, bitlinear=bitnet)
            if bitnet:
                layer["attn_sub_norm"] = norm(p + "attn_sub_norm")
                layer["ffn_sub_norm"] = norm(p + "ffn_sub_norm")
            self.layers.append(layer)
        self.output_norm = norm("output_norm")
        # The lm_head is a plain float matmul (no activation quantisation) unless it is ternary.
        self.output = Linear(g, "output" if "output.weight" in g.tensors else "token_embd",
                             bitlinear=False)

    def new_session(self, kv: str = "f16", **kwargs) -> "Session":
        return Session(self, kv, **kwargs)


class Session:
    """A KV cache plus the position counter.

    record_ties: (q_window, kv_window): int8 roundings within q_window (relative) of a .5 tie and
    f16 K/V roundings within kv_window of an f16 midpoint are appended to self.near_ties.
    forced_flips: set of NearTie keys whose rounding goes the other way (used to explain rare,
    legitimate differences to another implementation).
    """

    def __init__(self, model: ReferenceModel, kv: str = "f16", record_ties=(0.0, 0.0),
                 forced_flips=frozenset()):
        if kv not in ("f16", "f32"):
            raise ValueError("kv must be f16 or f32")
        self.m = model
        self.kv_dtype = np.float16 if kv == "f16" and "kv_no_round" not in model.mutations else F32
        self.k_cache = [[] for _ in range(model.n_layer)]  # per layer: list of (n_head_kv, head_dim)
        self.v_cache = [[] for _ in range(model.n_layer)]
        self.pos = 0
        self.q_window, self.kv_window = record_ties
        self.near_ties: list[NearTie] = []
        self.forced = {}                     # site -> list of elements
        for key in forced_flips:
            self.forced.setdefault(key[:-1], []).append(key[-1])
        self.n_quant_calls = 0
        self.calls_at_pos: list[int] = []   # n_quant_calls when each position started

    def fork(self, pos: int, record_ties=(0.0, 0.0), forced_flips=frozenset()) -> "Session":
        """A new session holding this one's state before position `pos` (its KV cache, call
        numbering and near-ties), with different recording / forced flips from `pos` on."""
        s = Session(self.m, "f16" if self.kv_dtype == np.float16 else "f32", record_ties, forced_flips)
        s.kv_dtype = self.kv_dtype
        s.k_cache = [list(c[:pos]) for c in self.k_cache]
        s.v_cache = [list(c[:pos]) for c in self.v_cache]
        s.pos = pos
        s.n_quant_calls = self.calls_at_pos[pos]
        s.calls_at_pos = self.calls_at_pos[:pos]
        s.near_ties = [t for t in self.near_ties if t.position < pos]
        return s

    # -- BitLinear input quantisation (shared by all linears reading the same vector) -------------
    def _quantize(self, x: np.ndarray, label: str, *linears: Linear) -> QuantizedInput | None:
        if not any(lin.bitlinear for lin in linears):
            return None
        call = self.n_quant_calls
        self.n_quant_calls += 1
        if "no_act_quant" in self.m.mutations:
            return None
        x = x.astype(F32, copy=False)
        s_a = activation_scale(x)
        v = (x * s_a).astype(F32)
        rounded = np.trunc(v) if "quant_trunc" in self.m.mutations else np.rint(v)
        if self.q_window > 0:
            tie = np.floor(v).astype(F64) + 0.5
            dist = np.abs(v.astype(F64) - tie) / np.maximum(np.abs(tie), 1.0)
            for e in np.nonzero(dist <= self.q_window)[0]:
                self.near_ties.append(NearTie(("q", call, int(e)), "int8", self.pos, label, int(e),
                                              float(v[e]), float(dist[e])))
        for e in self.forced.get(("q", call), ()):
            lo = np.floor(v[e])
            rounded[e] = lo if rounded[e] != lo else lo + 1
        q = np.clip(rounded, -128, 127)
        return QuantizedInput(q.astype(F64), s_a)

    def _kv_round(self, x: np.ndarray, il: int, which: str) -> np.ndarray:
        """K/V cache storage: float32, or rounded to float16 (round to nearest even)."""
        if self.kv_dtype != np.float16:
            return x.astype(F32)
        flat = x.reshape(-1)
        r = flat.astype(np.float16)
        site = ("kv", self.pos, il, which)
        if self.kv_window > 0:
            other = f16_flip_other(flat, r)
            mid = (r.astype(F64) + other.astype(F64)) / 2
            dist = np.abs(flat.astype(F64) - mid) / np.maximum(np.abs(mid), 1e-30)
            for e in np.nonzero(dist <= self.kv_window)[0]:
                self.near_ties.append(NearTie(site + (int(e),), "kv", self.pos, f"blk.{il}.{which}",
                                              int(e), float(flat[e]), float(dist[e])))
        forced = self.forced.get(site, ())
        if forced:
            r = r.copy()
            idx = np.array(forced)
            r[idx] = f16_flip_other(flat[idx], r[idx])
        return r.reshape(x.shape)

    def _rope(self, x: np.ndarray, pos: int) -> np.ndarray:
        """x: (heads, head_dim) float32. Rotates the first n_rot dims of each head."""
        m = self.m
        half = m.n_rot // 2
        if "rope_pos" in m.mutations:
            pos += 1
        j = np.arange(half, dtype=F64)
        theta = pos * np.power(F64(m.rope_base), -2.0 * j / m.n_rot)
        cos = np.cos(theta).astype(F32)
        sin = np.sin(theta).astype(F32)
        if m.rope_neox:
            i0 = np.arange(half)
            i1 = i0 + half
        else:
            i0 = 2 * np.arange(half)
            i1 = i0 + 1
        out = x.copy()
        x0 = x[:, i0]
        x1 = x[:, i1]
        out[:, i0] = (x0 * cos - x1 * sin).astype(F32)
        out[:, i1] = (x0 * sin + x1 * cos).astype(F32)
        return out

    def _attention(self, il: int, q: np.ndarray) -> np.ndarray:
        m = self.m
        keys = np.stack(self.k_cache[il]).astype(F64)       # (n_pos, n_head_kv, head_dim)
        vals = np.stack(self.v_cache[il]).astype(F64)
        group = m.n_head // m.n_head_kv
        scale = 1.0 / (m.head_dim if "attn_scale" in m.mutations else np.sqrt(m.head_dim))
        out = np.empty((m.n_head, m.head_dim), dtype=F32)
        for h in range(m.n_head):
            kvh = h % m.n_head_kv if "gqa_modulo" in m.mutations else h // group
            scores = keys[:, kvh, :] @ q[h].astype(F64) * scale
            w = np.exp(scores - scores.max())
            w /= w.sum()
            out[h] = (w @ vals[:, kvh, :]).astype(F32)
        return out.reshape(-1)

    def _step(self, token: int) -> np.ndarray:
        """Runs one token through every block at position self.pos; returns the final hidden state."""
        m = self.m
        if not 0 <= token < m.n_vocab:
            raise ValueError(f"token {token} out of range (n_vocab {m.n_vocab})")
        pos = self.pos
        self.calls_at_pos.append(self.n_quant_calls)
        h = m.tok_embd[token].astype(F32).copy()
        for il, L in enumerate(m.layers):
            blk = f"blk.{il}."
            x = rmsnorm(h, L["attn_norm"], m.eps)
            xq = self._quantize(x, blk + "attn_qkv", L["attn_q"], L["attn_k"], L["attn_v"])
            q = L["attn_q"](x, xq).reshape(m.n_head, m.head_dim)
            k = L["attn_k"](x, xq).reshape(m.n_head_kv, m.head_dim)
            v = L["attn_v"](x, xq).reshape(m.n_head_kv, m.head_dim)
            q = self._rope(q, pos)
            k = self._rope(k, pos)
            self.k_cache[il].append(self._kv_round(k, il, "k"))
            self.v_cache[il].append(self._kv_round(v, il, "v"))
            attn = self._attention(il, q)
            if m.sub_norms:
                attn = rmsnorm(attn, L["attn_sub_norm"], m.eps)
            aq = self._quantize(attn, blk + "attn_output", L["attn_output"])
            h = (h + L["attn_output"](attn, aq)).astype(F32)

            x = rmsnorm(h, L["ffn_norm"], m.eps)
            xq = self._quantize(x, blk + "ffn_gate_up", L["ffn_gate"], L["ffn_up"])
            gate = L["ffn_gate"](x, xq)
            up = L["ffn_up"](x, xq)
            a = (m.act(gate) * up).astype(F32)
            if m.sub_norms:
                a = rmsnorm(a, L["ffn_sub_norm"], m.eps)
            aq = self._quantize(a, blk + "ffn_down", L["ffn_down"])
            h = (h + L["ffn_down"](a, aq)).astype(F32)
        self.pos += 1
        return h

    def _logits(self, h: np.ndarray) -> np.ndarray:
        m = self.m
        x = rmsnorm(h, m.output_norm, m.eps)
        return m.output(x, self._quantize(x, "output", m.output))

    def eval(self, tokens) -> np.ndarray:
        """Appends tokens (each attends to itself and all earlier positions) and returns the logits
        after the last one. A batch is by definition identical to one token at a time."""
        tokens = list(tokens)
        if not tokens:
            raise ValueError("empty token list")
        h = None
        for t in tokens:
            h = self._step(int(t))
        return self._logits(h)


def run(model, prompt, decode, kv: str = "f16", mutations=(), start=None, **session_kwargs):
    """Logits rows (1 + len(decode), n_vocab): after the prompt, then after each decode token.

    model: a path or a ReferenceModel. start: optional (base_session, base_logits, pos) from an
    earlier run on the same ids: everything before position `pos` is reused, which makes re-runs
    with a different rounding at `pos` cheap. session_kwargs go to Session (or fork).
    Returns (logits, session)."""
    if not isinstance(model, ReferenceModel):
        model = ReferenceModel(model, mutations=mutations)
    ids = [int(t) for t in list(prompt) + list(decode)]
    if not prompt:
        raise ValueError("empty prompt")
    first_row_pos = len(prompt) - 1
    if start is None:
        session, pos, rows = model.new_session(kv, **session_kwargs), 0, []
    else:
        base, base_logits, pos = start
        session = base.fork(pos, **session_kwargs)
        rows = list(base_logits[:max(0, pos - first_row_pos)])
    for p in range(pos, len(ids)):
        h = session._step(ids[p])
        if p >= first_row_pos:   # tern_logits reports the prompt's last position and every decode
            rows.append(session._logits(h))
    return np.stack(rows).astype(F32), session


def parse_ids(text: str | None) -> list[int]:
    if not text:
        return []
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--prompt", required=True, help="comma-separated token ids")
    ap.add_argument("--decode", default="", help="comma-separated token ids fed one at a time")
    ap.add_argument("--kv", choices=("f16", "f32"), default="f16")
    ap.add_argument("--out", required=True, help="output file (float32 LE rows of n_vocab)")
    ap.add_argument("--mutate", action="append", default=[], choices=sorted(MUTATIONS),
                    help="inject a deliberate bug (sensitivity self-test only)")
    args = ap.parse_args(argv)
    logits, _ = run(args.model, parse_ids(args.prompt), parse_ids(args.decode), args.kv, args.mutate)
    logits.astype("<f4").tofile(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
