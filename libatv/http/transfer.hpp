// HTTP and RTSP messages over a TCP socket, each exchange within a time limit. Plain text only;
// AirPlay's encrypted channel frames its messages itself (airplay/http_client.hpp).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>

#include "http/message.hpp"

namespace atv::http {

// Sends `request` and reads the response within `timeout`; bytes after it stay in `reader`.
// Throws atv::Error: timeout (the socket is closed then), connection_lost when the peer
// closes, connection_failed on anything else, a malformed response among it.
asio::awaitable<Response> round_trip(asio::ip::tcp::socket& socket, Reader& reader,
                                     const Request& request, std::chrono::milliseconds timeout);

// The next request on `socket` within `timeout`; errors as round_trip.
asio::awaitable<Request> read_request(asio::ip::tcp::socket& socket, Reader& reader,
                                      std::chrono::milliseconds timeout);

// Sends `response` within `timeout`; errors as round_trip.
asio::awaitable<void> send_response(asio::ip::tcp::socket& socket, const Response& response,
                                    std::chrono::milliseconds timeout);

}  // namespace atv::http
