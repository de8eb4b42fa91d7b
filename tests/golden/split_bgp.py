#!/usr/bin/env python3
"""Split captured BGP TCP streams into single BGP messages (golden vectors).

Subcommands
  split PCAP OUTDIR      reassemble every TCP stream with port 179 in PCAP
                         (payload extracted with tshark), cut it into BGP
                         messages and write OUTDIR/NNNN.bin plus
                         OUTDIR/index.jsonl (one JSON summary per message,
                         in capture-time order).
  pick DIR DEST --where EXPR [--nth N]
                         copy the N-th (default 0) message of DIR whose
                         summary `m` satisfies the Python expression EXPR
                         to DEST; exit 1 if nothing matches.
  show DIR [--where EXPR]
                         print the summaries (one line each).
  decode FILE... [-o TSHARK_PREF]
                         wrap each stored message into a one-packet pcap
                         (IPv4/TCP port 179) and print `tshark -V -O bgp`.

Only the Python standard library and tshark are needed.
"""
import argparse
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

MARKER = b"\xff" * 16
TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH"}


# --------------------------------------------------------------------------
# TCP reassembly via tshark field export
# --------------------------------------------------------------------------
def read_segments(pcap):
    fields = ["frame.number", "frame.time_relative", "tcp.stream", "ip.src", "ipv6.src",
              "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.payload"]
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.desegment_tcp_streams:FALSE",
           "-Y", "tcp.port == 179 && tcp.len > 0", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    segs = []
    for line in out.splitlines():
        p = line.split("\t")
        if len(p) < len(fields) or not p[10]:
            continue
        segs.append({
            "frame": int(p[0]), "time": float(p[1]), "stream": int(p[2]),
            "src": p[3] or p[4], "dst": p[5] or p[6],
            "sport": int(p[7]), "dport": int(p[8]), "seq": int(p[9]),
            "data": bytes.fromhex(p[10].replace(":", "")),
        })
    return segs


def reassemble(segs):
    """Return {(stream, src, sport, dst, dport): [(offset_time_list, bytes)]}."""
    flows = {}
    for s in segs:
        flows.setdefault((s["stream"], s["src"], s["sport"], s["dst"], s["dport"]), []).append(s)
    result = {}
    for key, lst in flows.items():
        lst.sort(key=lambda s: (s["seq"], s["frame"]))
        buf = bytearray()
        times = []  # (byte offset, time) at which a segment starts
        nxt = lst[0]["seq"]
        for s in lst:
            if s["seq"] + len(s["data"]) <= nxt:
                continue  # retransmission
            skip = max(0, nxt - s["seq"])
            if s["seq"] > nxt:
                print(f"warning: gap in {key} at seq {nxt}", file=sys.stderr)
            times.append((len(buf), s["time"], s["frame"]))
            buf += s["data"][skip:]
            nxt = s["seq"] + len(s["data"])
        result[key] = (bytes(buf), times)
    return result


def time_at(times, off):
    t = times[0]
    for e in times:
        if e[0] <= off:
            t = e
        else:
            break
    return t[1], t[2]


# --------------------------------------------------------------------------
# BGP decoding for the index (a summary, not a validating parser)
# --------------------------------------------------------------------------
def prefixes(b, afi, addpath=False):
    out, i = [], 0
    size = 4 if afi == 1 else 16
    while i < len(b):
        pid = None
        if addpath:
            if i + 4 > len(b):
                raise ValueError("short path id")
            pid = struct.unpack("!I", b[i:i + 4])[0]
            i += 4
        ln = b[i]
        i += 1
        nb = (ln + 7) // 8
        if ln > size * 8 or i + nb > len(b):
            raise ValueError("bad prefix")
        raw = b[i:i + nb] + bytes(size - nb)
        i += nb
        ip = ipaddress.ip_address(raw)
        s = f"{ip}/{ln}"
        out.append(s if pid is None else f"{s} (path-id {pid})")
    return out


def prefixes_guess(b, afi):
    try:
        return prefixes(b, afi), False
    except (ValueError, IndexError):
        pass
    try:
        return prefixes(b, afi, True), True
    except (ValueError, IndexError):
        return ["<unparsed " + b.hex() + ">"], None


def evpn_routes(b):
    out, i = [], 0
    while i + 2 <= len(b):
        t, ln = b[i], b[i + 1]
        out.append({"type": t, "len": ln, "hex": b[i + 2:i + 2 + ln].hex()})
        i += 2 + ln
    return out


