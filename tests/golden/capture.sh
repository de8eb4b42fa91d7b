#!/bin/bash
# Capture golden BGP vectors from real FRR 8.4, BIRD 2.0.12 and GoBGP 3.10.
#
#   sudo tests/golden/capture.sh OUTDIR
#
# writes OUTDIR/bgp/tests/data/<peer>/*.bin and OUTDIR/evpn/tests/data/<peer>/*.bin
# (one raw BGP message per file, marker and header included).  Run it with
# OUTDIR=. from the repository root to refresh the stored vectors.  The pcaps and
# the full per-message split stay in $WORK (default /tmp/gold-capture).
#
# Topology (all in network namespaces named gold-*, joined by a bridge in gold-lan):
#
#   gold-frr1  FRR   AS 65001  192.0.2.1 2001:db8::1  hub; EVPN VTEP 192.0.2.1 (br100/vxlan100, host gold-h1)
#   gold-frr2  FRR   AS 65002  192.0.2.2 2001:db8::2  "many capabilities" peer; EVPN VTEP 192.0.2.2 (host gold-h2)
#   gold-bird  BIRD  AS 65001 (iBGP to frr1, v4 and v6) and AS 65003 (2-octet-AS session to frr2)
#   gold-gobgp GoBGP AS 65004  192.0.2.4 2001:db8::4  v4 session (ipv4 + evpn) and v6 session (ipv6) to frr1
#
# Needs: frr (zebra, bgpd, vtysh), bird2, gobgpd, tcpdump, tshark, python3; root.
set -uo pipefail

OUT=$(realpath -m "${1:?usage: sudo $0 OUTDIR}")
HERE=$(cd "$(dirname "$0")" && pwd)
SPLIT="python3 $HERE/split_bgp.py"
WORK=${WORK:-/tmp/gold-capture}
NSS="gold-lan gold-frr1 gold-frr2 gold-bird gold-gobgp gold-h1 gold-h2"

log() { echo "[capture] $*" >&2; }

# ---------------------------------------------------------------- cleanup
kill_pidfiles() {
    # Kill only processes this script started (pid files in $WORK), and only
    # if they still run inside one of our gold-* namespaces.
    local f p
    for f in "$WORK"/*.pid "$WORK"/*/*.pid; do
        [ -s "$f" ] || continue
        p=$(cat "$f")
        if [ -d "/proc/$p" ] && ip netns identify "$p" 2>/dev/null | grep -q '^gold-'; then
            kill -INT "$p" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do [ -d "/proc/$p" ] || break; sleep 0.2; done
            [ -d "/proc/$p" ] && kill -KILL "$p" 2>/dev/null
        fi
        rm -f "$f"
    done
}
cleanup() {
    kill_pidfiles
    for n in $NSS; do ip netns del "$n" 2>/dev/null; done
}
cleanup
rm -rf "$WORK"
mkdir -p "$WORK"
trap '[ -n "${KEEP:-}" ] || cleanup' EXIT   # KEEP=1: leave the lab running for debugging

# ---------------------------------------------------------------- network
for n in $NSS; do
    ip netns add "$n"
    ip -n "$n" link set lo up
    # FRR's zebra sends router advertisements for extended-nexthop peers: do not
    # let them add SLAAC addresses (they would become the BGP source addresses)
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
done
ip -n gold-lan link add gold-br type bridge
ip -n gold-lan link set gold-br up
# fixed MACs => fixed IPv6 link-local addresses (fe80::ff:fe00:N)
i=0
for p in frr1 frr2 bird gobgp; do
    i=$((i + 1))
    ip link add "gl-$p" type veth peer name "gx-$p"
    ip link set "gl-$p" netns gold-lan
    ip link set "gx-$p" netns "gold-$p"
    ip -n gold-lan link set "gl-$p" master gold-br up
    ip -n "gold-$p" link set "gx-$p" address "02:00:00:00:00:0$i" up
    ip -n "gold-$p" addr add "192.0.2.$i/26" dev "gx-$p"
    ip -n "gold-$p" addr add "2001:db8::$i/64" dev "gx-$p" nodad
