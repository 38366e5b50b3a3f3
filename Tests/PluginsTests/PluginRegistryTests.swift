import Foundation
import Plugins
import XCTest

/// A plugin defined here to check the registry and listing without the built-in ones.
private struct MaskedCopy: TaskPlugin {
    static let name = "masked-copy"
    static let summary = "Copies the image next to its mask."
    static let parameters = ParameterSchema([.int("times", default: 1, range: 1...3, "copies to make")])
    static let inputs = TaskInputs(image: .required, model: .optional,
                                   sideInputs: [SideInput("mask", "white where to copy")])
    func run(_ request: TaskRequest, context: TaskContext) throws -> [TaskArtifact] {
        try (0..<request.parameters.int("times")).map { _ in
            let out = context.outputURL("copy.png")
            try FileManager.default.copyItem(at: request.image!, to: out)
            return TaskArtifact(out, label: "copy")
        }
    }
}

final class PluginRegistryTests: XCTestCase {
    func testStandardRegistryHasResizeAndListsEveryParameter() {
        let registry = PluginRegistry.standard
        XCTAssertNotNil(registry.plugin(named: "resize"))
        XCTAssertNil(registry.plugin(named: "nope"))
        let listing = registry.listing()
        for plugin in registry.plugins {
            XCTAssertTrue(listing.contains("\(plugin.name) — \(plugin.summary)"))
            for p in plugin.parameters.parameters { XCTAssertTrue(listing.contains(p.usage), p.name) }
        }
    }

    func testListingShowsInputsAndSideInputs() {
        let listing = PluginRegistry([MaskedCopy.self]).listing()
        XCTAssertTrue(listing.contains("inputs: image, model (optional), side mask"))
        XCTAssertTrue(listing.contains("side mask — white where to copy"))
        XCTAssertTrue(listing.contains("times: integer in 1...3, default 1 — copies to make"))
    }

    func testOutputURLsNeverCollide() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("in.png")
        try Data([1, 2, 3]).write(to: source)
        let work = dir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let context = TaskContext(workDirectory: work, checkpointDirectory: dir)
        let request = TaskRequest(image: source, parameters: try MaskedCopy.parameters.validate(["times": .int(3)]))
        let out = try MaskedCopy().run(request, context: context)
        XCTAssertEqual(out.map { $0.url.lastPathComponent }, ["copy.png", "copy-1.png", "copy-2.png"])
    }

    func testCancellationTokenStopsSleep() {
        let token = CancellationToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { token.cancel() }
        let start = Date()
        XCTAssertThrowsError(try token.sleep(seconds: 5)) { XCTAssertTrue($0 is TaskCancelled) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testLoadedModelCacheIsBoundedAndReloadsOnlyOnMiss() throws {
        final class Box { let path: String; init(_ p: String) { path = p } }
        let cache = LoadedModelCache(capacity: 2)
        var loads = 0
        let load: (URL) -> Box = { loads += 1; return Box($0.path) }
        let a = URL(fileURLWithPath: "/nonexistent/a"), b = URL(fileURLWithPath: "/nonexistent/b"), c = URL(fileURLWithPath: "/nonexistent/c")
        _ = try cache.model(at: a, load: load)
        _ = try cache.model(at: a, load: load)
        XCTAssertEqual(loads, 1)
        _ = try cache.model(at: b, load: load)
        _ = try cache.model(at: c, load: load)
        XCTAssertEqual(cache.count, 2)
        _ = try cache.model(at: a, load: load)  // evicted as least recently used
        XCTAssertEqual(loads, 4)
    }
}
