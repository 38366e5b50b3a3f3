import Engine
import Foundation

/// The state of an unfinished training run, stored beside the finished scales in a checkpoint:
/// everything needed to continue bit for bit (issue 4, item 2).
struct TrainingCheckpoint {
    /// The scale being trained (== the number of finished scales).
    var scale: Int
    /// Iterations of that scale already done.
    var iteration: Int
    /// G_scale and D_scale, in training mode.
    var generator: Generator
    var critic: Critic
    /// Their optimisers' moments and step counts.
    var generatorOptimizer: AdamState
    var criticOptimizer: AdamState
    /// sigma of the scale being trained.
    var sigma: Float
    /// The random generator's state after the last completed iteration.
    var rngState: [UInt64]
    /// The real image of every scale (the finished ones are also in the model).
    var reals: [Tensor]
    /// Timings and losses for the report; not part of the final model (it would break bit
    /// equality between interrupted and straight runs).
    var log: TrainingLog
}

/// The contents of a model file: a model (possibly with fewer scales than its pyramid) and, for
/// checkpoints of unfinished runs, the training state.
struct ModelFileContents {
    var model: SinGANModel
    var training: TrainingCheckpoint?
}

/// Mapping between `SinGANModel` (+ training state) and the tensors and metadata of a
/// safetensors file. The layout, version 2 (version 1 is the same without `upsampling` in
/// `config`):
///
/// - `scale.<n>.real` F32 [1, 3, h, w] for every scale of the pyramid
/// - `scale.<n>.generator.<name>` every parameter and BatchNorm statistic of finished G_n
/// - `noise_amplitudes` F32 [finished scales]; `z_star` F32 [1, 3, h0, w0] (padded size with
///   noise padding)
/// - metadata: `format` = "singan-swift", `format_version` = "2" (or "1"), `status` = "complete" or
///   "training", `config` (JSON of `TrainingConfig`), `input_size` (JSON {height, width})
/// - checkpoints only: `training.generator.<name>`, `training.critic.<name>`,
///   `training.adam.{generator,critic}.{m,v}.<name>`, `training.adam_steps` I64 [2],
///   `training.sigma` F32 [1], `training.rng` U64 [4], metadata `training` (JSON of the
///   scale, iteration and log).
enum ModelFile {
    static let statusComplete = "complete"
    static let statusTraining = "training"

    static func encode(model: SinGANModel, training: TrainingCheckpoint?) -> SafeTensorsFile {
        var file = SafeTensorsFile()
        func add(_ name: String, _ t: Tensor) {
            file.tensors.append((name, SafeTensor(shape: t.shape, floats: t.scalars)))
        }
        let reals = training?.reals ?? model.scales.map(\.real)
        for (n, real) in reals.enumerated() { add("scale.\(n).real", real) }
        for (n, scale) in model.scales.enumerated() {
            for (name, t) in scale.generator.namedTensors { add("scale.\(n).generator.\(name)", t) }
        }
        file.tensors.append(("noise_amplitudes", SafeTensor(shape: [model.scales.count], floats: model.scales.map(\.sigma))))
        add("z_star", model.zStar)

        file.metadata["format"] = SinGANModel.formatName
        file.metadata["format_version"] = String(SinGANModel.formatVersion)
        file.metadata["config"] = jsonText(model.config)
        file.metadata["input_size"] = jsonText(model.geometry.input)
        file.metadata["status"] = training == nil ? statusComplete : statusTraining

        if let t = training {
            for (name, x) in t.generator.namedTensors { add("training.generator.\(name)", x) }
            for (name, x) in t.critic.namedTensors { add("training.critic.\(name)", x) }
            for (role, state, params) in [("generator", t.generatorOptimizer, t.generator.namedParameters),
                                          ("critic", t.criticOptimizer, t.critic.namedParameters)] {
                for (i, (name, p)) in params.enumerated() {
                    file.tensors.append(("training.adam.\(role).m.\(name)", SafeTensor(shape: p.shape, floats: state.firstMoments[i])))
                    file.tensors.append(("training.adam.\(role).v.\(name)", SafeTensor(shape: p.shape, floats: state.secondMoments[i])))
                }
            }
            file.tensors.append(("training.adam_steps", SafeTensor(int64s: [Int64(t.generatorOptimizer.stepCount), Int64(t.criticOptimizer.stepCount)])))
            file.tensors.append(("training.sigma", SafeTensor(shape: [1], floats: [t.sigma])))
            file.tensors.append(("training.rng", SafeTensor(uint64s: t.rngState)))
            file.metadata["training"] = jsonText(TrainingPosition(scale: t.scale, iteration: t.iteration, log: t.log))
        }
        return file
    }

    static func decode(_ file: SafeTensorsFile, path: String) throws -> ModelFileContents {
        func incompatible(_ reason: String) -> SinGANError { .modelFile(path: path, kind: .incompatible, reason: reason) }
        func corrupt(_ reason: String) -> SinGANError { .modelFile(path: path, kind: .corrupt, reason: reason) }

        guard file.metadata["format"] == SinGANModel.formatName else {
            throw incompatible("not a SinGAN model (metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"))")
        }
        guard let version = file.metadata["format_version"].flatMap(Int.init) else {
            throw incompatible("format_version is missing")
        }
        guard SinGANModel.readableFormatVersions.contains(version) else {
            let readable = SinGANModel.readableFormatVersions
            throw incompatible("format version \(version); this program reads versions \(readable.lowerBound) to \(readable.upperBound)")
        }
        let config: TrainingConfig = try decodeJSON(file.metadata["config"], "config", path)
        do { try config.validate() } catch { throw corrupt("its configuration is invalid: \(error)") }
        let input: ImageSize = try decodeJSON(file.metadata["input_size"], "input_size", path)
        let geometry: PyramidGeometry
        do {
            geometry = try PyramidGeometry(input: input, minSize: config.minSize, maxSize: config.maxSize,
                                           scaleFactor: config.scaleFactor)
        } catch { throw corrupt("its pyramid cannot be rebuilt: \(error)") }

