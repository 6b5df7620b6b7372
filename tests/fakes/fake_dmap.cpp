#include "fake_dmap.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <cstdlib>
#include <map>
#include <regex>
#include <string_view>
#include <utility>

#include "atv/error.hpp"
#include "dmap/tags.hpp"
#include "http/content_encoding.hpp"
#include "http/transfer.hpp"
#include "script_words.hpp"

namespace atv::fakes {

namespace {

constexpr std::uint32_t status_ok = 200;

// What is wrong with a request's headers, or nullopt when they are as a remote sends them.
std::optional<std::string> header_fault(const http::Request& request) {
    if (request.protocol == "HTTP/1.1" && request.headers.get("Host").value_or("").empty()) {
        return "no Host";
    }
    for (const auto& [name, expected] : remote_app_headers) {
        const auto value = request.headers.get(name);
        if (!value) {
            return "no " + std::string(name);
        }
        if (*value != expected) {
            return std::string(name) + " is \"" + std::string(*value) + "\", not \"" +
                   std::string(expected) + "\"";
        }
    }
    return std::nullopt;
}

http::Response tagged(int status, Bytes body) {
    return {.status = status,
            .reason = status == 200 ? "OK" : "Error",
            .headers = {{"Content-Type", "application/x-dmap-tagged"},
                        {"DAAP-Server", "iTunes/11.1b37 (OS X)"}},
            .body = std::move(body)};
}

http::Response empty(int status, std::string reason) {
    return {.status = status, .reason = std::move(reason)};
}

std::optional<std::uint32_t> session_of(const std::map<std::string, std::string>& query) {
    const auto found = query.find("session-id");
    if (found == query.end()) {
        return std::nullopt;
    }
    std::uint32_t id = 0;
    const std::string& text = found->second;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return id;
}

std::optional<std::uint32_t> number_of(const std::string& text) {
    std::uint32_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

constexpr std::uint8_t playing_state = 4;
constexpr std::uint8_t paused_state = 3;
constexpr std::uint64_t key_kind = 0;
constexpr std::uint64_t touch_kind = 0x30;
constexpr std::uint32_t default_artwork_side = 600;

// PNG's CRC-32 (ISO 3309), bit by bit: the fake's images are tiny.
std::uint32_t png_crc(const Bytes& data, std::size_t from) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = from; i < data.size(); ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
    }
    return ~crc;
}

void append32(Bytes& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(value >> shift));
    }
}

void append_chunk(Bytes& out, std::string_view type, const Bytes& data) {
    append32(out, static_cast<std::uint32_t>(data.size()));
    const std::size_t start = out.size();
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), data.begin(), data.end());
    const Bytes covered(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
    append32(out, png_crc(covered, 0));
}

// A PNG's signature, IHDR (8-bit RGB of the size) and IEND: enough for a reader of its size.
Bytes png_header(std::uint32_t width, std::uint32_t height) {
    Bytes png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    Bytes header;
    append32(header, width);
    append32(header, height);
    header.insert(header.end(), {8, 2, 0, 0, 0});
    append_chunk(png, "IHDR", header);
    append_chunk(png, "IEND", {});
    return png;
}

std::optional<std::uint8_t> state_named(std::string_view name) {
    static const std::map<std::string_view, std::uint8_t> states{
        {"loading", 1}, {"stopped", 2}, {"paused", 3}, {"playing", 4}, {"seeking", 5}};
    const auto found = states.find(name);
    return found == states.end() ? std::nullopt : std::optional(found->second);
}

std::optional<std::uint32_t> media_kind_named(std::string_view name) {
    static const std::map<std::string_view, std::uint32_t> kinds{
        {"unknown", 1}, {"music", 2}, {"video", 3}, {"tv", 64}};
    const auto found = kinds.find(name);
    return found == kinds.end() ? std::nullopt : std::optional(found->second);
}

