#include "airplay/legacy.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <exception>

#include "airplay/plist.hpp"
#include "atv/error.hpp"
#include "hap/pair_setup.hpp"

namespace atv::airplay::legacy {

namespace {

constexpr std::size_t aes_key_size = 16;
constexpr std::size_t tag_size = 16;

// The first 16 bytes of SHA-512(label ‖ secret): legacy pairing's AES keys and IVs.
Bytes derive(std::string_view label, ByteView secret) {
    Bytes input(label.begin(), label.end());
    input.insert(input.end(), secret.begin(), secret.end());
    Bytes digest(SHA512_DIGEST_LENGTH);
    SHA512(input.data(), input.size(), digest.data());
    wipe(input.data(), input.size());
    digest.resize(aes_key_size);
    return digest;
}

// The setup IV is the derived one with its last byte increased by one (wrapping).
Bytes setup_iv(ByteView session_key) {
    Bytes iv = derive("Pair-Setup-AES-IV", session_key);
    iv.back() = static_cast<std::uint8_t>(iv.back() + 1);
    return iv;
}

struct CipherContext {
    CipherContext() : context(EVP_CIPHER_CTX_new()) {
        if (context == nullptr)
            throw Error(ErrorKind::pairing_failed, "out of memory for AES");
    }
    ~CipherContext() { EVP_CIPHER_CTX_free(context); }
    CipherContext(const CipherContext&) = delete;
    CipherContext& operator=(const CipherContext&) = delete;
    EVP_CIPHER_CTX* context;
};

[[noreturn]] void crypto_failure(const char* what) {
    throw Error(ErrorKind::pairing_failed, std::string("AES failed in legacy pairing: ") + what);
}

Bytes gcm(bool encrypt, ByteView key, ByteView iv, ByteView input, Bytes* tag) {
    CipherContext cipher;
    const int direction = encrypt ? 1 : 0;
    if (EVP_CipherInit_ex(cipher.context, EVP_aes_128_gcm(), nullptr, nullptr, nullptr,
                          direction) != 1 ||
        EVP_CIPHER_CTX_ctrl(cipher.context, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                            nullptr) != 1 ||
        EVP_CipherInit_ex(cipher.context, nullptr, nullptr, key.data(), iv.data(), direction) !=
            1) {
        crypto_failure("GCM setup");
    }
    Bytes output(input.size() + 16);
    int length = 0;
    if (EVP_CipherUpdate(cipher.context, output.data(), &length, input.data(),
                         static_cast<int>(input.size())) != 1) {
        crypto_failure("GCM update");
    }
    output.resize(static_cast<std::size_t>(length));
    if (!encrypt && EVP_CIPHER_CTX_ctrl(cipher.context, EVP_CTRL_GCM_SET_TAG,
                                        static_cast<int>(tag->size()), tag->data()) != 1) {
        crypto_failure("GCM tag");
    }
    std::uint8_t rest[16];
    int final_length = 0;
    if (EVP_CipherFinal_ex(cipher.context, rest, &final_length) != 1) {
        throw Error(ErrorKind::authentication_failed, "the sealed key does not verify");
    }
    if (encrypt) {
        tag->assign(tag_size, 0);
        if (EVP_CIPHER_CTX_ctrl(cipher.context, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                                tag->data()) != 1) {
            crypto_failure("GCM tag");
        }
    }
    return output;
}

PlistValue decode_answer(const http::Response& response) {
    if (response.body.empty())
        return PlistDict{};
    return plist_decode(response.body);
}

Bytes require_data(const PlistValue& answer, const char* key, const char* step) {
    const PlistValue* value = answer.find(key);
    const auto data = value != nullptr ? value->data() : std::nullopt;
    if (!data) {
        throw Error(ErrorKind::pairing_failed, std::string("the device's answer to ") + step +
                                                   " has no " + key + "; pairing failed");
    }
    return Bytes(data->begin(), data->end());
}

http::Request plist_request(std::string path, const PlistValue& body) {
    return post_request(std::move(path), "application/x-apple-binary-plist", plist_encode(body));
}

http::Request octet_request(std::string path, Bytes body) {
    return post_request(std::move(path), "application/octet-stream", std::move(body));
}

// 200, or a refusal: 470 and 401/403 after the SRP proof mean the PIN was wrong.
http::Response checked(http::Response response, const std::string& step, bool pin_step) {
    if (response.status == 200)
        return response;
    const std::string what =
        step + " answered " + std::to_string(response.status) + " " + response.reason;
    if (pin_step && (response.status == 470 || response.status == 401 || response.status == 403)) {
        throw Error(ErrorKind::pairing_failed,
                    "pairing AirPlay with the device failed: the PIN was wrong; start pairing "
                    "again and enter the PIN shown on the TV");
    }
    throw Error(ErrorKind::pairing_failed, "legacy AirPlay pairing failed: " + what);
}

// Request bodies, built outside the coroutines: GCC 12 rejects braced lists of literals in them.
PlistValue pin_start_body(const std::string& user) {
    return PlistDict{{"method", "pin"}, {"user", user}};
}

PlistValue proof_body(const hap::SrpClient& srp) {
    return PlistDict{{"pk", srp.public_A()}, {"proof", srp.proof_M1()}};
}

PlistValue key_body(const SealedKey& sealed) {
    return PlistDict{{"epk", sealed.epk}, {"authTag", sealed.auth_tag}};
}

Bytes verify_start_body(ByteView exchange_public, ByteView signing_public) {
    Bytes body{1, 0, 0, 0};
    body.insert(body.end(), exchange_public.begin(), exchange_public.end());
    body.insert(body.end(), signing_public.begin(), signing_public.end());
    return body;
}

Bytes verify_finish_body(ByteView sealed_signature) {
    Bytes body{0, 0, 0, 0};
    body.insert(body.end(), sealed_signature.begin(), sealed_signature.end());
    return body;
}

}  // namespace

hap::SrpGroup srp_group() {
    return hap::SrpGroup::rfc5054_2048_sha1().with_session_key(
        hap::SrpSessionKey::sha1_interleaved);
}

std::string srp_user(ByteView client_id) {
    std::string hex = to_hex(client_id);
    for (char& c : hex)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hex;
}

SealedKey seal_public_key(ByteView session_key, ByteView ed25519_public) {
    const Bytes key = derive("Pair-Setup-AES-Key", session_key);
    SealedKey sealed;
    sealed.epk = gcm(true, key, setup_iv(session_key), ed25519_public, &sealed.auth_tag);
    return sealed;
}

std::optional<Bytes> open_public_key(ByteView session_key, const SealedKey& sealed) {
    if (sealed.auth_tag.size() != tag_size)
        return std::nullopt;
    const Bytes key = derive("Pair-Setup-AES-Key", session_key);
    Bytes tag = sealed.auth_tag;
    try {
        return gcm(false, key, setup_iv(session_key), sealed.epk, &tag);
    } catch (const Error&) {
        return std::nullopt;
    }
}

VerifyStream::VerifyStream(ByteView shared) : context_(EVP_CIPHER_CTX_new()) {
    auto* context = static_cast<EVP_CIPHER_CTX*>(context_);
    const Bytes key = derive("Pair-Verify-AES-Key", shared);
    const Bytes iv = derive("Pair-Verify-AES-IV", shared);
    if (context == nullptr ||
        EVP_EncryptInit_ex(context, EVP_aes_128_ctr(), nullptr, key.data(), iv.data()) != 1) {
        crypto_failure("CTR setup");
    }
}

VerifyStream::~VerifyStream() {
    EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(context_));
}