def parse_open(body):
    ver, my_as, hold = struct.unpack("!BHH", body[:5])
    bgp_id = str(ipaddress.ip_address(body[5:9]))
    optlen = body[9]
    i = 10
    ext = False
    if optlen == 255 and len(body) > 12 and body[10] == 255:
        ext = True
        optlen = struct.unpack("!H", body[11:13])[0]
        i = 13
    end = i + optlen
    params = []
    while i < end:
        ptype = body[i]
        if ext:
            plen = struct.unpack("!H", body[i + 1:i + 3])[0]
            i += 3
        else:
            plen = body[i + 1]
            i += 2
        pval = body[i:i + plen]
        i += plen
        caps = []
        if ptype == 2:
            j = 0
            while j + 2 <= len(pval):
                c, cl = pval[j], pval[j + 1]
                caps.append({"code": c, "len": cl, "hex": pval[j + 2:j + 2 + cl].hex()})
                j += 2 + cl
        params.append({"type": ptype, "len": plen, "caps": caps})
    return {"version": ver, "my_as": my_as, "hold": hold, "bgp_id": bgp_id,
            "ext_opt_params": ext, "params": params,
            "caps": [c["code"] for p in params for c in p["caps"]]}


def parse_update(body):
    wl = struct.unpack("!H", body[:2])[0]
    wd = body[2:2 + wl]
    i = 2 + wl
    al = struct.unpack("!H", body[i:i + 2])[0]
    i += 2
    attrs_b = body[i:i + al]
    nlri = body[i + al:]
    m = {"withdrawn_hex": wd.hex(), "nlri_hex": nlri.hex(), "attrs": [], "attr_flags": {}}
    m["withdrawn"], ap1 = prefixes_guess(wd, 1) if wd else ([], False)
    m["nlri"], ap2 = prefixes_guess(nlri, 1) if nlri else ([], False)
    m["addpath_guess"] = bool(ap1 or ap2)
    j = 0
    while j < len(attrs_b):
        fl, ty = attrs_b[j], attrs_b[j + 1]
        if fl & 0x10:
            ln = struct.unpack("!H", attrs_b[j + 2:j + 4])[0]
            j += 4
        else:
            ln = attrs_b[j + 2]
            j += 3
        v = attrs_b[j:j + ln]
        j += ln
        m["attrs"].append(ty)
        m["attr_flags"][str(ty)] = f"0x{fl:02x}"
        if ty == 14:
            afi, safi, nhl = struct.unpack("!HBB", v[:4])
            nh = v[4:4 + nhl]
            rest = v[4 + nhl + 1:]
            r = {"afi": afi, "safi": safi, "nh_len": nhl, "nh_hex": nh.hex()}
            if safi == 70:
                r["evpn"] = evpn_routes(rest)
                r["evpn_types"] = [e["type"] for e in r["evpn"]]
            else:
                r["nlri"], _ = prefixes_guess(rest, afi)
            m["mp_reach"] = r
        elif ty == 15:
            afi, safi = struct.unpack("!HB", v[:3])
            rest = v[3:]
            r = {"afi": afi, "safi": safi, "empty": not rest}
            if safi == 70:
                r["evpn"] = evpn_routes(rest)
                r["evpn_types"] = [e["type"] for e in r["evpn"]]
            elif rest:
                r["withdrawn"], _ = prefixes_guess(rest, afi)
            m["mp_unreach"] = r
    m["eor"] = (not wd and not attrs_b and not nlri) or (
        m["attrs"] == [15] and m["mp_unreach"]["empty"])
    return m


def summarize(msg):
    ln, ty = struct.unpack("!HB", msg[16:19])
    body = msg[19:]
    m = {"type": TYPES.get(ty, str(ty)), "len": ln, "hex": msg.hex()}
    try:
        if ty == 1:
            m.update(parse_open(body))
        elif ty == 2:
            m.update(parse_update(body))
        elif ty == 3:
            m["code"], m["subcode"] = body[0], body[1]
            m["data_hex"] = body[2:].hex()
            if m["code"] == 6 and m["subcode"] in (2, 4) and len(body) > 2:
                m["text"] = body[3:3 + body[2]].decode("utf-8", "replace")
        elif ty == 5:
            m["afi"], m["subtype"], m["safi"] = struct.unpack("!HBB", body[:4])
    except Exception as e:  # keep going; the summary is only an aid
        m["parse_error"] = repr(e)
    return m


def one_line(m):
    s = f'{m["n"]:4d} t={m["time"]:8.3f} {m["src"]}->{m["dst"]} {m["type"]} len={m["len"]}'
    if m["type"] == "OPEN":
        s += f' as={m.get("my_as")} hold={m.get("hold")} id={m.get("bgp_id")} caps={m.get("caps")}'
        s += " ext-opt" if m.get("ext_opt_params") else ""
    elif m["type"] == "UPDATE":
        s += f' attrs={m.get("attrs")}'
        if m.get("withdrawn"):
            s += f' wd={m["withdrawn"]}'
        if m.get("nlri"):
            s += f' nlri={m["nlri"]}'
        if "mp_reach" in m:
            r = m["mp_reach"]
            s += f' reach=({r["afi"]},{r["safi"]}) nh={r["nh_hex"]} {r.get("nlri", r.get("evpn_types"))}'
        if "mp_unreach" in m:
            r = m["mp_unreach"]
            s += f' unreach=({r["afi"]},{r["safi"]}) {r.get("withdrawn", r.get("evpn_types", ""))}'
        if m.get("eor"):
            s += " EoR"
    elif m["type"] == "NOTIFICATION":
        s += f' {m.get("code")}/{m.get("subcode")} {m.get("text", m.get("data_hex"))!r}'
    elif m["type"] == "ROUTE-REFRESH":
        s += f' afi={m.get("afi")} safi={m.get("safi")} subtype={m.get("subtype")}'
    return s


