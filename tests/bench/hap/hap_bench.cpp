// CPU cost of pair-setup and pair-verify (both sides in-process) and session cipher throughput.
#include <benchmark/benchmark.h>

#include <memory>

#include "hap/pair_setup.hpp"
#include "hap/pair_verify.hpp"
#include "hap/session.hpp"

namespace {

using namespace atv;
using namespace atv::hap;

const AccessoryIdentity& accessory_identity() {
    static const AccessoryIdentity identity{"C0:FF:EE:00:00:01", Ed25519KeyPair::generate()};
    return identity;
}

const ClientIdentity& client_identity() {
    static const ClientIdentity identity = ClientIdentity::generate();
    return identity;
}

enum class Side { both, controller, accessory };

// Runs one exchange; with one side selected, the other side's work is left out of the timing.
template <typename Exchange>
void timed_exchange(benchmark::State& state, Side side, Exchange&& exchange) {
    for (auto _ : state) {
        auto as_controller = [&](auto&& work) {
            if (side == Side::accessory) {
                state.PauseTiming();
            }
            auto result = work();
            if (side == Side::accessory) {
                state.ResumeTiming();
            }
            return result;
        };
        auto as_accessory = [&](auto&& work) {
            if (side == Side::controller) {
                state.PauseTiming();
            }
            auto result = work();
            if (side == Side::controller) {
                state.ResumeTiming();
            }
            return result;
        };
        exchange(as_controller, as_accessory);
    }
}

void BM_PairSetup(benchmark::State& state) {
    const auto side = static_cast<Side>(state.range(0));
    timed_exchange(state, side, [](auto controller_step, auto accessory_step) {
        auto accessory = accessory_step(
            [] { return std::make_unique<PairSetupAccessory>(accessory_identity(), "1234"); });
        auto controller = controller_step([] {
            auto made = std::make_unique<PairSetupController>(client_identity(), std::nullopt);
            made->set_pin("1234");
            return made;
        });
        const Bytes m1 = controller_step([&] { return controller->m1(); });
        const Bytes m2 = accessory_step([&] { return accessory->handle(m1); });
        const Bytes m3 = controller_step([&] { return controller->m3(m2); });
        const Bytes m4 = accessory_step([&] { return accessory->handle(m3); });
        const Bytes m5 = controller_step([&] { return controller->m5(m4); });
        const Bytes m6 = accessory_step([&] { return accessory->handle(m5); });
        auto credentials = controller_step([&] { return controller->finish(m6); });
        benchmark::DoNotOptimize(credentials);
    });
}
BENCHMARK(BM_PairSetup)
    ->ArgName("side")
    ->Arg(static_cast<int>(Side::both))
    ->Arg(static_cast<int>(Side::controller))
    ->Arg(static_cast<int>(Side::accessory))
    ->Unit(benchmark::kMillisecond);

const HapCredentials& paired_credentials() {
    static const HapCredentials credentials = [] {
        PairSetupAccessory accessory(accessory_identity(), "1234");
        PairSetupController controller(client_identity(), std::nullopt);
        const Bytes m2 = accessory.handle(controller.m1());
        controller.set_pin("1234");
        const Bytes m4 = accessory.handle(controller.m3(m2));
        return controller.finish(accessory.handle(controller.m5(m4)));
    }();
    return credentials;
}

void BM_PairVerify(benchmark::State& state) {
    const auto side = static_cast<Side>(state.range(0));
    const HapCredentials& credentials = paired_credentials();
    const Bytes ltpk = client_identity().keys.public_key;
    timed_exchange(state, side, [&](auto controller_step, auto accessory_step) {
        auto accessory = accessory_step([&] {
            return std::make_unique<PairVerifyAccessory>(
                accessory_identity(), [&](std::string_view) { return std::optional<Bytes>(ltpk); });
        });
        auto controller =
            controller_step([&] { return std::make_unique<PairVerifyController>(credentials); });
        const Bytes m1 = controller_step([&] { return controller->m1(); });
        const Bytes m2 = accessory_step([&] { return accessory->handle(m1); });
        const Bytes m3 = controller_step([&] { return controller->m3(m2); });
        const Bytes m4 = accessory_step([&] { return accessory->handle(m3); });
        controller_step([&] {
            controller->finish(m4);
            return 0;
        });
        auto keys = controller_step(
            [&] { return airplay_control_keys(controller->shared_secret().view()); });
        benchmark::DoNotOptimize(keys);
    });
}
BENCHMARK(BM_PairVerify)
    ->ArgName("side")
    ->Arg(static_cast<int>(Side::both))
    ->Arg(static_cast<int>(Side::controller))
    ->Arg(static_cast<int>(Side::accessory))
    ->Unit(benchmark::kMicrosecond);

const SessionKeys& keys() {
    static const SessionKeys made{SecretBytes(Bytes(32, 1)), SecretBytes(Bytes(32, 2))};
    return made;
}

void BM_HapFrameEncrypt(benchmark::State& state) {
    HapFrameCipher cipher(keys());
    const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        benchmark::DoNotOptimize(cipher.encrypt(plaintext));
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HapFrameEncrypt)->Arg(1024)->Arg(64 * 1024);

void BM_HapFrameDecrypt(benchmark::State& state) {
    HapFrameCipher sender(keys());
    HapFrameCipher receiver(reversed(keys()));
    const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        state.PauseTiming();
        const Bytes wire = sender.encrypt(plaintext);
        state.ResumeTiming();
        benchmark::DoNotOptimize(receiver.decrypt(wire));
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HapFrameDecrypt)->Arg(64 * 1024);

void BM_MrpCipherEncrypt(benchmark::State& state) {
    MrpCipher cipher(keys());
    const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        benchmark::DoNotOptimize(cipher.encrypt(plaintext));
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MrpCipherEncrypt)->Arg(256)->Arg(64 * 1024);

void BM_MrpCipherDecrypt(benchmark::State& state) {
    MrpCipher sender(keys());
    MrpCipher receiver(reversed(keys()));
    const Bytes plaintext(static_cast<std::size_t>(state.range(0)), 0x5a);
    for (auto _ : state) {
        state.PauseTiming();
        const Bytes sealed = sender.encrypt(plaintext);
        state.ResumeTiming();
        benchmark::DoNotOptimize(receiver.decrypt(sealed));
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MrpCipherDecrypt)->Arg(64 * 1024);

}  // namespace

BENCHMARK_MAIN();
