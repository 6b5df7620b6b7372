#include "hap/srp.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "atv/error.hpp"

namespace atv::hap {

namespace {

constexpr std::size_t private_exponent_size = 32;

constexpr std::string_view prime_1024 =
    "EEAF0AB9ADB38DD69C33F80AFA8FC5E86072618775FF3C0B9EA2314C9C256576"
    "D674DF7496EA81D3383B4813D692C6E0E0D5D8E250B98BE48E495C1D6089DAD1"
    "5DC7D7B46154D6B6CE8EF4AD69B15D4982559B297BCF1885C529F566660E57EC"
    "68EDBC3C05726CC02FD4CBF4976EAA9AFD5138FE8376435B9FC61D2FC0EB06E3";

constexpr std::string_view prime_2048 =
    "AC6BDB41324A9A9BF166DE5E1389582FAF72B6651987EE07FC3192943DB56050"
    "A37329CBB4A099ED8193E0757767A13DD52312AB4B03310DCD7F48A9DA04FD50"
    "E8083969EDB767B0CF6095179A163AB3661A05FBD5FAAAE82918A9962F0B93B8"
    "55F97993EC975EEAA80D740ADBF4FF747359D041D5C33EA71D281E446B14773B"
    "CA97B43A23FB801676BD207A436C6481F1D2B9078717461A5B9D32E688F87748"
    "544523B524B0D57D5EA77A2775D2ECFA032CFBDBF52FB3786160279004E57AE6"
    "AF874E7303CE53299CCC041C7BC308D82A5698F3A8D0C38271AE35F8E9DBFBB6"
    "94B5C803D89F7AE435DE236D525F54759B65E372FCD68EF20FA7111F9E4AFF73";

constexpr std::string_view prime_3072 =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";

struct BnDeleter {
    void operator()(BIGNUM* bn) const { BN_clear_free(bn); }
    void operator()(BN_CTX* ctx) const { BN_CTX_free(ctx); }
};
using BigNum = std::unique_ptr<BIGNUM, BnDeleter>;
using BigNumContext = std::unique_ptr<BN_CTX, BnDeleter>;

BigNum new_bn() {
    BigNum bn(BN_new());
    if (!bn) {
        throw std::bad_alloc();
    }
    return bn;
}

BigNum bn_from(ByteView bytes) {
    BigNum bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!bn) {
        throw std::bad_alloc();
    }
    return bn;
}

BigNumContext new_ctx() {
    BigNumContext ctx(BN_CTX_new());
    if (!ctx) {
        throw std::bad_alloc();
    }
    return ctx;
}

void check(int result) {
    if (result != 1) {
        throw std::runtime_error("big-number arithmetic failed");
    }
}

Bytes minimal_bytes(const BIGNUM* bn) {
    Bytes out(static_cast<std::size_t>(BN_num_bytes(bn)));
    BN_bn2bin(bn, out.data());
    return out;
}

Bytes strip_leading_zeros(ByteView bytes) {
    const auto first = std::find_if(bytes.begin(), bytes.end(), [](auto b) { return b != 0; });
    return Bytes(first, bytes.end());
}

Bytes pad_to(ByteView bytes, std::size_t length) {
    const Bytes minimal = strip_leading_zeros(bytes);
    if (minimal.size() > length) {
        throw Error(ErrorKind::pairing_failed, "SRP public value longer than the group prime");
    }
    Bytes out(length - minimal.size(), 0);
    out.insert(out.end(), minimal.begin(), minimal.end());
    return out;
}

class Hasher {
  public:
    explicit Hasher(SrpHash hash) : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_) {
            throw std::bad_alloc();
        }
        const EVP_MD* md = hash == SrpHash::sha1 ? EVP_sha1() : EVP_sha512();
        if (EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) {
            throw std::runtime_error("digest initialisation failed");
        }
    }
    Hasher& add(ByteView bytes) {
        EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
        return *this;
    }
    Hasher& add(std::string_view text) {
        EVP_DigestUpdate(ctx_.get(), text.data(), text.size());
        return *this;
    }
    Bytes finish() {
        Bytes out(EVP_MAX_MD_SIZE);
        unsigned int length = 0;
        EVP_DigestFinal_ex(ctx_.get(), out.data(), &length);
        out.resize(length);
        return out;
    }

  private:
    struct Deleter {
        void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, Deleter> ctx_;
};

Bytes hash_of(SrpHash hash, ByteView bytes) {
    return Hasher(hash).add(bytes).finish();
}

// An integer as it enters M1, M2 and K.
Bytes encode_integer(const SrpGroup& group, ByteView value) {
    return group.encoding == SrpIntegerEncoding::minimal ? strip_leading_zeros(value)
                                                         : pad_to(value, group.prime_N.size());
}

// A hash used as an integer in M1 (H(N) xor H(g), H(user)).
Bytes encode_hash_integer(const SrpGroup& group, Bytes hash) {
    return group.encoding == SrpIntegerEncoding::minimal ? strip_leading_zeros(hash) : hash;
}

