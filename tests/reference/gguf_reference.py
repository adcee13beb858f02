#!/usr/bin/env python3
"""Independent, minimal GGUF v3 reader and weight decoders for tern's reference tests.

NumPy only. Written from the format description (GGUF v3, ggml block layouts, bitnet.cpp I2_S),
not from tern's C++ code, so that it can catch errors in tern's loader and kernels.

Public API:
    GGUFFile(path)                 parsed file: .metadata (dict), .tensors (dict name -> TensorInfo),
                                   .architecture, .alignment, .data_offset
    GGUFFile.raw(name)             the tensor's bytes (uint8 view of the file)
    GGUFFile.ternary(name)         (trits int8 array shaped like the tensor, TernaryScale)
    GGUFFile.dequantize(name)      float32 array shaped like the tensor (numpy shape = dims reversed)

Shapes: GGUF dims[0] is the innermost (contiguous) dimension, so a linear layer with dims
(K, M) is returned as an (M, K) array: row = output feature.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

GGUF_MAGIC = 0x46554747  # b"GGUF" little-endian

# GGUF metadata value types.
_VT_U8, _VT_I8, _VT_U16, _VT_I16, _VT_U32, _VT_I32, _VT_F32, _VT_BOOL = range(8)
_VT_STRING, _VT_ARRAY, _VT_U64, _VT_I64, _VT_F64 = 8, 9, 10, 11, 12

_SCALAR_FORMATS = {
    _VT_U8: "<B", _VT_I8: "<b", _VT_U16: "<H", _VT_I16: "<h", _VT_U32: "<I", _VT_I32: "<i",
    _VT_F32: "<f", _VT_U64: "<Q", _VT_I64: "<q", _VT_F64: "<d",
}
_SCALAR_DTYPES = {
    _VT_U8: "<u1", _VT_I8: "<i1", _VT_U16: "<u2", _VT_I16: "<i2", _VT_U32: "<u4", _VT_I32: "<i4",
    _VT_F32: "<f4", _VT_U64: "<u8", _VT_I64: "<i8", _VT_F64: "<f8",
}

# ggml tensor type ids used here.
T_F32, T_F16, T_Q8_0, T_BF16, T_TQ1_0, T_TQ2_0, T_I2_S = 0, 1, 8, 30, 34, 35, 36
TYPE_NAMES = {T_F32: "f32", T_F16: "f16", T_Q8_0: "q8_0", T_BF16: "bf16",
              T_TQ1_0: "tq1_0", T_TQ2_0: "tq2_0", T_I2_S: "i2_s"}
TERNARY_TYPES = (T_TQ1_0, T_TQ2_0, T_I2_S)
BITNET_ARCHS = ("bitnet", "bitnet-b1.58", "bitnet-25")
FILE_TYPE_MOSTLY_I2_S = 40

I2S_BLOCK, I2S_BLOCK_BYTES, I2S_TAIL = 128, 32, 32
TQ_BLOCK, TQ2_BLOCK_BYTES, TQ1_BLOCK_BYTES = 256, 66, 54
Q8_BLOCK, Q8_BLOCK_BYTES = 32, 34


class GGUFError(Exception):
    pass


@dataclass
class TensorInfo:
    name: str
    dims: tuple          # GGUF order: dims[0] innermost
    type: int
    offset: int          # relative to the data blob
    nbytes: int = 0

    @property
    def numel(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def shape(self) -> tuple:
        """NumPy (row-major) shape: dims reversed."""
        return tuple(reversed(self.dims))


@dataclass
class TernaryScale:
    """How a ternary tensor is scaled.

    single: one float32 scale for the whole tensor, or None when per-block scales differ.
    blocks: per-block scales, shape (rows, K // block) float32 (TQ types only), else None.
    block:  the block length along K for `blocks`.
    """
    single: np.float32 | None
    blocks: np.ndarray | None = None
    block: int = 0


class _Cursor:
    def __init__(self, buf: memoryview):
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise GGUFError(f"truncated file: need {n} bytes at offset {self.pos}")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def scalar(self, fmt: str):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def u32(self) -> int:
        return self.scalar("<I")

    def u64(self) -> int:
        return self.scalar("<Q")

    def string(self) -> str:
        n = self.u64()
        return bytes(self.take(n)).decode("utf-8", errors="surrogateescape")

    def value(self, vtype: int):
        if vtype in _SCALAR_FORMATS:
            return self.scalar(_SCALAR_FORMATS[vtype])
        if vtype == _VT_BOOL:
            b = self.scalar("<B")
            if b > 1:
                raise GGUFError(f"invalid bool byte {b} at offset {self.pos - 1}")
            return bool(b)
        if vtype == _VT_STRING:
            return self.string()
        if vtype == _VT_ARRAY:
            etype = self.u32()
            count = self.u64()
            if etype in _SCALAR_DTYPES:
                size = np.dtype(_SCALAR_DTYPES[etype]).itemsize * count
                return np.frombuffer(self.take(size), dtype=_SCALAR_DTYPES[etype]).copy()
            return [self.value(etype) for _ in range(count)]
        raise GGUFError(f"unknown metadata value type {vtype} at offset {self.pos - 4}")


def _f16_at(raw: np.ndarray, offset: int) -> np.ndarray:
    """float16 values (as float32) stored at byte `offset` of each row of a 2-D uint8 array."""
    return raw[:, offset:offset + 2].copy().view("<f2").reshape(-1).astype(np.float32)


def decode_i2s(raw: np.ndarray, numel: int) -> tuple[np.ndarray, np.float32]:
    """I2_S: flat trits (int8, length numel) and the per-tensor float32 scale."""
    if numel % I2S_BLOCK:
        raise GGUFError(f"I2_S tensor of {numel} elements is not a whole number of 128-blocks")
    packed = raw[:numel // 4].reshape(-1, I2S_BLOCK_BYTES)
    codes = np.empty((packed.shape[0], I2S_BLOCK), dtype=np.uint8)
    for group in range(4):  # element k of a block: byte k % 32, shift 6 - 2 * (k // 32)
        codes[:, 32 * group:32 * group + 32] = (packed >> (6 - 2 * group)) & 3
    if np.any(codes == 3):
        raise GGUFError("I2_S tensor contains the invalid code 0b11")
    scale = raw[numel // 4:numel // 4 + 4].copy().view("<f4")[0]
    return codes.reshape(-1).astype(np.int8) - 1, np.float32(scale)


def decode_tq2_0(raw: np.ndarray, numel: int) -> tuple[np.ndarray, np.ndarray]:
    """TQ2_0: flat trits and per-256-block scales d (float32)."""
    blocks = raw.reshape(-1, TQ2_BLOCK_BYTES)
    qs = blocks[:, :64]
    codes = np.empty((blocks.shape[0], TQ_BLOCK), dtype=np.uint8)
    for half in range(2):
        src = qs[:, 32 * half:32 * half + 32]
        for n in range(4):  # element 128*half + 32*n + m in bits 2n..2n+1 of qs[32*half + m]
            start = 128 * half + 32 * n
            codes[:, start:start + 32] = (src >> (2 * n)) & 3
    if np.any(codes == 3):
        raise GGUFError("TQ2_0 tensor contains the invalid code 0b11")
    d = _f16_at(blocks, 64)
    return codes.reshape(-1).astype(np.int8) - 1, d


def _base3_trit(q: np.ndarray, n: int) -> np.ndarray:
    """Trit n (0 = most significant) of bytes storing ceil(v * 256 / 243)."""
    shifted = (q.astype(np.uint16) * (3 ** n)) & 0xFF
    return ((shifted * 3) >> 8).astype(np.uint8)


def decode_tq1_0(raw: np.ndarray, numel: int) -> tuple[np.ndarray, np.ndarray]:
    """TQ1_0: flat trits and per-256-block scales d (float32)."""
    blocks = raw.reshape(-1, TQ1_BLOCK_BYTES)
    qs_a, qs_b, qh = blocks[:, 0:32], blocks[:, 32:48], blocks[:, 48:52]
    codes = np.empty((blocks.shape[0], TQ_BLOCK), dtype=np.uint8)
    for n in range(5):
        codes[:, 32 * n:32 * n + 32] = _base3_trit(qs_a, n)              # m + 32n
        codes[:, 160 + 16 * n:176 + 16 * n] = _base3_trit(qs_b, n)       # 160 + m + 16n
    for n in range(4):
        codes[:, 240 + 4 * n:244 + 4 * n] = _base3_trit(qh, n)           # 240 + j + 4n
    if np.any(codes > 2):
        raise GGUFError("TQ1_0 tensor contains an invalid trit")
    d = _f16_at(blocks, 52)
    return codes.reshape(-1).astype(np.int8) - 1, d


def decode_q8_0(raw: np.ndarray, numel: int) -> np.ndarray:
    blocks = raw.reshape(-1, Q8_BLOCK_BYTES)
    d = _f16_at(blocks, 0)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d[:, None]).reshape(-1)


def tensor_nbytes(ttype: int, numel: int) -> int:
    if ttype == T_F32:
        return 4 * numel
    if ttype in (T_F16, T_BF16):
        return 2 * numel
    if ttype == T_Q8_0:
        _require_blocks(numel, Q8_BLOCK, "Q8_0")
        return numel // Q8_BLOCK * Q8_BLOCK_BYTES
    if ttype == T_TQ1_0:
        _require_blocks(numel, TQ_BLOCK, "TQ1_0")
        return numel // TQ_BLOCK * TQ1_BLOCK_BYTES
    if ttype == T_TQ2_0:
        _require_blocks(numel, TQ_BLOCK, "TQ2_0")
        return numel // TQ_BLOCK * TQ2_BLOCK_BYTES
    if ttype == T_I2_S:
        _require_blocks(numel, I2S_BLOCK, "I2_S")
        return numel // 4 + I2S_TAIL
    raise GGUFError(f"unsupported tensor type {ttype}")


def _require_blocks(numel: int, block: int, name: str) -> None:
    if numel % block:
        raise GGUFError(f"{name} tensor of {numel} elements is not a whole number of {block}-blocks")


class GGUFFile:
    def __init__(self, path: str):
        self.path = path
        self._map = np.memmap(path, dtype=np.uint8, mode="r")
        cur = _Cursor(memoryview(self._map))
        magic = cur.u32()
        if magic != GGUF_MAGIC:
            raise GGUFError(f"{path}: bad magic 0x{magic:08x}")
        self.version = cur.u32()
        if self.version not in (2, 3):
            raise GGUFError(f"{path}: unsupported GGUF version {self.version}")
        n_tensors = cur.u64()
        n_kv = cur.u64()

        self.metadata: dict = {}
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.u32()
            if key in self.metadata:
                raise GGUFError(f"duplicate metadata key {key}")
            self.metadata[key] = cur.value(vtype)

        self.architecture = self.metadata.get("general.architecture", "")
        self.alignment = int(self.metadata.get("general.alignment", 32))
        if self.alignment <= 0 or self.alignment % 8:
            raise GGUFError(f"invalid general.alignment {self.alignment}")
        file_type = self.metadata.get("general.file_type")
        # Type id 36 means I2_S only in bitnet.cpp files; upstream ggml reused the number.
        self._i2s_allowed = (self.architecture in BITNET_ARCHS
                             or (file_type is not None and int(file_type) == FILE_TYPE_MOSTLY_I2_S))

        self.tensors: dict[str, TensorInfo] = {}
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.u32()
            if not 1 <= n_dims <= 4:
                raise GGUFError(f"tensor {name}: {n_dims} dimensions")
            dims = tuple(cur.u64() for _ in range(n_dims))
            ttype = cur.u32()
            offset = cur.u64()
            if ttype == T_I2_S and not self._i2s_allowed:
                raise GGUFError(f"tensor {name}: type 36 is I2_S only in bitnet-family / file_type 40 files")
            if name in self.tensors:
                raise GGUFError(f"duplicate tensor {name}")
            info = TensorInfo(name, dims, ttype, offset)
            info.nbytes = tensor_nbytes(ttype, info.numel)
            if offset % self.alignment:
                raise GGUFError(f"tensor {name}: offset {offset} not aligned to {self.alignment}")
            self.tensors[name] = info

        self.data_offset = -(-cur.pos // self.alignment) * self.alignment
        for info in self.tensors.values():
            if self.data_offset + info.offset + info.nbytes > len(self._map):
                raise GGUFError(f"tensor {info.name} extends past the end of the file")

    # -- metadata helpers -------------------------------------------------------------------
    def get(self, key: str, default=None):
        return self.metadata.get(key, default)

    # -- tensor access -----------------------------------------------------------------------
    def raw(self, name: str) -> np.ndarray:
        info = self.tensors[name]
        start = self.data_offset + info.offset
        return np.asarray(self._map[start:start + info.nbytes])

    def is_ternary(self, name: str) -> bool:
        return self.tensors[name].type in TERNARY_TYPES

    def ternary(self, name: str) -> tuple[np.ndarray, TernaryScale]:
        """Trits (int8, numpy shape) and the scale description of a ternary tensor."""
        info = self.tensors[name]
        raw = self.raw(name)
        if info.type == T_I2_S:
            # Blocks run over the flattened tensor (they may span rows): decode flat, then reshape.
            trits, scale = decode_i2s(raw, info.numel)
            return trits.reshape(info.shape), TernaryScale(scale)
        if info.type in (T_TQ1_0, T_TQ2_0):
            if info.dims[0] % TQ_BLOCK:
                raise GGUFError(f"{name}: TQ row length {info.dims[0]} is not a multiple of 256")
            decode = decode_tq1_0 if info.type == T_TQ1_0 else decode_tq2_0
            trits, d = decode(raw, info.numel)
            rows = info.numel // info.dims[0]
            d = d.reshape(rows, info.dims[0] // TQ_BLOCK)
            nonzero = d[d != 0]
            single = np.float32(nonzero[0]) if nonzero.size and np.all(nonzero == nonzero[0]) else None
            if nonzero.size == 0:
                single = np.float32(0)
            return trits.reshape(info.shape), TernaryScale(single, d, TQ_BLOCK)
        raise GGUFError(f"{name}: type {info.type} is not ternary")

    def dequantize(self, name: str) -> np.ndarray:
        """The tensor as float32 in numpy shape (dims reversed)."""
        info = self.tensors[name]
        raw = self.raw(name)
        if info.type == T_F32:
            flat = raw.copy().view("<f4")
        elif info.type == T_F16:
            flat = raw.copy().view("<f2").astype(np.float32)
        elif info.type == T_BF16:
            flat = (raw.copy().view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif info.type == T_Q8_0:
            flat = decode_q8_0(raw, info.numel)
        elif info.type in TERNARY_TYPES:
            trits, scale = self.ternary(name)
            if scale.blocks is None:
                return trits.astype(np.float32) * scale.single
            k = info.dims[0]
            t = trits.reshape(-1, k // scale.block, scale.block).astype(np.float32)
            return (t * scale.blocks[:, :, None]).reshape(info.shape)
        else:
            raise GGUFError(f"{name}: unsupported type {info.type}")
        return flat.astype(np.float32, copy=False).reshape(info.shape)


def scale_tensor_in_place(path: str, name: str, factor: float) -> None:
    """Multiplies tensor `name` of the GGUF file at `path` by `factor` by rewriting its scale(s) in
    place (I2_S tail scale, TQ/Q8_0 block scales) or its values (F32/F16/BF16). Use a power of
    two so the result is exact. Layout and sizes are unchanged."""
    f = GGUFFile(path)
    info = f.tensors[name]
    start = f.data_offset + info.offset
    del f
    data = np.memmap(path, dtype=np.uint8, mode="r+", offset=start, shape=(info.nbytes,))
    if info.type == T_I2_S:
        at = info.numel // 4
        data[at:at + 4] = (data[at:at + 4].view("<f4") * np.float32(factor)).view(np.uint8)
    elif info.type in (T_TQ1_0, T_TQ2_0, T_Q8_0):
        size, d_at = {T_TQ1_0: (TQ1_BLOCK_BYTES, 52), T_TQ2_0: (TQ2_BLOCK_BYTES, 64),
                      T_Q8_0: (Q8_BLOCK_BYTES, 0)}[info.type]
        blocks = data.reshape(-1, size)
        d = blocks[:, d_at:d_at + 2].copy().view("<f2") * np.float16(factor)
        blocks[:, d_at:d_at + 2] = d.view(np.uint8)
    elif info.type == T_F32:
        data[:] = (data.view("<f4") * np.float32(factor)).view(np.uint8)
    elif info.type == T_F16:
        data[:] = (data.view("<f2") * np.float16(factor)).view(np.uint8)
    elif info.type == T_BF16:
        f32 = (data.view("<u2").astype(np.uint32) << 16).view(np.float32) * np.float32(factor)
        data[:] = (f32.view(np.uint32) >> 16).astype("<u2").view(np.uint8)
    else:
        raise GGUFError(f"{name}: cannot scale type {info.type}")
    data.flush()
    del data


def _main(argv) -> int:
    """Debug helper: print metadata and tensor infos of a GGUF file."""
    f = GGUFFile(argv[1])
    print(f"GGUF v{f.version} arch={f.architecture} alignment={f.alignment} data@{f.data_offset}")
    for k, v in f.metadata.items():
        if isinstance(v, (list, np.ndarray)) and len(v) > 8:
            v = f"[{len(v)} items: {list(v[:4])}...]"
        print(f"  {k} = {v}")
    for info in f.tensors.values():
        print(f"  {info.name:32s} {TYPE_NAMES.get(info.type, info.type):6s} dims={info.dims} "
              f"off={info.offset} bytes={info.nbytes}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv))
