#include "caller.hpp"

#include <grp.h>

#include <algorithm>
#include <sdbus-c++/Message.h>
#include <string>

#include "atv/error.hpp"
#include "bus_errors.hpp"

namespace atvd {

Caller current_caller(const sdbus::IObject& object) {
    const sdbus::Message* message = object.getCurrentlyProcessedMessage();
    Caller caller;
    if (message == nullptr) {
        return caller;
    }
    caller.uid = message->getCredsEuid();
    caller.groups = message->getCredsSupplementaryGids();
    caller.groups.push_back(message->getCredsEgid());
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
    if (admin_gid_ && std::find(caller.groups.begin(), caller.groups.end(), *admin_gid_) !=
                          caller.groups.end()) {
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
