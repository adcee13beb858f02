"""Minimal GGUF v3 writer and reader for tern's trained models (F32, F16 and I2_S tensors).

Layout (little-endian): "GGUF", u32 version 3, u64 tensor count, u64 metadata count; metadata
(key = u64 length + UTF-8 bytes, u32 value type, value; arrays = u32 element type + u64 count +
elements); tensor infos (name, u32 n_dims, u64 dims with dims[0] the innermost (input features),
u32 type, u64 offset from the data start, a multiple of the alignment); zero padding to the
alignment (32); the tensor data.

I2_S (type 36), the BitNet/llama.cpp ternary layout: the weight [rows, K] is flattened row-major
and cut into 128-element blocks of 32 bytes; element k of a block is stored in byte k % 32 at bit
shift 6 - 2 (k // 32) as the code w + 1 (-1 -> 0b00, 0 -> 0b01, +1 -> 0b10). numel / 4 packed
bytes are followed by a 32-byte tail whose first 4 bytes hold the float32 tensor scale (the rest
zero): size numel / 4 + 32, numel a multiple of 128.

The metadata writer follows tools/vocab/tiktoken_to_gguf.py's (no gguf-py dependency).
"""

from __future__ import annotations

import struct

import numpy as np

# Metadata value types.
VT_U8, VT_I8, VT_U16, VT_I16, VT_U32, VT_I32, VT_F32, VT_BOOL, VT_STRING, VT_ARRAY, VT_U64, VT_I64, VT_F64 = range(13)
_SCALAR = {VT_U8: "<B", VT_I8: "<b", VT_U16: "<H", VT_I16: "<h", VT_U32: "<I", VT_I32: "<i",
           VT_F32: "<f", VT_BOOL: "<B", VT_U64: "<Q", VT_I64: "<q", VT_F64: "<d"}

# Tensor types.
GGML_F32, GGML_F16, GGML_I2_S = 0, 1, 36
TYPE_NAMES = {GGML_F32: "f32", GGML_F16: "f16", GGML_I2_S: "i2_s"}
ALIGNMENT = 32
I2S_BLOCK = 128


def pack_i2s(trits: np.ndarray, scale: float) -> bytes:
    """trits: int array [rows, K] with values in {-1, 0, 1}; returns the I2_S bytes."""
    flat = np.asarray(trits, dtype=np.int64).reshape(-1)
    if flat.size % I2S_BLOCK:
        raise ValueError(f"I2_S needs numel % 128 == 0, got {flat.size}")
    if flat.size and (flat.min() < -1 or flat.max() > 1):
        raise ValueError("I2_S values must be -1, 0 or 1")
    codes = (flat + 1).astype(np.uint8).reshape(-1, 4, 32)    # [block, group k//32, byte k%32]
    packed = (codes[:, 0] << 6) | (codes[:, 1] << 4) | (codes[:, 2] << 2) | codes[:, 3]
    tail = struct.pack("<f", float(scale)) + bytes(28)
    return packed.astype(np.uint8).tobytes() + tail


def unpack_i2s(data: bytes, rows: int, cols: int) -> tuple[np.ndarray, np.float32]:
    """Inverse of pack_i2s: (trits int8 [rows, cols], float32 scale)."""
    numel = rows * cols
    packed = np.frombuffer(data, dtype=np.uint8, count=numel // 4).reshape(-1, 32)
    codes = np.stack([(packed >> s) & 3 for s in (6, 4, 2, 0)], axis=1)   # [block, 4, 32]
    if np.any(codes == 3):
        raise ValueError("I2_S code 0b11 is not a trit")
    trits = codes.reshape(rows, cols).astype(np.int8) - 1
    scale = np.frombuffer(data, dtype="<f4", count=1, offset=numel // 4)[0]
    return trits, scale


def _string(text) -> bytes:
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return struct.pack("<Q", len(data)) + data


class GGUFWriter:
    def __init__(self) -> None:
        self._kvs: list[bytes] = []
        self._tensors: list[tuple[str, tuple[int, ...], int, bytes]] = []

    def _add(self, key: str, value_type: int, payload: bytes) -> None:
        self._kvs.append(_string(key) + struct.pack("<I", value_type) + payload)

    def add_string(self, key: str, value: str) -> None:
        self._add(key, VT_STRING, _string(value))

    def add_u32(self, key: str, value: int) -> None:
        self._add(key, VT_U32, struct.pack("<I", value))

    def add_f32(self, key: str, value: float) -> None:
        self._add(key, VT_F32, struct.pack("<f", value))

    def add_bool(self, key: str, value: bool) -> None:
        self._add(key, VT_BOOL, struct.pack("<B", 1 if value else 0))

    def add_string_array(self, key: str, values) -> None:
        body = b"".join(_string(v) for v in values)
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_STRING, len(values)) + body)

    def add_i32_array(self, key: str, values) -> None:
        body = np.asarray(values, dtype="<i4").tobytes()
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_I32, len(values)) + body)

    def add_f32_array(self, key: str, values) -> None:
        body = np.asarray(values, dtype="<f4").tobytes()
        self._add(key, VT_ARRAY, struct.pack("<IQ", VT_F32, len(values)) + body)

    def add_tensor_f32(self, name: str, array: np.ndarray) -> None:
        a = np.ascontiguousarray(array, dtype="<f4")
        self._tensors.append((name, a.shape[::-1], GGML_F32, a.tobytes()))

    def add_tensor_f16(self, name: str, array: np.ndarray) -> None:
        a = np.ascontiguousarray(array, dtype="<f2")
        self._tensors.append((name, a.shape[::-1], GGML_F16, a.tobytes()))

    def add_tensor_i2s(self, name: str, trits: np.ndarray, scale: float) -> None:
        rows, cols = trits.shape
        self._tensors.append((name, (cols, rows), GGML_I2_S, pack_i2s(trits, scale)))

    def to_bytes(self) -> bytes:
        infos, offset = [], 0
        for name, dims, ttype, data in self._tensors:
            infos.append(_string(name) + struct.pack("<I", len(dims)) +
                         struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", ttype, offset))
            offset += (len(data) + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self._tensors), len(self._kvs)))
        out += b"".join(self._kvs) + b"".join(infos)
        out += bytes(-len(out) % ALIGNMENT)
        for _, _, _, data in self._tensors:
            out += data + bytes(-len(data) % ALIGNMENT)
        return bytes(out)

    def write(self, path: str) -> int:
        data = self.to_bytes()
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


