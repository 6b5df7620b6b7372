"use strict";
// A HomeKit Lightbulb (hap-nodejs) for the HAP interop test.
//   node accessory.js PORT STORAGE_DIR
// It advertises only through Avahi over D-Bus (the test's private avahi-daemon). hap-nodejs
// would otherwise fall back to its own mDNS stack, which multicasts on every interface, so the
// script refuses to start when Avahi is not reachable.
const { Accessory, Categories, Characteristic, HAPStorage, Service, uuid } = require("hap-nodejs");
const { AvahiAdvertiser } = require("hap-nodejs/dist/lib/Advertiser");

const DEVICE_ID = "CC:22:3D:E3:CE:F6";
const SETUP_CODE = "031-45-154";

async function main() {
    const [portText, storageDir] = process.argv.slice(2);
    const port = Number(portText);
    if (!Number.isInteger(port) || !storageDir) {
        console.error("usage: node accessory.js PORT STORAGE_DIR");
        process.exit(2);
    }
    if (!(await AvahiAdvertiser.isAvailable())) {
        console.error("Avahi is not reachable over D-Bus: refusing to start (no fallback mDNS)");
        process.exit(3);
    }
    HAPStorage.setCustomStoragePath(storageDir);

    const accessory = new Accessory("atvd interop light", uuid.generate("org.atvd.interop.light"));
    const light = accessory.addService(Service.Lightbulb, "Interop Light");
    let on = false;
    let brightness = 40;
    light.getCharacteristic(Characteristic.On)
        .onGet(() => on)
        .onSet((value) => { on = Boolean(value); });
    light.getCharacteristic(Characteristic.Brightness)
        .onGet(() => brightness)
        .onSet((value) => { brightness = Number(value); });

    accessory.on("listening", (listeningPort) => console.log(`listening ${listeningPort}`));
    await accessory.publish({
        username: DEVICE_ID,
        pincode: SETUP_CODE,
        port,
        category: Categories.LIGHTBULB,
        advertiser: "avahi",
    });

    const stop = () => {
        accessory.unpublish().finally(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
