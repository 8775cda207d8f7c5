#include "lib/http/compression.hpp"

#include <zlib.h>

#include <stdexcept>

#include "lib/http/conditional.hpp"
#include "lib/http/header_values.hpp"

namespace svc::http {

namespace {

// zlib's fastest level: on the API's JSON it keeps most of level 6's saving
// at a fraction of its CPU (docs/benchmarks.md, "gzip").
constexpr int kLevel = 1;
constexpr int kGzipWindow = 15 + 16;  // 32 KiB window, gzip wrapper

bool compressible(std::string_view type) {
  const auto semi = type.find(';');
  const auto mime = type.substr(0, semi);
  return mime.starts_with("text/") || mime == "application/json" || mime == "application/javascript" ||
         mime == "image/svg+xml" || mime.ends_with("+json");
}

}  // namespace

std::string gzip(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, kGzipWindow, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);  // the bound fits it in one call
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  return out;
}

bool apply_compression(const Request& request, Response& response) {
  if (response.body().size() < kGzipMinBytes || response.body().size() > UINT32_MAX) return false;
  if (!compressible(response[bhttp::field::content_type])) return false;
  if (response.count(bhttp::field::content_encoding) != 0) return false;
  add_vary(response, "Accept-Encoding");
  if (!accepts_coding(request[bhttp::field::accept_encoding], "gzip")) return false;
  response.body() = gzip(response.body(), kLevel);
  response.set(bhttp::field::content_encoding, "gzip");
  if (auto tag = response[bhttp::field::etag]; tag.size() > 2 && tag.back() == '"') {
    std::string tagged(tag.substr(0, tag.size() - 1));
    tagged.append(kGzipTagSuffix).append("\"");
    response.set(bhttp::field::etag, tagged);
  }
  return true;
}

}  // namespace svc::http
