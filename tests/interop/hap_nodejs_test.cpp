// Pairs with a real HomeKit accessory (hap-nodejs, started by run_interop.sh) over TCP:
// pair-setup M1..M6 over HTTP, pair-verify on a new connection, then HAP frame encryption with
// the control keys and GET /accessories. Also the wrong-PIN and already-paired errors.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "hap/errors.hpp"
#include "hap/flows.hpp"
#include "hap/session.hpp"

namespace atv::hap {
namespace {

using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

constexpr std::string_view accessory_device_id = "CC:22:3D:E3:CE:F6";
constexpr std::string_view setup_code = "031-45-154";
// fast-srp-hap, which hap-nodejs uses, pads A, B and S to the length of N in its proofs.
constexpr auto srp_encoding = SrpIntegerEncoding::padded;

unsigned short accessory_port() {
    const char* text = std::getenv("HAP_INTEROP_PORT");
    if (text == nullptr) {
        throw std::runtime_error("HAP_INTEROP_PORT is not set: run through run_interop.sh");
    }
    return static_cast<unsigned short>(std::stoi(text));
}

// ---- a minimal JSON reader, enough for GET /accessories ----

struct Json;
using JsonObject = std::map<std::string, Json>;
using JsonArray = std::vector<Json>;
struct Json {
    std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> value;
    const JsonObject& object() const { return std::get<JsonObject>(value); }
    const JsonArray& array() const { return std::get<JsonArray>(value); }
    const std::string& string() const { return std::get<std::string>(value); }
};

class JsonReader {
  public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    Json read_document() {
        Json json = read_value();
        skip_space();
        if (position_ != text_.size()) {
            throw std::runtime_error("trailing bytes after JSON");
        }
        return json;
    }

