import sharp from 'sharp';
import type { TestProject } from 'vitest/node';

/**
 * Real images for the workerd tests, made here in Node with sharp (the
 * library miniflare's local Images binding uses): a 1200×800 JPEG of noise
 * (so its size depends on the quality) and a 640×480 PNG. The tests read them
 * base64-encoded with `inject('testImages')`.
 */
export default async function setup(project: TestProject) {
  const jpeg = await sharp({
    create: { width: 1200, height: 800, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  const png = await sharp({ create: { width: 640, height: 480, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 1 } } })
    .png()
    .toBuffer();
  project.provide('testImages', { jpeg: jpeg.toString('base64'), png: png.toString('base64') });
}
