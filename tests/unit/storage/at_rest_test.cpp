// Encryption at rest: the sealed format, the key file and the store with a key.
#include "storage/at_rest.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "atv/error.hpp"
#include "atv/storage.hpp"
#include "storage/credentials_file.hpp"
#include "store_test_support.hpp"

namespace atv::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::LogCapture;
using ::testing::Not;
using testing::read_text_file;
using ::testing::StartsWith;
using testing::TemporaryFolder;
using testing::write_text_file;

SecretBytes key_of(std::uint8_t fill) {
    return SecretBytes(Bytes(at_rest_key_size, fill));
}

StoredDevice device_with_secret() {
    StoredDevice device;
    device.device_id = "AA:BB:CC:DD:EE:FF";
    device.identifiers = {"AA:BB:CC:DD:EE:FF"};
    device.name = "Kitchen";
    device.credentials = {{Protocol::mrp, "TOPSECRET-credentials"}};
    return device;
}

std::string unseal_error(const SecretBytes& key, std::string_view name, std::string_view text) {
    try {
        unseal(key, name, text);
    } catch (const Error& error) {
        return error.what();
    }
    ADD_FAILURE() << "unsealed what it should not";
    return {};
}

TEST(Sealing, RoundTripHidesThePlainText) {
    const std::string plain = "atvd-credentials 1\ndevice-id x\nname TOPSECRET\nend\n";
    const std::string sealed = seal(key_of(1), "x.creds", plain);
    EXPECT_THAT(sealed, StartsWith("atvd-sealed 1\nnonce "));
    EXPECT_THAT(sealed, Not(HasSubstr("TOPSECRET")));
    EXPECT_EQ(unseal(key_of(1), "x.creds", sealed), plain);
    EXPECT_NE(seal(key_of(1), "x.creds", plain), sealed) << "nonces must differ";
}

TEST(Sealing, RefusesWrongKeyOtherNameAndTampering) {
    const std::string sealed = seal(key_of(1), "x.creds", "plain text");
    EXPECT_THAT(unseal_error(key_of(2), "x.creds", sealed), HasSubstr("does not decrypt"));
    EXPECT_THAT(unseal_error(key_of(1), "y.creds", sealed), HasSubstr("does not decrypt"));
    std::string tampered = sealed;
    const std::size_t data = tampered.find("data ") + 5;
    tampered[data] = tampered[data] == '0' ? '1' : '0';
    EXPECT_THAT(unseal_error(key_of(1), "x.creds", tampered), HasSubstr("does not decrypt"));
}

TEST(Sealing, RefusesMalformedSealedFiles) {
    const std::string nonce(48, 'a');
    EXPECT_THAT(unseal_error(key_of(1), "x",
                             "atvd-sealed 1\nnonce " + nonce.substr(2) + "\ndata " +
                                 std::string(32, '0') + "\nend\n"),
                HasSubstr("line 2: 'nonce' must be 24 bytes"));
    EXPECT_THAT(unseal_error(key_of(1), "x", "atvd-sealed 1\nnonce " + nonce + "\ndata 00\nend\n"),
                HasSubstr("line 3: 'data' must be 16 or more bytes"));
    EXPECT_THAT(unseal_error(
                    key_of(1), "x",
                    "atvd-sealed 1\nnonce " + nonce + "\ndata " + std::string(32, 'A') + "\nend\n"),
                HasSubstr("line 3:"));
    EXPECT_THAT(
        unseal_error(key_of(1), "x",
                     "atvd-sealed 1\nnonce " + nonce + "\ndata " + std::string(32, '0') + "\n"),
        HasSubstr("line 4: the file ends early"));
    EXPECT_THAT(unseal_error(key_of(1), "x",
                             "atvd-sealed 1\nnonce " + nonce + "\ndata " + std::string(32, '0') +
                                 "\nend \n"),
                HasSubstr("line 4: expected 'end'"));
    EXPECT_THROW(seal(SecretBytes(Bytes(16, 1)), "x", "plain"), Error);
}

TEST(AtRestKeyFile, ReadsRawAndHexKeys) {
    TemporaryFolder folder;
    EXPECT_FALSE(read_at_rest_key(folder.path()).has_value());
    write_text_file(folder.path() / "atvd.key", std::string(32, 'k'), 0400);
    const std::optional<SecretBytes> raw = read_at_rest_key(folder.path());
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(Bytes(raw->view().begin(), raw->view().end()), Bytes(32, 'k'));
    write_text_file(folder.path() / "atvd.key", std::string(64, 'f') + "\n", 0600);
    const std::optional<SecretBytes> hex = read_at_rest_key(folder.path());
    ASSERT_TRUE(hex.has_value());
    EXPECT_EQ(Bytes(hex->view().begin(), hex->view().end()), Bytes(32, 0xff));
}

