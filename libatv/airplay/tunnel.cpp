#include "airplay/tunnel.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <exception>

#include "airplay/auth.hpp"
#include "airplay/datastream.hpp"
#include "airplay/http_client.hpp"
#include "airplay/plist.hpp"
#include "atv/error.hpp"
#include "hap/session.hpp"
#include "http/rtsp_session.hpp"
#include "mrp/connection.hpp"
#include "mrp/handshake.hpp"
#include "support/loss_report.hpp"
#include "support/tcp.hpp"

namespace atv::airplay {

namespace {

// The receiver learns from this UUID that the stream carries Media Remote.
constexpr const char* media_remote_client_type = "1910A70F-DBC0-4242-AF95-115DB30604E1";
constexpr std::uint64_t remote_control_stream = 130;

std::uint64_t random_u64() {
    const Bytes random = random_bytes(8);
    std::uint64_t value = 0;
    for (const std::uint8_t byte : random)
        value = (value << 8) | byte;
    return value;
}

// What the receiver is told about this client in the first SETUP.
PlistValue session_setup_body(const std::string& name) {
    return PlistDict{
        {"isRemoteControlOnly", true},
        {"osName", "iPhone OS"},
        {"sourceVersion", "550.10"},
        {"timingProtocol", "None"},
        {"model", "iPhone10,6"},
        {"deviceID", "AA:54:56:44:00:01"},
        {"osVersion", "14.7.1"},
        {"osBuildVersion", "18G82"},
        {"macAddress", "02:54:56:44:00:01"},
        {"sessionUUID", random_uuid(true)},
        {"name", name},
    };
}

PlistValue data_stream_setup_body(std::uint64_t seed) {
    return PlistDict{{"streams", PlistArray{PlistDict{
                                     {"controlType", 2},
                                     {"channelID", random_uuid(true)},
                                     {"seed", seed},
                                     {"clientUUID", random_uuid(true)},
                                     {"type", remote_control_stream},
                                     {"wantsDedicatedSocket", true},
                                     {"clientTypeUUID", media_remote_client_type},
                                 }}}};
}

std::uint16_t port_in(const PlistValue* value, const char* what) {
    const auto port = value != nullptr ? value->integer() : std::nullopt;
    if (!port || *port == 0 || *port > 65535) {
        throw Error(ErrorKind::connection_failed,
                    std::string("the AirPlay receiver's SETUP answer has no valid ") + what);
    }
    return static_cast<std::uint16_t>(*port);
}

}  // namespace

// Everything the tunnel owns, shared by its coroutines so they can outlive a close() call.
class Tunnel : public std::enable_shared_from_this<Tunnel> {
  public:
    Tunnel(asio::any_io_executor executor, std::string address, std::unique_ptr<HttpClient> control,
           SecretBytes shared, std::chrono::milliseconds step_timeout)
        : executor_(std::move(executor)),
          address_(std::move(address)),
          control_(std::move(control)),
          shared_(std::move(shared)),
          step_timeout_(step_timeout),
          events_(executor_),
          feedback_timer_(executor_),
          tasks_done_(executor_),
          session_id_(static_cast<std::uint32_t>(random_u64())),
          loss_(executor_) {}

    ~Tunnel() { abort(); }

    asio::awaitable<void> open(const TunnelOptions& options, std::string client_id,
                               std::chrono::milliseconds connect_timeout);
    asio::awaitable<void> close();
    void abort();
    void on_lost(std::function<void(const std::string&)> handler);
    mrp::MrpChannel& channel() { return *channel_; }
    mrp::MrpControl* mrp_control() { return mrp_control_.get(); }

  private:
    asio::awaitable<http::Response> rtsp(std::string method, std::string target,
                                         std::optional<PlistValue> body);
    template <typename Body>
    void spawn(Body body);
    asio::awaitable<void> event_loop();
    asio::awaitable<void> feedback_loop(std::chrono::milliseconds interval);
    void fail(const std::string& reason);
    // Closes the sockets and stops the timers and the channel.
    void stop_work();

