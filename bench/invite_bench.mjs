// (e) invite decode + verify per second with the convos-cli's own code (dist/utils/invite.js).
// Usage: node invite_bench.mjs <convos-cli package dir> <file with one slug per line> <seconds>
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [packageDir, slugFile, seconds] = process.argv.slice(2);
const { parseInvite, verifyInvite } = await import(pathToFileURL(`${packageDir}/dist/utils/invite.js`).href);
const slugs = readFileSync(slugFile, "utf8").split("\n").filter(Boolean);

async function once(slug) {
  const invite = parseInvite(slug);
  if (!(await verifyInvite(invite))) throw new Error("invalid invite");
  if (invite.expiresAt && invite.expiresAt < new Date()) throw new Error("expired");
}

for (const slug of slugs) await once(slug); // warm-up (JIT, imports)
const budget = Number(seconds) * 1000;
const started = performance.now();
let count = 0;
while (performance.now() - started < budget) {
  for (const slug of slugs) await once(slug);
  count += slugs.length;
}
const elapsed = (performance.now() - started) / 1000;
console.log(JSON.stringify({ perSecond: count / elapsed, count, seconds: elapsed }));
