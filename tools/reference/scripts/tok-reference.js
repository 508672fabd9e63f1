// Reference token ids from Hugging Face's own tokenizers (npm `tokenizers`, the Rust library).
// usage: node tok-reference.js TOKENIZER.json < requests.jsonl > answers.jsonl
// Each request line: {"t": base64 of the text's UTF-16LE code units, "special": bool, "add": bool}
//   special: special-token text becomes the special token (HF's encode). When false, the text is encoded by a
//            copy of the tokenizer whose special added tokens cannot match, so their text is ordinary text.
//   add:     add_special_tokens (the post-processor's BOS/EOS).
// Each answer line: {"ids": [...], "dec": base64 UTF-16LE of decode(ids), "skip": ... of decode(ids, skip_special)}
// UTF-16 in base64 keeps lone surrogates intact on the way in; Rust receives them as U+FFFD, as any caller would.
const fs = require("fs");
const readline = require("readline");
const { Tokenizer } = require("tokenizers");

const path = process.argv[2];
const json = fs.readFileSync(path, "utf8");
const full = Tokenizer.fromString(json);
let plain = null;
function plainTokenizer() {
  if (!plain) {
    // Removing the special tokens would renumber the added tokens after them (HF numbers added tokens missing
    // from the model vocabulary in order, from the vocabulary's size), so each keeps its place under a text no
    // input contains; one that is also in the model vocabulary is renamed there too, keeping the size.
    const j = JSON.parse(json);
    for (const a of j.added_tokens) {
      if (!a.special) continue;
      const hidden = `\u{F0000}sovra-hidden-${a.id}\u{F0000}`;
      if (j.model.vocab[a.content] === a.id) {
        delete j.model.vocab[a.content];
        j.model.vocab[hidden] = a.id;
      }
      a.content = hidden;
    }
    plain = Tokenizer.fromString(JSON.stringify(j));
  }
  return plain;
}
const b64 = (s) => Buffer.from(s, "utf16le").toString("base64");

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const requests = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    requests.push({ text: Buffer.from(r.t, "base64").toString("utf16le"), special: !!r.special, add: !!r.add });
  }
  // Batches run on all cores inside Rust; answers keep the request order.
  const ids = new Array(requests.length);
  for (const special of [true, false])
    for (const add of [true, false]) {
      const idx = requests.map((r, i) => (r.special === special && r.add === add ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) continue;
      const tok = special ? full : plainTokenizer();
      const encs = await tok.encodeBatch(idx.map((i) => requests[i].text), { addSpecialTokens: add });
      idx.forEach((i, k) => { ids[i] = Array.from(encs[k].getIds()); });
    }
  const dec = await full.decodeBatch(ids, false);
  const skip = await full.decodeBatch(ids, true);
  const out = requests.map((_, i) => JSON.stringify({ ids: ids[i], dec: b64(dec[i]), skip: b64(skip[i]) }));
  process.stdout.write(out.join("\n") + "\n");
}
main().catch((e) => { console.error(e); process.exit(1); });
