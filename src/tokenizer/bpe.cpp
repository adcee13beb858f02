// Byte-level BPE encoding with a rank-ordered merge table over token ids.
#include "tokenizer/bpe.h"

#include "tokenizer/byte_unicode.h"
#include "util/strings.h"

#include <tern/error.h>

#include <queue>

namespace tern {

BpeEncoder::BpeEncoder(const Vocab& vocab, const std::vector<std::string_view>& merges,
                       PreTokenizer pretokenizer, bool ignore_merges)
    : vocab_(vocab), pretokenizer_(std::move(pretokenizer)), ignore_merges_(ignore_merges) {
    token_ids_.reserve(vocab.text.size());
    for (size_t i = 0; i < vocab.text.size(); ++i) {
        const TokenType type = vocab.types[i];
        if (type == TokenType::normal || type == TokenType::byte || type == TokenType::unused ||
            type == TokenType::undefined) {
            token_ids_.emplace(vocab.text[i], static_cast<Token>(i));
        }
    }
    const ByteUnicodeMap& map = byte_unicode_map();
    for (int b = 0; b < 256; ++b) {
        const auto it = token_ids_.find(map.encode(static_cast<uint8_t>(b)));
        byte_tokens_[b] = it == token_ids_.end() ? -1 : it->second;
    }
    merges_.reserve(merges.size());
    std::string joined;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const std::string_view merge = merges[rank];
        const size_t space = merge.find(' ', 1);
        if (space == std::string_view::npos) {
            throw Error(ErrorCode::tokenizer,
                        cat("tokenizer.ggml.merges[", rank, "] ", single_quoted(merge),
                            " is not two tokens separated by a space"));
        }
        const std::string_view left = merge.substr(0, space), right = merge.substr(space + 1);
        joined.assign(left).append(right);
        const auto l = token_ids_.find(left), r = token_ids_.find(right),
                   j = token_ids_.find(joined);
        if (l == token_ids_.end() || r == token_ids_.end() || j == token_ids_.end()) {
            throw Error(ErrorCode::tokenizer,
                        cat("tokenizer.ggml.merges[", rank, "] ", single_quoted(merge),
                            " names a token the vocabulary does not have"));
        }
        merges_.emplace(pair_key(l->second, r->second),
                        Merge{static_cast<int32_t>(rank), j->second});
    }
}

void BpeEncoder::encode(std::string_view text, std::vector<Token>& out) const {
    for (std::string_view word : pretokenizer_.split(text)) encode_word(word, out);
}

void BpeEncoder::encode_word(std::string_view word, std::vector<Token>& out) const {
    const std::string mapped = byte_unicode_map().encode(word);
    if (ignore_merges_) {
        if (const auto it = token_ids_.find(mapped); it != token_ids_.end()) {
            out.push_back(it->second);
            return;
        }
    }
    // Symbols start as one token per byte, linked in a list; candidate merges wait in a heap
    // ordered by rank (then position), and stale entries are skipped when popped.
    struct Symbol {
        Token token;
        int prev, next;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(word.size());
    for (char c : word) {
        const Token t = byte_tokens_[static_cast<uint8_t>(c)];
        const int index = static_cast<int>(symbols.size());
        symbols.push_back({t < 0 ? vocab_.unk : t, index - 1, index + 1});
    }
    if (symbols.empty()) return;
    symbols.back().next = -1;
    struct Candidate {
        int32_t rank;
        int left;
        Token left_token, right_token;
        bool operator>(const Candidate& o) const {
            return rank != o.rank ? rank > o.rank : left > o.left;
        }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto consider = [&](int left) {
        if (left < 0 || symbols[static_cast<size_t>(left)].next < 0) return;
        const Symbol& a = symbols[static_cast<size_t>(left)];
        const Symbol& b = symbols[static_cast<size_t>(a.next)];
        const auto it = merges_.find(pair_key(a.token, b.token));
        if (it != merges_.end()) heap.push({it->second.rank, left, a.token, b.token});
    };
    for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) consider(i);
    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        Symbol& a = symbols[static_cast<size_t>(c.left)];
        if (a.token != c.left_token || a.next < 0) continue;  // stale: the left symbol changed
        Symbol& b = symbols[static_cast<size_t>(a.next)];
        if (b.token != c.right_token) continue;  // stale: the right symbol changed
        a.token = merges_.at(pair_key(c.left_token, c.right_token)).result;
        const int removed = a.next;
        a.next = b.next;
        if (b.next >= 0) symbols[static_cast<size_t>(b.next)].prev = c.left;
        b.token = -2;  // dead
        (void)removed;
        consider(a.prev);
        consider(c.left);
    }
    for (int i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
        if (symbols[static_cast<size_t>(i)].token >= 0)
            out.push_back(symbols[static_cast<size_t>(i)].token);
    }
}

}  // namespace tern