// The item of a `dmap-play` line, KEY=VALUE words over a fresh item that plays, into `playing`;
// the reason when a word does not fit.
std::optional<std::string> playing_from(const std::vector<std::string>& words,
                                        FakeDmapPlaying& playing) {
    playing = {};
    playing.state = playing_state;
    for (const std::string& word : words) {
        const auto pair = key_value(word);
        if (!pair) {
            return "expected KEY=VALUE, not " + word;
        }
        const std::string& key = pair->key;
        const std::string& value = pair->value;
        const auto number = number_of(value);
        if (key == "title") {
            playing.title = value;
        } else if (key == "artist") {
            playing.artist = value;
        } else if (key == "album") {
            playing.album = value;
        } else if (key == "genre") {
            playing.genre = value;
        } else if ((key == "total" || key == "remaining") && number) {
            (key == "total" ? playing.total_ms : playing.remaining_ms) = *number;
        } else if (key == "state" && state_named(value)) {
            playing.state = *state_named(value);
        } else if (key == "media" && media_kind_named(value)) {
            playing.media_kind = media_kind_named(value);
        } else if (key == "shuffle" && (value == "on" || value == "off")) {
            playing.shuffle = value == "on";
        } else if (key == "repeat" && (value == "off" || value == "track" || value == "all")) {
            playing.repeat = value == "off" ? 0 : (value == "track" ? 1 : 2);
        } else {
            return "cannot use " + word;
        }
    }
    if (playing.total_ms && !playing.remaining_ms) {
        playing.remaining_ms = playing.total_ms;
    }
    if (playing.total_ms && *playing.remaining_ms > *playing.total_ms) {
        return "remaining is more than total";
    }
    return std::nullopt;
}

}  // namespace

http::Response FakeDmapService::answer(const http::Request& request) {
    if (const auto fault = header_fault(request)) {
        spdlog::warn("fake-dmap: refused {} {}: {}", request.method, request.path(), *fault);
        header_refusals_.push_back(*fault);
        return empty(400, "Bad Request");
    }
    http::Response reply = answer_remote(request);
    // Every request that got here asked for gzip, and the device sends it whenever asked.
    if (!reply.body.empty()) {
        reply.body = http::gzip_encode(reply.body);
        reply.headers.set("Content-Encoding", "gzip");
    }
    return reply;
}

http::Response FakeDmapService::answer_remote(const http::Request& request) {
    std::map<std::string, std::string> query;
    try {
        query = request.query();
    } catch (const Error&) {
        return empty(400, "Bad Request");
    }
    const std::string_view path = request.path();
    if (path == "/ctrl-int/1/playstatusupdate") {
        ++play_status_requests_;
    }
    constexpr std::string_view control_prefix = "/ctrl-int/1/";
    const bool control_path = path.starts_with(control_prefix);
    if (request.method != "GET" && !(request.method == "POST" && control_path)) {
        return empty(405, "Method Not Allowed");
    }
    if (path == "/login") {
        return login(query);
    }
    if (path == "/logout") {
        return logout(query);
    }
    if (path == "/server-info") {
        return tagged(200,
                      dmap::encode_container("msrv", {dmap::encode_uint("mstt", status_ok, 4),
                                                      dmap::encode_string("minm", config_.name)}));
    }
    const auto session = session_of(query);
    if (!session || !sessions_.contains(*session)) {
        return empty(403, "Forbidden");
    }
    if (control_path) {
        return control(request, path.substr(control_prefix.size()), query, *session);
    }
    return empty(404, "Not Found");
}

// The Remote app reads with GET and commands with POST; a device answers 500 to a command it
// cannot carry out.
http::Response FakeDmapService::control(const http::Request& request, std::string_view command,
                                        const std::map<std::string, std::string>& query,
                                        std::uint32_t session) {
    const bool post = request.method == "POST";
    if (command == "playstatusupdate" || command == "getproperty" ||
        command == "nowplayingartwork") {
        if (post) {
            return empty(405, "Method Not Allowed");
        }
        if (command == "playstatusupdate") {
            return play_status();
        }
        return command == "getproperty" ? get_property(query) : artwork(query);
    }
    if (!post) {
        return empty(404, "Not Found");
    }
    const auto type = request.headers.get("Content-Type");
    if (type != "application/x-www-form-urlencoded") {
        const std::string fault = type ? "Content-Type is \"" + std::string(*type) + "\""
                                       : std::string("no Content-Type");
        spdlog::warn("fake-dmap: refused POST {}: {}", request.path(), fault);
        header_refusals_.push_back(fault);
        return empty(400, "Bad Request");
    }
    if (command == "setproperty") {
        return set_property(query);
    }
    const auto prompt_id = query.find("prompt-id");
    if (prompt_id == query.end() || prompt_id->second != "0") {
        return empty(400, "Bad Request");
    }
    if (command == "controlpromptentry") {
        return prompt_entry(request, session);
    }
    return this->command(command);
}

