#include "player.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "log.hpp"

namespace atvd::mpris {

namespace {

constexpr const char* object_path = "/org/mpris/MediaPlayer2";
constexpr const char* root_interface = "org.mpris.MediaPlayer2";
constexpr const char* mpris_interface = "org.mpris.MediaPlayer2.Player";
constexpr const char* no_track = "/org/mpris/MediaPlayer2/TrackList/NoTrack";

sdbus::Error not_authorized() {
    return sdbus::Error("org.atvd.Error.NotAuthorized",
                        "this user may not control Apple TVs: atvd allows that to root and to "
                        "members of the group 'atvd' only");
}

sdbus::Error not_supported(const std::string& what) {
    return sdbus::Error("org.freedesktop.DBus.Error.NotSupported", what);
}

std::string playback_status(const std::string& state) {
    if (state == "playing" || state == "seeking" || state == "loading") {
        return "Playing";
    }
    if (state == "paused") {
        return "Paused";
    }
    return "Stopped";
}

std::string loop_status(const std::string& repeat) {
    if (repeat == "track") {
        return "Track";
    }
    if (repeat == "all") {
        return "Playlist";
    }
    return "None";
}

std::string extension_of(const std::string& mime) {
    if (mime == "image/png") {
        return "png";
    }
    if (mime == "image/jpeg") {
        return "jpg";
    }
    return "img";
}

// A file:// URL of an absolute path: everything outside RFC 3986's unreserved set and '/'
// percent-encoded.
std::string file_url(const std::string& path) {
    std::string url = "file://";
    for (const char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
            url += c;
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", byte);
            url += escaped;
        }
    }
    return url;
}

bool write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return false;
    }
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n <= 0) {
            ::close(fd);
            ::unlink(temporary.c_str());
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
        ::unlink(temporary.c_str());
        return false;
    }
    return true;
}

}  // namespace

std::string Player::bus_name_for(const std::string& id) {
    return "org.mpris.MediaPlayer2.atvd." + id;
}

Player::Player(asio::io_context& io, AtvdLink& atvd, const PlayerSettings& settings,
               const DeviceState& device)
    : io_(io), atvd_(atvd), settings_(settings), device_(device) {
    connection_ = settings_.session_address.empty()
                      ? sdbus::createSessionBusConnection()
                      : sdbus::createSessionBusConnectionWithAddress(settings_.session_address);
    loop_ = std::make_unique<BusLoop>(io_, *connection_);
    if (device_.playing.has_item()) {
        track_key_ = device_.playing.item_key();
        track_number_ = 1;
    }
    view_ = view_of(device_);
    object_ = sdbus::createObject(*connection_, object_path);
    register_interfaces();
    loop_->start();
    request_name();
    fetch_artwork();
}

Player::~Player() {
    *alive_ = false;
    drop_artwork_file();
    object_.reset();
    bus_driver_.reset();
    loop_.reset();
    // Closing the connection gives the name back; clients see the player go at once.
    connection_.reset();
}

