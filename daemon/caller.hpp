// Who is calling: credentials of the sender of the message being handled, as the bus reports
// them, and the rules of the API's Security section.
#pragma once

#include <sdbus-c++/IObject.h>
#include <sys/types.h>

#include <optional>
#include <vector>

namespace atvd {

struct Caller {
    uid_t uid = static_cast<uid_t>(-1);
    std::vector<gid_t> groups;  // primary and supplementary, from the user database
};

// The sender of the message currently dispatched on `object`.
Caller current_caller(const sdbus::IObject& object);

class Authorization {
  public:
    // `admin_group` is the group whose members may change state (normally "atvd"); when it does
    // not exist only root may.
    explicit Authorization(const char* admin_group);

    // Pair, Connect, Close, SetCredentials, AddDevice, RemoveDevice: root or the group.
    // Throws NotAuthorized otherwise.
    void require_admin(const Caller& caller, const char* action) const;
    // A pairing handler: root or the user who created it.
    static void require_owner(const Caller& caller, uid_t owner);

  private:
    std::optional<gid_t> admin_gid_;
    std::string admin_group_;
};

}  // namespace atvd