done

# EVPN L2VNI 100 on frr1 and frr2: br100 + vxlan100, host namespace on a veth
evpn_side() { # NS LOCAL_VTEP IDX HOSTNS
    local ns=$1 vtep=$2 k=$3 h=$4
    ip -n "$ns" link add br100 type bridge
    ip -n "$ns" link set br100 address "02:00:00:00:10:0$k"
    ip -n "$ns" link add vxlan100 type vxlan id 100 local "$vtep" dstport 4789 nolearning
    ip -n "$ns" link set vxlan100 address "02:00:00:00:11:0$k"
    ip -n "$ns" link set vxlan100 master br100
    ip link add "gb-$k" type veth peer name "gh-$k"
    ip link set "gb-$k" netns "$ns"
    ip link set "gh-$k" netns "$h"
    ip -n "$ns" link set "gb-$k" master br100
    ip -n "$ns" addr add "192.0.2.9$((6 + k))/27" dev br100                   # SVI .97 / .98
    ip -n "$ns" addr add "2001:db8:100::9$((6 + k))/64" dev br100 nodad
    for l in br100 vxlan100 "gb-$k"; do ip -n "$ns" link set "$l" up; done
    ip -n "$h" link set "gh-$k" address "02:00:00:00:20:0$k"
    ip -n "$h" addr add "192.0.2.10$k/27" dev "gh-$k"                         # host .101 / .102
    ip -n "$h" addr add "2001:db8:100::10$k/64" dev "gh-$k" nodad
    ip -n "$h" link set "gh-$k" up
}
evpn_side gold-frr1 192.0.2.1 1 gold-h1
evpn_side gold-frr2 192.0.2.2 2 gold-h2

# ---------------------------------------------------------------- captures
for p in frr2 bird gobgp; do
    ip netns exec "gold-$p" tcpdump -n -U -s 0 -i "gx-$p" -w "$WORK/$p.pcap" tcp port 179 \
        >"$WORK/tcpdump-$p.log" 2>&1 &
    echo $! >"$WORK/tcpdump-$p.pid"
done
sleep 1

# ---------------------------------------------------------------- FRR
touch /etc/frr/vtysh.conf
cat >"$WORK/frr1.conf" <<'EOF'
frr version 8.4
frr defaults traditional
hostname gold-frr1
log file WORKDIR/frr1/frr.log
!
route-map PREPEND4B permit 10
 set as-path prepend 4200000001
exit
!
router bgp 65001
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 192.0.2.2 remote-as 65002
 neighbor 192.0.2.2 local-role provider
 neighbor 192.0.2.2 timers connect 5
 neighbor 2001:db8::2 remote-as 65002
 neighbor 2001:db8::2 capability extended-nexthop
 neighbor 2001:db8::2 extended-optional-parameters
 neighbor 2001:db8::2 timers connect 5
 neighbor 192.0.2.3 remote-as 65001
 neighbor 192.0.2.3 timers connect 5
 neighbor 2001:db8::3 remote-as 65001
 neighbor 2001:db8::3 timers connect 5
 neighbor 192.0.2.4 remote-as 65004
 neighbor 192.0.2.4 timers connect 5
 neighbor 2001:db8::4 remote-as 65004
 neighbor 2001:db8::4 timers connect 5
 !
 address-family ipv4 unicast
  network 198.51.100.192/26 route-map PREPEND4B
  aggregate-address 203.0.113.0/25 as-set summary-only
  neighbor 192.0.2.3 addpath-tx-all-paths
  no neighbor 2001:db8::3 activate
  no neighbor 2001:db8::4 activate
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor 2001:db8::2 activate
  neighbor 2001:db8::3 activate
  neighbor 2001:db8::4 activate
 exit-address-family
 !
 address-family l2vpn evpn
  neighbor 192.0.2.2 activate
  neighbor 192.0.2.4 activate
  advertise-all-vni
 exit-address-family