Bytes VerifyStream::apply(ByteView data) {
    Bytes output(data.size() + 16);
    int length = 0;
    if (EVP_EncryptUpdate(static_cast<EVP_CIPHER_CTX*>(context_), output.data(), &length,
                          data.data(), static_cast<int>(data.size())) != 1) {
        crypto_failure("CTR update");
    }
    output.resize(static_cast<std::size_t>(length));
    return output;
}

asio::awaitable<void> verify(HttpClient& client, const hap::LegacyCredentials& credentials,
                             std::chrono::milliseconds timeout) {
    const auto signing = hap::Ed25519KeyPair::from_seed(credentials.seed.view());
    const auto exchange = hap::X25519KeyPair::from_private_key(credentials.seed.view());
    // Each request is built, then awaited: GCC 12 destroys temporaries of a co_await expression
    // twice when the awaited coroutine throws.
    auto step1 = client.request(
        octet_request("/pair-verify", verify_start_body(exchange.public_key, signing.public_key)),
        timeout);
    const http::Response answer = co_await std::move(step1);
    if (answer.status != 200 || answer.body.size() < 32) {
        throw Error(ErrorKind::authentication_failed,
                    "the device refused legacy AirPlay verification (" +
                        std::to_string(answer.status) + "); pair again");
    }
    const ByteView device_public = ByteView(answer.body).first(32);
    const SecretBytes shared = exchange.shared_secret(device_public);
    VerifyStream stream(shared.view());
    // The keystream runs over the device's data first, then seals our signature.
    (void)stream.apply(ByteView(answer.body).subspan(32));
    Bytes signed_keys(exchange.public_key.begin(), exchange.public_key.end());
    signed_keys.insert(signed_keys.end(), device_public.begin(), device_public.end());
    const Bytes signature = stream.apply(signing.sign(signed_keys));
    auto step2 =
        client.request(octet_request("/pair-verify", verify_finish_body(signature)), timeout);
    const http::Response done = co_await std::move(step2);
    if (done.status != 200) {
        throw Error(ErrorKind::authentication_failed,
                    "the device did not accept the legacy AirPlay credentials (" +
                        std::to_string(done.status) + " " + done.reason + "); pair again");
    }
}

