// Stop strings: text is held back while it could still become a stop string, and nothing of a
// completed stop string (or after it) is ever shown.
#include "generate/stop_strings.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(StopStrings, HoldsBackPossiblePrefixesOnly) {
    StopStringFilter f({"END", "\n\n"});
    auto r = f.push("hello E");
    EXPECT_EQ(r.text, "hello ");
    EXPECT_FALSE(r.stopped);
    r = f.push("N");
    EXPECT_EQ(r.text, "");
    r = f.push("TER the room\n");
    EXPECT_EQ(r.text, "ENTER the room");  // "ENT" can no longer become END; "\n" might start "\n\n"
    r = f.push("x");
    EXPECT_EQ(r.text, "\nx");
    r = f.push(" the EN");
    EXPECT_EQ(r.text, " the ");
    r = f.push("D and more");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "");
}

TEST(StopStrings, StopInsideOneChunkAndFlush) {
    StopStringFilter f({"</s>"});
    auto r = f.push("abc</s>def");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.text, "abc");
    StopStringFilter g({"###"});
    EXPECT_EQ(g.push("a ##").text, "a ");
    EXPECT_EQ(g.flush("!"), "##!");  // generation ended: the held text was not a stop after all
    StopStringFilter none({});
    EXPECT_EQ(none.push("anything").text, "anything");
}

}  // namespace
}  // namespace tern