exit
!
EOF
cat >"$WORK/frr2.conf" <<'EOF'
frr version 8.4
frr defaults traditional
hostname gold-frr2
log file WORKDIR/frr2/frr.log
!
route-map SETATTR permit 10
 set community 65002:100 65002:200 65002:65535
 set large-community 65002:1:2 4200000001:3:4
 set extcommunity rt 65002:300
 set extcommunity soo 65002:400
 set metric 50
exit
!
router bgp 65002
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp long-lived-graceful-restart stale-time 60
 neighbor 192.0.2.1 remote-as 65001
 neighbor 192.0.2.1 local-role customer
 neighbor 192.0.2.1 capability dynamic
 neighbor 192.0.2.1 capability extended-nexthop
 neighbor 192.0.2.1 timers connect 5
 neighbor 2001:db8::1 remote-as 65001
 neighbor 2001:db8::1 capability extended-nexthop
 neighbor 2001:db8::1 extended-optional-parameters
 neighbor 2001:db8::1 timers connect 5
 neighbor 192.0.2.3 remote-as 65003
 neighbor 192.0.2.3 timers connect 5
 !
 address-family ipv4 unicast
  network 198.51.100.0/26 route-map SETATTR
  network 203.0.113.0/26
  network 203.0.113.128/25
 exit-address-family
 !
 address-family ipv6 unicast
  network 2001:db8:2000::/48 route-map SETATTR
  neighbor 192.0.2.1 activate
  neighbor 2001:db8::1 activate
 exit-address-family
 !
 address-family l2vpn evpn
  neighbor 192.0.2.1 activate
  advertise-all-vni
 exit-address-family
exit
!
EOF
start_frr() { # NAME
    local n=$1 d="$WORK/$1"
    mkdir -p "$d"
    sed "s#WORKDIR#$WORK#" "$WORK/$n.conf" >"$d/frr.conf"
    chown -R frr:frr "$d"
    ip netns exec "gold-$n" /usr/lib/frr/zebra -d -N "gold-$n" -f "$d/frr.conf" -i "$d/zebra.pid" --vty_socket "$d"
    sleep 1
    ip netns exec "gold-$n" /usr/lib/frr/bgpd -d -N "gold-$n" -f "$d/frr.conf" -i "$d/bgpd.pid" --vty_socket "$d"
}
vt() { local n=$1; shift; vtysh --vty_socket "$WORK/$n" "$@"; }

# ---------------------------------------------------------------- BIRD
mkdir -p "$WORK/bird"
cat >"$WORK/bird/bird.conf" <<EOF
log "$WORK/bird/bird.log" all;
router id 192.0.2.3;
hostname "gold-bird";
protocol device {}
protocol static st4 { ipv4; route 198.51.100.128/26 blackhole; }
protocol static st6 { ipv6; route 2001:db8:3000::/48 blackhole; }
filter ibgp_out4 {
  if proto = "st4" then {
    bgp_community.add((65001,100));
    bgp_community.add((65535,65281));
    bgp_large_community.add((65001,1,2));
    bgp_ext_community.add((rt,65001,300));
    bgp_med = 10;
    bgp_local_pref = 200;
    accept;
  }
  reject;
}
filter ibgp_out6 {
  if proto = "st6" then { bgp_community.add((65001,600)); bgp_local_pref = 300; accept; }
  reject;
}
filter ebgp2_out {
  if proto = "st4" then { bgp_path.prepend(4200000002); accept; }
  reject;
}
protocol bgp ibgp4 {
  local 192.0.2.3 as 65001;
  neighbor 192.0.2.1 as 65001;
  direct;
  connect retry time 5;
  enable extended messages on;
  graceful restart on;
  long lived graceful restart on;
  advertise hostname on;
  ipv4 { import all; export filter ibgp_out4; add paths rx; };
}
protocol bgp ibgp6 {
  local 2001:db8::3 as 65001;
  neighbor 2001:db8::1 as 65001;
  direct;
  connect retry time 5;
  ipv6 { import all; export filter ibgp_out6; };
}
protocol bgp ebgp2 {
  local 192.0.2.3 as 65003;
  neighbor 192.0.2.2 as 65002;
  connect retry time 5;
  enable as4 off;
  ipv4 { import all; export filter ebgp2_out; };
}
EOF
bc() { birdc -s "$WORK/bird/bird.ctl" "$@"; }