LegacyPairingHandler::LegacyPairingHandler(asio::any_io_executor executor, std::string address,
                                           std::uint16_t port)
    : PinOnScreenPairing(std::move(address), "legacy AirPlay with the device"),
      executor_(std::move(executor)),
      port_(port) {}

LegacyPairingHandler::~LegacyPairingHandler() = default;

std::shared_ptr<HttpClient> LegacyPairingHandler::client() const {
    if (!client_)
        throw Error(ErrorKind::invalid_state, "the pairing was closed");
    return client_;
}

asio::awaitable<void> LegacyPairingHandler::connect() {
    client_ = co_await HttpClient::connect(executor_, address(), port_, step_timeout());
}

asio::awaitable<void> LegacyPairingHandler::request_pin() {
    const std::shared_ptr<HttpClient> client = this->client();
    auto pin_start = client->request(octet_request("/pair-pin-start", {}), step_timeout());
    http::Response answer = co_await std::move(pin_start);
    checked(std::move(answer), "/pair-pin-start", false);
}

asio::awaitable<std::string> LegacyPairingHandler::pair_with_pin(std::string pin) {
    const std::shared_ptr<HttpClient> client = this->client();
    hap::LegacyCredentials credentials;
    credentials.client_id = random_bytes(8);
    credentials.seed = SecretBytes(random_bytes(32));
    const auto signing = hap::Ed25519KeyPair::from_seed(credentials.seed.view());
    const std::string user = srp_user(credentials.client_id);

    auto step1 =
        client->request(plist_request("/pair-setup-pin", pin_start_body(user)), step_timeout());
    http::Response answer1 = co_await std::move(step1);
    const PlistValue server = decode_answer(checked(std::move(answer1), "/pair-setup-pin", false));
    const Bytes server_public = require_data(server, "pk", "/pair-setup-pin");
    const Bytes salt = require_data(server, "salt", "/pair-setup-pin");

    const hap::SrpClient srp(srp_group(), user, pin, salt, server_public, credentials.seed.view());
    wipe(pin.data(), pin.size());
    auto step2 = client->request(plist_request("/pair-setup-pin", proof_body(srp)), step_timeout());
    http::Response answer2 = co_await std::move(step2);
    const PlistValue proof = decode_answer(checked(std::move(answer2), "/pair-setup-pin", true));
    if (const PlistValue* m2 = proof.find("proof");
        m2 != nullptr && m2->data() && !srp.verify_server_proof(*m2->data())) {
        throw Error(ErrorKind::pairing_failed,
                    "the device's SRP proof does not verify; it may not be the device it claims "
                    "to be");
    }

    const SealedKey sealed = seal_public_key(srp.session_key_K().view(), signing.public_key);
    auto step3 =
        client->request(plist_request("/pair-setup-pin", key_body(sealed)), step_timeout());
    http::Response answer3 = co_await std::move(step3);
    checked(std::move(answer3), "/pair-setup-pin", false);

    auto verifying = verify(*client, credentials, step_timeout());
    auto proving = prove(std::move(verifying));
    co_await std::move(proving);
    co_return credentials.to_string();
}

// Closing the connection is all it takes: a receiver forgets an unfinished pairing with it.
asio::awaitable<void> LegacyPairingHandler::disconnect() {
    if (auto client = std::move(client_))
        client->close();
    co_return;
}

}  // namespace atv::airplay::legacy
