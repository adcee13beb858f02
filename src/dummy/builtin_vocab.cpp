// The built-in fallback vocabulary for dummy models.
#include "dummy/builtin_vocab.h"

#include "util/strings.h"

#include <tern/error.h>

#include <cstdio>
#include <set>
#include <sstream>

namespace tern {

namespace {

constexpr const char* kWords =
    "the a an and to was he she it of in on at for with his her they them their there then "
    "that this is are be been had have has do did not no yes but or so if when what who where "
    "why how all one two three little big small happy sad good bad very day time once upon "
    "girl boy mom dad friend friends tree house park ball dog cat bird fish sun sky water "
    "play played playing run ran jump jumped look looked see saw want wanted go went come came "
    "said say says like liked love loved help helped find found make made take took give gave "
    "know knew think thought feel felt new old red blue green yellow toy toys car box door "
    "named name lily tim ben sue anna max mia sam tom could would should can will just now "
    "up down out into from over under back again too also more some many much every each "
    "other about because after before while away home school food cake apple flower garden "
    "walk walked smile smiled laugh laughed cry cried share shared fun nice kind best always "
    "never together something everyone thank thanks sorry hello bye hug hugs mommy daddy "
    "outside inside around through we you i me my your our us him its";

}  // namespace

BuiltinVocab builtin_vocab(int64_t n_vocab) {
    BuiltinVocab v;
    auto add = [&](std::string text, float score, int32_t type) {
        v.tokens.push_back(std::move(text));
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    add("<unk>", 0.0f, 2);
    add("<s>", 0.0f, 3);
    add("</s>", 0.0f, 3);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        add(name, 0.0f, 6);
    }
    const std::string space = "\xe2\x96\x81";  // U+2581
    std::set<std::string> seen;
    float score = -1.0f;
    auto piece = [&](const std::string& text) {
        if (seen.insert(text).second) add(text, score, 1), score -= 1.0f;
    };
    piece(space);
    for (char c = 33; c < 127; ++c) piece(std::string(1, c));
    std::istringstream words(kWords);
    std::string word;
    while (words >> word) {
        for (size_t length = 1; length <= word.size(); ++length)
            piece(space + word.substr(0, length));
    }
    if (n_vocab > 0) {
        if (n_vocab < static_cast<int64_t>(v.tokens.size())) {
            throw Error(
                ErrorCode::invalid_argument,
                cat("vocabulary size ", n_vocab, " is smaller than the built-in vocabulary (",
                    v.tokens.size(), " tokens); use --vocab FILE for a smaller one"));
        }
        for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab; ++i) {
            add(cat("<unused_", i, ">"), -1e9f, 5);
        }
    }
    return v;
}

void write_vocab(GgufWriter& writer, const BuiltinVocab& vocab) {
    writer.set_string("tokenizer.ggml.model", "llama");
    writer.set_strings("tokenizer.ggml.tokens", vocab.tokens);
    writer.set_f32s("tokenizer.ggml.scores", vocab.scores);
    writer.set_i32s("tokenizer.ggml.token_type", vocab.types);
    writer.set_u32("tokenizer.ggml.bos_token_id", 1);
    writer.set_u32("tokenizer.ggml.eos_token_id", 2);
    writer.set_u32("tokenizer.ggml.unknown_token_id", 0);
    writer.set_bool("tokenizer.ggml.add_bos_token", true);
    writer.set_bool("tokenizer.ggml.add_space_prefix", true);
}

}  // namespace tern