    asio::any_io_executor executor_;
    std::string address_;
    std::unique_ptr<HttpClient> control_;
    SecretBytes shared_;
    std::chrono::milliseconds step_timeout_;
    asio::ip::tcp::socket events_;
    std::optional<hap::HapFrameCipher> event_cipher_;
    std::shared_ptr<mrp::MrpChannel> channel_;
    // After channel_, so that it is destroyed first and unhooks from the channel.
    std::unique_ptr<mrp::MrpControl> mrp_control_;
    asio::steady_timer feedback_timer_;
    asio::steady_timer tasks_done_;
    int active_tasks_ = 0;
    std::uint32_t session_id_;
    http::RtspSession rtsp_;
    LossReport loss_;
};

asio::awaitable<http::Response> Tunnel::rtsp(std::string method, std::string target,
                                             std::optional<PlistValue> body) {
    http::Request request = rtsp_.request(std::move(method), std::move(target));
    if (body) {
        request.headers.add("Content-Type", "application/x-apple-binary-plist");
        request.body = plist_encode(*body);
    }
    const std::string what = request.method + " " + request.target;
    auto requesting = control_->request(std::move(request), step_timeout_);
    http::Response response = co_await std::move(requesting);
    if (response.status == 470 || response.status == 401 || response.status == 403) {
        throw Error(ErrorKind::authentication_failed,
                    "the AirPlay receiver refused " + what + " (" +
                        std::to_string(response.status) + " " + response.reason +
                        "): its AirPlay credentials are missing or no longer valid; pair again");
    }
    if (response.status != 200) {
        throw Error(ErrorKind::connection_failed, "the AirPlay receiver answered " + what +
                                                      " with " + std::to_string(response.status) +
                                                      " " + response.reason);
    }
    co_return response;
}

asio::awaitable<void> Tunnel::open(const TunnelOptions& options, std::string client_id,
                                   std::chrono::milliseconds connect_timeout) {
    const std::string base =
        "rtsp://" + control_->local_address() + "/" + std::to_string(session_id_);
    auto session_setup = rtsp("SETUP", base, session_setup_body(options.client_name));
    const http::Response setup = co_await std::move(session_setup);
    const std::uint16_t event_port =
        port_in(plist_decode(setup.body).find("eventPort"), "eventPort");

    auto event_socket = co_await connect_tcp(executor_, address_, event_port, connect_timeout,
                                             "the AirPlay event channel");
    events_ = std::move(event_socket);
    // The event channel's keys are named from the receiver's side: ours are the reverse.
    event_cipher_.emplace(hap::airplay_event_keys(shared_.view()));
    spawn([self = shared_from_this()] { return self->event_loop(); });

    auto record = rtsp("RECORD", base, std::nullopt);
    co_await std::move(record);

    const std::uint64_t seed = random_u64();
    auto stream_setup = rtsp("SETUP", base, data_stream_setup_body(seed));
    const http::Response streams = co_await std::move(stream_setup);
    const PlistValue answer = plist_decode(streams.body);
    const PlistValue* stream_list = answer.find("streams");
    const PlistValue* first =
        stream_list != nullptr && stream_list->array() != nullptr && !stream_list->array()->empty()
            ? &stream_list->array()->front()
            : nullptr;
    const std::uint16_t data_port =
        port_in(first != nullptr ? first->find("dataPort") : nullptr, "dataPort");

    auto data_socket = co_await connect_tcp(executor_, address_, data_port, connect_timeout,
                                            "the AirPlay data channel");
    // pyatv-compatible receivers expect one seqno per channel from [2^32, 2^33).
    const std::uint64_t seqno = 0x100000000ULL + (random_u64() % 0xFFFFFFFFULL);
    channel_ = mrp::MrpChannel::create(
        std::move(data_socket),
        std::make_unique<DataStreamFraming>(hap::airplay_datastream_keys(shared_.view(), seed),
                                            seqno, "comm"));
    channel_->on_lost([weak = weak_from_this()](const std::string& reason) {
        if (auto self = weak.lock())
            self->fail(reason);
    });
    // Listening from the start: the device sends what plays as soon as the client subscribes.
    mrp_control_ = std::make_unique<mrp::MrpControl>(channel_);
    channel_->start();
    spawn([self = shared_from_this(), interval = options.feedback_interval] {
        return self->feedback_loop(interval);
    });

    const mrp::ClientDescription client{std::move(client_id), options.client_name};
    co_await mrp::exchange_device_information(*channel_, client, step_timeout_);
    co_await mrp::start_session(*channel_, step_timeout_);
}

template <typename Body>
void Tunnel::spawn(Body body) {
    ++active_tasks_;
    asio::co_spawn(executor_, std::move(body),
                   [self = shared_from_this()](std::exception_ptr error) {
                       if (error) {
                           try {
                               std::rethrow_exception(error);
                           } catch (const std::exception& e) {
                               self->fail(e.what());
                           }
                       }
                       if (--self->active_tasks_ == 0)
                           self->tasks_done_.cancel();
                   });
}

// The receiver sends RTSP requests here; each needs an answer or it drops the session.
asio::awaitable<void> Tunnel::event_loop() {
    http::Reader reader(http::Reader::Kind::request);
    std::array<std::uint8_t, 4096> chunk{};
    while (!loss_.ended()) {
        std::error_code ec;
        const std::size_t count = co_await events_.async_read_some(
            asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            fail(ec == asio::error::eof ? "the AirPlay receiver closed the event channel"
                                        : "the AirPlay event channel broke: " + ec.message());
            co_return;
        }
        if (auto opened = event_cipher_->decrypt(ByteView(chunk.data(), count)))
            reader.feed(*opened);
        Bytes answers;
        while (auto request = reader.next_request()) {
            http::Response response;
            response.protocol = "RTSP/1.0";
            if (const auto cseq = request->headers.get("CSeq")) {
                response.headers.add("CSeq", std::string(*cseq));
            }
            response.headers.add("Audio-Latency", "0");
            const Bytes sealed = event_cipher_->encrypt(http::encode(response));
            answers.insert(answers.end(), sealed.begin(), sealed.end());
        }
        if (answers.empty())
            continue;
        co_await asio::async_write(events_, asio::buffer(answers),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            fail("the AirPlay event channel broke: " + ec.message());
            co_return;
        }
    }
}

asio::awaitable<void> Tunnel::feedback_loop(std::chrono::milliseconds interval) {
    while (!loss_.ended()) {
        feedback_timer_.expires_after(interval);
        std::error_code ec;
        co_await feedback_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || loss_.ended())
            co_return;
        try {
            auto feedback = rtsp("POST", "/feedback", std::nullopt);
            co_await std::move(feedback);
        } catch (const Error& error) {
            fail(std::string("the AirPlay receiver stopped answering /feedback: ") + error.what());
            co_return;
        }
    }
}