void Player::register_interfaces() {
    auto& o = *object_;
    o.registerMethod("Raise").onInterface(root_interface).implementedAs([] {});
    // CanQuit is false: the player belongs to the device's connection, not to a client.
    o.registerMethod("Quit").onInterface(root_interface).implementedAs([] {});
    o.registerProperty("CanQuit").onInterface(root_interface).withGetter([] { return false; });
    o.registerProperty("CanRaise").onInterface(root_interface).withGetter([] { return false; });
    o.registerProperty("HasTrackList").onInterface(root_interface).withGetter([] { return false; });
    o.registerProperty("Identity").onInterface(root_interface).withGetter([this] {
        return view_.identity;
    });
    o.registerProperty("SupportedUriSchemes").onInterface(root_interface).withGetter([] {
        return std::vector<std::string>{};
    });
    o.registerProperty("SupportedMimeTypes").onInterface(root_interface).withGetter([] {
        return std::vector<std::string>{};
    });

    const std::pair<const char*, const char*> keys[] = {
        {"Next", "next"}, {"Previous", "previous"},    {"Pause", "pause"},
        {"Stop", "stop"}, {"PlayPause", "play_pause"}, {"Play", "play"}};
    for (const auto& [method, key] : keys) {
        o.registerMethod(method)
            .onInterface(mpris_interface)
            .implementedAs([this, key = std::string(key)](sdbus::Result<>&& result) {
                control(std::move(result), key);
            });
    }
    o.registerMethod("Seek")
        .onInterface(mpris_interface)
        .withInputParamNames("Offset")
        .implementedAs([this](sdbus::Result<>&& result, std::int64_t offset) {
            if (!settings_.may_control) {
                result.returnError(not_authorized());
                return;
            }
            const std::int64_t length = view_.length_us;
            std::int64_t target = position_now();
            target = offset > 0 && target > INT64_MAX - offset ? INT64_MAX : target + offset;
            if (length > 0 && target > length) {
                // As the specification asks: seeking past the end goes to the next track.
                control(std::move(result), "next");
                return;
            }
            set_position(std::move(result), std::max<std::int64_t>(target, 0));
        });
    o.registerMethod("SetPosition")
        .onInterface(mpris_interface)
        .withInputParamNames("TrackId", "Position")
        .implementedAs([this](sdbus::Result<>&& result, const sdbus::ObjectPath& track,
                              std::int64_t position) {
            if (!settings_.may_control) {
                result.returnError(not_authorized());
                return;
            }
            // A stale track id or a position outside the track is ignored, as the
            // specification says.
            if (std::string(track) != view_.track_id || track == no_track || position < 0 ||
                (view_.length_us > 0 && position > view_.length_us)) {
                result.returnResults();
                return;
            }
            set_position(std::move(result), position);
        });
    o.registerMethod("OpenUri")
        .onInterface(mpris_interface)
        .withInputParamNames("Uri")
        .implementedAs([](const std::string&) {
            throw not_supported("an Apple TV cannot open URIs through atvd-mpris");
        });
    o.registerSignal("Seeked")
        .onInterface(mpris_interface)
        .withParameters<std::int64_t>("Position");

    o.registerProperty("PlaybackStatus").onInterface(mpris_interface).withGetter([this] {
        return view_.playback_status;
    });
    o.registerProperty("LoopStatus")
        .onInterface(mpris_interface)
        .withGetter([this] { return view_.loop_status; })
        .withSetter([this](const std::string& value) {
            require_control("LoopStatus");
            std::string mode;
            if (value == "None") {
                mode = "off";
            } else if (value == "Track") {
                mode = "track";
            } else if (value == "Playlist") {
                mode = "all";
            } else {
                throw sdbus::Error("org.freedesktop.DBus.Error.InvalidArgs",
                                   "LoopStatus is None, Track or Playlist, not '" + value + "'");
            }
            send_setting(remote_interface, "SetRepeat",
                         [mode](sdbus::MethodCall& call) { call << mode; });
        });
    o.registerProperty("Rate")
        .onInterface(mpris_interface)
        .withGetter([this] { return view_.rate; })
        .withSetter([this](const double& value) {
            require_control("Rate");
            if (value == 0.0) {
                // The specification: a rate of 0 acts as Pause.
                send_setting(remote_interface, "Press", [](sdbus::MethodCall& call) {
                    call << std::string("pause") << std::map<std::string, sdbus::Variant>{};
                });
                return;
            }
            if (value != view_.rate) {
                throw not_supported("the playback rate of an Apple TV cannot be set");
            }
        });
    o.registerProperty("Shuffle")
        .onInterface(mpris_interface)
        .withGetter([this] { return view_.shuffle; })
        .withSetter([this](const bool& value) {
            require_control("Shuffle");
            const std::string mode = value ? "songs" : "off";
            send_setting(remote_interface, "SetShuffle",
                         [mode](sdbus::MethodCall& call) { call << mode; });
        });
    o.registerProperty("Metadata").onInterface(mpris_interface).withGetter([this] {
        return metadata();
    });
    o.registerProperty("Volume")
        .onInterface(mpris_interface)
        .withGetter([this] { return view_.volume; })
        .withSetter([this](const double& value) {
            require_control("Volume");
            if (!device_.has_audio) {
                throw not_supported("this device offers no volume control now");
            }
            // The specification: negative values mean 0; above 1 is not asked for.
            const double level = std::isnan(value) ? 0.0 : std::clamp(value, 0.0, 1.0) * 100.0;
            send_setting(audio_interface, "SetVolume",
                         [level](sdbus::MethodCall& call) { call << level; });
        });
    o.registerProperty("Position")
        .onInterface(mpris_interface)
        .withGetter([this] { return position_now(); })
        .withUpdateBehavior(sdbus::Flags::EMITS_NO_SIGNAL);
    o.registerProperty("MinimumRate").onInterface(mpris_interface).withGetter([this] {
        return view_.minimum_rate;
    });
    o.registerProperty("MaximumRate").onInterface(mpris_interface).withGetter([this] {
        return view_.maximum_rate;
    });
    o.registerProperty("CanGoNext").onInterface(mpris_interface).withGetter([this] {
        return view_.can_go_next;
    });
    o.registerProperty("CanGoPrevious").onInterface(mpris_interface).withGetter([this] {
        return view_.can_go_previous;
    });
    o.registerProperty("CanPlay").onInterface(mpris_interface).withGetter([this] {
        return view_.can_play;
    });
    o.registerProperty("CanPause").onInterface(mpris_interface).withGetter([this] {
        return view_.can_pause;
    });
    o.registerProperty("CanSeek").onInterface(mpris_interface).withGetter([this] {
        return view_.can_seek;
    });
    // Whether this user may control at all: fixed for the life of the process.
    o.registerProperty("CanControl")
        .onInterface(mpris_interface)
        .withGetter([this] { return settings_.may_control; })
        .withUpdateBehavior(sdbus::Flags::EMITS_NO_SIGNAL);
    o.finishRegistration();
}

