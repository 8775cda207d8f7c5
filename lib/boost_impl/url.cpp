// The one translation unit that compiles Boost.URL (header-only build).
//
// Its assertions are off here in every build, as NDEBUG turns them off in
// Release: Boost.URL 1.81's parse_uri("ht:\xD0") fails an internal
// assertion (detail/path.hpp:82, path_segments: nseg == 0) on its way to the
// right answer, error "leftover", which is what a Release build returns
// (checked under ASan: no bad access). Found by tests/fuzz/settings_fuzz.cpp
// (corpus crash-boost-url-assert-leftover); with the assertion on, the
// sanitizer builds would abort on such a URL where Release rejects it.
#define BOOST_DISABLE_ASSERTS
#include <boost/url/src.hpp>
