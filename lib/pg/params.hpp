#pragma once
// Bound parameters, sent in text format with the server inferring types
// (cast in SQL where it matters: $1::uuid). Never concatenated into SQL.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace svc::pg {

class Params {
 public:
  Params() = default;
  template <typename... Ts>
  explicit Params(const Ts&... values) {
    (add(values), ...);
  }

  Params& add(std::nullopt_t);
  Params& add(std::string_view v);
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(bool v);
  Params& add(std::int32_t v);
  Params& add(std::int64_t v);
  Params& add(std::uint32_t v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(double v);
  Params& add(std::chrono::sys_time<std::chrono::microseconds> v);
  // A text[] literal ({"a","b\"c"}); bind it with an explicit cast ($1::text[],
  // $1::numeric[]) so the server parses each element as that type.
  Params& add(const std::vector<std::string>& elements);
  template <typename T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : add(std::nullopt);
  }

  std::size_t size() const noexcept { return values_.size(); }
  // For PQsendQueryParams: pointers valid while this object lives.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

}  // namespace svc::pg