  private:
    void skip_space() {
        while (position_ < text_.size() &&
               std::isspace(static_cast<unsigned char>(text_[position_]))) {
            ++position_;
        }
    }
    char peek() {
        skip_space();
        if (position_ >= text_.size()) {
            throw std::runtime_error("JSON ends early");
        }
        return text_[position_];
    }
    void expect(char c) {
        if (peek() != c) {
            throw std::runtime_error(std::string("JSON: expected ") + c);
        }
        ++position_;
    }
    bool consume_word(std::string_view word) {
        if (text_.substr(position_, word.size()) == word) {
            position_ += word.size();
            return true;
        }
        return false;
    }
    std::string read_string() {
        expect('"');
        std::string out;
        while (position_ < text_.size() && text_[position_] != '"') {
            char c = text_[position_++];
            if (c == '\\' && position_ < text_.size()) {
                c = text_[position_++];
                if (c == 'u') {
                    position_ += 4;  // code points are not needed here
                    c = '?';
                }
            }
            out.push_back(c);
        }
        expect('"');
        return out;
    }
    Json read_value() {
        const char c = peek();
        if (c == '{') {
            ++position_;
            JsonObject object;
            if (peek() == '}') {
                ++position_;
                return Json{object};
            }
            while (true) {
                std::string key = read_string();
                expect(':');
                object.emplace(std::move(key), read_value());
                if (peek() == ',') {
                    ++position_;
                    continue;
                }
                expect('}');
                return Json{object};
            }
        }
        if (c == '[') {
            ++position_;
            JsonArray array;
            if (peek() == ']') {
                ++position_;
                return Json{array};
            }
            while (true) {
                array.push_back(read_value());
                if (peek() == ',') {
                    ++position_;
                    continue;
                }
                expect(']');
                return Json{array};
            }
        }
        if (c == '"') {
            return Json{read_string()};
        }
        if (consume_word("true")) {
            return Json{true};
        }
        if (consume_word("false")) {
            return Json{false};
        }
        if (consume_word("null")) {
            return Json{nullptr};
        }
        std::size_t used = 0;
        const double number = std::stod(std::string(text_.substr(position_, 32)), &used);
        position_ += used;
        return Json{number};
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

// Apple's characteristic and service types, in the short form hap-nodejs sends ("43") or the
// full UUID form.
std::string short_type(std::string type) {
    constexpr std::string_view apple_suffix = "-0000-1000-8000-0026BB765291";
    if (type.size() == 36 && type.ends_with(apple_suffix)) {
        type = type.substr(0, 8);
    }
    const auto first = type.find_first_not_of('0');
    return first == std::string::npos ? "0" : type.substr(first);
}

// ---- HTTP over the (optionally encrypted) HAP connection ----

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    Bytes body;
};

template <typename T>
asio::awaitable<T> with_deadline(asio::awaitable<T> operation, std::chrono::seconds limit) {
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto result = co_await (std::move(operation) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 1) {
        throw Error(ErrorKind::timeout, "the accessory did not answer in time");
    }
    co_return std::get<0>(std::move(result));
}

asio::awaitable<void> with_deadline(asio::awaitable<void> operation, std::chrono::seconds limit) {
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto result = co_await (std::move(operation) || timer.async_wait(asio::use_awaitable));
    if (result.index() == 1) {
        throw Error(ErrorKind::timeout, "the accessory did not answer in time");
    }
}

class HapConnection {
  public:
    explicit HapConnection(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

    static asio::awaitable<std::unique_ptr<HapConnection>> open(unsigned short port) {
        asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
        co_await with_deadline(
            socket.async_connect({asio::ip::address_v4::loopback(), port}, asio::use_awaitable),
            5s);
        co_return std::make_unique<HapConnection>(std::move(socket));
    }

    void enable_encryption(const SessionKeys& keys) { cipher_.emplace(keys); }

    asio::awaitable<Bytes> post_tlv(std::string_view path, ByteView body) {
        const HttpResponse response = co_await request("POST", path, body);
        if (response.status != 200) {
            throw std::runtime_error("POST " + std::string(path) + " answered " +
                                     std::to_string(response.status));
        }
        co_return response.body;
    }

    asio::awaitable<HttpResponse> request(std::string_view method, std::string_view path,
                                          ByteView body) {
        std::string head =
            std::string(method) + ' ' + std::string(path) + " HTTP/1.1\r\n" + "Host: 127.0.0.1\r\n";
        if (method == "POST") {
            head += "Content-Type: application/pairing+tlv8\r\n";
            head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        }
        head += "\r\n";
        Bytes wire = to_bytes(head);
        wire.insert(wire.end(), body.begin(), body.end());
        if (cipher_) {
            wire = cipher_->encrypt(wire);
        }
        co_await with_deadline(asio::async_write(socket_, asio::buffer(wire), asio::use_awaitable),
                               5s);
        co_return co_await with_deadline(read_response(), 10s);
    }

  private:
    asio::awaitable<void> receive_more() {
        std::array<std::uint8_t, 4096> chunk{};
        const std::size_t count =
            co_await socket_.async_read_some(asio::buffer(chunk), asio::use_awaitable);
        const ByteView received(chunk.data(), count);
        if (cipher_) {
            if (auto plain = cipher_->decrypt(received)) {
                inbox_.insert(inbox_.end(), plain->begin(), plain->end());
            }
        } else {
            inbox_.insert(inbox_.end(), received.begin(), received.end());
        }
    }

    asio::awaitable<std::string> read_line() {
        while (true) {
            const std::string_view text(reinterpret_cast<const char*>(inbox_.data()),
                                        inbox_.size());
            if (const auto end = text.find("\r\n"); end != std::string_view::npos) {
                std::string line(text.substr(0, end));
                inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(end + 2));
                co_return line;
            }
            co_await receive_more();
        }
    }

    asio::awaitable<Bytes> read_exactly(std::size_t count) {
        while (inbox_.size() < count) {
            co_await receive_more();
        }
        Bytes out(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(count));
        inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(count));
        co_return out;
    }

