// A hand-written protobuf encoder for the few ModelProto fields sentencepiece needs.
//
// Field numbers (sentencepiece_model.proto): ModelProto {1: repeated SentencePiece pieces,
// 2: TrainerSpec, 3: NormalizerSpec}; SentencePiece {1: piece, 2: score, 3: type};
// TrainerSpec {3: model_type (2 = BPE), 35: byte_fallback, 40: unk_id, 41: bos_id, 42: eos_id,
// 43: pad_id}; NormalizerSpec {1: name, 3: add_dummy_prefix, 4: remove_extra_whitespaces,
// 5: escape_whitespaces}.
#include "tokenizer/spm_proto.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace tern {

namespace {

enum WireType : uint32_t { kVarint = 0, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
    while (value >= 0x80) {
        out += static_cast<char>((value & 0x7f) | 0x80);
        value >>= 7;
    }
    out += static_cast<char>(value);
}

void put_tag(std::string& out, uint32_t field, WireType wire) {
    put_varint(out, (field << 3) | wire);
}

void put_int(std::string& out, uint32_t field, int64_t value) {
    put_tag(out, field, kVarint);
    put_varint(out, static_cast<uint64_t>(value));  // negative int32 -> 10-byte two's complement
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
    put_tag(out, field, kLengthDelimited);
    put_varint(out, bytes.size());
    out.append(bytes);
}

void put_float(std::string& out, uint32_t field, float value) {
    put_tag(out, field, kFixed32);
    char raw[4];
    std::memcpy(raw, &value, 4);
    out.append(raw, 4);
}

bool has_all_byte_tokens(const Vocab& vocab) {
    int found = 0;
    for (int64_t i = 0; i < vocab.size(); ++i) {
        if (vocab.types[static_cast<size_t>(i)] == TokenType::byte) ++found;
    }
    return found == 256;
}

}  // namespace

std::string serialize_spm_model(const Vocab& vocab) {
    std::string model;
    for (int64_t i = 0; i < vocab.size(); ++i) {
        const auto index = static_cast<size_t>(i);
        std::string piece;
        if (vocab.text[index].empty()) {
            // sentencepiece refuses empty pieces; an empty token can never be produced anyway, so
            // it becomes an unused placeholder that keeps every id in place (decodes to nothing).
            put_bytes(piece, 1, "<tern:empty:" + std::to_string(i) + ">");
            put_float(piece, 2, 0.0f);
            put_int(piece, 3, static_cast<int64_t>(TokenType::unused));
        } else {
            put_bytes(piece, 1, vocab.text[index]);
            put_float(piece, 2, vocab.scores[index]);
            put_int(piece, 3, static_cast<int64_t>(vocab.types[index]));
        }
        put_bytes(model, 1, piece);
    }
    std::string trainer;
    put_int(trainer, 3, 2);  // BPE
    put_int(trainer, 35, has_all_byte_tokens(vocab) ? 1 : 0);
    put_int(trainer, 40, vocab.unk);
    put_int(trainer, 41, vocab.bos);
    put_int(trainer, 42, vocab.eos);
    put_int(trainer, 43, vocab.pad);
    put_bytes(model, 2, trainer);

    std::string normalizer;
    put_bytes(normalizer, 1, "identity");
    put_int(normalizer, 3, vocab.add_space_prefix ? 1 : 0);
    put_int(normalizer, 4, 0);
    put_int(normalizer, 5, 1);
    put_bytes(model, 3, normalizer);
    return model;
}

}  // namespace tern
