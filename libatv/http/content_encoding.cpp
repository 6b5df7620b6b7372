#include "http/content_encoding.hpp"

// Without it zlib's next_in is not const and every input would need a cast.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <string>
#include <string_view>

#include "atv/error.hpp"

namespace atv::http {

namespace {

// zlib's window bits for a gzip wrapper and the largest window: gzip only, never raw deflate or
// a zlib wrapper, which no HTTP peer may send as "gzip".
constexpr int gzip_window_bits = 15 + 16;
constexpr int default_memory_level = 8;
constexpr std::size_t inflate_chunk = 16 * 1024;

[[noreturn]] void refuse(const std::string& what) {
    throw Error(ErrorKind::connection_failed, "the device sent " + what);
}

// zlib counts input in uInt; bodies atvd reads are far smaller, so a larger one is refused.
uInt input_size(ByteView bytes) {
    if (bytes.size() > std::numeric_limits<uInt>::max()) {
        refuse("a body too large to decode");
    }
    return static_cast<uInt>(bytes.size());
}

// Ends the zlib stream however the decoding ends.
class Inflater {
  public:
    explicit Inflater(ByteView encoded) {
        stream_.next_in = encoded.data();
        stream_.avail_in = input_size(encoded);
        if (inflateInit2(&stream_, gzip_window_bits) != Z_OK) {
            throw Error(ErrorKind::connection_failed, "zlib could not start a gzip decoder");
        }
    }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    ~Inflater() { inflateEnd(&stream_); }

    z_stream& stream() { return stream_; }

  private:
    z_stream stream_{};
};

// What inflate's status says about a body it could not finish.
[[noreturn]] void refuse_status(int status, const z_stream& stream) {
    if (status == Z_BUF_ERROR && stream.avail_in == 0) {
        refuse("a truncated gzip body");
    }
    if (status == Z_MEM_ERROR) {
        throw Error(ErrorKind::connection_failed, "out of memory while decoding a gzip body");
    }
    const std::string reason =
        stream.msg != nullptr ? stream.msg : "zlib status " + std::to_string(status);
    refuse("a corrupt gzip body (" + reason + ")");
}

std::string lower_trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    std::string out(text);
    std::ranges::transform(out, out.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return out;
}

}  // namespace

Bytes gzip_decode(ByteView encoded, std::size_t max_decoded) {
    Inflater inflater(encoded);
    z_stream& stream = inflater.stream();
    Bytes decoded;
    std::array<Bytef, inflate_chunk> chunk{};
    for (;;) {
        stream.next_out = chunk.data();
        stream.avail_out = static_cast<uInt>(chunk.size());
        const int status = inflate(&stream, Z_NO_FLUSH);
        const std::size_t produced = chunk.size() - stream.avail_out;
        if (produced > max_decoded - decoded.size()) {
            refuse("a gzip body that decodes to more than " + std::to_string(max_decoded) +
                   " bytes");
        }
        decoded.insert(decoded.end(), chunk.begin(),
                       chunk.begin() + static_cast<std::ptrdiff_t>(produced));
        if (status == Z_STREAM_END) {
            if (stream.avail_in == 0) {
                return decoded;
            }
            // RFC 1952 §2.2: members may follow one another; anything else is corrupt.
            inflateReset(&stream);
        } else if (status != Z_OK) {
            refuse_status(status, stream);
        }
    }
}

Bytes gzip_encode(ByteView plain) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip_window_bits,
                     default_memory_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw Error(ErrorKind::connection_failed, "zlib could not start a gzip encoder");
    }
    const uInt size = input_size(plain);
    Bytes encoded(deflateBound(&stream, size));
    stream.next_in = plain.data();
    stream.avail_in = size;
    stream.next_out = encoded.data();
    stream.avail_out = static_cast<uInt>(encoded.size());
    const int status = deflate(&stream, Z_FINISH);
    encoded.resize(stream.total_out);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) {
        throw Error(ErrorKind::connection_failed, "zlib could not gzip a body");
    }
    return encoded;
}

void decode_body(Response& response, std::size_t max_decoded) {
    const auto coding = response.headers.get("Content-Encoding");
    if (!coding) {
        return;
    }
    const std::string name = lower_trimmed(*coding);
    if (name == "gzip" || name == "x-gzip") {
        if (!response.body.empty()) {
            response.body = gzip_decode(response.body, max_decoded);
        }
    } else if (name != "identity") {
        refuse("a body in the content coding \"" + std::string(*coding) +
               "\", which atvd cannot read");
    }
    response.headers.remove("Content-Encoding");
    if (response.headers.get("Content-Length")) {
        response.headers.set("Content-Length", std::to_string(response.body.size()));
    }
}

}  // namespace atv::http
