#pragma once
// The HTTP Date header changes once a second; format it once a second.

#include <ctime>
#include <string_view>

namespace svc::http {

class DateCache {
 public:
  std::string_view now();

 private:
  std::time_t second_ = 0;
  char text_[40] = {};
  std::size_t size_ = 0;
};

}  // namespace svc::http
