// Canonical encoders and decoders for the I2_S, TQ2_0 and TQ1_0 ternary layouts.
#include "kernels/ternary_formats.h"

#include "kernels/fp16.h"

#include <cstring>

namespace tern::kernels {

void i2s_encode(const int8_t* trits, int64_t numel, float scale, uint8_t* out) {
    for (int64_t block = 0; block < numel / kI2sBlock; ++block) {
        const int8_t* t = trits + block * kI2sBlock;
        uint8_t* bytes = out + block * kI2sBlockBytes;
        for (int g = 0; g < 32; ++g) {
            uint8_t byte = 0;
            for (int quarter = 0; quarter < 4; ++quarter) {
                const auto code = static_cast<uint8_t>(t[quarter * 32 + g] + 1);
                byte |= static_cast<uint8_t>(code << (6 - 2 * quarter));
            }
            bytes[g] = byte;
        }
    }
    uint8_t* tail = out + numel / 4;
    std::memset(tail, 0, kI2sTailBytes);
    std::memcpy(tail, &scale, sizeof scale);
}

bool i2s_decode(const uint8_t* data, int64_t first, int64_t count, int8_t* trits) {
    bool valid = true;
    // Whole blocks: four shifts of 32 bytes each (the common case, rows of 128-multiple length).
    while (first % kI2sBlock == 0 && count >= kI2sBlock) {
        const uint8_t* bytes = data + (first / kI2sBlock) * kI2sBlockBytes;
        uint8_t bad = 0;
        for (int q = 0; q < 4; ++q) {
            for (int j = 0; j < 32; ++j) {
                const int code = (bytes[j] >> (6 - 2 * q)) & 3;
                bad |= static_cast<uint8_t>(code == 3);
                trits[32 * q + j] = static_cast<int8_t>(code - 1);
            }
        }
        valid = valid && bad == 0;
        first += kI2sBlock;
        count -= kI2sBlock;
        trits += kI2sBlock;
    }
    for (int64_t i = 0; i < count; ++i) {
        const int64_t k = first + i;
        const int64_t within = k % kI2sBlock;
        const uint8_t byte = data[(k / kI2sBlock) * kI2sBlockBytes + within % 32];
        const int code = (byte >> (6 - 2 * (within / 32))) & 3;
        valid &= code != 3;
        trits[i] = static_cast<int8_t>(code - 1);
    }
    return valid;
}

float i2s_scale(const uint8_t* data, int64_t numel) {
    float scale;
    std::memcpy(&scale, data + numel / 4, sizeof scale);
    return scale;
}

void tq2_0_encode_block(const int8_t* trits, float d, uint8_t* out) {
    for (int h = 0; h < 2; ++h) {
        for (int m = 0; m < 32; ++m) {
            uint8_t byte = 0;
            for (int n = 0; n < 4; ++n) {
                const auto code = static_cast<uint8_t>(trits[128 * h + m + 32 * n] + 1);
                byte |= static_cast<uint8_t>(code << (2 * n));
            }
            out[32 * h + m] = byte;
        }
    }
    const uint16_t half = float_to_half(d);
    std::memcpy(out + 64, &half, sizeof half);
}

bool tq2_0_decode_block(const uint8_t* block, int8_t* trits, float* d) {
    bool valid = true;
    for (int h = 0; h < 2; ++h) {
        for (int m = 0; m < 32; ++m) {
            const uint8_t byte = block[32 * h + m];
            for (int n = 0; n < 4; ++n) {
                const int code = (byte >> (2 * n)) & 3;
                valid &= code != 3;
                trits[128 * h + m + 32 * n] = static_cast<int8_t>(code - 1);
            }
        }
    }
    uint16_t half;
    std::memcpy(&half, block + 64, sizeof half);
    *d = half_to_float(half);
    return valid;
}

namespace {

// ceil(v * 256 / 243): the fixed-point form in which TQ1_0 stores a base-3 number v < 243.
uint8_t tq1_store(unsigned v) {
    return static_cast<uint8_t>((v * 256 + 242) / 243);
}

// Trit n (0 = most significant) of a stored TQ1_0 byte, as t + 1 in {0, 1, 2}.
int tq1_digit(uint8_t q, int n) {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    const auto shifted = static_cast<uint8_t>(q * kPow3[n]);  // mod 256
    return (shifted * 3) >> 8;
}

}  // namespace

void tq1_0_encode_block(const int8_t* trits, float d, uint8_t* out) {
    for (int m = 0; m < 32; ++m) {
        unsigned v = 0;
        for (int n = 0; n < 5; ++n) v = v * 3 + static_cast<unsigned>(trits[m + 32 * n] + 1);
        out[m] = tq1_store(v);
    }
    for (int m = 0; m < 16; ++m) {
        unsigned v = 0;
        for (int n = 0; n < 5; ++n) v = v * 3 + static_cast<unsigned>(trits[160 + m + 16 * n] + 1);
        out[32 + m] = tq1_store(v);
    }
    for (int j = 0; j < 4; ++j) {
        unsigned v = 0;
        for (int n = 0; n < 4; ++n) v = v * 3 + static_cast<unsigned>(trits[240 + j + 4 * n] + 1);
        out[48 + j] = tq1_store(v * 3);
    }
    const uint16_t half = float_to_half(d);
    std::memcpy(out + 52, &half, sizeof half);
}

void tq1_0_decode_block(const uint8_t* block, int8_t* trits, float* d) {
    for (int m = 0; m < 32; ++m) {
        for (int n = 0; n < 5; ++n)
            trits[m + 32 * n] = static_cast<int8_t>(tq1_digit(block[m], n) - 1);
    }
    for (int m = 0; m < 16; ++m) {
        for (int n = 0; n < 5; ++n) {
            trits[160 + m + 16 * n] = static_cast<int8_t>(tq1_digit(block[32 + m], n) - 1);
        }
    }
    for (int j = 0; j < 4; ++j) {
        for (int n = 0; n < 4; ++n) {
            trits[240 + j + 4 * n] = static_cast<int8_t>(tq1_digit(block[48 + j], n) - 1);
        }
    }
    uint16_t half;
    std::memcpy(&half, block + 52, sizeof half);
    *d = half_to_float(half);
}

}  // namespace tern::kernels
