// Reads Python's combining classes (file argv[2]) and prints the NFC data file from Node's ICU.
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n");
const ccc = new Map();
let pyVersion = "";
for (const l of lines) {
  if (l.startsWith("#")) { pyVersion = l.slice(2); continue; }
  if (!l) continue;
  const [h, c] = l.split(" ");
  ccc.set(parseInt(h, 16), +c);
}
const isHangul = (cp) => cp >= 0xac00 && cp <= 0xd7a3;
const isSurrogate = (cp) => cp >= 0xd800 && cp <= 0xdfff;
const cps = (s) => Array.from(s, (ch) => ch.codePointAt(0));
// One representative mark per known combining class, used to class marks newer than Python's data.
const repByClass = new Map();
for (const [cp, c] of ccc) if (!repByClass.has(c)) repByClass.set(c, cp);
const mark = /^\p{M}$/u;
const swaps = (a, b) => { const s = String.fromCodePoint(0x61, a, b).normalize("NFD"); return cps(s)[1] === b; };
for (let cp = 0; cp < 0x110000; cp++) {
  if (isSurrogate(cp) || ccc.has(cp)) continue;
  const ch = String.fromCodePoint(cp);
  if (!mark.test(ch)) continue;
  let found = 0, anySwap = false;
  for (const [c, rep] of repByClass) {
    const s1 = swaps(cp, rep), s2 = swaps(rep, cp);
    if (s1 || s2) anySwap = true; else if (!found) found = c;
  }
  if (anySwap && found) ccc.set(cp, found);
}
const out = [`# Sovra NFC data: ICU Unicode ${process.versions.unicode}, combining classes from Python unicodedata ${pyVersion}`,
  "# C cp ccc | D cp full-canonical-decomposition... | P first second composite (all hex)"];
for (const [cp, c] of [...ccc].sort((a, b) => a[0] - b[0])) out.push(`C ${cp.toString(16)} ${c}`);
const pairs = [];
for (let cp = 0; cp < 0x110000; cp++) {
  if (isSurrogate(cp) || isHangul(cp)) continue;
  const ch = String.fromCodePoint(cp);
  const d = ch.normalize("NFD");
  if (d === ch) continue;
  out.push(`D ${cp.toString(16)} ${cps(d).map((x) => x.toString(16)).join(" ")}`);
  if (ch.normalize("NFC") !== ch) continue; // excluded or singleton: never produced by composition
  const dc = cps(d);
  const second = dc[dc.length - 1];
  const first = cps(String.fromCodePoint(...dc.slice(0, -1)).normalize("NFC"));
  if (first.length !== 1 || String.fromCodePoint(first[0], second).normalize("NFC") !== ch)
    throw new Error("cannot derive the composition pair of U+" + cp.toString(16));
  pairs.push(`P ${first[0].toString(16)} ${second.toString(16)} ${cp.toString(16)}`);
}
out.push(...pairs);
process.stdout.write(out.join("\n") + "\n");