def cmd_split(a):
    os.makedirs(a.outdir, exist_ok=True)
    flows = reassemble(read_segments(a.pcap))
    msgs = []
    for key, (buf, times) in flows.items():
        stream, src, sport, dst, dport = key
        i = 0
        while i + 19 <= len(buf):
            if buf[i:i + 16] != MARKER:
                print(f"warning: lost framing in {key} at {i}", file=sys.stderr)
                break
            ln = struct.unpack("!H", buf[i + 16:i + 18])[0]
            if ln < 19 or i + ln > len(buf):
                break
            t, frame = time_at(times, i)
            msgs.append((t, frame, i, key, buf[i:i + ln]))
            i += ln
    msgs.sort(key=lambda x: (x[0], x[1], x[2]))
    with open(os.path.join(a.outdir, "index.jsonl"), "w") as idx:
        for n, (t, frame, off, key, raw) in enumerate(msgs):
            m = {"n": n, "time": t, "frame": frame, "stream": key[0], "src": key[1],
                 "sport": key[2], "dst": key[3], "dport": key[4]}
            m.update(summarize(raw))
            with open(os.path.join(a.outdir, f"{n:04d}.bin"), "wb") as f:
                f.write(raw)
            idx.write(json.dumps(m) + "\n")
    print(f"{len(msgs)} messages in {len(flows)} flows -> {a.outdir}")


def load(d):
    with open(os.path.join(d, "index.jsonl")) as f:
        return [json.loads(l) for l in f]


def select(ms, where):
    if not where:
        return ms
    out = []
    for m in ms:
        try:
            ok = eval(where, {"ipaddress": ipaddress}, {"m": m})
        except (KeyError, IndexError, TypeError):
            ok = False
        if ok:
            out.append(m)
    return out


def cmd_show(a):
    for m in select(load(a.dir), a.where):
        print(one_line(m))


def cmd_pick(a):
    ms = select(load(a.dir), a.where)
    if len(ms) <= a.nth:
        print(f"NOT FOUND: {a.dest}: {a.where}", file=sys.stderr)
        sys.exit(1)
    m = ms[a.nth]
    os.makedirs(os.path.dirname(os.path.abspath(a.dest)), exist_ok=True)
    shutil.copyfile(os.path.join(a.dir, f'{m["n"]:04d}.bin'), a.dest)
    print(f"{a.dest}: {one_line(m)}")


def pcap_for(msgs):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101)  # LINKTYPE_RAW
    seq = 1000
    for k, raw in enumerate(msgs):
        tcp = struct.pack("!HHIIBBHHH", 40000, 179, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
        seq += len(raw)
        tot = 20 + len(tcp) + len(raw)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, k, 0, 64, 6, 0,
                         bytes([192, 0, 2, 100]), bytes([192, 0, 2, 200]))
        pkt = ip + tcp + raw
        out += struct.pack("<IIII", k, 0, len(pkt), len(pkt)) + pkt
    return out


def cmd_decode(a):
    for fn in a.files:
        with open(fn, "rb") as f:
            raw = f.read()
        with tempfile.NamedTemporaryFile(suffix=".pcap") as t:
            t.write(pcap_for([raw]))
            t.flush()
            cmd = ["tshark", "-n", "-r", t.name, "-V", "-O", "bgp"]
            for o in a.o or []:
                cmd += ["-o", o]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
        lines = out.splitlines()
        # keep only the BGP part
        for k, l in enumerate(lines):
            if l.startswith("Border Gateway Protocol"):
                lines = lines[k:]
                break
        print(f"=== {fn} ({len(raw)} bytes)")
        print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = p.add_subparsers(dest="cmd", required=True)
    s = sp.add_parser("split")
    s.add_argument("pcap")
    s.add_argument("outdir")
    s.set_defaults(f=cmd_split)
    s = sp.add_parser("show")
    s.add_argument("dir")
    s.add_argument("--where")
    s.set_defaults(f=cmd_show)
    s = sp.add_parser("pick")
    s.add_argument("dir")
    s.add_argument("dest")
    s.add_argument("--where", required=True)
    s.add_argument("--nth", type=int, default=0)
    s.set_defaults(f=cmd_pick)
    s = sp.add_parser("decode")
    s.add_argument("files", nargs="+")
    s.add_argument("-o", action="append")
    s.set_defaults(f=cmd_decode)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
