#!/usr/bin/env bash
# Regenerates src/Sovra.Text/Tokenizers/Unicode/nfc-data.txt, the canonical-composition data Sovra's own
# NFC uses (the runtime runs with invariant globalization, where string.Normalize does nothing).
# Decompositions and compositions come from Node's ICU; combining classes from Python's unicodedata,
# with marks newer than Python's Unicode version classed by how ICU reorders them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../../src/Sovra.Text/Tokenizers/Unicode/nfc-data.txt"
mkdir -p "$(dirname "$out")"
python3 - >/tmp/sovra-ccc.txt <<'PY'
import unicodedata, sys
for cp in range(0x110000):
    if 0xD800 <= cp < 0xE000: continue
    c = unicodedata.combining(chr(cp))
    if c: print(f"{cp:X} {c}")
print("#", unicodedata.unidata_version)
PY
node "$here/tok-gen-nfc-data.js" /tmp/sovra-ccc.txt >"$out"
echo "wrote $out ($(wc -l <"$out") lines)"