TEST(AtRestKeyFile, RefusesUnusableKeys) {
    TemporaryFolder folder;
    write_text_file(folder.path() / "atvd.key", std::string(31, 'k'));
    EXPECT_THROW(read_at_rest_key(folder.path()), Error);
    write_text_file(folder.path() / "atvd.key", std::string(64, 'x'));
    EXPECT_THROW(read_at_rest_key(folder.path()), Error);
    write_text_file(folder.path() / "atvd.key", std::string(32, 'k'), 0644);
    try {
        read_at_rest_key(folder.path());
        FAIL() << "used a key readable by others";
    } catch (const Error& error) {
        EXPECT_EQ(error.kind(), ErrorKind::invalid_state);
        EXPECT_THAT(error.what(), HasSubstr("atvd.key cannot be used: its mode 0644"));
    }
}

TEST(AtRestKeyFile, ComesFromTheCredentialsDirectory) {
    TemporaryFolder folder;
    write_text_file(folder.path() / "atvd.key", std::string(32, 'e'));
    ::setenv("CREDENTIALS_DIRECTORY", folder.path().c_str(), 1);
    const std::optional<SecretBytes> key = SecretsStore::at_rest_key_from_environment();
    ::unsetenv("CREDENTIALS_DIRECTORY");
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(Bytes(key->view().begin(), key->view().end()), Bytes(32, 'e'));
    EXPECT_FALSE(SecretsStore::at_rest_key_from_environment().has_value());
}

class EncryptedStoreTest : public ::testing::Test {
  protected:
    TemporaryFolder temporary;
    std::filesystem::path folder = temporary.path() / "state";
    LogCapture log;
    std::filesystem::path file = folder / SecretsStore::file_name_for("AA:BB:CC:DD:EE:FF");
};

TEST_F(EncryptedStoreTest, FilesAreSealedAndLoadWithTheKey) {
    {
        SecretsStore store(folder, key_of(7));
        store.save(device_with_secret());
    }
    const std::string on_disk = read_text_file(file);
    EXPECT_THAT(on_disk, StartsWith("atvd-sealed 1\n"));
    EXPECT_THAT(on_disk, Not(HasSubstr("TOPSECRET")));
    EXPECT_THAT(on_disk, Not(HasSubstr("Kitchen")));
    SecretsStore reopened(folder, key_of(7));
    EXPECT_THAT(reopened.load_all(), ElementsAre(device_with_secret()));
}

TEST_F(EncryptedStoreTest, WithoutTheRightKeyFilesAreRefused) {
    SecretsStore(folder, key_of(7)).save(device_with_secret());
    EXPECT_THAT(SecretsStore(folder).load_all(), IsEmpty());
    EXPECT_THAT(log.text(), HasSubstr("ignoring credentials file " + file.string() +
                                      ": it is encrypted, but no at-rest key"));
    log.clear();
    EXPECT_THAT(SecretsStore(folder, key_of(8)).load_all(), IsEmpty());
    EXPECT_THAT(log.text(), HasSubstr(file.string() + ": it does not decrypt"));
}

TEST_F(EncryptedStoreTest, PlainFilesStillLoadAndAreSealedWhenWritten) {
    SecretsStore(folder).save(device_with_secret());
    SecretsStore store(folder, key_of(7));
    EXPECT_THAT(store.load_all(), ElementsAre(device_with_secret()));
    store.save(device_with_secret());
    EXPECT_THAT(read_text_file(file), StartsWith("atvd-sealed 1\n"));
    EXPECT_THAT(store.load_all(), ElementsAre(device_with_secret()));
}

TEST_F(EncryptedStoreTest, IdentityIsSealedAndStable) {
    std::string client_id;
    {
        SecretsStore store(folder, key_of(7));
        client_id = store.load_or_create_identity().client_id;
    }
    EXPECT_THAT(read_text_file(folder / "identity"), StartsWith("atvd-sealed 1\n"));
    EXPECT_EQ(SecretsStore(folder, key_of(7)).load_or_create_identity().client_id, client_id);
    SecretsStore without_key(folder);
    EXPECT_THROW(without_key.load_or_create_identity(), Error);
}

TEST_F(EncryptedStoreTest, KeyOfWrongSizeIsRefused) {
    EXPECT_THROW(SecretsStore(folder, SecretBytes(Bytes(31, 1))), Error);
}

}  // namespace
}  // namespace atv::storage
