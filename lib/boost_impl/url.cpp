// The one translation unit that compiles Boost.URL (header-only build).
#include <boost/url/src.hpp>
