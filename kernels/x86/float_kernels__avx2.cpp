// AVX2 float kernels in the canonical order (kernels/float_kernels.h): four 8-lane accumulators
// hold the 32 partial sums; multiplies and adds stay separate (no FMA) to round like the scalar
// definition; F16 is converted with F16C (exact).
#include "kernels/x86/float_kernels__avx2.h"
#include "kernels/float_kernels.h"
#include "kernels/fp16.h"
#include "kernels/weight_memory.h"
#include "kernels/x86/attention_rows__avx2.h"
#include "kernels/x86/canonical_sum__avx2.h"
#include "kernels/x86/load8__avx2.h"
#include "kernels/x86/row_streams.h"
#include "kernels/x86/stream_prefetch.h"

#include <immintrin.h>

#include <cstring>

namespace tern::kernels {

namespace {

// Combines the four accumulators (partials 0-7, 8-15, 16-23, 24-31) plus the products of the
// `tail` elements past the last full 32 (tail_product(i) for the i-th), added to partials
// 0..tail-1.
template <typename TailProduct>
inline float finish(const __m256 acc[4], int64_t tail, const TailProduct& tail_product) {
    if (tail == 0) return canonical_sum(acc);  // canonical_reduce in vector form
    alignas(32) float s[32];
    for (int i = 0; i < 4; ++i) _mm256_store_ps(s + 8 * i, acc[i]);
    for (int64_t i = 0; i < tail; ++i) s[i] += tail_product(i);
    return canonical_reduce(s);
}

float dot_f32(const float* a, const float* b, int64_t n) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 4; ++j) {
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_loadu_ps(a + i + 8 * j),
                                                         _mm256_loadu_ps(b + i + 8 * j)));
        }
    }
    return finish(acc, n - i, [&](int64_t t) { return a[i + t] * b[i + t]; });
}

// `rows` F16 or BF16 rows (b[s]: row s) against x, all at once, each in the canonical order
// with its own four accumulators (so out[s] is exactly what the row alone gives); with `stream`,
// prefetches each row's weights ahead up to `stream_end`.
template <FloatWeightFormat format, bool stream, int rows>
inline void dot_16bit_rows(const float* a, const uint16_t* const* b, int64_t n, float* out,
                           const void* stream_end = nullptr) {
    static_assert(format == FloatWeightFormat::f16 || format == FloatWeightFormat::bf16);
    __m256 acc[rows][4];
    for (int s = 0; s < rows; ++s)
        for (int j = 0; j < 4; ++j) acc[s][j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (stream) {
            for (int s = 0; s < rows; ++s) prefetch_near(b[s] + i, stream_end);
        }
        for (int j = 0; j < 4; ++j) {
            const __m256 x = _mm256_loadu_ps(a + i + 8 * j);
            for (int s = 0; s < rows; ++s)
                acc[s][j] =
                    _mm256_add_ps(acc[s][j], _mm256_mul_ps(x, load8<format>(b[s] + i + 8 * j)));
        }
    }
    for (int s = 0; s < rows; ++s) {
        out[s] = finish(acc[s], n - i, [&](int64_t t) {
            const uint16_t h = b[s][i + t];
            return a[i + t] *
                   (format == FloatWeightFormat::f16 ? half_to_float(h) : bf16_to_float(h));
        });
    }
}

float dot_f16(const float* a, const uint16_t* b, int64_t n) {
    float out;
    dot_16bit_rows<FloatWeightFormat::f16, false, 1>(a, &b, n, &out);
    return out;
}

float sum_squares(const float* x, int64_t n) {
    return dot_f32(x, x, n);
}

template <FloatWeightFormat format>
void gemv_16bit(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k, const float* x,
                float* out) {
    const uint8_t* end = w + m_rows * row_bytes;
    const auto row = [&](int64_t m) {
        return reinterpret_cast<const uint16_t*>(w + m * row_bytes);
    };
    far_streams(
        m_rows,
        [&](int64_t first, int64_t stride) {
            const uint16_t* rows[kFloatStreams];
            float sums[kFloatStreams];
            for (int s = 0; s < kFloatStreams; ++s) rows[s] = row(first + s * stride);
            dot_16bit_rows<format, true, kFloatStreams>(x, rows, k, sums, end);
            for (int s = 0; s < kFloatStreams; ++s) out[first + s * stride] = sums[s];
        },
        [&](int64_t m) {
            const uint16_t* one = row(m);
            dot_16bit_rows<format, true, 1>(x, &one, k, out + m, end);
        });
}

