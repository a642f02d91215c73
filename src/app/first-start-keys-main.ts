import { ensureKeysFile, keysReport } from "./first-start-keys.js";

// The one-shot service of compose.yaml: `node first-start-keys-main.js <folder>` makes the
// admin token and encryption key in <folder>/keys.env at the first start and prints them once.
const folder = process.argv[2];
if (folder === undefined) {
  process.stderr.write("usage: node dist/src/app/first-start-keys-main.js <folder>\n");
  process.exit(2);
}
try {
  process.stdout.write(keysReport(ensureKeysFile(folder)));
} catch (error) {
  process.stderr.write(
    `keycard: cannot make the keys in ${folder}: ${(error as Error).message} (mount a volume there that user 1000 can write)\n`,
  );
  process.exit(1);
}