        var used = Set<String>()
        /// The float tensor `name` with exactly `shape`.
        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = file[name] else { throw incompatible("tensor '\(name)' is missing") }
            guard t.dtype == .f32 else { throw incompatible("tensor '\(name)' is \(t.dtype.rawValue), expected F32") }
            guard t.shape == shape else { throw incompatible("tensor '\(name)' has shape \(t.shape), expected \(shape)") }
            let values = t.floats
            guard values.allSatisfy(\.isFinite) else { throw corrupt("tensor '\(name)' holds non-finite values") }
            used.insert(name)
            return values
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
            Tensor(shape: shape, scalars: try floats(name, shape))
        }
        func fill(_ prefix: String, _ named: [(String, Tensor)]) throws {
            for (name, t) in named { t.scalars = try floats("\(prefix).\(name)", t.shape) }
        }

        let reals = try geometry.sizes.enumerated().map { n, size in
            try tensor("scale.\(n).real", [1, 3, size.height, size.width])
        }
        guard let sigmaTensor = file["noise_amplitudes"], sigmaTensor.shape.count == 1 else {
            throw incompatible("tensor 'noise_amplitudes' is missing or not one-dimensional")
        }
        let finished = sigmaTensor.shape[0]
        guard finished <= geometry.count else {
            throw corrupt("\(finished) noise amplitudes for a pyramid of \(geometry.count) scales")
        }
        let sigmas = try floats("noise_amplitudes", [finished])
        // A throwaway generator only provides shapes; every value is overwritten from the file.
        let scratch = RandomGenerator(seed: 0)
        var scales: [SinGANModel.Scale] = []
        for n in 0..<finished {
            let g = Generator(channels: config.channels(atScale: n), rng: scratch)
            try fill("scale.\(n).generator", g.namedTensors)
            g.isTraining = false
            scales.append(.init(generator: g, sigma: sigmas[n], real: reals[n]))
        }
        let z0 = geometry.sizes[0], pad = config.noisePadding ? 2 * networkPadding : 0
        let zStar = try tensor("z_star", [1, 3, z0.height + pad, z0.width + pad])
        let model = SinGANModel(scales: scales, zStar: zStar, config: config, geometry: geometry)

        var training: TrainingCheckpoint?
        switch file.metadata["status"] {
        case statusComplete?:
            guard finished == geometry.count else {
                throw corrupt("marked complete but holds \(finished) of \(geometry.count) scales")
            }
        case statusTraining?:
            let position: TrainingPosition = try decodeJSON(file.metadata["training"], "training", path)
            guard position.scale == finished, position.iteration >= 0, finished < geometry.count,
                  position.iteration <= config.schedule(forScale: finished, of: geometry.sizes[finished]).iterations else {
                throw corrupt("training position (scale \(position.scale), iteration \(position.iteration)) does not fit \(finished) finished scales")
            }
            let channels = config.channels(atScale: finished)
            let g = Generator(channels: channels, rng: scratch)
            let d = Critic(channels: channels, rng: scratch)
            try fill("training.generator", g.namedTensors)
            try fill("training.critic", d.namedTensors)
            func adam(_ role: String, _ params: [(name: String, tensor: Tensor)], step: Int64) throws -> AdamState {
                guard step >= 0 else { throw corrupt("negative optimiser step count \(step)") }
                return AdamState(
                    firstMoments: try params.map { try floats("training.adam.\(role).m.\($0.name)", $0.tensor.shape) },
                    secondMoments: try params.map { try floats("training.adam.\(role).v.\($0.name)", $0.tensor.shape) },
                    stepCount: Int(step))
            }
            guard let steps = file["training.adam_steps"], steps.dtype == .i64, steps.shape == [2],
                  let rng = file["training.rng"], rng.dtype == .u64, rng.shape == [4],
                  rng.uint64s.contains(where: { $0 != 0 }) else {
                throw incompatible("the training state (adam_steps, rng) is missing or malformed")
            }
            used.formUnion(["training.adam_steps", "training.rng"])
            training = TrainingCheckpoint(
                scale: position.scale, iteration: position.iteration, generator: g, critic: d,
                generatorOptimizer: try adam("generator", g.namedParameters, step: steps.int64s[0]),
                criticOptimizer: try adam("critic", d.namedParameters, step: steps.int64s[1]),
                sigma: try floats("training.sigma", [1])[0], rngState: rng.uint64s, reals: reals,
                log: position.log)
        default:
            throw incompatible("status is \(file.metadata["status"].map { "'\($0)'" } ?? "missing"), expected 'complete' or 'training'")
        }
        if let extra = file.tensors.map(\.name).first(where: { !used.contains($0) }) {
            throw incompatible("unexpected tensor '\(extra)'")
        }
        return ModelFileContents(model: model, training: training)
    }
}

/// Where an unfinished run stands, stored as JSON in a checkpoint's metadata.
struct TrainingPosition: Codable {
    var scale: Int
    var iteration: Int
    var log: TrainingLog
}

/// Deterministic JSON (sorted keys) of a value, for metadata.
func jsonText<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}

private func decodeJSON<T: Decodable>(_ text: String?, _ key: String, _ path: String) throws -> T {
    guard let text else {
        throw SinGANError.modelFile(path: path, kind: .incompatible, reason: "metadata '\(key)' is missing")
    }
    do {
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    } catch {
        throw SinGANError.modelFile(path: path, kind: .incompatible, reason: "metadata '\(key)' cannot be read: \(error)")
    }
}