void Player::request_name() {
    bus_driver_ = sdbus::createProxy(*connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    auto call = bus_driver_->createMethodCall("org.freedesktop.DBus", "RequestName");
    const std::string name = bus_name_for(device_.id);
    // 4: DBUS_NAME_FLAG_DO_NOT_QUEUE. Asked without waiting, so the loop never blocks.
    call << name << std::uint32_t{4};
    bus_driver_->callMethod(call, [alive = alive_, name](sdbus::MethodReply& reply,
                                                         const sdbus::Error* error) {
        if (!*alive) {
            return;
        }
        if (error != nullptr) {
            log::error("cannot take the bus name {}: {}", name, error->getMessage());
            return;
        }
        std::uint32_t answer = 0;
        reply >> answer;
        if (answer == 1 || answer == 4) {
            log::info("player {} is on the session bus", name);
        } else {
            log::error("the bus name {} belongs to another program (another atvd-mpris?)", name);
        }
    });
    loop_->kick();
}

MprisView Player::view_of(const DeviceState& device) const {
    MprisView v;
    const NowPlaying& p = device.playing;
    v.identity = device.name.empty() ? device.id : device.name;
    v.playback_status = playback_status(p.state);
    v.loop_status = loop_status(p.repeat);
    v.shuffle = p.shuffle == "songs" || p.shuffle == "albums";
    v.rate = p.rate != 0.0 && std::isfinite(p.rate) ? p.rate : 1.0;
    v.minimum_rate = std::min(1.0, v.rate);
    v.maximum_rate = std::max(1.0, v.rate);
    v.volume = device.has_audio && std::isfinite(device.volume)
                   ? std::clamp(device.volume / 100.0, 0.0, 1.0)
                   : 0.0;
    const bool control = settings_.may_control && device.has_remote;
    v.can_go_next = control && device.available("Next");
    v.can_go_previous = control && device.available("Previous");
    v.can_play = control && (device.available("Play") || device.available("PlayPause"));
    v.can_pause = control && (device.available("Pause") || device.available("PlayPause"));
    v.can_seek = control && device.available("SetPosition");
    if (p.has_item()) {
        v.track_id = "/org/atvd/mpris/" + device.id + "/track" + std::to_string(track_number_);
        v.title = p.title;
        v.artist = p.artist;
        v.album = p.album;
        v.genre = p.genre;
        v.length_us = static_cast<std::int64_t>(std::min<std::uint64_t>(p.duration_us, INT64_MAX));
        v.art_url = view_.art_url;
    } else {
        v.track_id = no_track;
    }
    return v;
}

std::map<std::string, sdbus::Variant> Player::metadata() const {
    std::map<std::string, sdbus::Variant> m;
    m["mpris:trackid"] = sdbus::Variant(sdbus::ObjectPath(view_.track_id));
    if (view_.track_id == no_track) {
        return m;
    }
    if (view_.length_us > 0) {
        m["mpris:length"] = sdbus::Variant(view_.length_us);
    }
    if (!view_.title.empty()) {
        m["xesam:title"] = sdbus::Variant(view_.title);
    }
    if (!view_.artist.empty()) {
        m["xesam:artist"] = sdbus::Variant(std::vector<std::string>{view_.artist});
    }
    if (!view_.album.empty()) {
        m["xesam:album"] = sdbus::Variant(view_.album);
    }
    if (!view_.genre.empty()) {
        m["xesam:genre"] = sdbus::Variant(std::vector<std::string>{view_.genre});
    }
    if (!view_.art_url.empty()) {
        m["mpris:artUrl"] = sdbus::Variant(view_.art_url);
    }
    return m;
}

std::int64_t Player::position_now() const {
    if (!device_.playing.has_item()) {
        return 0;
    }
    const double position = device_.playing.position_at(now_epoch_us());
    return position >= 9.2e18 ? INT64_MAX : static_cast<std::int64_t>(position);
}

void Player::update(const DeviceState& device) {
    const NowPlaying before_playing = device_.playing;
    device_ = device;
    const NowPlaying& now = device_.playing;
    bool new_item = false;
    if (now.has_item() && now.item_key() != track_key_) {
        track_key_ = now.item_key();
        ++track_number_;
        new_item = true;
    }
    const MprisView before = view_;
    view_ = view_of(device_);
    if (now.artwork_identifier != artwork_for_) {
        // The old picture is not this item's: gone until the new one is stored.
        view_.art_url.clear();
        drop_artwork_file();
        artwork_for_.clear();
        fetch_artwork();
    }
    emit(before);
    // A jump of the position within the item (not its steady run, nor a new item) is Seeked.
    if (!new_item && now.has_item() &&
        (now.position_us != before_playing.position_us ||
         now.position_timestamp_us != before_playing.position_timestamp_us)) {
        const double expected = before_playing.position_at(now.position_timestamp_us);
        if (std::fabs(expected - static_cast<double>(now.position_us)) > 1e6) {
            try {
                object_->emitSignal("Seeked")
                    .onInterface(mpris_interface)
                    .withArguments(position_now());
            } catch (const sdbus::Error& error) {
                log::debug("Seeked not sent: {}", error.getMessage());
            }
            loop_->kick();
        }
    }
}

void Player::emit(const MprisView& before) {
    std::vector<std::string> root;
    std::vector<std::string> player;
    if (view_.identity != before.identity) {
        root.emplace_back("Identity");
    }
    const auto changed = [&](bool differs, const char* name) {
        if (differs) {
            player.emplace_back(name);
        }
    };
    changed(view_.playback_status != before.playback_status, "PlaybackStatus");
    changed(view_.loop_status != before.loop_status, "LoopStatus");
    changed(view_.rate != before.rate, "Rate");
    changed(view_.shuffle != before.shuffle, "Shuffle");
    changed(view_.track_id != before.track_id || view_.title != before.title ||
                view_.artist != before.artist || view_.album != before.album ||
                view_.genre != before.genre || view_.length_us != before.length_us ||
                view_.art_url != before.art_url,
            "Metadata");
    changed(view_.volume != before.volume, "Volume");
    changed(view_.minimum_rate != before.minimum_rate, "MinimumRate");
    changed(view_.maximum_rate != before.maximum_rate, "MaximumRate");
    changed(view_.can_go_next != before.can_go_next, "CanGoNext");
    changed(view_.can_go_previous != before.can_go_previous, "CanGoPrevious");
    changed(view_.can_play != before.can_play, "CanPlay");
    changed(view_.can_pause != before.can_pause, "CanPause");
    changed(view_.can_seek != before.can_seek, "CanSeek");
    try {
        if (!root.empty()) {
            object_->emitPropertiesChangedSignal(root_interface, root);
        }
        if (!player.empty()) {
            object_->emitPropertiesChangedSignal(mpris_interface, player);
        }
    } catch (const sdbus::Error& error) {
        log::debug("PropertiesChanged not sent: {}", error.getMessage());
    }
    loop_->kick();
}

void Player::require_control(const char* what) const {
    if (!settings_.may_control) {
        log::debug("{} refused: this user may not control the device", what);
        throw not_authorized();
    }
}

void Player::control(sdbus::Result<>&& result, const std::string& key) {
    if (!settings_.may_control) {
        result.returnError(not_authorized());
        return;
    }
    forward(std::move(result), remote_interface, "Press", [key](sdbus::MethodCall& call) {
        call << key << std::map<std::string, sdbus::Variant>{};
    });
}

void Player::set_position(sdbus::Result<>&& result, std::int64_t position_us) {
    const auto position = static_cast<std::uint64_t>(position_us);
    forward(std::move(result), remote_interface, "SetPosition",
            [position](sdbus::MethodCall& call) { call << position; });
}

void Player::forward(sdbus::Result<>&& result, const std::string& interface,
                     const std::string& method,
                     const std::function<void(sdbus::MethodCall&)>& fill) {
    // atvd's reply becomes the client's: its errors (NotSupported, NotAuthorized, ...) too.
    auto pending = std::make_shared<sdbus::Result<>>(std::move(result));
    atvd_.call(device_.path, interface, method, fill,
               [this, alive = alive_, pending](sdbus::MethodReply*, const sdbus::Error* error) {
                   if (!*alive) {
                       return;
                   }
                   try {
                       if (error != nullptr) {
                           pending->returnError(*error);
                       } else {
                           pending->returnResults();
                       }
                   } catch (const sdbus::Error& failure) {
                       log::debug("reply not sent: {}", failure.getMessage());
                   }
                   loop_->kick();
               });
}

void Player::send_setting(const std::string& interface, const std::string& method,
                          const std::function<void(sdbus::MethodCall&)>& fill) {
    // Properties.Set replies at once; the device's answer shows in the property's next change.
    atvd_.call(device_.path, interface, method, fill,
               [method](sdbus::MethodReply*, const sdbus::Error* error) {
                   if (error != nullptr) {
                       log::warn("{} failed: {}: {}", method, error->getName(),
                                 error->getMessage());
                   }
               });
}

void Player::fetch_artwork() {
    const std::string wanted = device_.playing.artwork_identifier;
    // atvd gives artwork only to those who may control the device.
    if (settings_.artwork_dir.empty() || !settings_.may_control || wanted.empty() ||
        wanted == artwork_for_ || artwork_pending_) {
        return;
    }
    artwork_pending_ = true;
    atvd_.call(
        device_.path, player_interface, "GetArtwork",
        [](sdbus::MethodCall& call) { call << std::uint32_t{0} << std::uint32_t{0}; },
        [this, alive = alive_, wanted](sdbus::MethodReply* reply, const sdbus::Error* error) {
            if (!*alive) {
                return;
            }
            artwork_pending_ = false;
            if (device_.playing.artwork_identifier != wanted) {
                // It changed meanwhile: fetch the current one instead.
                fetch_artwork();
                return;
            }
            artwork_for_ = wanted;
            if (error != nullptr) {
                log::info("no artwork for {}: {}", device_.id, error->getMessage());
                return;
            }
            try {
                sdbus::Struct<std::string, std::vector<std::uint8_t>, std::uint32_t, std::uint32_t>
                    art;
                *reply >> art;
                store_artwork(wanted, std::get<0>(art), std::get<1>(art));
            } catch (const sdbus::Error& failure) {
                log::warn("artwork of {} unreadable: {}", device_.id, failure.getMessage());
            }
        });
}

void Player::store_artwork(const std::string& identifier, const std::string& mime,
                           const std::vector<std::uint8_t>& bytes) {
    static std::uint64_t counter = 0;
    const std::string path = settings_.artwork_dir + "/" + device_.id + "-" +
                             std::to_string(::getpid()) + "-" + std::to_string(++counter) + "." +
                             extension_of(mime);
    if (!write_file(path, bytes)) {
        log::warn("cannot write the artwork of {} to {}", device_.id, path);
        return;
    }
    drop_artwork_file();
    artwork_file_ = path;
    const MprisView before = view_;
    view_.art_url = device_.playing.has_item() ? file_url(path) : std::string{};
    log::debug("artwork {} of {} in {}", identifier, device_.id, path);
    emit(before);
}

void Player::drop_artwork_file() {
    if (!artwork_file_.empty()) {
        ::unlink(artwork_file_.c_str());
        artwork_file_.clear();
    }
}

}  // namespace atvd::mpris
