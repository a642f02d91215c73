/**
 * Redis Cluster's key-to-slot mapping (CRC16/XMODEM of the key or of its `{hash tag}`,
 * modulo 16384), and one short hash tag per slot, so that keycard can keep a shard of its
 * own bookkeeping in the very slot of the users it counts.
 */
export const slotCount = 16_384;

const crcTable = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit += 1) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
});

function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, "utf8")) {
    crc = ((crc << 8) & 0xffff) ^ (crcTable[((crc >> 8) ^ byte) & 0xff] ?? 0);
  }
  return crc;
}

/** The part of a key Redis Cluster hashes: its first non-empty `{…}`, else all of it. */
function hashedPart(key: string): string {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** The Cluster slot of a key, as `CLUSTER KEYSLOT` gives it. */
export function keySlot(key: string): number {
  return crc16(hashedPart(key)) % slotCount;
}

let tags: readonly string[] | undefined;

/**
 * A hash tag for every slot: `slotTags()[s]` is the first of `o:0`, `o:1`, … (base 36) that
 * hashes to slot s. Deterministic, so that every replica names the same keys.
 */
export function slotTags(): readonly string[] {
  if (tags === undefined) {
    const found: string[] = new Array(slotCount);
    let missing = slotCount;
    for (let i = 0; missing > 0; i += 1) {
      const tag = `o:${i.toString(36)}`;
      const slot = crc16(tag) % slotCount;
      if (found[slot] === undefined) {
        found[slot] = tag;
        missing -= 1;
      }
    }
    tags = found;
  }
  return tags;
}
