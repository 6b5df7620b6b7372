#!/usr/bin/env python3
"""SRP-6a as AirPlay's legacy pairing uses it (protocols.md §5.2), computed from the
definitions with nothing but hashlib and Python integers, as an independent check of
libatv/hap/srp.cpp: RFC 5054 2048-bit group, g = 2, SHA-1, integers hashed as minimal
big-endian bytes except in k and u, K = SHA-1(S | 00000000) | SHA-1(S | 00000001).

Writes the values for fixed inputs as "name hex" lines. With --check FILE it compares them with
FILE instead and exits 1 on any difference (the unit test reads that committed file).
"""

import hashlib
import sys

N = int(
    "AC6BDB41324A9A9BF166DE5E1389582FAF72B6651987EE07FC3192943DB56050"
    "A37329CBB4A099ED8193E0757767A13DD52312AB4B03310DCD7F48A9DA04FD50"
    "E8083969EDB767B0CF6095179A163AB3661A05FBD5FAAAE82918A9962F0B93B8"
    "55F97993EC975EEAA80D740ADBF4FF747359D041D5C33EA71D281E446B14773B"
    "CA97B43A23FB801676BD207A436C6481F1D2B9078717461A5B9D32E688F87748"
    "544523B524B0D57D5EA77A2775D2ECFA032CFBDBF52FB3786160279004E57AE6"
    "AF874E7303CE53299CCC041C7BC308D82A5698F3A8D0C38271AE35F8E9DBFBB6"
    "94B5C803D89F7AE435DE236D525F54759B65E372FCD68EF20FA7111F9E4AFF73", 16)
G = 2
N_LENGTH = (N.bit_length() + 7) // 8

# The client id as legacy pairing names the SRP user, the PIN, and fixed random values.
USER = "1A2B3C4D5E6F7081"
PIN = "4821"
SALT = bytes.fromhex("5a0fd1c2b3a49586778899aabbccddee")
PRIVATE_A = int("6b1ce2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f", 16)
PRIVATE_B = int("7d3f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1", 16)


def h(*parts):
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return digest.digest()


def minimal(value):
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def padded(value):
    return value.to_bytes(N_LENGTH, "big")


def vectors():
    k = int.from_bytes(h(minimal(N), padded(G)), "big")
    x = int.from_bytes(h(SALT, h(f"{USER}:{PIN}".encode())), "big")
    v = pow(G, x, N)
    A = pow(G, PRIVATE_A, N)
    B = (k * v + pow(G, PRIVATE_B, N)) % N
    u = int.from_bytes(h(padded(A), padded(B)), "big")
    S = pow((B - k * v) % N, PRIVATE_A + u * x, N)
    assert S == pow(A * pow(v, u, N) % N, PRIVATE_B, N), "client and server disagree"
    K = h(minimal(S), b"\x00\x00\x00\x00") + h(minimal(S), b"\x00\x00\x00\x01")
    hn_xor_hg = int.from_bytes(h(minimal(N)), "big") ^ int.from_bytes(h(minimal(G)), "big")
    h_user = int.from_bytes(h(USER.encode()), "big")
    M1 = h(minimal(hn_xor_hg), minimal(h_user), SALT, minimal(A), minimal(B), K)
    M2 = h(minimal(A), M1, K)
    return [("user", USER.encode()), ("pin", PIN.encode()), ("salt", SALT),
            ("a", minimal(PRIVATE_A)), ("b", minimal(PRIVATE_B)), ("k", minimal(k)),
            ("x", minimal(x)), ("v", minimal(v)), ("A", minimal(A)), ("B", minimal(B)),
            ("u", minimal(u)), ("S", minimal(S)), ("K", K), ("M1", M1), ("M2", M2)]


def text():
    return "".join(f"{name} {value.hex()}\n" for name, value in vectors())


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        with open(argv[2]) as committed:
            if committed.read() != text():
                print(f"{argv[2]} differs from what this script computes", file=sys.stderr)
                return 1
        return 0
    sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
