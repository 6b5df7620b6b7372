#include "caller.hpp"

#include <grp.h>
#include <pwd.h>
#include <sdbus-c++/Message.h>

#include <algorithm>
#include <string>

#include "atv/error.hpp"
#include "bus_errors.hpp"

namespace atvd {

namespace {

// The groups of a user in the user database, as the bus policy's <policy group="..."> sees
// them. The sender's own process groups would come from its /proc entry, which the unit's
// ProtectProc=invisible hides from atvd: asking sd-bus for them fails for every caller.
std::vector<gid_t> groups_of(uid_t uid) {
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
        return {};
    }
    int count = 32;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    while (getgrouplist(entry.pw_name, entry.pw_gid, groups.data(), &count) == -1) {
        groups.resize(static_cast<std::size_t>(count));
    }
    groups.resize(static_cast<std::size_t>(count));
    return groups;
}

}  // namespace

Caller current_caller(const sdbus::IObject& object) {
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    Caller caller;
    if (message == nullptr) {
        return caller;
    }
    caller.uid = message->getCredsEuid();
    caller.groups = groups_of(caller.uid);
    return caller;
}

Authorization::Authorization(const char* admin_group) : admin_group_(admin_group) {
    if (const group* entry = getgrnam(admin_group)) {
        admin_gid_ = entry->gr_gid;
    }
}

void Authorization::require_admin(const Caller& caller, const char* action) const {
    if (caller.uid == 0) {
        return;
    }
    if (admin_gid_ &&
        std::find(caller.groups.begin(), caller.groups.end(), *admin_gid_) != caller.groups.end()) {
        return;
    }
    throw bus_error(atv::ErrorKind::not_authorized,
                    std::string(action) + " is allowed to root and to members of the group '" +
                        admin_group_ + "' only");
}

void Authorization::require_owner(const Caller& caller, uid_t owner) {
    if (caller.uid == 0 || caller.uid == owner) {
        return;
    }
    throw bus_error(atv::ErrorKind::not_authorized,
                    "this pairing belongs to another user; only that user or root may drive it");
}

}  // namespace atvd