http::Response FakeDmapService::play_status() const {
    std::vector<Bytes> tags{dmap::encode_uint("mstt", status_ok, 4),
                            dmap::encode_uint("cmsr", revision_, 4),
                            dmap::encode_uint("caps", playing_.state, 1),
                            dmap::encode_uint("cash", playing_.shuffle ? 1 : 0, 1),
                            dmap::encode_uint("carp", playing_.repeat, 1),
                            dmap::encode_bool("cavc", volume_controllable_)};
    if (loaded()) {
        const auto text = [&tags](std::string_view tag, const std::string& value) {
            if (!value.empty()) {
                tags.push_back(dmap::encode_string(tag, value));
            }
        };
        text("cann", playing_.title);
        text("cana", playing_.artist);
        text("canl", playing_.album);
        text("cang", playing_.genre);
        if (playing_.media_kind) {
            tags.push_back(dmap::encode_uint("cmmk", *playing_.media_kind, 4));
        }
        if (playing_.remaining_ms) {
            tags.push_back(dmap::encode_uint("cant", *playing_.remaining_ms, 4));
        }
        if (playing_.total_ms) {
            tags.push_back(dmap::encode_uint("cast", *playing_.total_ms, 4));
        }
    }
    return tagged(200, dmap::encode_container("cmst", tags));
}

http::Response FakeDmapService::refuse(const std::string& what) {
    event("REFUSED " + what);
    return empty(500, "Internal Server Error");
}

http::Response FakeDmapService::command(std::string_view name) {
    const std::string command(name);
    if (command == "volumeup" || command == "volumedown") {
        if (!volume_controllable_) {
            return refuse(command);
        }
        volume_ = command == "volumeup" ? std::min<std::uint32_t>(volume_ + 5, 100)
                                        : (volume_ >= 5 ? volume_ - 5 : 0);
    } else if (command == "play" || command == "pause" || command == "playpause") {
        const bool pausing =
            command == "pause" || (command == "playpause" && playing_.state == playing_state);
        if (loaded()) {
            playing_.state = pausing ? paused_state : playing_state;
            changed();
        }
    } else if (command == "stop") {
        if (loaded()) {
            playing_ = {};
            changed();
        }
    } else if (command != "nextitem" && command != "previtem") {
        return refuse(command);
    }
    event("CMD " + command);
    return empty(204, "No Content");
}

http::Response FakeDmapService::prompt_entry(const http::Request& request, std::uint32_t session) {
    std::vector<dmap::Tag> tags;
    try {
        tags = dmap::decode(request.body);
    } catch (const Error&) {
        return empty(400, "Bad Request");
    }
    std::optional<std::string> entry;
    std::optional<std::uint64_t> kind;
    for (const dmap::Tag& tag : tags) {
        if (tag.name == "cmbe") {
            entry = tag.as_string();
        } else if (tag.name == "cmcc") {
            kind = tag.as_uint();
        }
    }
    if (!entry || !kind) {
        return empty(400, "Bad Request");
    }
    if (*kind == touch_kind) {
        return touch(*entry, session);
    }
    if (*kind != key_kind || (*entry != "menu" && *entry != "select" && *entry != "topmenu")) {
        return refuse("prompt " + *entry);
    }
    event("PROMPT " + *entry);
    return empty(204, "No Content");
}

// A swipe is a touchDown, touchMoves and a touchUp; its direction is where it ended.
http::Response FakeDmapService::touch(const std::string& entry, std::uint32_t session) {
    static const std::regex event_form(
        R"(touch(Down|Move|Up)&time=(\d{1,6})&point=(\d{1,4}),(\d{1,4}))");
    std::smatch match;
    if (!std::regex_match(entry, match, event_form)) {
        return empty(400, "Bad Request");
    }
    const std::string phase = match[1];
    const std::pair<int, int> point{std::stoi(match[3]), std::stoi(match[4])};
    const auto start = touch_starts_.find(session);
    if (phase == "Down") {
        touch_starts_[session] = point;
        return empty(204, "No Content");
    }
    if (start == touch_starts_.end()) {
        return empty(400, "Bad Request");  // a move without a touch down
    }
    if (phase == "Move") {
        return empty(204, "No Content");
    }
    const int dx = point.first - start->second.first;
    const int dy = point.second - start->second.second;
    touch_starts_.erase(start);
    if (dx == 0 && dy == 0) {
        return refuse("touch without a swipe");
    }
    const bool vertical = std::abs(dy) > std::abs(dx);
    event(std::string("SWIPE ") +
          (vertical ? (dy < 0 ? "up" : "down") : (dx < 0 ? "left" : "right")));
    return empty(204, "No Content");
}

