// NFC and NFD of each input line by Node's ICU, for checking Sovra's own NFC.
// stdin: one base64 UTF-16LE text per line; stdout: "NFC-base64 NFD-base64" per line.
const readline = require("readline");
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
const b64 = (s) => Buffer.from(s, "utf16le").toString("base64");
rl.on("line", (l) => {
  const t = Buffer.from(l, "base64").toString("utf16le");
  out.push(b64(t.normalize("NFC")) + " " + b64(t.normalize("NFD")));
});
rl.on("close", () => process.stdout.write(out.join("\n") + "\n"));
