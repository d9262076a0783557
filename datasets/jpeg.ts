// JPEG decoding (jpeg-js, pure JavaScript) to interleaved RGB bytes. Grayscale JPEGs come out with the gray value
// in all three channels. Decoding is strict: a truncated or corrupt file is an error naming it, never an image
// of garbage.
import jpeg from 'jpeg-js';

/** Decodes a JPEG to height*width*3 RGB bytes; throws naming `file` when it is corrupt or not `size` pixels. */
export function decodeJpegRgb(bytes: Uint8Array, file: string, size?: { height: number; width: number }): Uint8Array {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (e) {
    throw new Error(`cannot decode the JPEG ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`cannot decode the JPEG ${file}: ${image.data.length} bytes for ${image.width}x${image.height} RGB`);
  }
  if (size && (image.height !== size.height || image.width !== size.width)) {
    throw new Error(`${file} is ${image.width}x${image.height} pixels, expected ${size.width}x${size.height}`);
  }
  return image.data;
}