http::Response FakeDmapService::set_property(const std::map<std::string, std::string>& query) {
    std::optional<std::pair<std::string, std::uint32_t>> assignment;
    for (const auto& [name, value] : query) {
        if (name == "session-id") {
            continue;
        }
        const auto number = number_of(value);
        if (assignment || !number) {
            return refuse("setproperty");  // one property at a time, with a number
        }
        assignment.emplace(name, *number);
    }
    if (!assignment) {
        return refuse("setproperty");
    }
    const auto& [name, value] = *assignment;
    const std::string text = name + "=" + std::to_string(value);
    if (name == "dmcp.volume") {
        if (!volume_controllable_ || value > 100) {
            return refuse(text);
        }
        volume_ = value;
        event("VOLUME " + std::to_string(value));
        return empty(204, "No Content");
    }
    if (name == "dacp.playingtime") {
        if (!loaded() || !playing_.total_ms || value > *playing_.total_ms) {
            return refuse(text);
        }
        playing_.remaining_ms = *playing_.total_ms - value;
    } else if (name == "dacp.shufflestate" && value <= 1) {
        playing_.shuffle = value == 1;
    } else if (name == "dacp.repeatstate" && value <= 2) {
        playing_.repeat = static_cast<std::uint8_t>(value);
    } else {
        return refuse(text);
    }
    changed();
    event("SET " + text);
    return empty(204, "No Content");
}

http::Response FakeDmapService::get_property(
    const std::map<std::string, std::string>& query) const {
    const auto properties = query.find("properties");
    if (properties == query.end() || properties->second != "dmcp.volume" || !volume_controllable_) {
        return empty(500, "Internal Server Error");
    }
    return tagged(200, dmap::encode_container("cmgt", {dmap::encode_uint("mstt", status_ok, 4),
                                                       dmap::encode_uint("cmvo", volume_, 4)}));
}

http::Response FakeDmapService::artwork(const std::map<std::string, std::string>& query) {
    const auto width = query.find("mw");
    const auto height = query.find("mh");
    if (width == query.end() || height == query.end() || !number_of(width->second) ||
        !number_of(height->second)) {
        return empty(400, "Bad Request");
    }
    event("ARTWORK " + width->second + "x" + height->second);
    if (!loaded() || !has_artwork_) {
        return empty(204, "No Content");
    }
    const std::uint32_t w = *number_of(width->second);
    const std::uint32_t h = *number_of(height->second);
    http::Response reply{
        .status = 200,
        .reason = "OK",
        .headers = {{"Content-Type", "image/png"}},
        .body = png_header(w != 0 ? w : default_artwork_side, h != 0 ? h : default_artwork_side)};
    return reply;
}

// ---- script ----

std::optional<std::string> FakeDmapService::script(std::string_view line) {
    const auto words = split_words(line);
    if (!words || words->empty()) {
        return "cannot read the line";
    }
    const std::string& verb = words->front();
    const std::vector<std::string> arguments(words->begin() + 1, words->end());
    if (verb == "dmap-play") {
        FakeDmapPlaying playing;
        if (auto error = playing_from(arguments, playing)) {
            return error;
        }
        playing_ = playing;
    } else if (verb == "dmap-pause" || verb == "dmap-resume") {
        if (!loaded() || !arguments.empty()) {
            return verb + " needs something playing and no arguments";
        }
        playing_.state = verb == "dmap-pause" ? paused_state : playing_state;
    } else if (verb == "dmap-stop" && arguments.empty()) {
        playing_ = {};
    } else if (verb == "dmap-volume" && arguments.size() == 1) {
        const auto level = number_of(arguments[0]);
        if (arguments[0] == "on" || arguments[0] == "off") {
            volume_controllable_ = arguments[0] == "on";
        } else if (level && *level <= 100) {
            volume_ = *level;
        } else {
            return "dmap-volume takes 0-100, on or off";
        }
    } else if (verb == "dmap-artwork" && arguments.size() == 1 &&
               (arguments[0] == "on" || arguments[0] == "none")) {
        has_artwork_ = arguments[0] == "on";
    } else {
        return "unknown DMAP script line: " + std::string(line);
    }
    changed();
    return std::nullopt;
}

