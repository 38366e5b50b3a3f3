import ArgumentParser
import Foundation
import Vips

/// `singan info IMAGE`: one line describing a readable image, or the reason it is not.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print an image's size, bands and format.",
        discussion: """
            Prints one line, WIDTHxHEIGHT bands=N format=NAME. Bands are the file's own: \
            3 for RGB, 4 for RGBA or CMYK, 1 for grey, 2 for grey with alpha. \
            Exits 1 with the reason on stderr when the image cannot be read.
            """)

    @Argument(help: "A PNG, JPEG, WebP, TIFF or GIF file.")
    var image: String

    @Option(help: "Refuse images with more pixels than this.")
    var maxPixels: Int = VipsImage.defaultMaxPixels

    func run() throws {
        do {
            let loaded = try VipsImage.load(path: image, maxPixels: maxPixels)
            print("\(loaded.width)x\(loaded.height) bands=\(loaded.bands) format=\(loaded.formatName ?? "unknown")")
        } catch let error as VipsError {
            FileHandle.standardError.write(Data("singan info: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
