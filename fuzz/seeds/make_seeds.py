#!/usr/bin/env python3
"""Write the hand-made fuzz seeds in fuzz/seeds/ (committed; rerun only to
change them). Each file in seeds/messages/ is one whole BGP message, header
included, like the golden vectors in bgp/tests/data/<peer>/*.bin; each file
in seeds/evpn_nlri/ is one EVPN NLRI field (routes back to back).

Built by hand from the RFC layouts, not by mdc's encoder, so they test the
decoder against an independent reading of the RFCs.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def msg(kind, body):
    return b"\xff" * 16 + struct.pack("!HB", 19 + len(body), kind) + body


def attr(flags, code, value):
    if len(value) > 255 or flags & 0x10:
        return struct.pack("!BBH", flags | 0x10, code, len(value)) + value
    return struct.pack("!BBB", flags, code, len(value)) + value


def update(withdrawn=b"", attrs=b"", nlri=b""):
    return msg(2, struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs)) + attrs + nlri)


def cap(code, value=b""):
    return struct.pack("!BB", code, len(value)) + value


def open_msg(my_as, caps, extended=False):
    params = b""
    if extended:
        for c in caps:
            params += struct.pack("!BH", 2, len(c)) + c
        opt = struct.pack("!BBH", 255, 255, len(params)) + params
    else:
        for c in caps:
            params += struct.pack("!BB", 2, len(c)) + c
        opt = struct.pack("!B", len(params)) + params
    return msg(1, struct.pack("!BHH4s", 4, my_as, 90, bytes([192, 0, 2, 1])) + opt)


def v4(s):
    return bytes(int(x) for x in s.split("."))


def p4(prefix, plen, path_id=None):
    b = v4(prefix)[: (plen + 7) // 8]
    return (struct.pack("!I", path_id) if path_id is not None else b"") + bytes([plen]) + b


def p6(hexaddr, plen):
    return bytes([plen]) + bytes.fromhex(hexaddr)[: (plen + 7) // 8]


V6_DOC = "20010db8000000000000000000000001"
V6_LL = "fe800000000000000000000000000001"
ORIGIN_IGP = attr(0x40, 1, b"\x00")
AS_PATH4 = attr(0x40, 2, struct.pack("!BBII", 2, 2, 65001, 4200000001))
AS_PATH2 = attr(0x40, 2, struct.pack("!BBHH", 2, 2, 65001, 23456))
NEXT_HOP = attr(0x40, 3, v4("192.0.2.1"))
RD = struct.pack("!HHI", 0, 65001, 100)  # type 0 RD 65001:100
RD_IP = struct.pack("!H4sH", 1, v4("192.0.2.1"), 1)  # type 1 RD 192.0.2.1:1
ESI = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
MAC = bytes([0x02, 0, 0, 0, 0, 0x01])
VNI = struct.pack("!I", 100)[1:]

EVPN_T1 = bytes([1, 25]) + RD + ESI + struct.pack("!I", 0xFFFFFFFF) + VNI
EVPN_T2_MAC = bytes([2, 33]) + RD + bytes(10) + struct.pack("!I", 0) + bytes([48]) + MAC + bytes([0]) + VNI
EVPN_T2_V4 = (bytes([2, 40]) + RD + ESI + struct.pack("!I", 0) + bytes([48]) + MAC + bytes([32]) + v4("10.1.1.5")
              + VNI + struct.pack("!I", 5000)[1:])
EVPN_T2_V6 = (bytes([2, 49]) + RD_IP + bytes(10) + struct.pack("!I", 0) + bytes([48]) + MAC + bytes([128])
              + bytes.fromhex(V6_DOC) + VNI)
EVPN_T3 = bytes([3, 17]) + RD_IP + struct.pack("!I", 0) + bytes([32]) + v4("192.0.2.1")
EVPN_T3_V6 = bytes([3, 29]) + RD + struct.pack("!I", 0) + bytes([128]) + bytes.fromhex(V6_DOC)
EVPN_T4 = bytes([4, 23]) + RD + ESI + bytes([32]) + v4("192.0.2.1")
EVPN_T5_V4 = (bytes([5, 34]) + RD + bytes(10) + struct.pack("!I", 0) + bytes([24]) + v4("10.2.0.0")
              + v4("0.0.0.0") + VNI)
EVPN_T5_V6 = (bytes([5, 58]) + RD + bytes(10) + struct.pack("!I", 0) + bytes([64]) + bytes.fromhex(V6_DOC)
              + bytes(16) + VNI)
EVPN_UNKNOWN = bytes([9, 3, 1, 2, 3])

EXT_COMM = attr(0xC0, 16, bytes([0x00, 0x02]) + struct.pack("!HI", 65001, 100)  # route target
                + bytes([0x03, 0x0C, 0, 0, 0, 0, 0, 8])  # encapsulation: VXLAN
                + bytes([0x06, 0x03]) + MAC)  # router's MAC
PMSI = attr(0xC0, 22, bytes([0, 6]) + VNI + v4("192.0.2.1"))  # ingress replication


def mp_reach(afi, safi, nh, nlri, flags=0x80):
    return attr(flags, 14, struct.pack("!HBB", afi, safi, len(nh)) + nh + b"\x00" + nlri)


def mp_unreach(afi, safi, nlri):
    return attr(0x80, 15, struct.pack("!HB", afi, safi) + nlri)


MESSAGES = {
    "keepalive": msg(4, b""),
    "open_modern": open_msg(23456, [
        cap(1, struct.pack("!HBB", 1, 0, 1)), cap(1, struct.pack("!HBB", 2, 0, 1)),
        cap(1, struct.pack("!HBB", 25, 0, 70)), cap(2), cap(70), cap(65, struct.pack("!I", 4200000001)),
        cap(69, struct.pack("!HBB", 1, 1, 3) + struct.pack("!HBB", 25, 70, 1)),
        cap(5, struct.pack("!HHH", 1, 1, 2)), cap(6),
        cap(64, struct.pack("!H", 0x4078) + struct.pack("!HBB", 1, 1, 0x80)),
        cap(71, struct.pack("!HBB", 1, 1, 0x80) + struct.pack("!I", 3600)[1:]),
        cap(73, bytes([2]) + b"r1" + bytes([7]) + b"example"), cap(9, bytes([3])), cap(128),
    ]),
    "open_2octet_no_caps": open_msg(65001, []),
    "open_extended_params": open_msg(65001, [cap(1, struct.pack("!HBB", 1, 0, 1)), cap(65, struct.pack("!I", 65001))],
                                     extended=True),
    "update_ipv4": update(attrs=ORIGIN_IGP + AS_PATH4 + NEXT_HOP + attr(0x80, 4, struct.pack("!I", 10))
                          + attr(0x40, 5, struct.pack("!I", 100)) + attr(0x40, 6, b"")
                          + attr(0xC0, 7, struct.pack("!I4s", 65001, v4("192.0.2.1")))
                          + attr(0xC0, 8, struct.pack("!II", 0xFFFF029A, 0xFDE90064))
                          + attr(0xC0, 32, struct.pack("!III", 4200000001, 1, 2))
                          + attr(0xC0, 35, struct.pack("!I", 65001)),
                          nlri=p4("10.0.0.0", 8) + p4("192.0.2.0", 24) + p4("0.0.0.0", 0) + p4("198.51.100.7", 32)),
    "update_2octet_as4": update(attrs=ORIGIN_IGP + AS_PATH2 + NEXT_HOP
                                + attr(0xC0, 7, struct.pack("!H4s", 23456, v4("192.0.2.1")))
                                + attr(0xC0, 17, struct.pack("!BBII", 2, 2, 65001, 4200000001))
                                + attr(0xC0, 18, struct.pack("!I4s", 4200000001, v4("192.0.2.1"))),
                                nlri=p4("203.0.113.0", 24)),
    "update_ibgp_reflected": update(attrs=ORIGIN_IGP + attr(0x40, 2, b"") + NEXT_HOP
                                    + attr(0x40, 5, struct.pack("!I", 100)) + attr(0x80, 9, v4("192.0.2.9"))
                                    + attr(0x80, 10, v4("192.0.2.10") + v4("192.0.2.11")),
                                    nlri=p4("10.9.0.0", 16)),
    "update_withdraw_ipv4": update(withdrawn=p4("10.0.0.0", 8) + p4("192.0.2.0", 24)),
    "update_eor_ipv4": update(),
    "update_eor_ipv6": update(attrs=mp_unreach(2, 1, b"")),
    "update_eor_evpn": update(attrs=mp_unreach(25, 70, b"")),
    "update_ipv6": update(attrs=mp_reach(2, 1, bytes.fromhex(V6_DOC + V6_LL), p6(V6_DOC, 32) + p6(V6_DOC, 128))
                          + ORIGIN_IGP + AS_PATH4 + attr(0x80, 4, struct.pack("!I", 0))),
    "update_withdraw_ipv6": update(attrs=mp_unreach(2, 1, p6(V6_DOC, 64) + p6("", 0))),
    "update_ipv4_over_ipv6_nh": update(attrs=mp_reach(1, 1, bytes.fromhex(V6_DOC), p4("10.3.0.0", 16))
                                       + ORIGIN_IGP + AS_PATH4),
    "update_addpath_ipv4": update(withdrawn=p4("10.4.0.0", 16, 7),
                                  attrs=ORIGIN_IGP + AS_PATH4 + NEXT_HOP,
                                  nlri=p4("10.5.0.0", 16, 1) + p4("10.5.0.0", 16, 2)),
    "update_evpn": update(attrs=ORIGIN_IGP + AS_PATH4 + EXT_COMM + PMSI
                          + mp_reach(25, 70, v4("192.0.2.1"), EVPN_T3 + EVPN_T2_MAC + EVPN_T2_V4 + EVPN_T5_V4,
                                     flags=0x90)),
    "update_evpn_v6": update(attrs=ORIGIN_IGP + AS_PATH4 + EXT_COMM
                             + mp_reach(25, 70, bytes.fromhex(V6_DOC), EVPN_T2_V6 + EVPN_T3_V6 + EVPN_T5_V6)),
    "update_evpn_es": update(attrs=ORIGIN_IGP + AS_PATH4 + EXT_COMM
                             + mp_reach(25, 70, v4("192.0.2.1"), EVPN_T1 + EVPN_T4 + EVPN_UNKNOWN)),
    "update_evpn_withdraw": update(attrs=mp_unreach(25, 70, EVPN_T2_V4 + EVPN_T3)),
    "notification_shutdown": msg(3, bytes([6, 2, 11]) + b"maintenance"),
    "notification_hard_reset": msg(3, bytes([6, 9, 4, 0])),
    "notification_update_error": msg(3, bytes([3, 1])),
    "notification_open_error": msg(3, bytes([2, 2]) + struct.pack("!H", 65001)),
    "route_refresh_ipv4": msg(5, struct.pack("!HBB", 1, 0, 1)),
    "route_refresh_borr_ipv6": msg(5, struct.pack("!HBB", 2, 1, 1)),
    "route_refresh_eorr_evpn": msg(5, struct.pack("!HBB", 25, 2, 70)),
}

NLRI_FIELDS = {
    "all_types": EVPN_T1 + EVPN_T2_MAC + EVPN_T2_V4 + EVPN_T2_V6 + EVPN_T3 + EVPN_T3_V6 + EVPN_T4
    + EVPN_T5_V4 + EVPN_T5_V6,
    "unknown_between": EVPN_T3 + EVPN_UNKNOWN + EVPN_T3,
    "type2_mac_only": EVPN_T2_MAC,
    "type5_v6": EVPN_T5_V6,
}


def write(sub, items):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    for name, data in items.items():
        with open(os.path.join(d, name + ".bin"), "wb") as f:
            f.write(data)


write("messages", MESSAGES)
write("evpn_nlri", NLRI_FIELDS)