SecretBytes derive_session_key(const SrpGroup& group, ByteView premaster_S) {
    const Bytes S = encode_integer(group, premaster_S);
    if (group.session_key == SrpSessionKey::hash_of_s) {
        return SecretBytes(hash_of(group.hash, S));
    }
    const std::uint8_t first[] = {0, 0, 0, 0};
    const std::uint8_t second[] = {0, 0, 0, 1};
    Bytes key = Hasher(SrpHash::sha1).add(S).add(first).finish();
    const Bytes tail = Hasher(SrpHash::sha1).add(S).add(second).finish();
    key.insert(key.end(), tail.begin(), tail.end());
    return SecretBytes(std::move(key));
}

Bytes compute_M1(const SrpGroup& group, std::string_view username, ByteView salt, ByteView A,
                 ByteView B, const SecretBytes& K) {
    Bytes group_hash = hash_of(group.hash, strip_leading_zeros(group.prime_N));
    const Bytes generator_hash = hash_of(group.hash, strip_leading_zeros(group.generator_g));
    for (std::size_t i = 0; i < group_hash.size(); ++i) {
        group_hash[i] ^= generator_hash[i];
    }
    return Hasher(group.hash)
        .add(encode_hash_integer(group, group_hash))
        .add(encode_hash_integer(group, Hasher(group.hash).add(username).finish()))
        .add(salt)
        .add(encode_integer(group, A))
        .add(encode_integer(group, B))
        .add(K.view())
        .finish();
}

Bytes compute_M2(const SrpGroup& group, ByteView A, ByteView M1, const SecretBytes& K) {
    return Hasher(group.hash).add(encode_integer(group, A)).add(M1).add(K.view()).finish();
}

bool is_zero_mod_N(const BIGNUM* value, const BIGNUM* N, BN_CTX* ctx) {
    BigNum rest = new_bn();
    check(BN_mod(rest.get(), value, N, ctx));
    return BN_is_zero(rest.get());
}

Bytes mod_exp(const BIGNUM* base, const BIGNUM* exponent, const BIGNUM* N, BN_CTX* ctx) {
    BigNum result = new_bn();
    check(BN_mod_exp(result.get(), base, exponent, N, ctx));
    return minimal_bytes(result.get());
}

SrpGroup make_group(std::string_view prime_hex, std::uint8_t generator, SrpHash hash) {
    SrpGroup group;
    group.prime_N = *from_hex(prime_hex);
    group.generator_g = Bytes{generator};
    group.hash = hash;
    return group;
}