// The 32 weights of one Q8_0 block (fp16 d, int8 q[32]) as d * q, eight per vector, exactly as
// the scalar decoder computes them.
inline void q8_0_block_weights(const uint8_t* block, __m256 w[4]) {
    uint16_t h;
    std::memcpy(&h, block, 2);
    const __m256 d = _mm256_set1_ps(half_to_float(h));
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m256i parts[4] = {_mm256_cvtepi8_epi32(lo), _mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)),
                              _mm256_cvtepi8_epi32(hi),
                              _mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))};
    for (int j = 0; j < 4; ++j) w[j] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(parts[j]));
}

// Q8_0 rows (blocks of 32: fp16 d, int8 q[32]); each weight is d * q as the scalar decoder
// computes it, then multiplied and added in the canonical order (32 elements = one block).
float dot_q8_0(const float* x, const uint8_t* row, int64_t k, const void* stream_end) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t b = 0; b < k / 32; ++b) {
        const uint8_t* block = row + b * kQ8BlockBytes;
        prefetch_near(block, stream_end);
        __m256 wv[4];
        q8_0_block_weights(block, wv);
        for (int j = 0; j < 4; ++j) {
            acc[j] =
                _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_loadu_ps(x + 32 * b + 8 * j), wv[j]));
        }
    }
    return finish(acc, 0, [](int64_t) { return 0.0f; });
}

// Q8_0 rows against Q8 activations in the canonical Q8 order: maddubs(|w|, x * sign(w)) makes
// exact int16 pair sums (|w| <= 128, |x| <= 127: at most 32512), madd with ones the exact
// 4-element sums of lanes 0..7; then acc += float(sums) * (d_w * d_x), multiply then add.
void gemv_q8_0_q8(const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k, const int8_t* xq,
                  const float* xd, float* out) {
    const __m256i ones = _mm256_set1_epi16(1);
    const uint8_t* end = w + m_rows * row_bytes;
    const int64_t blocks = k / 32;
    // Block b of `count` rows at once (row s from rows[s]), its activations loaded once.
    const auto block_products = [&](const uint8_t* const* rows, int count, int64_t b,
                                    __m256* products) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + 32 * b));
        for (int s = 0; s < count; ++s) {
            const uint8_t* block = rows[s] + kQ8BlockBytes * b;
            const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
            const __m256i pairs =
                _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(x, wq));
            const __m256i sums = _mm256_madd_epi16(pairs, ones);
            uint16_t h;
            std::memcpy(&h, block, 2);
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(h) * xd[b]);  // F16C: exact, as half_to_float
            products[s] = _mm256_mul_ps(_mm256_cvtepi32_ps(sums), d);
        }
    };
    // `count` rows, each into its own even- and odd-block accumulators.
    const auto dot_rows = [&](const uint8_t* const* rows, int count, float* sums) {
        __m256 acc0[kFloatStreams], acc1[kFloatStreams], products[kFloatStreams];
        for (int s = 0; s < count; ++s) acc0[s] = acc1[s] = _mm256_setzero_ps();
        int64_t b = 0;
        for (; b + 2 <= blocks; b += 2) {
            for (int s = 0; s < count; ++s) prefetch_near(rows[s] + kQ8BlockBytes * b, end);
            block_products(rows, count, b, products);
            for (int s = 0; s < count; ++s) acc0[s] = _mm256_add_ps(acc0[s], products[s]);
            block_products(rows, count, b + 1, products);
            for (int s = 0; s < count; ++s) acc1[s] = _mm256_add_ps(acc1[s], products[s]);
        }
        if (b < blocks) {
            block_products(rows, count, b, products);
            for (int s = 0; s < count; ++s) acc0[s] = _mm256_add_ps(acc0[s], products[s]);
        }
        for (int s = 0; s < count; ++s) {
            const __m256 a = _mm256_add_ps(acc0[s], acc1[s]);
            __m128 h =
                _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));  // a_j + a_j+4
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));  // (a0+a4)+(a2+a6), (a1+a5)+(a3+a7)
            sums[s] = _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
        }
    };
    far_streams(
        m_rows,
        [&](int64_t first, int64_t stride) {
            const uint8_t* rows[kFloatStreams];
            float sums[kFloatStreams];
            for (int s = 0; s < kFloatStreams; ++s) rows[s] = w + (first + s * stride) * row_bytes;
            dot_rows(rows, kFloatStreams, sums);
            for (int s = 0; s < kFloatStreams; ++s) out[first + s * stride] = sums[s];
        },
        [&](int64_t m) {
            const uint8_t* row = w + m * row_bytes;
            dot_rows(&row, 1, out + m);
        });
}

