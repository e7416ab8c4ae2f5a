#!/bin/sh
# Long runs (bench/fuzz.ts, bench/soak.ts) restart Node-RED, which loads the package
# from dist/: a rebuild during a run would hand it half-written files. This copies
# the built tree to a snapshot directory and prints the command prefix to run from it:
#   sh test/support/fuzz/snapshot.sh /tmp/sip-snap && node /tmp/sip-snap/dist/bench/soak.js ...
set -e
root=$(cd "$(dirname "$0")/../../.." && pwd)
snap=${1:-/tmp/sip-client-snapshot}
rm -rf "$snap"
mkdir -p "$snap/test/support/fuzz"
cp -r "$root/dist" "$snap/dist"
cp "$root/package.json" "$snap/"
ln -s "$root/node_modules" "$snap/node_modules"
ln -s "$root/pico-lang" "$snap/pico-lang"
mkdir -p "$root/test/support/fuzz/crashers"
ln -s "$root/test/support/fuzz/crashers" "$snap/test/support/fuzz/crashers"
echo "$snap"
