// Included first by every file built for AVX-512: GCC 12's AVX-512 intrinsics start from
// _mm512_undefined_*(), which it then reports as (maybe) uninitialised (GCC bug 105593). The
// pragmas hold for the rest of the including file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