bool FakeDmapService::holds(const http::Request& request) const {
    if (request.path() != "/ctrl-int/1/playstatusupdate" || header_fault(request)) {
        return false;
    }
    std::map<std::string, std::string> query;
    try {
        query = request.query();
    } catch (const Error&) {
        return false;
    }
    const auto session = session_of(query);
    const auto revision = query.find("revision-number");
    return session && sessions_.contains(*session) && revision != query.end() &&
           revision->second == std::to_string(revision_);
}

http::Response FakeDmapService::login(const std::map<std::string, std::string>& query) {
    std::string presented;
    if (const auto guid = query.find("pairing-guid"); guid != query.end()) {
        presented = guid->second;
    } else if (const auto hsgid = query.find("hsgid"); hsgid != query.end()) {
        presented = hsgid->second;
    }
    if (presented.empty() || !config_.credentials.contains(presented)) {
        spdlog::info("fake-dmap: refused a login");
        return empty(503, "Service Unavailable");
    }
    const std::uint32_t session = next_session_++;
    sessions_.insert(session);
    event("LOGIN " + std::to_string(session));
    return tagged(200, dmap::encode_container("mlog", {dmap::encode_uint("mstt", status_ok, 4),
                                                       dmap::encode_uint("mlid", session, 4)}));
}

http::Response FakeDmapService::logout(const std::map<std::string, std::string>& query) {
    const auto session = session_of(query);
    if (!session || sessions_.erase(*session) == 0) {
        return empty(403, "Forbidden");
    }
    event("LOGOUT " + std::to_string(*session));
    return empty(204, "No Content");
}

void FakeDmapService::event(const std::string& text) {
    spdlog::info("fake-dmap: {}", text);
    if (event_) {
        event_(text);
    }
}

FakeDmap::FakeDmap(asio::any_io_executor executor, FakeDmapConfig config)
    : executor_(executor), service_(std::move(config)), server_(executor, "fake-dmap") {}

void FakeDmap::start() {
    server_.start(service_.config().bind_address, service_.config().port,
                  [this](asio::ip::tcp::socket& socket) { return serve(socket); });
}

asio::awaitable<void> FakeDmap::serve(asio::ip::tcp::socket& socket) {
    http::Reader reader(http::Reader::Kind::request);
    try {
        while (!stopping_) {
            const http::Request request =
                co_await http::read_request(socket, reader, std::chrono::seconds(30));
            co_await hold_while_unchanged(request, socket);
            if (stopping_ || !socket.is_open())
                break;
            const std::uint32_t revision = service_.revision();
            const http::Response reply = service_.answer(request);
            if (service_.revision() != revision) {
                wake_held();
            }
            co_await http::send_response(socket, reply, std::chrono::seconds(5));
            if (request.headers.get("Connection").value_or("") == "close")
                break;
        }
    } catch (const Error& error) {
        spdlog::debug("fake-dmap: connection ended: {}", error.what());
    }
}

asio::awaitable<void> FakeDmap::hold_while_unchanged(const http::Request& request,
                                                     const asio::ip::tcp::socket& socket) {
    asio::steady_timer wake(executor_);
    while (!stopping_ && socket.is_open() && service_.holds(request)) {
        wake.expires_at(asio::steady_timer::time_point::max());
        held_.insert(&wake);
        std::error_code ec;
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        held_.erase(&wake);
    }
}

void FakeDmap::wake_held() {
    for (asio::steady_timer* timer : held_)
        timer->cancel();
}

void FakeDmap::change_playing() {
    service_.change_playing();
    wake_held();
}

std::optional<std::string> FakeDmap::script(std::string_view line) {
    auto error = service_.script(line);
    wake_held();
    return error;
}

void FakeDmap::forget_sessions() {
    service_.forget_sessions();
    wake_held();
}

void FakeDmap::drop_connections() {
    server_.drop_connections();
    wake_held();
}

asio::awaitable<void> FakeDmap::stop() {
    stopping_ = true;
    wake_held();
    co_await server_.stop();
}

}  // namespace atv::fakes
