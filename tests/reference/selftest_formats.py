#!/usr/bin/env python3
"""Self-test of gguf_reference.py that does not involve tern at all.

Encoders written here from the upstream quantiser semantics (ggml quantize_row_tq1_0_ref /
quantize_row_tq2_0_ref, bitnet.cpp quantize_i2_s), plus a tiny GGUF writer, produce data that the
reader must decode back exactly: every metadata value type (including nested arrays and strings),
a non-default alignment, and tensors of every supported type (F32, F16, BF16, Q8_0, TQ1_0, TQ2_0,
I2_S with blocks spanning rows). Exit 0 on success, 1 on failure, 77 without numpy.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("selftest_formats: numpy is not importable; skipping", file=sys.stderr)
    sys.exit(77)

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reference as gr  # noqa: E402


# ---- encoders (from the upstream quantisers' semantics) ---------------------------------------

def encode_i2s(trits: np.ndarray, scale: float) -> bytes:
    flat = trits.reshape(-1)
    n = flat.size
    out = np.zeros(n // 4 + 32, dtype=np.uint8)
    for i in range(n // 128):
        for j in range(128):
            code = int(flat[i * 128 + j]) + 1
            out[i * 32 + j % 32] |= code << (6 - 2 * (j // 32))
    out[n // 4:n // 4 + 4] = np.frombuffer(struct.pack("<f", scale), dtype=np.uint8)
    return out.tobytes()


def encode_tq2_0(trits: np.ndarray, d: np.ndarray) -> bytes:
    flat = trits.reshape(-1, 256)
    out = bytearray()
    for b in range(flat.shape[0]):
        qs = [0] * 64
        for j in range(0, 64, 32):          # ggml: for j in steps of 32, n in 0..3, m in 0..31
            for n in range(4):
                for m in range(32):
                    qs[j + m] |= (int(flat[b, j * 4 + n * 32 + m]) + 1) << (2 * n)
        out += bytes(qs) + np.float16(d[b]).tobytes()
    return bytes(out)


def encode_tq1_0(trits: np.ndarray, d: np.ndarray) -> bytes:
    flat = trits.reshape(-1, 256) + 1
    out = bytearray()

    def pack(values):  # first value most significant; store ceil(v * 256 / 243)
        v = 0
        for t in values:
            v = v * 3 + int(t)
        return (v * 256 + 242) // 243

    for b in range(flat.shape[0]):
        x = flat[b]
        qs = [pack([x[m + 32 * n] for n in range(5)]) for m in range(32)]
        qs += [pack([x[160 + m + 16 * n] for n in range(5)]) for m in range(16)]
        qh = []
        for j in range(4):
            v = 0
            for n in range(4):
                v = v * 3 + int(x[240 + j + 4 * n])
            v *= 3                          # the qh bytes hold 4 trits: one more factor of 3
            qh.append((v * 256 + 242) // 243)
        out += bytes(qs) + bytes(qh) + np.float16(d[b]).tobytes()
    return bytes(out)


def encode_q8_0(x: np.ndarray) -> tuple[bytes, np.ndarray]:
    blocks = x.reshape(-1, 32).astype(np.float32)
    out = bytearray()
    deq = np.empty_like(blocks)
    for b, row in enumerate(blocks):
        amax = np.abs(row).max()
        d = np.float16(amax / 127)
        q = np.round(row / np.float32(d)).astype(np.int8) if d else np.zeros(32, np.int8)
        out += d.tobytes() + q.tobytes()
        deq[b] = q.astype(np.float32) * np.float32(d)
    return bytes(out), deq.reshape(x.shape)


# ---- minimal GGUF writer ----------------------------------------------------------------------

def w_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def w_value(vtype: int, value) -> bytes:
    fmts = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 10: "<Q", 11: "<q", 12: "<d"}
    if vtype in fmts:
        return struct.pack(fmts[vtype], value)
    if vtype == 7:
        return struct.pack("<B", 1 if value else 0)
    if vtype == 8:
        return w_str(value)
    if vtype == 9:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(w_value(etype, v) for v in items)
    raise ValueError(vtype)


def write_gguf(path: str, kvs, tensors, alignment: int) -> None:
    """kvs: [(key, vtype, value)]; tensors: [(name, dims, type, bytes)]."""
    head = struct.pack("<IIQQ", gr.GGUF_MAGIC, 3, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        head += w_str(key) + struct.pack("<I", vtype) + w_value(vtype, value)
    offset = 0
    blob = b""
    for name, dims, ttype, data in tensors:
        pad = -len(blob) % alignment
        blob += b"\0" * pad
        offset = len(blob)
        head += w_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        head += struct.pack("<IQ", ttype, offset)
        blob += data
    head += b"\0" * (-len(head) % alignment)
    with open(path, "wb") as f:
        f.write(head + blob)


# ---- the test ----------------------------------------------------------------------------------

def main() -> int:
    rng = np.random.default_rng(7)
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    # Trit codecs on their own, including every byte value for TQ1_0.
    t = rng.integers(-1, 2, size=(4, 224)).astype(np.int8)          # 7 blocks, K = 224: blocks span rows
    raw = np.frombuffer(encode_i2s(t, 0.75), dtype=np.uint8)
    trits, scale = gr.decode_i2s(raw, t.size)
    check(np.array_equal(trits.reshape(t.shape), t) and scale == np.float32(0.75), "I2_S round trip")

    t256 = rng.integers(-1, 2, size=(6, 256)).astype(np.int8)
    d = np.array([0.5, 0.25, 1.0, 0.125, 2.0, 0.0625], dtype=np.float32)
    for name, enc, dec in (("TQ2_0", encode_tq2_0, gr.decode_tq2_0), ("TQ1_0", encode_tq1_0, gr.decode_tq1_0)):
        raw = np.frombuffer(enc(t256, d), dtype=np.uint8)
        trits, dd = dec(raw, t256.size)
        check(np.array_equal(trits.reshape(t256.shape), t256) and np.array_equal(dd, d), f"{name} round trip")

    # Every 5-trit combination through TQ1_0's base-3 byte.
    for v in range(243):
        digits = [(v // 3 ** (4 - n)) % 3 for n in range(5)]
        q = (v * 256 + 242) // 243
        got = [int(gr._base3_trit(np.array([q], dtype=np.uint8), n)[0]) for n in range(5)]
        if got != digits:
            check(False, f"TQ1_0 byte {q} (v={v}) decodes to {got}, expected {digits}")
            break

    # A whole GGUF file with every metadata type and tensor type, alignment 64.
    x32 = rng.standard_normal((3, 64)).astype(np.float32)
    x16 = rng.standard_normal((2, 64)).astype(np.float16)
    xbf = rng.standard_normal((2, 64)).astype(np.float32)
    xbf_bits = (xbf.view(np.uint32) >> 16).astype(np.uint16)
    q8_bytes, q8_deq = encode_q8_0(rng.standard_normal((2, 64)).astype(np.float32))
    ti2 = rng.integers(-1, 2, size=(4, 160)).astype(np.int8)          # 640 = 5 blocks, K = 160
    kvs = [
        ("general.architecture", 8, "bitnet-b1.58"),
        ("general.alignment", 4, 64),
        ("t.u8", 0, 200), ("t.i8", 1, -100), ("t.u16", 2, 60000), ("t.i16", 3, -30000),
        ("t.u32", 4, 4000000000), ("t.i32", 5, -2000000000), ("t.f32", 6, 1.5), ("t.bool", 7, True),
        ("t.str", 8, "héllo"), ("t.u64", 10, 2 ** 63 + 5), ("t.i64", 11, -(2 ** 62)), ("t.f64", 12, 0.1),
        ("t.arr_str", 9, (8, ["a", "", "ccc"])),
        ("t.arr_i32", 9, (5, [1, -2, 3])),
        ("t.arr_nested", 9, (9, [(4, [1, 2]), (4, [3])])),
        ("t.arr_empty", 9, (6, [])),
    ]
    tensors = [
        ("f32", (64, 3), gr.T_F32, x32.tobytes()),
        ("f16", (64, 2), gr.T_F16, x16.tobytes()),
        ("bf16", (64, 2), gr.T_BF16, xbf_bits.tobytes()),
        ("q8", (64, 2), gr.T_Q8_0, q8_bytes),
        ("tq1", (256, 6), gr.T_TQ1_0, encode_tq1_0(t256, d)),
        ("tq2", (256, 6), gr.T_TQ2_0, encode_tq2_0(t256, np.full(6, 0.5, np.float32))),
        ("i2s", (160, 4), gr.T_I2_S, encode_i2s(ti2, 0.3)),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.gguf")
        write_gguf(path, kvs, tensors, 64)
        f = gr.GGUFFile(path)
        check(f.alignment == 64 and f.data_offset % 64 == 0, "alignment 64")
        md = f.metadata
        for key, vtype, value in kvs:
            got = md.get(key)
            if vtype == 9:
                etype, items = value
                if etype == 9:
                    ok = [list(a) for a in got] == [list(v) for _, v in items]
                else:
                    ok = list(got) == list(items)
            elif vtype in (6, 12):
                ok = abs(got - value) < 1e-6
            else:
                ok = got == value
            check(ok, f"metadata {key}: {got!r} != {value!r}")
        check(np.array_equal(f.dequantize("f32"), x32), "F32 tensor")
        check(np.array_equal(f.dequantize("f16"), x16.astype(np.float32)), "F16 tensor")
        check(np.array_equal(f.dequantize("bf16"), (xbf_bits.astype(np.uint32) << 16).view(np.float32)),
              "BF16 tensor")
        check(np.array_equal(f.dequantize("q8"), q8_deq), "Q8_0 tensor")
        tr, sc = f.ternary("tq1")
        check(np.array_equal(tr, t256) and sc.single is None and np.array_equal(sc.blocks.reshape(-1), d),
              "TQ1_0 tensor with differing block scales")
        tr, sc = f.ternary("tq2")
        check(np.array_equal(tr, t256) and sc.single == np.float32(0.5), "TQ2_0 tensor with one scale")
        tr, sc = f.ternary("i2s")
        check(np.array_equal(tr, ti2) and sc.single == np.float32(0.3), "I2_S tensor, K=160 (blocks span rows)")
        check(np.allclose(f.dequantize("i2s"), ti2 * np.float32(0.3)), "I2_S dequantize")
        del f

        # Type 36 in a llama file is I2_S only with general.file_type 40.
        kv_llama = [("general.architecture", 8, "llama")]
        write_gguf(path, kv_llama, [tensors[-1]], 32)
        try:
            gr.GGUFFile(path)
            check(False, "type 36 accepted in a llama file without file_type 40")
        except gr.GGUFError:
            pass
        write_gguf(path, kv_llama + [("general.file_type", 4, 40)], [tensors[-1]], 32)
        check(np.array_equal(gr.GGUFFile(path).ternary("i2s")[0], ti2), "type 36 in a llama file_type 40 file")

        # In-place scaling used by compare_logits.py --attn-gain.
        write_gguf(path, kvs, tensors, 64)
        for name in ("f16", "tq1", "i2s"):
            before = gr.GGUFFile(path).dequantize(name)
            gr.scale_tensor_in_place(path, name, 8.0)
            check(np.array_equal(gr.GGUFFile(path).dequantize(name), before * 8), f"scale_tensor_in_place {name}")

    print("selftest_formats:", "FAIL" if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