# ---------------------------------------------------------------- GoBGP
mkdir -p "$WORK/gobgp"
cat >"$WORK/gobgp/gobgpd.toml" <<'EOF'
[global.config]
  as = 65004
  router-id = "192.0.2.4"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 5
  [neighbors.graceful-restart.config]
    enabled = true
    long-lived-enabled = true
    restart-time = 120
  [neighbors.add-paths.config]
    receive = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
    [neighbors.afi-safis.long-lived-graceful-restart.config]
      enabled = true
      restart-time = 3600
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l2vpn-evpn"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true

[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8::1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 5
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
EOF
gb() { ip netns exec gold-gobgp gobgp "$@"; }

# ---------------------------------------------------------------- start
log "starting peers"
start_frr frr1
start_frr frr2
ip netns exec gold-bird bird -c "$WORK/bird/bird.conf" -s "$WORK/bird/bird.ctl" -P "$WORK/bird/bird.pid"
# GoBGP puts the system hostname into its FQDN capability: give it its own UTS
# namespace so the OPEN does not depend on the capture machine's name.
ip netns exec gold-gobgp unshare --uts sh -c 'hostname gold-gobgp; exec gobgpd "$@"' gobgpd \
    -f "$WORK/gobgp/gobgpd.toml" --api-hosts 127.0.0.1:50051 >"$WORK/gobgp/gobgpd.log" 2>&1 &
echo $! >"$WORK/gobgp/gobgpd.pid"

for _ in $(seq 1 60); do
    s=$(vt frr1 -c 'show bgp neighbors json' 2>/dev/null | grep -c '"bgpState":"Established"')
    t=$(vt frr2 -c 'show bgp neighbors json' 2>/dev/null | grep -c '"bgpState":"Established"')
    log "established sessions: frr1=$s/6 frr2=$t/3"
    [ "$s" -ge 6 ] && [ "$t" -ge 3 ] && break
    sleep 2
done
sleep 5

# ---------------------------------------------------------------- events
log "EVPN host traffic"
ip netns exec gold-h1 ping -c 2 -W 1 192.0.2.97 >/dev/null
ip netns exec gold-h2 ping -c 2 -W 1 192.0.2.98 >/dev/null
sleep 3
ip netns exec gold-h1 ping -c 2 -W 1 192.0.2.102 >/dev/null
ip netns exec gold-h1 ping -6 -c 2 -W 1 2001:db8:100::97 >/dev/null
ip netns exec gold-h2 ping -6 -c 2 -W 1 2001:db8:100::98 >/dev/null
sleep 3

log "GoBGP routes"
gb global rib -a ipv4 add 198.51.100.64/26 origin igp med 20 community 65004:100,no-export large-community 65004:1:2
sleep 1
gb global rib -a ipv4 add 203.0.113.64/26 origin egp
gb global rib -a ipv4 add 203.0.113.128/25 origin igp
sleep 1
gb global rib -a ipv4 add 198.51.100.32/27 aspath "65010 {65011,65012}" origin incomplete
sleep 1
gb global rib -a ipv6 add 2001:db8:4000::/48 origin igp med 30 community 65004:600
sleep 1
gb global rib -a evpn add prefix 198.51.100.224/27 gw 192.0.2.4 esi 0 etag 0 label 100 rd 192.0.2.4:100 rt 65004:100 encap vxlan router-mac 02:00:00:00:00:04
sleep 1
gb global rib -a evpn add prefix 2001:db8:5000::/48 gw :: esi 0 etag 0 label 100 rd 192.0.2.4:100 rt 65004:100 encap vxlan router-mac 02:00:00:00:00:04
sleep 1
gb global rib -a evpn add macadv 02:00:00:00:44:44 192.0.2.44 esi 0 etag 0 label 100 rd 192.0.2.4:100 rt 65004:100 encap vxlan
sleep 1
gb global rib -a evpn add multicast 192.0.2.4 etag 0 rd 192.0.2.4:100 rt 65004:100 encap vxlan pmsi ingress-repl 100 192.0.2.4
sleep 1
gb global rib -a evpn add a-d esi LACP 02:00:00:00:44:01 100 etag 0 label 100 rd 192.0.2.4:100 rt 65004:100 encap vxlan
sleep 1
gb global rib -a evpn add esi 192.0.2.4 esi LACP 02:00:00:00:44:01 100 rd 192.0.2.4:100 encap vxlan
sleep 2

log "route refresh"
vt frr2 -c 'clear bgp ipv4 unicast 192.0.2.1 soft in'
sleep 2
bc reload in ibgp4
sleep 2
# GoBGP 3.10 sends no ROUTE-REFRESH for softresetin/softreset: it keeps an
# Adj-RIB-In and re-runs its import policy over it (checked: no message on the wire).
gb neighbor 192.0.2.1 softresetin -a ipv4
sleep 2

log "withdrawals"
vt frr2 -c 'configure terminal' -c 'router bgp 65002' -c 'address-family ipv4 unicast' -c 'no network 198.51.100.0/26'
sleep 1
vt frr2 -c 'configure terminal' -c 'router bgp 65002' -c 'address-family ipv6 unicast' -c 'no network 2001:db8:2000::/48'
sleep 1
ip netns exec gold-h2 ip link set gh-2 down
ip -n gold-frr2 neigh flush dev br100
bridge -n gold-frr2 fdb del 02:00:00:00:20:02 dev gb-2 master 2>/dev/null
sleep 2
bc disable st4
sleep 1
bc disable st6
sleep 1
gb global rib -a ipv4 del 198.51.100.64/26
sleep 1
gb global rib -a ipv6 del 2001:db8:4000::/48
sleep 1
gb global rib -a evpn del prefix 198.51.100.224/27 gw 192.0.2.4 esi 0 etag 0 label 100 rd 192.0.2.4:100
sleep 2

log "shutdown with RFC 9003 messages"
# frr2<->frr1 negotiated graceful restart with the N bit: FRR wraps Cease/2 in Cease/9 (RFC 8538 Hard Reset)
vt frr2 -c 'configure terminal' -c 'router bgp 65002' -c 'neighbor 192.0.2.1 shutdown message golden vector: FRR shutdown'
sleep 1
# frr2<->bird (ebgp2) has no N bit: plain Cease/2 with the RFC 9003 message
vt frr2 -c 'configure terminal' -c 'router bgp 65002' -c 'neighbor 192.0.2.3 shutdown message golden vector: FRR shutdown'
sleep 1
bc disable ibgp4 '"golden vector: BIRD shutdown"'
sleep 1
# `disable --reason` sends Cease/2 with NO data (the reason is dropped);
# the deprecated `shutdown --reason` carries the RFC 9003 message.
gb neighbor 192.0.2.1 disable --reason "golden vector: GoBGP disable"
sleep 1
gb neighbor 192.0.2.1 enable
for _ in $(seq 1 30); do gb neighbor | grep '^ *192.0.2.1 ' | grep -q Establ && break; sleep 1; done
sleep 2
gb neighbor 192.0.2.1 shutdown --reason "golden vector: GoBGP shutdown"
sleep 3

# ---------------------------------------------------------------- collect
log "stopping"
vt frr1 -c 'show bgp neighbors' >"$WORK/frr1-neighbors.txt" 2>&1
vt frr2 -c 'show bgp l2vpn evpn' >"$WORK/frr2-evpn.txt" 2>&1
vt frr1 -c 'show bgp l2vpn evpn' >"$WORK/frr1-evpn.txt" 2>&1
kill_pidfiles
for p in frr2 bird gobgp; do
    $SPLIT split "$WORK/$p.pcap" "$WORK/split-$p"
done
for p in frr2 bird gobgp; do $SPLIT show "$WORK/split-$p" >"$WORK/split-$p.txt"; done
log "split done: $WORK/split-*.txt"

# ---------------------------------------------------------------- pick the vectors
B="$OUT/bgp/tests/data"
E="$OUT/evpn/tests/data"
MISSING=0
# pk SPLITDIR DEST WHERE [NTH]   (WHERE: Python expression over the summary m, see split_bgp.py)
pk() { $SPLIT pick "$WORK/split-$1" "$2" --where "$3" --nth "${4:-0}" || MISSING=$((MISSING + 1)); }
F1='m["src"]=="192.0.2.1"'; F2='m["src"]=="192.0.2.2"'; F1v6='m["src"]=="2001:db8::1"'; F2v6='m["src"]=="2001:db8::2"'
BI='m["src"]=="192.0.2.3"'; BIv6='m["src"]=="2001:db8::3"'; GO='m["src"]=="192.0.2.4"'; GOv6='m["src"]=="2001:db8::4"'
TO1='m["dst"]=="192.0.2.1"'; TO1v6='m["dst"]=="2001:db8::1"'; TO2='m["dst"]=="192.0.2.2"'; TO3='m["dst"]=="192.0.2.3"'; TO4='m["dst"]=="192.0.2.4"'
UPD='m["type"]=="UPDATE"'
rt() { echo "m.get(\"mp_reach\",{}).get(\"evpn_types\")==[$1] and m[\"mp_reach\"][\"evpn\"][0][\"len\"]==$2"; }

# --- FRR 8.4 (frr2 = the configured peer; frr1 = hub with default-ish neighbour config)
pk frr2 "$B/frr/open.bin"                       "$F2 and $TO1 and m['type']=='OPEN'"
pk frr2 "$B/frr/open-extended-optparams.bin"    "$F2v6 and m['type']=='OPEN'"
pk bird "$B/frr/open-defaults.bin"              "$F1 and $TO3 and m['type']=='OPEN'"
pk frr2 "$B/frr/keepalive.bin"                  "$F2 and $TO1 and m['type']=='KEEPALIVE'"
pk frr2 "$B/frr/update-ipv4.bin"                "$F2 and $TO1 and $UPD and m['nlri']==['198.51.100.0/26']"
pk frr2 "$B/frr/update-ipv4-multi-nlri.bin"     "$F2 and $TO1 and $UPD and len(m['nlri'])==2"
pk frr2 "$B/frr/update-ipv4-otc.bin"            "$F1 and $TO2 and $UPD and m['nlri']==['198.51.100.0/26']"
pk gobgp "$B/frr/update-ipv4-as-set.bin"        "$F1 and $TO4 and $UPD and 7 in m['attrs'] and '01020000fdea0000fdec' in m['hex']"
pk bird "$B/frr/update-ipv4-addpath.bin"        "$F1 and $TO3 and $UPD and m['nlri'][:1] and m['nlri'][0].startswith('198.51.100.64/26 (path-id')"
pk bird "$B/frr/withdraw-ipv4-addpath.bin"      "$F1 and $TO3 and $UPD and len(m['withdrawn'])==2"
pk frr2 "$B/frr/update-ipv4-as4path-2octet.bin" "$F2 and $TO3 and $UPD and 17 in m['attrs'] and m['nlri']==['198.51.100.192/26']"
pk frr2 "$B/frr/update-ipv4-enhe.bin"           "$F2v6 and $UPD and m.get('mp_reach',{}).get('afi')==1 and m['mp_reach']['nlri']==['198.51.100.0/26']"
pk frr2 "$B/frr/update-ipv6.bin"                "$F2v6 and $UPD and m.get('mp_reach',{}).get('nlri')==['2001:db8:2000::/48']"
pk bird "$B/frr/update-ipv6-ibgp-nh16.bin"      "$F1v6 and $UPD and m.get('mp_reach',{}).get('nlri')==['2001:db8:4000::/48']"
pk frr2 "$B/frr/withdraw-ipv4.bin"              "$F2 and $TO1 and $UPD and m['withdrawn']==['198.51.100.0/26']"
pk frr2 "$B/frr/withdraw-ipv4-enhe.bin"         "$F2v6 and $UPD and m.get('mp_unreach',{}).get('withdrawn')==['198.51.100.0/26']"
pk frr2 "$B/frr/withdraw-ipv6.bin"              "$F2v6 and $UPD and m.get('mp_unreach',{}).get('withdrawn')==['2001:db8:2000::/48']"
pk frr2 "$B/frr/eor-ipv4.bin"                   "$F2 and $TO1 and $UPD and m['eor'] and m['attrs']==[]"
pk frr2 "$B/frr/eor-ipv6.bin"                   "$F2v6 and $UPD and m['eor'] and m['mp_unreach']['afi']==2"
pk frr2 "$B/frr/route-refresh.bin"              "$F2 and m['type']=='ROUTE-REFRESH' and m['subtype']==0"
pk frr2 "$B/frr/route-refresh-borr.bin"         "$F1 and $TO2 and m['type']=='ROUTE-REFRESH' and m['subtype']==1"
pk frr2 "$B/frr/route-refresh-eorr.bin"         "$F1 and $TO2 and m['type']=='ROUTE-REFRESH' and m['subtype']==2"
pk frr2 "$B/frr/notification-cease-shutdown.bin" "$F2 and $TO3 and m['type']=='NOTIFICATION'"
pk frr2 "$B/frr/notification-hard-reset-shutdown.bin" "$F2 and $TO1 and m['type']=='NOTIFICATION' and m['subcode']==9"

# --- BIRD 2.0.12
pk bird "$B/bird/open.bin"                      "$BI and $TO1 and m['type']=='OPEN'"
pk bird "$B/bird/open-ipv6.bin"                 "$BIv6 and m['type']=='OPEN'"
pk frr2 "$B/bird/open-as4-off.bin"              "$BI and $TO2 and m['type']=='OPEN'"
pk bird "$B/bird/keepalive.bin"                 "$BI and $TO1 and m['type']=='KEEPALIVE'"
pk bird "$B/bird/update-ipv4.bin"               "$BI and $TO1 and $UPD and m['nlri']==['198.51.100.128/26']"
pk bird "$B/bird/update-ipv6.bin"               "$BIv6 and $UPD and m.get('mp_reach',{}).get('nlri')==['2001:db8:3000::/48']"
pk frr2 "$B/bird/update-ipv4-as4path-2octet.bin" "$BI and $TO2 and $UPD and 17 in m['attrs']"
pk bird "$B/bird/withdraw-ipv4.bin"             "$BI and $TO1 and $UPD and m['withdrawn']==['198.51.100.128/26']"
pk bird "$B/bird/withdraw-ipv6.bin"             "$BIv6 and $UPD and m.get('mp_unreach',{}).get('withdrawn')==['2001:db8:3000::/48']"
pk bird "$B/bird/eor-ipv4.bin"                  "$BI and $TO1 and $UPD and m['eor'] and m['attrs']==[]"
pk bird "$B/bird/eor-ipv6.bin"                  "$BIv6 and $UPD and m['eor']"
pk bird "$B/bird/route-refresh.bin"             "$BI and m['type']=='ROUTE-REFRESH'"
pk bird "$B/bird/notification-cease-shutdown.bin" "$BI and m['type']=='NOTIFICATION'"

# --- GoBGP 3.10
pk gobgp "$B/gobgp/open.bin"                    "$GO and m['type']=='OPEN'"
pk gobgp "$B/gobgp/open-ipv6.bin"               "$GOv6 and m['type']=='OPEN'"
pk gobgp "$B/gobgp/keepalive.bin"               "$GO and m['type']=='KEEPALIVE'"
pk gobgp "$B/gobgp/update-ipv4.bin"             "$GO and $UPD and m['nlri']==['198.51.100.64/26']"
pk gobgp "$B/gobgp/update-ipv4-as-set.bin"      "$GO and $UPD and m['nlri']==['198.51.100.32/27']"
pk gobgp "$B/gobgp/update-ipv6.bin"             "$GOv6 and $UPD and m.get('mp_reach',{}).get('nlri')==['2001:db8:4000::/48']"
pk gobgp "$B/gobgp/withdraw-ipv4.bin"           "$GO and $UPD and m['withdrawn']==['198.51.100.64/26']"
pk gobgp "$B/gobgp/withdraw-ipv6.bin"           "$GOv6 and $UPD and m.get('mp_unreach',{}).get('withdrawn')==['2001:db8:4000::/48']"
pk gobgp "$B/gobgp/eor-ipv4.bin"                "$GO and $UPD and m['eor'] and m['attrs']==[]"
pk gobgp "$B/gobgp/notification-cease-shutdown.bin" "$GO and m['type']=='NOTIFICATION' and m['data_hex']!=''"
pk gobgp "$B/gobgp/notification-cease-disable-nodata.bin" "$GO and m['type']=='NOTIFICATION' and m['data_hex']==''"

# --- EVPN (FRR: VNI 100 from advertise-all-vni; GoBGP: routes injected with the CLI)
FRR2NH="m.get('mp_reach',{}).get('nh_hex')=='c0000202'"
pk frr2 "$E/frr/update-evpn-type2-mac.bin"      "$F2 and $FRR2NH and $UPD and $(rt 2 33)"
pk frr2 "$E/frr/update-evpn-type2-macip4.bin"   "$F2 and $FRR2NH and $UPD and $(rt 2 37) and m['mp_reach']['evpn'][0]['hex'].endswith('c0000266000064')"
pk frr2 "$E/frr/update-evpn-type2-macip6.bin"   "$F2 and $FRR2NH and $UPD and $(rt 2 49) and '20010db8' in m['mp_reach']['evpn'][0]['hex']"
pk frr2 "$E/frr/update-evpn-type3-imet.bin"     "$F2 and $FRR2NH and $UPD and $(rt 3 17)"
pk frr2 "$E/frr/update-evpn-type5-from-gobgp.bin" "$F1 and $TO2 and $UPD and $(rt 5 34)"
pk frr2 "$E/frr/withdraw-evpn-type2.bin"        "$F2 and $UPD and m.get('mp_unreach',{}).get('evpn_types',[])[:1]==[2]"
pk frr2 "$E/frr/eor-evpn.bin"                   "$F2 and $TO1 and $UPD and m['eor'] and m['mp_unreach']['safi']==70"
pk gobgp "$E/gobgp/update-evpn-type1-ad.bin"    "$GO and $UPD and $(rt 1 25)"
pk gobgp "$E/gobgp/update-evpn-type2-macip.bin" "$GO and $UPD and $(rt 2 37)"
pk gobgp "$E/gobgp/update-evpn-type3-imet.bin"  "$GO and $UPD and $(rt 3 17)"
pk gobgp "$E/gobgp/update-evpn-type4-es.bin"    "$GO and $UPD and $(rt 4 23)"
pk gobgp "$E/gobgp/update-evpn-type5-ipv4.bin"  "$GO and $UPD and $(rt 5 34)"
pk gobgp "$E/gobgp/update-evpn-type5-ipv6.bin"  "$GO and $UPD and $(rt 5 58)"
pk gobgp "$E/gobgp/withdraw-evpn-type5.bin"     "$GO and $UPD and m.get('mp_unreach',{}).get('evpn_types')==[5]"
pk gobgp "$E/gobgp/eor-evpn.bin"                "$GO and $UPD and m['eor'] and m['mp_unreach']['safi']==70"

log "done: $MISSING vector(s) not found; outputs under $B and $E; pcaps in $WORK"

exit 0
