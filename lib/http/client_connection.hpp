#pragma once
// One outbound connection (inside the HTTP client): a socket to an origin or
// to the proxy, with TLS on top for https, and the read buffer it keeps.

#include <atomic>
#include <cstddef>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace svc::http::detail {

struct ClientConnection {
  ClientConnection(boost::asio::io_context& ioc, std::atomic<std::size_t>& open) : socket(ioc), open_sockets(open) {}
  ~ClientConnection() {
    if (counted) open_sockets.fetch_sub(1, std::memory_order_relaxed);
  }
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  // The server may have closed it while idle (FIN) or sent something
  // unasked; either way it cannot carry a request. A non-blocking peek.
  bool still_open();

  boost::asio::ip::tcp::socket socket;  // closed by its destructor
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls;
  boost::beast::flat_buffer buffer;
  bool reused = false;   // has carried a response before
  bool counted = false;  // counted in open_sockets
  std::atomic<std::size_t>& open_sockets;
};
using ConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace svc::http::detail
