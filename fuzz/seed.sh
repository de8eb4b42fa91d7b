#!/usr/bin/env bash
# Build the starting corpus of every fuzz target in fuzz/corpus/<target>/
# from the golden vectors (bgp/tests/data/<peer>/*.bin and
# evpn/tests/data/<peer>/*.bin: one whole BGP message per file, captured
# from FRR, BIRD and GoBGP) and the hand-made seeds in fuzz/seeds/.
#
#   fuzz/seed.sh            # from anywhere; idempotent, adds files only
#
# Each target gets the input form it expects (see fuzz/README.md):
#   message, roundtrip   selector byte + whole message, once per context 0-7
#   update               selector byte + UPDATE body, once per context 0-7
#   open, notification,
#   route_refresh        body of messages of that type
#   evpn_nlri            whole UPDATE messages + fuzz/seeds/evpn_nlri/*
# Files are named after their source, so rerunning never duplicates.
set -euo pipefail

FUZZ=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$FUZZ")
CORPUS="$FUZZ/corpus"
CONTEXTS=8

sources=()
shopt -s nullglob
for f in "$ROOT"/bgp/tests/data/*/*.bin "$ROOT"/evpn/tests/data/*/*.bin "$FUZZ"/seeds/messages/*.bin; do
    sources+=("$f")
done
shopt -u nullglob

# The golden vectors and the hand-made seeds are committed: a folder with
# none of them is a broken checkout, not a smaller corpus to start from.
for dir in "$ROOT/bgp/tests/data" "$ROOT/evpn/tests/data" "$FUZZ/seeds/messages"; do
    found=0
    for f in "${sources[@]}"; do
        case "$f" in "$dir"/*) found=1 && break ;; esac
    done
    if [ "$found" -eq 0 ]; then
        echo "seed.sh: error: no .bin files in $dir (they are committed: is the checkout broken?)" >&2
        exit 1
    fi
done

targets=(message roundtrip update open notification route_refresh evpn_nlri)
for t in "${targets[@]}"; do
    mkdir -p "$CORPUS/$t"
done

# Message type (octet 18) of a whole message, or "" if it has no header.
msg_type() {
    [ "$(stat -c %s "$1")" -ge 19 ] || return 0
    od -An -tu1 -j18 -N1 "$1" | tr -d ' '
}

# Write one selector byte then the rest of the input.
with_selector() { # sel file skip_bytes out
    { printf "\\$(printf '%03o' "$1")"; tail -c +"$(($3 + 1))" "$2"; } >"$4"
}

n=0
for f in "${sources[@]}"; do
    rel=${f#"$ROOT"/}
    name=$(printf '%s' "$rel" | tr '/' '_')
    name=${name%.bin}
    type=$(msg_type "$f")
    for ((sel = 0; sel < CONTEXTS; sel++)); do
        with_selector "$sel" "$f" 0 "$CORPUS/message/$name.c$sel"
        with_selector "$sel" "$f" 0 "$CORPUS/roundtrip/$name.c$sel"
    done
    case "$type" in
        1) tail -c +20 "$f" >"$CORPUS/open/$name" ;;
        2)
            for ((sel = 0; sel < CONTEXTS; sel++)); do
                with_selector "$sel" "$f" 19 "$CORPUS/update/$name.c$sel"
            done
            cp "$f" "$CORPUS/evpn_nlri/$name"
            ;;
        3) tail -c +20 "$f" >"$CORPUS/notification/$name" ;;
        5) tail -c +20 "$f" >"$CORPUS/route_refresh/$name" ;;
    esac
    n=$((n + 1))
done

for t in "${targets[@]}"; do
    if [ -d "$FUZZ/seeds/$t" ]; then
        cp "$FUZZ/seeds/$t"/*.bin "$CORPUS/$t/" 2>/dev/null || true
    fi
done

golden=0
for f in "${sources[@]}"; do
    case "$f" in "$FUZZ"/*) ;; *) golden=$((golden + 1)) ;; esac
done
echo "seed.sh: $n source messages ($golden golden vectors); corpus sizes:"
for t in "${targets[@]}"; do
    printf '  %-14s %5d files\n' "$t" "$(find "$CORPUS/$t" -type f | wc -l)"
done