bool constant_time_equal(ByteView a, ByteView b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

SrpGroup SrpGroup::rfc5054_1024_sha1() {
    return make_group(prime_1024, 2, SrpHash::sha1);
}
SrpGroup SrpGroup::rfc5054_2048_sha1() {
    return make_group(prime_2048, 2, SrpHash::sha1);
}
SrpGroup SrpGroup::rfc5054_3072_sha512() {
    return make_group(prime_3072, 5, SrpHash::sha512);
}

SrpGroup SrpGroup::with_encoding(SrpIntegerEncoding value) const {
    SrpGroup copy = *this;
    copy.encoding = value;
    return copy;
}

SrpGroup SrpGroup::with_session_key(SrpSessionKey value) const {
    SrpGroup copy = *this;
    copy.session_key = value;
    return copy;
}

Bytes srp_multiplier_k(const SrpGroup& group) {
    return Hasher(group.hash)
        .add(group.prime_N)
        .add(pad_to(group.generator_g, group.prime_N.size()))
        .finish();
}

Bytes srp_scrambler_u(const SrpGroup& group, ByteView A, ByteView B) {
    const std::size_t length = group.prime_N.size();
    return Hasher(group.hash).add(pad_to(A, length)).add(pad_to(B, length)).finish();
}

Bytes srp_private_x(const SrpGroup& group, ByteView salt, std::string_view username,
                    std::string_view password) {
    const Bytes identity = Hasher(group.hash).add(username).add(":").add(password).finish();
    return Hasher(group.hash).add(salt).add(identity).finish();
}

Bytes srp_verifier_v(const SrpGroup& group, ByteView salt, std::string_view username,
                     std::string_view password) {
    auto ctx = new_ctx();
    const BigNum N = bn_from(group.prime_N);
    const BigNum g = bn_from(group.generator_g);
    const Bytes x_bytes = srp_private_x(group, salt, username, password);
    const BigNum x = bn_from(x_bytes);
    return mod_exp(g.get(), x.get(), N.get(), ctx.get());
}

SrpClient::SrpClient(const SrpGroup& group, std::string username, std::string password,
                     ByteView salt, ByteView server_public_B, ByteView private_a) {
    auto ctx = new_ctx();
    const BigNum N = bn_from(group.prime_N);
    const BigNum g = bn_from(group.generator_g);
    const BigNum B = bn_from(server_public_B);
    if (server_public_B.size() > group.prime_N.size() ||
        is_zero_mod_N(B.get(), N.get(), ctx.get())) {
        throw Error(ErrorKind::pairing_failed,
                    "the device sent an invalid SRP public key: pairing aborted");
    }
    const SecretBytes a_bytes(private_a.empty() ? random_bytes(private_exponent_size)
                                                : Bytes(private_a.begin(), private_a.end()));
    const BigNum a = bn_from(a_bytes.view());
    public_A_ = encode_integer(group, mod_exp(g.get(), a.get(), N.get(), ctx.get()));

    const BigNum u = bn_from(srp_scrambler_u(group, public_A_, server_public_B));
    if (BN_is_zero(u.get())) {
        throw Error(ErrorKind::pairing_failed, "SRP scrambling parameter is zero: pairing aborted");
    }
    const SecretBytes x_bytes(srp_private_x(group, salt, username, password));
    const BigNum x = bn_from(x_bytes.view());
    const BigNum k = bn_from(srp_multiplier_k(group));

    // S = (B - k * g^x) ^ (a + u * x) mod N
    BigNum g_x = new_bn();
    BigNum k_g_x = new_bn();
    BigNum base = new_bn();
    BigNum u_x = new_bn();
    BigNum exponent = new_bn();
    BigNum S = new_bn();
    check(BN_mod_exp(g_x.get(), g.get(), x.get(), N.get(), ctx.get()));
    check(BN_mod_mul(k_g_x.get(), k.get(), g_x.get(), N.get(), ctx.get()));
    check(BN_mod_sub(base.get(), B.get(), k_g_x.get(), N.get(), ctx.get()));
    check(BN_mul(u_x.get(), u.get(), x.get(), ctx.get()));
    check(BN_add(exponent.get(), a.get(), u_x.get()));
    check(BN_mod_exp(S.get(), base.get(), exponent.get(), N.get(), ctx.get()));

    premaster_S_ = SecretBytes(minimal_bytes(S.get()));
    session_key_K_ = derive_session_key(group, premaster_S_.view());
    proof_M1_ = compute_M1(group, username, salt, public_A_, server_public_B, session_key_K_);
    expected_M2_ = compute_M2(group, public_A_, proof_M1_, session_key_K_);
}

bool SrpClient::verify_server_proof(ByteView M2) const {
    return constant_time_equal(M2, expected_M2_);
}

SrpServer::SrpServer(const SrpGroup& group, std::string username, std::string password,
                     ByteView salt, ByteView private_b)
    : group_(group),
      username_(std::move(username)),
      salt_(salt.empty() ? random_bytes(16) : Bytes(salt.begin(), salt.end())),
      private_b_(private_b.empty() ? random_bytes(private_exponent_size)
                                   : Bytes(private_b.begin(), private_b.end())) {
    auto ctx = new_ctx();
    const BigNum N = bn_from(group_.prime_N);
    const BigNum g = bn_from(group_.generator_g);
    const BigNum b = bn_from(private_b_.view());
    verifier_v_ = srp_verifier_v(group_, salt_, username_, password);
    wipe(password.data(), password.size());
    const BigNum v = bn_from(verifier_v_);
    const BigNum k = bn_from(srp_multiplier_k(group_));

    // B = (k * v + g^b) mod N
    BigNum k_v = new_bn();
    BigNum g_b = new_bn();
    BigNum B = new_bn();
    check(BN_mod_mul(k_v.get(), k.get(), v.get(), N.get(), ctx.get()));
    check(BN_mod_exp(g_b.get(), g.get(), b.get(), N.get(), ctx.get()));
    check(BN_mod_add(B.get(), k_v.get(), g_b.get(), N.get(), ctx.get()));
    public_B_ = encode_integer(group_, minimal_bytes(B.get()));
}

std::optional<Bytes> SrpServer::verify_client(ByteView A_bytes, ByteView M1) {
    auto ctx = new_ctx();
    const BigNum N = bn_from(group_.prime_N);
    const BigNum A = bn_from(A_bytes);
    if (A_bytes.size() > group_.prime_N.size() || is_zero_mod_N(A.get(), N.get(), ctx.get())) {
        return std::nullopt;
    }
    const BigNum u = bn_from(srp_scrambler_u(group_, A_bytes, public_B_));
    const BigNum v = bn_from(verifier_v_);
    const BigNum b = bn_from(private_b_.view());

    // S = (A * v^u) ^ b mod N
    BigNum v_u = new_bn();
    BigNum base = new_bn();
    BigNum S = new_bn();
    check(BN_mod_exp(v_u.get(), v.get(), u.get(), N.get(), ctx.get()));
    check(BN_mod_mul(base.get(), A.get(), v_u.get(), N.get(), ctx.get()));
    check(BN_mod_exp(S.get(), base.get(), b.get(), N.get(), ctx.get()));

    SecretBytes premaster(minimal_bytes(S.get()));
    SecretBytes key = derive_session_key(group_, premaster.view());
    const Bytes expected_M1 = compute_M1(group_, username_, salt_, A_bytes, public_B_, key);
    if (!constant_time_equal(M1, expected_M1)) {
        return std::nullopt;
    }
    premaster_S_ = std::move(premaster);
    session_key_K_ = std::move(key);
    return compute_M2(group_, A_bytes, M1, session_key_K_);
}

}  // namespace atv::hap
