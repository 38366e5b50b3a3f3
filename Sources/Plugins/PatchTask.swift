import Foundation
import PatchTier

/// Shared steps of the training-free patch plugins (`patch-sample`, `retarget`): their common
/// parameters, the generator of a request, seeding, running with progress and cancellation,
/// and errors that name the task.
enum PatchTask {
    /// The parameters both patch tasks take.
    static let commonParameters: [Parameter] = [
        .int("structure", default: 0, range: 0...64,
             "how many of the coarsest pyramid levels keep the image's layout (0: only the coarsest, 14 px)"),
        .double("noise", default: PatchSettings().noise, range: 0...5,
                "grey noise at the coarsest level, in pixel values of 0...1 (x 0.65 per structure level): more varies more"),
        .int("max_side", default: PatchSettings().maxSide, range: 7...65_535, "refuse outputs longer than this on a side"),
        .choice("search", ["patchmatch", "exact"], default: "patchmatch",
                "nearest patches by PatchMatch (seconds), or exact brute force (minutes even at 128 px: a reference)"),
        SinGANTask.seedParameter,
    ]

    /// The generator for the request's image with the request's settings.
    static func generator(_ request: TaskRequest, context: TaskContext, task: String,
                          noise: Double? = nil) throws -> PatchGenerator {
        guard let url = request.image else { throw TaskError("\(task) needs an input image") }
        let p = request.parameters
        var settings = PatchSettings()
        settings.structure = p.int("structure")
        settings.noise = noise ?? p.double("noise")
        settings.maxSide = p.int("max_side")
        if p.string("search") == "exact" { settings.search = .exact }
        return try guarded(task) {
            try PatchGenerator(image: PatchImage(contentsOf: url.path, maxPixels: context.maxPixels), settings: settings)
        }
    }

    /// The seed of output `index`: distinct per output, the same for the same `seed` parameter.
    static func seed(base: UInt64, index: Int) -> UInt64 {
        (base &+ UInt64(index)) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The run's base seed: the `seed` parameter, or a random one.
    static func baseSeed(_ parameters: ParameterValues) -> UInt64 {
        parameters.optionalInt("seed").map { UInt64($0) } ?? UInt64.random(in: 0...UInt64(Int32.max))
    }

    /// One output of `width` x `height`, written as `name`; progress spans `part` of the run.
    static func generate(_ generator: PatchGenerator, width: Int, height: Int, seed: UInt64, named name: String,
                         task: String, context: TaskContext, part: Range<Double>, note: String) throws -> TaskArtifact {
        let image = try guarded(task) {
            try generator.generate(width: width, height: height, seed: seed) { fraction in
                context.report(progress: part.lowerBound + fraction * (part.upperBound - part.lowerBound), note)
                return !context.cancellation.isCancelled
            }
        }
        let url = context.outputURL(name)
        try guarded(task) { try image.save(to: url.path) }
        return TaskArtifact(url, kind: .image)
    }

    /// Runs `body`, wrapping the engine's errors in task errors that name the task (and keep the
    /// error as `underlying`); the engine's cancellation becomes `TaskCancelled`.
    static func guarded<T>(_ task: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch PatchTierError.cancelled {
            throw TaskCancelled()
        } catch let error as PatchTierError {
            throw TaskError(task: task, underlying: error)
        }
    }
}
