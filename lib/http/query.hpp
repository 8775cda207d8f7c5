#pragma once
// Typed query parameters. Each getter validates one parameter and records a
// FieldError instead of throwing, so one 422 lists every bad parameter, as
// FastAPI does; finish() throws ValidationError if anything was recorded.
// Route handlers read through ParamSpecs (the getters taking one), built from
// the RequestContext: the specs are the route's documentation, and reading a
// parameter the route does not document is a programming error
// (std::logic_error, a 500 that any test of the route finds).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/http/errors.hpp"
#include "lib/http/param_spec.hpp"

namespace svc::http {

struct RequestContext;

class QueryParams {
 public:
  // Throws HttpError 400 if the query has a malformed %-escape.
  explicit QueryParams(std::string_view raw_query);
  // The query and path parameters of a routed request, held to its route's doc.
  explicit QueryParams(const RequestContext& ctx);

  // By spec: absent (or empty, for empty_is_absent) gives the spec's default
  // or nullopt; a bad value is recorded and gives the same.
  std::int64_t integer(const ParamSpec& p);
  std::optional<std::int64_t> optional_integer(const ParamSpec& p);
  bool boolean(const ParamSpec& p);
  std::optional<bool> optional_boolean(const ParamSpec& p);
  // A plain decimal, canonical ("0.950" -> "0.95", "-0" -> "0").
  std::optional<std::string> optional_number(const ParamSpec& p);
  std::string text(const ParamSpec& p);
  std::optional<std::string> optional_text(const ParamSpec& p);
  bool flag(const ParamSpec& p);
  // The raw value of a documented parameter, for checks of the caller's own.
  std::optional<std::string_view> raw(const ParamSpec& p);
  // The spec's error for `input` (its invalid_type, else a pattern mismatch).
  FieldError invalid(const ParamSpec& p, std::string_view input) const;

  // The first value of `name`, decoded; nullopt if absent.
  std::optional<std::string_view> get(std::string_view name) const;
  // True if the parameter is present, even without a value (`?verbose`).
  bool has(std::string_view name) const;

  std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view name, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view name, bool fallback);
  // One of a fixed set of values, compared exactly (pydantic's Literal).
  std::string literal(std::string_view name, std::string_view fallback, const std::vector<std::string_view>& allowed);
  // The same for a filter: absent or empty means "no value".
  std::optional<std::string> optional_literal(std::string_view name, const std::vector<std::string_view>& allowed);
  // A string checked by `valid`; `pattern` is the regex shown to clients.
  std::string matching(std::string_view name, std::string_view fallback, std::string_view pattern,
                       const std::function<bool(std::string_view)>& valid);
  std::optional<std::string> optional_matching(std::string_view name, std::string_view pattern,
                                               const std::function<bool(std::string_view)>& valid);

  // Records an error found by the caller (for rules the getters do not cover).
  void add_error(FieldError error);
  const std::vector<FieldError>& errors() const noexcept { return errors_; }
  void finish() const;  // throws ValidationError when errors() is not empty

 private:
  std::optional<std::string> checked_literal(std::string_view name, std::string_view raw,
                                             const std::vector<std::string_view>& allowed);
  std::optional<std::string_view> given(const ParamSpec& p);  // raw(), "" as absent when empty_is_absent
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<FieldError> errors_;
  const RequestContext* ctx_ = nullptr;
};

}  // namespace svc::http