void Tunnel::fail(const std::string& reason) {
    if (!loss_.lose(reason))
        return;
    spdlog::info("airplay: tunnel to {} lost: {}", address_, reason);
    stop_work();
}

void Tunnel::on_lost(std::function<void(const std::string&)> handler) {
    loss_.on_lost(std::move(handler));
}

void Tunnel::abort() {
    if (loss_.closed())
        return;
    loss_.close();
    stop_work();
}

void Tunnel::stop_work() {
    std::error_code ignored;
    events_.close(ignored);
    feedback_timer_.cancel();
    control_->close();
    if (channel_)
        channel_->abort();
}

asio::awaitable<void> Tunnel::close() {
    auto self = shared_from_this();
    abort();
    if (channel_)
        co_await channel_->close();
    while (active_tasks_ > 0) {
        tasks_done_.expires_at(asio::steady_timer::time_point::max());
        std::error_code ec;
        co_await tasks_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

TunnelConnection::TunnelConnection(std::shared_ptr<Tunnel> tunnel) : tunnel_(std::move(tunnel)) {}

TunnelConnection::~TunnelConnection() {
    // The tunnel may outlive this connection in its last coroutines: nobody listens any more.
    if (auto* control = tunnel_->mrp_control())
        control->set_events({});
    tunnel_->abort();
}

asio::awaitable<void> TunnelConnection::close() {
    co_await tunnel_->close();
}

void TunnelConnection::on_lost(std::function<void(const std::string& reason)> callback) {
    tunnel_->on_lost(std::move(callback));
}

mrp::MrpChannel& TunnelConnection::channel() {
    return tunnel_->channel();
}

Control* TunnelConnection::control() {
    return tunnel_->mrp_control();
}

asio::awaitable<std::unique_ptr<TunnelConnection>> connect_tunnel(
    asio::any_io_executor executor, std::string address, std::uint16_t port,
    std::optional<hap::HapCredentials> credentials, std::chrono::milliseconds timeout,
    TunnelOptions options) {
    const auto step_timeout = std::min(timeout, default_request_timeout);
    auto client = co_await HttpClient::connect(executor, address, port, timeout);
    SecretBytes shared;
    std::string client_id;
    if (credentials) {
        try {
            auto verifying = verify_and_encrypt(*client, *credentials, step_timeout);
            shared = co_await std::move(verifying);
        } catch (const Error& error) {
            if (error.kind() == ErrorKind::timeout ||
                error.kind() == ErrorKind::connection_failed) {
                throw;
            }
            const std::string reason = error.what();
            throw Error(ErrorKind::authentication_failed,
                        reason.find("pair again") != std::string::npos
                            ? reason
                            : "the device did not accept the stored AirPlay credentials (" +
                                  reason + "); pair again");
        }
        client_id = to_string(credentials->client_id);
    } else {
        auto transient = transient_setup_and_encrypt(*client, step_timeout);
        shared = co_await std::move(transient);
        client_id = random_uuid(true);
    }
    auto tunnel = std::make_shared<Tunnel>(executor, address, std::move(client), std::move(shared),
                                           step_timeout);
    std::exception_ptr failure;
    try {
        auto opening = tunnel->open(options, client_id, timeout);
        co_await std::move(opening);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await tunnel->close();
        std::rethrow_exception(failure);
    }
    spdlog::info("airplay: MRP tunnel to {}:{} is up", address, port);
    co_return std::make_unique<TunnelConnection>(std::move(tunnel));
}

}  // namespace atv::airplay
