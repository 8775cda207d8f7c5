// The one translation unit that compiles Boost.Asio's SSL support.
#include <boost/asio/ssl/impl/src.hpp>