    asio::awaitable<HttpResponse> read_response() {
        HttpResponse response;
        const std::string status_line = co_await read_line();
        if (status_line.rfind("HTTP/1.1 ", 0) != 0) {
            throw std::runtime_error("not an HTTP response: " + status_line.substr(0, 40));
        }
        response.status = std::stoi(status_line.substr(9, 3));
        for (std::string line = co_await read_line(); !line.empty(); line = co_await read_line()) {
            const auto colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (char& c : name) {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
            const auto value_start = line.find_first_not_of(' ', colon + 1);
            response.headers[name] =
                value_start == std::string::npos ? "" : line.substr(value_start);
        }
        if (response.headers["transfer-encoding"] == "chunked") {
            while (true) {
                const std::size_t size = std::stoul(co_await read_line(), nullptr, 16);
                const Bytes part = co_await read_exactly(size);
                response.body.insert(response.body.end(), part.begin(), part.end());
                (void)co_await read_line();
                if (size == 0) {
                    break;
                }
            }
        } else if (response.headers.contains("content-length")) {
            response.body = co_await read_exactly(std::stoul(response.headers["content-length"]));
        }
        co_return response;
    }

    asio::ip::tcp::socket socket_;
    std::optional<HapFrameCipher> cipher_;
    Bytes inbox_;
};

// ---- the flows ----

TlvExchange post_to(HapConnection& connection, std::string path) {
    return [&connection, path](Bytes request) -> asio::awaitable<Bytes> {
        co_return co_await connection.post_tlv(path, request);
    };
}

asio::awaitable<HapCredentials> pair_setup(unsigned short port, const ClientIdentity& client,
                                           std::string_view pin) {
    auto connection = co_await HapConnection::open(port);
    const TlvExchange exchange = post_to(*connection, "/pair-setup");
    PairSetupFlow flow(client, std::string("atvd interop"), srp_encoding);
    co_await flow.begin(exchange);
    flow.pin(std::string(pin));
    co_return co_await flow.finish(exchange);
}

asio::awaitable<Json> verify_and_list_accessories(unsigned short port,
                                                  const HapCredentials& credentials) {
    auto connection = co_await HapConnection::open(port);
    const SecretBytes shared =
        co_await pair_verify(credentials, post_to(*connection, "/pair-verify"));
    // HAP accessories use the same labels as AirPlay's control connection.
    connection->enable_encryption(airplay_control_keys(shared.view()));
    const HttpResponse response = co_await connection->request("GET", "/accessories", {});
    if (response.status != 200) {
        throw std::runtime_error("GET /accessories answered " + std::to_string(response.status));
    }
    co_return JsonReader(to_string(response.body)).read_document();
}

template <typename T>
T run(asio::awaitable<T> flow) {
    asio::io_context context;
    auto future = asio::co_spawn(context, std::move(flow), asio::use_future);
    context.run();
    return future.get();
}

TEST(HapInteropNodejs, WrongPinThenPairVerifyAccessoriesThenUnavailable) {
    const unsigned short port = accessory_port();
    const ClientIdentity client = ClientIdentity::generate();

    // 1. A wrong setup code: the accessory answers M4 with Authentication.
    try {
        (void)run(pair_setup(port, client, "111-11-111"));
        FAIL() << "pairing with a wrong setup code succeeded";
    } catch (const HapError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
        EXPECT_EQ(error.code(), HapErrorCode::authentication);
        EXPECT_NE(std::string(error.what()).find("PIN"), std::string::npos) << error.what();
    }

    // 2. The right one, on a new connection.
    const HapCredentials credentials = run(pair_setup(port, client, setup_code));
    EXPECT_EQ(to_string(credentials.device_id), accessory_device_id);
    EXPECT_EQ(credentials.ltpk.size(), 32U);
    EXPECT_EQ(to_string(credentials.client_id), client.client_id);

    // 3. Verify on another connection, switch to the control keys and list the accessory.
    const Json listing = run(verify_and_list_accessories(port, credentials));
    const auto& accessories = listing.object().at("accessories").array();
    ASSERT_EQ(accessories.size(), 1U);
    bool found_lightbulb = false;
    for (const auto& service : accessories[0].object().at("services").array()) {
        if (short_type(service.object().at("type").string()) != "43") {
            continue;
        }
        found_lightbulb = true;
        std::vector<std::string> types;
        for (const auto& characteristic : service.object().at("characteristics").array()) {
            types.push_back(short_type(characteristic.object().at("type").string()));
        }
        EXPECT_NE(std::find(types.begin(), types.end(), "25"), types.end()) << "no On";
        EXPECT_NE(std::find(types.begin(), types.end(), "8"), types.end()) << "no Brightness";
    }
    EXPECT_TRUE(found_lightbulb) << "no Lightbulb service in /accessories";

    // 4. The accessory now has a controller: a second pair-setup is refused at M2.
    try {
        (void)run(pair_setup(port, ClientIdentity::generate(), setup_code));
        FAIL() << "a second pair-setup succeeded";
    } catch (const HapError& error) {
        EXPECT_EQ(error.kind(), ErrorKind::pairing_failed);
        EXPECT_EQ(error.code(), HapErrorCode::unavailable);
    }
}

}  // namespace
}  // namespace atv::hap
