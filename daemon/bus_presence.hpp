// When an object may leave the bus.
//
// sd-bus checks a method's reply against the signature in the method table of the object that
// received the call, and it reads that table where the object registered it. An object that
// left the bus while it still owed a deferred reply would make that reply fail (ENOMSG), or read
// freed memory, and the caller would wait for a reply that never comes. So an object leaves only
// once every deferred reply it owes is out.
#pragma once

#include <functional>
#include <memory>
#include <utility>

namespace atvd {

class BusPresence {
  public:
    explicit BusPresence(std::function<void()> unregister) : unregister_(std::move(unregister)) {}
    BusPresence(const BusPresence&) = delete;
    BusPresence& operator=(const BusPresence&) = delete;

    void reply_owed() { ++owed_; }
    void reply_sent() {
        if (--owed_ == 0 && leaving_) {
            unregister_now();
        }
    }
    // Leaves the bus now, or right after the last owed reply.
    void leave() {
        leaving_ = true;
        if (owed_ == 0) {
            unregister_now();
        }
    }

  private:
    void unregister_now() {
        if (!gone_) {
            gone_ = true;
            unregister_();
        }
    }

    std::function<void()> unregister_;
    int owed_ = 0;
    bool leaving_ = false;
    bool gone_ = false;
};

// What a deferred reply holds until it is sent: the object itself, and its presence on the bus.
// The manager never leaves before the loop ends, so it has no presence to hold.
struct ReplyOwner {
    std::shared_ptr<void> keep_alive;
    BusPresence* presence = nullptr;
};

}  // namespace atvd
