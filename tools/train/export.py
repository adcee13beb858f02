"""Export a trained BitNetLM and its sentencepiece tokenizer to one GGUF v3 file (I2_S weights).

    export.py CHECKPOINT.pt SPM.model OUT.gguf [--name NAME]

The tokenizer goes into the GGUF vocabulary (tokenizer.ggml.model "llama": pieces, scores, token
types 1 normal / 2 unknown / 3 control / 6 byte, bos/eos/unk ids, add_bos_token), so tern needs no
other file. The block linears are ternarised exactly as in training (model.ternarize: absmean
scale, float32) and stored as I2_S with that scale; token_embd (tied output), the norms in F32.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from gguf_io import GGUFWriter  # noqa: E402
from model import BitLinear, BitNetLM, Config  # noqa: E402

ARCH = "bitnet-b1.58"
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 5, 6


def vocab_arrays(sp) -> tuple[list[str], list[float], list[int]]:
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(TOKEN_UNKNOWN)
        elif sp.is_control(i):
            types.append(TOKEN_CONTROL)
        elif sp.is_unused(i):
            types.append(TOKEN_UNUSED)
        elif sp.is_byte(i):
            types.append(TOKEN_BYTE)
        else:
            types.append(TOKEN_NORMAL)
    return tokens, scores, types


def export_gguf(model: BitNetLM, spm_model: str, path: str, name: str,
                extra_strings: dict | None = None) -> int:
    """Writes the GGUF; returns its size in bytes."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=spm_model)
    c = model.c
    if sp.get_piece_size() != c.vocab_size:
        raise ValueError(f"tokenizer has {sp.get_piece_size()} pieces, model {c.vocab_size}")
    w = GGUFWriter()
    w.add_string("general.architecture", ARCH)
    w.add_string("general.name", name)
    for k, v in (extra_strings or {}).items():
        w.add_string(k, v)
    w.add_u32("general.file_type", 40)
    w.add_u32("general.quantization_version", 2)
    w.add_u32(f"{ARCH}.vocab_size", c.vocab_size)
    w.add_u32(f"{ARCH}.context_length", c.ctx)
    w.add_u32(f"{ARCH}.embedding_length", c.dim)
    w.add_u32(f"{ARCH}.block_count", c.n_layers)
    w.add_u32(f"{ARCH}.feed_forward_length", c.ffn_dim)
    w.add_u32(f"{ARCH}.rope.dimension_count", c.head_dim)
    w.add_u32(f"{ARCH}.attention.head_count", c.n_heads)
    w.add_u32(f"{ARCH}.attention.head_count_kv", c.n_kv_heads)
    w.add_f32(f"{ARCH}.attention.layer_norm_rms_epsilon", c.norm_eps)
    w.add_f32(f"{ARCH}.rope.freq_base", c.rope_base)
    tokens, scores, types = vocab_arrays(sp)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_string_array("tokenizer.ggml.tokens", tokens)
    w.add_f32_array("tokenizer.ggml.scores", scores)
    w.add_i32_array("tokenizer.ggml.token_type", types)
    w.add_u32("tokenizer.ggml.bos_token_id", sp.bos_id())
    w.add_u32("tokenizer.ggml.eos_token_id", sp.eos_id())
    w.add_u32("tokenizer.ggml.unknown_token_id", sp.unk_id())
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_eos_token", False)
    w.add_bool("tokenizer.ggml.add_space_prefix", True)

    with torch.no_grad():
        for pname, p in model.named_parameters():
            module = model.get_submodule(pname.rsplit(".", 1)[0])
            if isinstance(module, BitLinear):
                t, s = module.ternary()
                w.add_tensor_i2s(pname, t.to(torch.int8).numpy(), float(s))
            else:
                w.add_tensor_f32(pname, p.detach().float().numpy())
    return w.write(path)


def load_checkpoint(path: str) -> BitNetLM:
    ck = torch.load(path, map_location="cpu")
    m = BitNetLM(Config(**ck["config"]))
    m.load_state_dict(ck["model"])
    return m.eval()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("spm_model")
    ap.add_argument("out")
    ap.add_argument("--name", default="tinystories-bitnet")
    args = ap.parse_args(argv)
    size = export_gguf(load_checkpoint(args.checkpoint), args.spm_model, args.out, args.name)
    print(f"wrote {args.out} ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
