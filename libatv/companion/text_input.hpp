// The payloads of Companion's text-input session (protocols-control.md §4): the device describes
// its focused text field in `_tiD` of the `_tiStart` reply and of `_tiStarted` events, and a
// remote edits it with `_tiC` events whose `_tiD` carries text operations. Both are
// NSKeyedArchiver archives in binary property lists: `$top` names objects of `$objects` by UID.
// Parsing is Debian's libplist, after a check of the raw bytes that keeps libplist away from
// input it mishandles; the archive is never trusted: every reference is bounds-checked.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "support/bytes.hpp"

namespace atv::companion {

struct TextInputLimits {
    // The whole archive; a Companion frame is at most 1 MiB (default_frame_limit).
    std::size_t max_archive_bytes = 1024 * 1024;
    std::size_t max_objects = 4096;
    // The text of the field; longer text is measured, not kept.
    std::size_t max_text_bytes = 64 * 1024;
};

// A focused text field, as the device describes it.
struct TextInputSession {
    Bytes session_uuid;  // the 16 bytes text operations must name
    std::string text;    // what the field holds (before the cursor); empty when over the limit
    std::size_t text_bytes = 0;
    bool text_over_limit = false;
};

// Reads `$top.sessionUUID` and `$top.documentState.docSt.contextBeforeInput`. Throws
// atv::Error(not_supported) with the reason for anything that is not such an archive within
// the limits.
TextInputSession decode_text_input_session(ByteView archive, const TextInputLimits& limits = {});

// `_tiD` of a `_tiC` event: replace everything with nothing (clear), or insert `text` at the
// cursor. Throws atv::Error(invalid_arguments) for a text with a NUL in it.
Bytes encode_text_clear(ByteView session_uuid);
Bytes encode_text_insert(ByteView session_uuid, std::string_view text);

// ---- the device side, as the fake Apple TV plays it ----

// The `_tiD` a device sends for its focused field.
Bytes encode_text_input_session(ByteView session_uuid, std::string_view text);

// One `_tiC` edit: the session it targets, whether it clears the field, what it inserts.
struct TextOperation {
    Bytes target_session_uuid;
    bool clear = false;
    std::optional<std::string> insertion;
};

// Reads `$top.textOperations` (targetSessionUUID.NS.uuidbytes, textToAssert,
// keyboardOutput.insertionText). Throws as decode_text_input_session does.
TextOperation decode_text_operation(ByteView archive, const TextInputLimits& limits = {});

}  // namespace atv::companion
