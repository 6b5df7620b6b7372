// Untrusted bytes through both text-input archive decoders (a device's session, a remote's text
// operation). What decodes must hold to the limits, and a session's text must survive being
// archived again and read back.
#include "companion/text_input.hpp"

#include <cstddef>
#include <cstdint>

#include "atv/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    atv::companion::TextInputLimits limits;
    limits.max_archive_bytes = 256 * 1024;
    limits.max_text_bytes = 4096;
    const atv::ByteView input(data, size);
    try {
        const auto session = atv::companion::decode_text_input_session(input, limits);
        if (session.session_uuid.size() != 16 || session.text.size() > limits.max_text_bytes ||
            (session.text_over_limit && !session.text.empty())) {
            __builtin_trap();
        }
        try {
            const auto again = atv::companion::decode_text_input_session(
                atv::companion::encode_text_input_session(session.session_uuid, session.text),
                limits);
            if (!session.text_over_limit && again.text != session.text) {
                __builtin_trap();
            }
        } catch (const atv::Error& error) {
            // Text that is not valid UTF-8 is not archived again; nothing else may fail.
            if (error.kind() != atv::ErrorKind::invalid_arguments) {
                __builtin_trap();
            }
        }
    } catch (const atv::Error&) {
    }
    try {
        const auto operation = atv::companion::decode_text_operation(input, limits);
        if (operation.target_session_uuid.size() != 16 ||
            (operation.insertion && operation.insertion->size() > limits.max_text_bytes)) {
            __builtin_trap();
        }
    } catch (const atv::Error&) {
    }
    return 0;
}
