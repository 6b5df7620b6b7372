"""A D-Bus client that test_access.py runs as another local user (runuser -u USER).

Reads one call per line on stdin as JSON [path, interface, member, signature, body] and answers
one JSON line: {"ok": body} or {"error": name, "message": text}. The error name matters: the
bus refusing a call (org.freedesktop.DBus.Error.AccessDenied) and atvd refusing it
(org.atvd.Error.NotAuthorized) are different outcomes, and busctl prints only the message.
"""

import asyncio
import json
import sys

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus


def plain(value):
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


async def main():
    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    for line in sys.stdin:
        path, interface, member, signature, body = json.loads(line)
        message = Message(destination="org.atvd", path=path, interface=interface, member=member,
                          signature=signature, body=body)
        reply = await asyncio.wait_for(bus.call(message), 60)
        if reply.message_type == MessageType.ERROR:
            answer = {"error": reply.error_name, "message": reply.body[0] if reply.body else ""}
        else:
            answer = {"ok": plain(reply.body)}
        print(json.dumps(answer), flush=True)
    bus.disconnect()


asyncio.run(main())
