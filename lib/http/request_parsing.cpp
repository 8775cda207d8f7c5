#include "lib/http/request_parsing.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/system/system_error.hpp>

#include "lib/http/errors.hpp"

namespace svc::http {

namespace beast = boost::beast;

namespace {

constexpr std::size_t kReadSlack = 16 * 1024;

// Beast refuses every version but 1.0 and 1.1 as bad_version (400); a
// request line naming another major version, as the HTTP/2 connection
// preface "PRI * HTTP/2.0" does, is answered 505 instead (RFC 9110 15.6.6).
bool names_other_major_version(std::string_view data) {
  const auto eol = data.find("\r\n");
  if (eol == std::string_view::npos || eol < 9) return false;
  const auto v = data.substr(eol - 9, 9);  // " HTTP/d.d"
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.substr(0, 6) == " HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]) && v[6] != '1';
}

// Transfer-Encoding (RFC 9112): only in HTTP/1.1 (section 6.1), chunked
// last and once (section 6.3: otherwise 400, then close); chunked is the
// only coding implemented (501 for others). Beast itself rejects
// Content-Length with Transfer-Encoding, conflicting Content-Lengths and a
// repeated chunked field, but reads "chunked, gzip" as a message without a
// body.
std::optional<Response> framing_error(const Request& header) {
  auto [first, last] = header.base().equal_range(bhttp::field::transfer_encoding);
  if (first == last) return std::nullopt;
  if (header.version() == 10) return error_response(Status::bad_request, "Bad Request: Transfer-Encoding in HTTP/1.0");
  std::vector<std::string_view> codings;
  for (auto it = first; it != last; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
      auto comma = list.find(',');
      auto coding = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) coding.remove_suffix(1);
      if (!coding.empty()) codings.push_back(coding);
    }
  }
  const auto chunked = [](std::string_view c) { return beast::iequals(c, "chunked"); };
  if (codings.empty() || !chunked(codings.back()) || std::any_of(codings.begin(), codings.end() - 1, chunked))
    return error_response(Status::bad_request, "Bad Request: Transfer-Encoding must end with chunked, once");
  if (codings.size() > 1)
    return error_response(Status::not_implemented, "Transfer-Encoding other than chunked is not implemented");
  return std::nullopt;
}

// A SyncReadStream over bytes that have arrived: each read_some gets what
// fits, then end of file (for parse_request, "nothing more yet").
class ArrivedBytes {
 public:
  explicit ArrivedBytes(std::string_view bytes) : bytes_(bytes) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    ec = {};
    if (position_ == bytes_.size()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    auto n = boost::asio::buffer_copy(buffers, boost::asio::buffer(bytes_.data() + position_, bytes_.size() - position_));
    position_ += n;
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  std::size_t position() const { return position_; }

 private:
  std::string_view bytes_;
  std::size_t position_ = 0;
};

// The reader's end of input, for a socket that is still open.
bool ran_out(const boost::system::error_code& ec) {
  return ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream;
}

std::string_view buffered(const beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace

std::size_t read_buffer_limit(const ServerSettings& settings) { return settings.max_header_bytes + kReadSlack; }

void apply_request_limits(RequestParser& parser, const ServerSettings& settings) {
  parser.header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
  parser.body_limit(settings.max_body_bytes);
}

Response request_error_response(const boost::system::error_code& ec, const ServerSettings& settings,
                                std::string_view buffered) {
  if (ec == bhttp::error::bad_version && names_other_major_version(buffered))
    return error_response(Status::http_version_not_supported, "HTTP Version Not Supported");
  if (ec == bhttp::error::header_limit)
    return error_response(Status::request_header_fields_too_large,
                          "Request header too large (limit " + std::to_string(settings.max_header_bytes) + " bytes)");
  if (ec == bhttp::error::body_limit)
    return error_response(Status::payload_too_large,
                          "Request body too large (limit " + std::to_string(settings.max_body_bytes) + " bytes)");
  if (ec == bhttp::error::buffer_overflow)
    return error_response(Status::bad_request, "Bad Request: chunk line or trailer section over " +
                                                   std::to_string(read_buffer_limit(settings)) + " bytes");
  return error_response(Status::bad_request, "Bad Request: " + ec.message());
}

HeaderDecision decide_on_header(const Request& header, bool message_done, const Router& router) {
  HeaderDecision d;
  d.refusal = framing_error(header);
  if (d.refusal) return d;
  auto target = parse_target(header.target());
  if (!target || (target->form == Target::Form::asterisk && header.method() != Verb::options)) {
    d.refusal = error_response(Status::bad_request, "Bad Request: invalid request target");
    return d;
  }
  d.target = *target;
  if (target->form != Target::Form::asterisk) d.match = router.match(header.method(), target->path);
  if (message_done) return d;
  // A body follows.
  if (d.match.route == nullptr) {
    // 404, 405 or OPTIONS *: the answer does not depend on the body, so it
    // goes out without reading it, and the connection closes after it.
    d.close_after = true;
  } else if (!d.match.route->options.takes_body) {
    d.refusal = error_response(Status::payload_too_large, "Request body not accepted on this route");
  } else {
    d.read_body = true;
  }
  return d;
}

ParsedRequest parse_request(std::string_view bytes, const ServerSettings& settings, const Router& router) {
  ParsedRequest out;
  ArrivedBytes stream(bytes);
  beast::flat_buffer buffer(read_buffer_limit(settings));
  RequestParser parser;
  apply_request_limits(parser, settings);
  auto refuse = [&](const boost::system::error_code& ec) {
    out.outcome = ParsedRequest::Outcome::refused;
    out.ec = ec;
    out.refusal = request_error_response(ec, settings, buffered(buffer));
  };
  auto finish = [&] {
    out.consumed = stream.position() - buffer.size();
    return std::move(out);
  };

  boost::system::error_code ec;
  bhttp::read_header(stream, buffer, parser, ec);
  if (ran_out(ec)) return finish();
  if (ec) {
    refuse(ec);
    return finish();
  }
  out.decision = decide_on_header(parser.get(), parser.is_done(), router);
  if (out.decision.refusal) {
    out.outcome = ParsedRequest::Outcome::refused;
    out.refusal = std::move(out.decision.refusal);
    out.decision.refusal.reset();
    return finish();
  }
  if (out.decision.read_body) {
    out.expects_continue = beast::iequals(parser.get()[bhttp::field::expect], "100-continue");
    bhttp::read(stream, buffer, parser, ec);
    if (ran_out(ec)) return finish();
    if (ec) {
      refuse(ec);
      return finish();
    }
  }
  out.outcome = ParsedRequest::Outcome::request;
  out.request = parser.release();
  return finish();
}

}  // namespace svc::http
