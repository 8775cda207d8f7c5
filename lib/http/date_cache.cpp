#include "lib/http/date_cache.hpp"

#include <ctime>

namespace svc::http {

std::string_view DateCache::now() {
  std::time_t t = std::time(nullptr);
  if (t != second_ || size_ == 0) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    size_ = std::strftime(text_, sizeof text_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    second_ = t;
  }
  return {text_, size_};
}

}  // namespace svc::http
