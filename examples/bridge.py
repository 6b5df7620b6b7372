#!/usr/bin/env python3
"""A minimal home-automation bridge on top of atvd, with dbus-next (Debian: python3-dbus-next).

    bridge.py IDENTIFIER [--pin-command CMD]

Finds the device answering to IDENTIFIER, pairs MRP if it is not paired yet (the PIN shown on
the TV is read from stdin, or from the output of --pin-command), connects, reports what it
connected with, and closes. Exit status 0 on success, 1 with atvd's error otherwise.
"""

import argparse
import asyncio
import subprocess
import sys

from dbus_next import BusType, Variant
from dbus_next.aio import MessageBus
from dbus_next.errors import DBusError

NAME = "org.atvd"


async def interface(bus, path, name):
    introspection = await bus.introspect(NAME, path)
    return bus.get_proxy_object(NAME, path, introspection).get_interface(name)


async def read_pin(pin_command):
    if pin_command:
        return subprocess.run(pin_command, shell=True, capture_output=True, text=True,
                              check=True).stdout.strip()
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


async def run(identifier, pin_command):
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    manager = await interface(bus, "/org/atvd", "org.atvd.Manager1")
    found = await manager.call_scan({"Identifiers": Variant("as", [identifier]),
                                     "Timeout": Variant("u", 10000)})
    if not found:
        print(f"bridge: no device answers to {identifier}", file=sys.stderr)
        return 1
    path = found[0]
    device = await interface(bus, path, "org.atvd.Device1")
    print(f"bridge: found {await device.get_name()} ({await device.get_model()}) at {path}")

    service = await interface(bus, path + "/mrp", "org.atvd.Service1")
    if not await service.get_paired():
        handler_path = await device.call_pair("mrp", {"Name": Variant("s", "bridge")})
        handler = await interface(bus, handler_path, "org.atvd.PairingHandler1")
        try:
            await handler.call_begin()
            print("bridge: enter the PIN shown on the TV")
            await handler.call_pin(await read_pin(pin_command))
            await handler.call_finish()
        finally:
            await handler.call_close()
        print("bridge: paired")

    await device.call_connect()
    protocols = await device.get_connected_protocols()
    print(f"bridge: connected with {', '.join(protocols)}")
    await device.call_close()
    print("bridge: closed")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("identifier")
    parser.add_argument("--pin-command", help="a shell command that prints the PIN")
    args = parser.parse_args()
    try:
        return asyncio.run(run(args.identifier, args.pin_command))
    except DBusError as error:
        print(f"bridge: {error.type}: {error.text}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
