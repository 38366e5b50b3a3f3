@testable import PatchTier

/// A small deterministic test image: smooth colour gradients with a few sharp blobs, so that
/// patches differ and nearest neighbours are well defined.
func testImage(width: Int, height: Int, seed: UInt64 = 1) -> PatchImage {
    var random = PatchRandom(seed: seed)
    var pixels = [Float](repeating: 0, count: width * height * PatchImage.channels)
    let blobs = (0..<6).map { _ in (Double(random.below(width)), Double(random.below(height)), random.unit(), random.unit()) }
    for y in 0..<height {
        for x in 0..<width {
            var r = Double(x) / Double(width), g = Double(y) / Double(height), b = 0.5 + 0.3 * sin(Double(x + 2 * y) * 0.3)
            for (bx, by, c1, c2) in blobs where (Double(x) - bx) * (Double(x) - bx) + (Double(y) - by) * (Double(y) - by) < 20 {
                r = c1; g = c2; b = 1 - c1
            }
            let p = (y * width + x) * PatchImage.channels
            pixels[p] = Float(r); pixels[p + 1] = Float(g); pixels[p + 2] = Float(min(1, max(0, b)))
        }
    }
    return PatchImage(width: width, height: height, pixels: pixels)
}

/// Discs of random colours scattered on a plain background: no gradient across the image, so
/// that a patch does not give away where it came from and samples can rearrange them.
func discsImage(width: Int, height: Int, seed: UInt64 = 1) -> PatchImage {
    var random = PatchRandom(seed: seed)
    var image = PatchImage(width: width, height: height, red: 0.3, green: 0.5, blue: 0.7)
    for _ in 0..<(width * height / 60) {
        let cx = random.below(width), cy = random.below(height), radius = 2 + random.below(3)
        let colour = [Float(random.unit()), Float(random.unit()), Float(random.unit())]
        for y in max(0, cy - radius)...min(height - 1, cy + radius) {
            for x in max(0, cx - radius)...min(width - 1, cx + radius)
            where (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius {
                for c in 0..<3 { image.pixels[(y * width + x) * PatchImage.channels + c] = colour[c] }
            }
        }
    }
    return image
}

import Foundation