void axpy_q8_0(float* y, float a, const uint8_t* blocks, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* block = blocks + kQ8BlockBytes * b;
        __m256 wv[4];
        q8_0_block_weights(block, wv);
        for (int j = 0; j < 4; ++j) {
            float* yj = y + 32 * b + 8 * j;
            _mm256_storeu_ps(yj, _mm256_add_ps(_mm256_loadu_ps(yj), _mm256_mul_ps(av, wv[j])));
        }
    }
}

void gemv(FloatWeightFormat format, const uint8_t* w, int64_t row_bytes, int64_t m_rows, int64_t k,
          const float* x, float* out) {
    if (format == FloatWeightFormat::q8_0) {
        for (int64_t m = 0; m < m_rows; ++m)
            out[m] = dot_q8_0(x, w + m * row_bytes, k, w + m_rows * row_bytes);
        return;
    }
    if (format == FloatWeightFormat::f16) {
        gemv_16bit<FloatWeightFormat::f16>(w, row_bytes, m_rows, k, x, out);
        return;
    }
    if (format == FloatWeightFormat::bf16) {
        gemv_16bit<FloatWeightFormat::bf16>(w, row_bytes, m_rows, k, x, out);
        return;
    }
    if (format == FloatWeightFormat::q6_k || format == FloatWeightFormat::q4_k) {
        gemv_k_float__avx2(format, w, row_bytes, m_rows, k, x, out);
        return;
    }
    if (format == FloatWeightFormat::f32) {
        for (int64_t m = 0; m < m_rows; ++m)
            out[m] = dot_f32(x, reinterpret_cast<const float*>(w + m * row_bytes), k);
        return;
    }
    auto* row = reinterpret_cast<float*>(
        thread_scratch(ScratchSlot::dequantized_row, static_cast<size_t>(k) * sizeof(float)));
    for (int64_t m = 0; m < m_rows; ++m) {
        dequantize_row(format, w + m * row_bytes, k, row);
        out[m] = dot_f32(x, row, k);
    }
}

// Vector form of canonical_exp: the same operations in the same order.
inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365448f)), _mm256_set1_ps(88.3762626f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693359375f)));
    r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(-2.12194440e-4f)));
    const __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, z), r), _mm256_set1_ps(1.0f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

float exp_shift_sum(float* x, int64_t n, float shift) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    const __m256 s = _mm256_set1_ps(shift);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 4; ++j) {
            const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8 * j), s));
            _mm256_storeu_ps(x + i + 8 * j, v);
            acc[j] = _mm256_add_ps(acc[j], v);
        }
    }
    alignas(32) float partial[32];
    for (int j = 0; j < 4; ++j) _mm256_store_ps(partial + 8 * j, acc[j]);
    for (int64_t t = 0; i + t < n; ++t) {
        x[i + t] = canonical_exp(x[i + t] - shift);
        partial[t] += x[i + t];
    }
    return canonical_reduce(partial);
}

void axpy_f32(float* y, float a, const float* x, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i),
                                              _mm256_mul_ps(av, _mm256_loadu_ps(x + i))));
    }
    for (; i < n; ++i) y[i] += a * x[i];
}

void axpy_f16(float* y, float a, const uint16_t* x, int64_t n) {
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(av, xv)));
    }
    for (; i < n; ++i) y[i] += a * half_to_float(x[i]);
}

void silu_mul(float* g, const float* u, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = exp8(_mm256_sub_ps(zero, gv));
        _mm256_storeu_ps(
            g + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; ++i) g[i] = g[i] / (1.0f + canonical_exp(-g[i])) * u[i];
}

