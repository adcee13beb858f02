// GgufFile: opening, typed metadata look-ups and tensor look-ups over a validated file.
#include "gguf/reader_impl.h"

#include "util/strings.h"

#include <cstring>
#include <limits>

#include <sys/mman.h>
#include <unistd.h>

namespace tern {

GgufFile::GgufFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

GgufFile GgufFile::open(const std::filesystem::path& path) {
    auto impl = std::make_unique<Impl>();
    impl->name = path.string();
    impl->mapping.emplace(path);
    GgufParser(impl->mapping->bytes(), impl->name).parse(*impl);
    return GgufFile(std::move(impl));
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, std::string name) {
    auto impl = std::make_unique<Impl>();
    impl->name = std::move(name);
    GgufParser(bytes, impl->name).parse(*impl);
    return GgufFile(std::move(impl));
}

const std::string& GgufFile::name() const {
    return impl_->name;
}
uint32_t GgufFile::version() const {
    return impl_->version;
}
uint32_t GgufFile::alignment() const {
    return impl_->alignment;
}
uint64_t GgufFile::file_size() const {
    return impl_->bytes.size();
}
uint64_t GgufFile::data_offset() const {
    return impl_->data_offset;
}

const std::vector<std::pair<std::string_view, GgufValue>>& GgufFile::metadata() const {
    return impl_->metadata;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const auto it = impl_->index.find(key);
    return it == impl_->index.end() ? nullptr : &impl_->metadata[it->second].second;
}

namespace {

[[noreturn]] void wrong_type(const GgufFile& file, std::string_view key, const GgufValue& value,
                             const char* expected) {
    throw Error(ErrorCode::format,
                cat(file.name(), ": metadata key ", single_quoted(key), " has type ",
                    gguf_value_type_name(value.type), ", expected ", expected));
}

}  // namespace

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const GgufValue* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* u = std::get_if<uint64_t>(&value->data)) {
        if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            throw Error(ErrorCode::format, cat(name(), ": metadata key ", single_quoted(key),
                                               " value ", *u, " is too large"));
        }
        return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&value->data)) return *i;
    wrong_type(*this, key, *value, "an integer");
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const GgufValue* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* d = std::get_if<double>(&value->data)) return *d;
    if (const auto* u = std::get_if<uint64_t>(&value->data)) return static_cast<double>(*u);
    if (const auto* i = std::get_if<int64_t>(&value->data)) return static_cast<double>(*i);
    wrong_type(*this, key, *value, "a number");
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const GgufValue* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&value->data)) return *b;
    wrong_type(*this, key, *value, "a bool");
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
    const GgufValue* value = find(key);
    if (value == nullptr) return std::nullopt;
    if (const auto* s = std::get_if<std::string_view>(&value->data)) return *s;
    wrong_type(*this, key, *value, "a string");
}

const GgufArray* GgufFile::get_array(std::string_view key) const {
    const GgufValue* value = find(key);
    if (value == nullptr) return nullptr;
    if (const auto* a = std::get_if<GgufArray>(&value->data)) return a;
    wrong_type(*this, key, *value, "an array");
}

std::span<const TensorView> GgufFile::tensors() const {
    return impl_->tensors;
}

void GgufFile::release_pages(const TensorView& tensor) const {
    if (!impl_->mapping || tensor.data.empty()) return;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<uintptr_t>(tensor.data.data()) + page - 1) / page * page;
    const auto end =
        (reinterpret_cast<uintptr_t>(tensor.data.data()) + tensor.data.size()) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

bool GgufFile::copy_out(const uint8_t* at, size_t n, void* dst) const noexcept {
    if (!impl_->mapping) {
        std::memcpy(dst, at, n);
        return true;
    }
    const std::span<const uint8_t> bytes = impl_->mapping->bytes();
    const auto from = reinterpret_cast<uintptr_t>(at),
               base = reinterpret_cast<uintptr_t>(bytes.data());
    if (from < base) return false;
    return impl_->mapping->copy_out(static_cast<size_t>(from - base), n, dst);
}

const TensorView* GgufFile::find_tensor(std::string_view name) const {
    const auto it = impl_->tensor_index.find(name);
    return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

}  // namespace tern