class GGUFReader:
    """Reads metadata and the F32 / F16 / I2_S tensors of a GGUF v2/v3 file."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self.data = f.read()
        self.pos = 0
        if self._take(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        (self.version,) = self._unpack("<I")
        n_tensors, n_kv = self._unpack("<QQ")
        self.metadata: dict = {}
        for _ in range(n_kv):
            key = self._str()
            (vtype,) = self._unpack("<I")
            self.metadata[key] = self._value(vtype)
        self.alignment = int(self.metadata.get("general.alignment", ALIGNMENT))
        self.tensors: dict = {}
        for _ in range(n_tensors):
            name = self._str()
            (n_dims,) = self._unpack("<I")
            dims = self._unpack(f"<{n_dims}Q")
            ttype, offset = self._unpack("<IQ")
            self.tensors[name] = (tuple(dims), ttype, offset)
        self.data_start = (self.pos + self.alignment - 1) // self.alignment * self.alignment

    def _take(self, n: int) -> bytes:
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt: str):
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals

    def _str(self) -> str:
        (n,) = self._unpack("<Q")
        return self._take(n).decode("utf-8")

    def _value(self, vtype: int):
        if vtype == VT_STRING:
            return self._str()
        if vtype == VT_ARRAY:
            etype, count = self._unpack("<IQ")
            if etype in (VT_I32, VT_F32):
                arr = np.frombuffer(self.data, dtype="<i4" if etype == VT_I32 else "<f4", count=count,
                                    offset=self.pos)
                self.pos += 4 * count
                return arr
            return [self._value(etype) for _ in range(count)]
        (v,) = self._unpack(_SCALAR[vtype])
        return bool(v) if vtype == VT_BOOL else v

    def tensor_bytes(self, name: str, nbytes: int) -> bytes:
        _, _, offset = self.tensors[name]
        start = self.data_start + offset
        return self.data[start:start + nbytes]

    def float_tensor(self, name: str) -> np.ndarray:
        """F32 / F16 tensor as float32, shaped [dims[-1], ..., dims[0]]."""
        dims, ttype, _ = self.tensors[name]
        numel = int(np.prod(dims))
        if ttype == GGML_F32:
            a = np.frombuffer(self.tensor_bytes(name, 4 * numel), dtype="<f4")
        elif ttype == GGML_F16:
            a = np.frombuffer(self.tensor_bytes(name, 2 * numel), dtype="<f2").astype(np.float32)
        else:
            raise ValueError(f"{name}: type {ttype} is not F32/F16")
        return a.reshape(dims[::-1])

    def ternary_tensor(self, name: str) -> tuple[np.ndarray, np.float32]:
        """I2_S tensor as (trits int8 [rows, K], float32 scale)."""
        dims, ttype, _ = self.tensors[name]
        if ttype != GGML_I2_S or len(dims) != 2:
            raise ValueError(f"{name}: not a 2-D I2_S tensor")
        cols, rows = dims
        return unpack_i2s(self.tensor_bytes(name, rows * cols // 4 + 32), rows, cols)
