// Atomic file writes: links are followed, special files refused, a replaced file keeps its mode.
#include <tern/error.h>
#include <tern/files.h>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh directory under the test temp directory, removed at the end of the test.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        path = fs::path(testing::TempDir()) /
               ("tern_atomic_" + std::to_string(::getpid()) + "_" +
                testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~ScratchDir() { fs::remove_all(path); }
};

size_t entries(const fs::path& dir) {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicFile, WritesThroughASymbolicLinkAndKeepsTheLink) {
    ScratchDir dir;
    std::ofstream(dir.path / "target.txt") << "old";
    fs::create_directory(dir.path / "sub");
    fs::create_symlink("../target.txt", dir.path / "sub" / "link.txt");  // relative, chained once
    fs::create_symlink("sub/link.txt", dir.path / "outer.txt");
    tern::write_file_atomically(dir.path / "outer.txt", "new");
    EXPECT_TRUE(fs::is_symlink(dir.path / "outer.txt"));
    EXPECT_TRUE(fs::is_symlink(dir.path / "sub" / "link.txt"));
    EXPECT_EQ(read_all(dir.path / "target.txt"), "new");
    EXPECT_EQ(entries(dir.path), 3u);  // target.txt, sub, outer.txt: no temporary file left
}

TEST(AtomicFile, ADanglingLinkGetsItsTargetCreated) {
    ScratchDir dir;
    fs::create_symlink("made.txt", dir.path / "link.txt");
    tern::write_file_atomically(dir.path / "link.txt", "content");
    EXPECT_TRUE(fs::is_symlink(dir.path / "link.txt"));
    EXPECT_EQ(read_all(dir.path / "made.txt"), "content");
}

TEST(AtomicFile, RefusesSpecialFilesAndDirectories) {
    ScratchDir dir;
    const fs::path fifo = dir.path / "fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    try {
        tern::write_file_atomically(fifo, "x");
        FAIL() << "a FIFO was replaced";
    } catch (const tern::Error& e) {
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_fifo(fifo));
    fs::create_symlink("fifo", dir.path / "to_fifo");
    EXPECT_THROW(tern::write_file_atomically(dir.path / "to_fifo", "x"), tern::Error);
    EXPECT_TRUE(fs::is_fifo(fifo));
    fs::create_directory(dir.path / "d");
    try {
        tern::write_file_atomically(dir.path / "d", "x");
        FAIL() << "a directory was accepted";
    } catch (const tern::Error& e) {
        EXPECT_NE(std::string(e.what()).find("it is a directory"), std::string::npos) << e.what();
    }
    EXPECT_EQ(entries(dir.path), 3u);  // fifo, to_fifo, d: no temporary file left
}

TEST(AtomicFile, AReplacedFileKeepsItsMode) {
    ScratchDir dir;
    const fs::path file = dir.path / "private.txt";
    std::ofstream(file) << "old";
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    tern::write_file_atomically(file, "new");
    EXPECT_EQ(read_all(file), "new");
    EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    tern::write_file_atomically(dir.path / "fresh.txt", "x");
    EXPECT_EQ(fs::status(dir.path / "fresh.txt").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                  fs::perms::others_read);
}

}  // namespace