void relu_squared_mul(float* g, const float* u, int64_t n) {
    const __m256 zero = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 r = _mm256_max_ps(_mm256_loadu_ps(g + i), zero);
        _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; ++i) {
        const float r = g[i] > 0.0f ? g[i] : 0.0f;
        g[i] = r * r * u[i];
    }
}

void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(
            y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
    }
    for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    for (; i < n; ++i) y[i] += x[i];
}

void to_f16(const float* x, uint16_t* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(
            reinterpret_cast<__m128i*>(out + i),
            _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    for (; i < n; ++i) out[i] = float_to_half(x[i]);
}

void from_f16(const uint16_t* x, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i,
                         _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
    }
    for (; i < n; ++i) out[i] = half_to_float(x[i]);
}

// quantize_q8_0's rule 8 lanes at a time. Bit for bit the scalar's: max over |x| skipping NaN
// (maxps(a, b) is a > b ? a : b), the same fp16 scale, IEEE division, clamp_to's NaN-to-lo
// comparisons, and nearest_in's add and subtract of 1.5 * 2^23.
void quantize_q8_0_lanes(const float* x, int64_t n, uint8_t* blocks) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256 round = _mm256_set1_ps(12582912.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < n / 32; ++b) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int j = 0; j < 4; ++j) {
            v[j] = _mm256_loadu_ps(x + 32 * b + 8 * j);
            amax = _mm256_max_ps(_mm256_and_ps(v[j], magnitude), amax);
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const uint16_t d16 = float_to_half(_mm_cvtss_f32(m) / 127.0f);
        const float d = half_to_float(d16);
        uint8_t* block = blocks + kQ8BlockBytes * b;
        std::memcpy(block, &d16, 2);
        __m256i q[4];
        const __m256 dv = _mm256_set1_ps(d);
        for (int j = 0; j < 4; ++j) {
            const __m256 c = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(v[j], dv), lo), hi);
            q[j] = d == 0.0f ? _mm256_setzero_si256()
                             : _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(c, round), round));
        }
        // packs interleave 4-value groups across the 128-bit lanes; the permute undoes it.
        const __m256i bytes =
            _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 2),
                            _mm256_permutevar8x32_epi32(bytes, order));
    }
}

// F16 and F32 rows by the several-heads kernel with one head (register-held column blocks);
// Q8_0 as the axpy sequence.
void add_weighted_rows(FloatWeightFormat format, const float* p, int64_t n, const uint8_t* rows,
                       int64_t row_bytes, int64_t len, float* y) {
    if (format == FloatWeightFormat::f16 || format == FloatWeightFormat::f32) {
        add_weighted_rows_heads__avx2(format, p, 0, n, rows, row_bytes, len, y, 0, 1);
    } else {
        add_weighted_rows_by_axpy(avx2_float_kernels(), format, p, n, rows, row_bytes, len, y);
    }
}

}  // namespace

const FloatKernels& avx2_float_kernels() {
    static const FloatKernels k = [] {
        FloatKernels s;
        s.isa = "avx2";
        s.dot_f32 = dot_f32;
        s.dot_f16 = dot_f16;
        s.sum_squares = sum_squares;
        s.gemv = gemv;
        s.gemv_q8_0_q8 = gemv_q8_0_q8;
        s.gemv_k_q8 = gemv_k_q8__avx2;
        s.exp_shift_sum = exp_shift_sum;
        s.axpy_f32 = axpy_f32;
        s.axpy_f16 = axpy_f16;
        s.axpy_q8_0 = axpy_q8_0;
        s.add_weighted_rows = add_weighted_rows;
        s.gemv_heads = gemv_heads__avx2;
        s.add_weighted_rows_heads = add_weighted_rows_heads__avx2;
        s.silu_mul = silu_mul;
        s.relu_squared_mul = relu_squared_mul;
        s.scale_mul = scale_mul;
        s.add = add;
        s.to_f16 = to_f16;
        s.from_f16 = from_f16;
        s.quantize_q8_0 = quantize_q8_0_lanes;
        s.quantize_q6_k = quantize_row_q6_k__avx2;
        s.quantize_q4_k = quantize_row_q4_k__avx2;
        return s;
    }();
    return k;
}

}  // namespace tern::kernels
