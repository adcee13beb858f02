// Fuzz target: arbitrary bytes as a GGUF file -- header, metadata, tensor table, then the model
// configuration, the tokenizer and the weight preparation that Model::load runs on it.
// Anything but a tern::Error is a bug (crash, sanitizer report, other exception, leak).
#include "model/config.h"
#include "model/weights.h"
#include "util/thread_pool.h"

#include <tern/error.h>
#include <tern/gguf.h>
#include <tern/tokenizer.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

namespace {

// Reads every value, so a lazily decoded array element that is out of bounds would show.
void touch(const tern::GgufArray& array) {
    using tern::GgufValueType;
    const uint64_t n = std::min<uint64_t>(array.size(), 4096);
    for (uint64_t i = 0; i < n; ++i) {
        try {
            switch (array.element_type()) {
                case GgufValueType::string:
                    (void)array.string_at(i).size();
                    break;
                case GgufValueType::array:
                    touch(array.array_at(i));
                    break;
                case GgufValueType::boolean:
                    (void)array.bool_at(i);
                    break;
                case GgufValueType::f32:
                case GgufValueType::f64:
                    (void)array.float_at(i);
                    break;
                default:
                    (void)array.int_at(i);
                    break;
            }
        } catch (const tern::Error&) {  // e.g. a u64 beyond int64's range
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const tern::GgufFile file =
            tern::GgufFile::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
        for (const auto& [key, value] : file.metadata()) {
            if (const auto* array = std::get_if<tern::GgufArray>(&value.data)) touch(*array);
        }
        uint64_t bytes = 0;
        for (const tern::TensorView& t : file.tensors()) {
            if (!t.data.empty()) bytes += t.data.front() + t.data.back();
        }
        (void)bytes;
        try {
            (void)tern::Tokenizer::from_gguf(file);
        } catch (const tern::Error&) {
        }
        const tern::ModelConfig config = tern::read_model_config(file);
        tern::ThreadPool pool(1);
        (void)tern::load_weights(file, config, pool, tern::ModelLoadOptions{});
    } catch (const tern::Error&) {
    }
    return 0;
}
