// The DMAP side of the fake Apple TV (an Apple TV 3 speaks it on port 3689): `/login` with a
// pairing GUID it trusts (or a Home Sharing id) opens a session, `/logout` ends it,
// `/server-info` answers anyone, `/ctrl-int/1/playstatusupdate` a logged-in session: at once for
// revision 0 or an old revision, and as a long poll for the current one, when what plays changes.
// Which GUIDs it trusts is set by the test: the device learns them through reverse pairing, which
// the test plays itself. As a strict device, it refuses with 400 any request without Host or
// without the exact headers Apple's Remote app sends (protocols-control.md §5), logging which
// header was wrong, and gzips every reply body, as those headers ask.
//
// Control, as an Apple TV 3 serves the Remote app: POST `/ctrl-int/1/<command>?prompt-id=0`
// (playpause, play, pause, stop, nextitem, previtem, volumeup, volumedown; anything else is
// refused with 500, as a device refuses what it cannot do), POST `controlpromptentry` with cmbe
// and cmcc (menu, select, topmenu; touch events that make a swipe), POST `setproperty` of
// dacp.playingtime, dacp.shufflestate, dacp.repeatstate and dmcp.volume, GET `getproperty` of
// dmcp.volume and GET `nowplayingartwork`. What plays is set by script lines (README.md) and by
// the commands; every change is a new revision, which answers the waiting play status polls.
#pragma once
#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"
#include "tcp_server.hpp"

namespace atv::fakes {

// The headers Apple's Remote app sends with every request (protocols-control.md §5), which the
// device insists on; written out here rather than taken from libatv, so that a wrong value there
// fails the tests.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 7> remote_app_headers{{
    {"Accept", "*/*"},
    {"Accept-Encoding", "gzip"},
    {"Client-DAAP-Version", "3.13"},
    {"Client-ATV-Sharing-Version", "1.2"},
    {"Client-iTunes-Sharing-Version", "3.15"},
    {"User-Agent", "Remote/1021"},
    {"Viewer-Only-Client", "1"},
}};

struct FakeDmapConfig {
    std::string name = "Fake Apple TV";
    std::string bind_address = "127.0.0.1";
    std::uint16_t port = 0;             // 0 = ephemeral
    std::set<std::string> credentials;  // "0x" + 16 hex digits, or Home Sharing UUIDs
};

// What the fake's DMAP side plays; caps numbers the state as the device does (2 stopped,
// 3 paused, 4 playing). Stopped means nothing is loaded: no metadata is sent.
struct FakeDmapPlaying {
    std::uint8_t state = 2;
    std::string title;
    std::string artist;
    std::string album;
    std::string genre;
    std::optional<std::uint32_t> media_kind;  // cmmk: 2 music, 3 video, 64 TV, 1 unknown
    std::optional<std::uint32_t> total_ms;
    std::optional<std::uint32_t> remaining_ms;
    bool shuffle = false;
    std::uint8_t repeat = 0;  // 0 off, 1 track, 2 all
};

// Socket-free: one request in, one response out; sessions live across connections.
class FakeDmapService {
  public:
    explicit FakeDmapService(FakeDmapConfig config) : config_(std::move(config)) {}

    http::Response answer(const http::Request& request);

    [[nodiscard]] const FakeDmapConfig& config() const { return config_; }
    [[nodiscard]] const std::set<std::uint32_t>& sessions() const { return sessions_; }
    [[nodiscard]] std::size_t play_status_requests() const { return play_status_requests_; }
    [[nodiscard]] std::uint32_t revision() const { return revision_; }
    // Why each refused request was refused for its headers ("no User-Agent", ...), in order.
    [[nodiscard]] const std::vector<std::string>& header_refusals() const {
        return header_refusals_;
    }
    // True while `request` is a play status poll that waits for a newer revision.
    [[nodiscard]] bool holds(const http::Request& request) const;
    void change_playing() { ++revision_; }
    [[nodiscard]] const FakeDmapPlaying& playing() const { return playing_; }
    [[nodiscard]] std::uint32_t volume() const { return volume_; }
    // Applies one `dmap-...` script line (README.md); the reason when it cannot.
    std::optional<std::string> script(std::string_view line);
    // As after a restart of the device: every session is gone.
    void forget_sessions() { sessions_.clear(); }
    // Called with "LOGIN <id>" and "LOGOUT <id>" as sessions open and close, and with what a
    // session sends: "CMD <command>", "PROMPT <key>", "SWIPE <up|down|left|right>",
    // "SET <property>=<value>", "VOLUME <0-100>", "ARTWORK <mw>x<mh>", "REFUSED <what>".
    void on_event(std::function<void(const std::string&)> handler) { event_ = std::move(handler); }

  private:
    // The answer to a request whose headers are as a remote sends them, before encoding.
    http::Response answer_remote(const http::Request& request);
    http::Response login(const std::map<std::string, std::string>& query);
    http::Response logout(const std::map<std::string, std::string>& query);
    http::Response control(const http::Request& request, std::string_view command,
                           const std::map<std::string, std::string>& query, std::uint32_t session);
    http::Response play_status() const;
    http::Response command(std::string_view name);
    http::Response prompt_entry(const http::Request& request, std::uint32_t session);
    http::Response touch(const std::string& entry, std::uint32_t session);
    http::Response set_property(const std::map<std::string, std::string>& query);
    http::Response get_property(const std::map<std::string, std::string>& query) const;
    http::Response artwork(const std::map<std::string, std::string>& query);
    http::Response refuse(const std::string& what);
    [[nodiscard]] bool loaded() const { return playing_.state != 2; }
    void changed() { ++revision_; }
    void event(const std::string& text);

    FakeDmapConfig config_;
    std::set<std::uint32_t> sessions_;
    std::uint32_t next_session_ = 0x1000;
    std::size_t play_status_requests_ = 0;
    std::uint32_t revision_ = 1;
    std::vector<std::string> header_refusals_;
    std::function<void(const std::string&)> event_;
    FakeDmapPlaying playing_;
    std::uint32_t volume_ = 50;
    bool volume_controllable_ = true;
    bool has_artwork_ = true;
    std::map<std::uint32_t, std::pair<int, int>> touch_starts_;  // by session: where a swipe began
};

// Serves FakeDmapService over TCP on one executor.
class FakeDmap {
  public:
    FakeDmap(asio::any_io_executor executor, FakeDmapConfig config);

    // Binds and listens; throws std::system_error when the port is taken.
    void start();
    [[nodiscard]] std::uint16_t port() const { return server_.port(); }
    [[nodiscard]] FakeDmapService& service() { return service_; }
    // Answers the polls that wait for a change.
    void change_playing();
    // FakeDmapService::script, then answers the polls that wait for a change.
    std::optional<std::string> script(std::string_view line);
    void forget_sessions();
    // Resets every connection, as a device that drops off the network; it still listens.
    void drop_connections();
    // How many play status polls are waiting for a change now.
    [[nodiscard]] std::size_t held_polls() const { return held_.size(); }
    asio::awaitable<void> stop();

  private:
    asio::awaitable<void> serve(asio::ip::tcp::socket& socket);
    asio::awaitable<void> hold_while_unchanged(const http::Request& request,
                                               const asio::ip::tcp::socket& socket);
    void wake_held();

    asio::any_io_executor executor_;
    FakeDmapService service_;
    TcpServer server_;
    std::set<asio::steady_timer*> held_;  // one timer per held poll, cancelled to wake it
    bool stopping_ = false;
};

}  // namespace atv::fakes
