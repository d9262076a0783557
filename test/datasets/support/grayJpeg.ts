// A minimal baseline JPEG encoder for single-component (grayscale) images made of flat 8x8 blocks, because
// jpeg-js only writes 3-component JPEGs and the Tiny-ImageNet loader must handle real grayscale ones. With a
// quantisation table of ones and only DC coefficients, a block of value v decodes back to exactly v.

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;

  put(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((code >> i) & 1);
      if (++this.count === 8) {
        this.bytes.push(this.acc);
        // Byte stuffing: an 0xFF in entropy-coded data is followed by 0x00.
        if (this.acc === 0xff) this.bytes.push(0);
        this.acc = 0;
        this.count = 0;
      }
    }
  }

  /** Pads the last byte with 1 bits. */
  flush(): void {
    while (this.count !== 0) this.put(1, 1);
  }
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

/** A grayscale JPEG (width and height multiples of 8) whose 8x8 block (by, bx) is flat with `value(by, bx)`. */
export function encodeFlatGrayJpeg(width: number, height: number, value: (by: number, bx: number) => number): Uint8Array {
  const quant = segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]);
  const frame = segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  // DC table: categories 0..11, all with 4-bit codes (code = category). AC table: only end-of-block, code '0'.
  const dcCounts = [0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const acCounts = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const huffman = segment(0xc4, [0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i), 0x10, ...acCounts, 0x00]);
  const scan = segment(0xda, [1, 1, 0x00, 0, 63, 0]);
  const bits = new BitWriter();
  let previous = 0;
  for (let by = 0; by < height / 8; by++) {
    for (let bx = 0; bx < width / 8; bx++) {
      // The DC coefficient of a flat block of level v is 8 (v - 128).
      const dc = 8 * (value(by, bx) - 128);
      const diff = dc - previous;
      previous = dc;
      const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      bits.put(category, 4);
      if (category > 0) bits.put(diff > 0 ? diff : diff + (1 << category) - 1, category);
      bits.put(0, 1);
    }
  }
  bits.flush();
  return Uint8Array.from([0xff, 0xd8, ...quant, ...frame, ...huffman, ...scan, ...bits.bytes, 0xff, 0xd9]);
}
